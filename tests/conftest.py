"""Shared fixtures: small seeded data sets, fitted models and a headless browser."""

from __future__ import annotations

import os
import shutil
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import RandomForestClassifier


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _peak_mib(fn: Callable[[], Any]) -> float:
    """Peak traced memory (MiB) of a call to ``fn``, after one warm-up call (first-call
    allocations: caches, imports). tracemalloc sees numpy's buffers, not ONNX Runtime's."""
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture
def peak_mib() -> Callable[[Callable[[], Any]], float]:
    return _peak_mib


@pytest.fixture(scope="session")
def wine() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def cancer12() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :12], y


@pytest.fixture(scope="session")
def cancer_forest(cancer12: tuple[np.ndarray, np.ndarray]) -> RandomForestClassifier:
    X, y = cancer12
    return RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)


# -- a real headless browser for the HTML checks ----------------------------------------
#: Flags that keep Chromium off the network (this machine's network is closed) and quiet.
_CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in (os.environ.get("BX_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


@dataclass
class RenderedPage:
    """A page rendered in headless Chromium: the live page and what its console said."""

    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions, in order."""
        return [text for kind, text in self.console if kind in ("error", "pageerror")]


@pytest.fixture(scope="session")
def _browser() -> Iterator[Any]:
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the test extra)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=_CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def render_html(_browser: Any) -> Iterator[Callable[..., RenderedPage]]:
    """``render_html(html, screenshot=None)``: load ``html`` in headless Chromium.

    The page is loaded from a file (as a saved report is opened), so anything that would
    need the network fails visibly instead of loading.
    """
    pages: list[Any] = []

    def render(html: str, screenshot: Path | None = None, width: int = 1100) -> RenderedPage:
        page = _browser.new_page(viewport={"width": width, "height": 800})
        pages.append(page)
        rendered = RenderedPage(page)
        page.on("console", lambda m: rendered.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: rendered.console.append(("pageerror", str(e))))
        page.on(
            "request",
            lambda r: (
                r.url.startswith(("http:", "https:"))
                and rendered.console.append(("error", f"external request {r.url}"))
            ),
        )
        with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, encoding="utf-8") as fh:
            fh.write(html)
        page.goto(Path(fh.name).as_uri())
        page.wait_for_load_state("load")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return rendered

    yield render
    for page in pages:
        page.close()

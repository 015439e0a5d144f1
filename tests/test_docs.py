"""The docs build offline with Sphinx, warnings as errors, and cover what users need."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_offline_without_warnings(tmp_path):
    out = tmp_path / "html"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         str(ROOT / "docs"), str(out), "-d", str(tmp_path / "doctrees")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    assert {
        "index.html",
        "api.html",
        "benchmarks.html",
        "guide/games_and_maskers.html",
        "guide/choosing.html",
        "guide/uncertainty.html",
        "guide/pitfalls.html",
        "guide/cli.html",
    } <= pages
    api = (out / "api.html").read_text()
    # The reference is generated from the docstrings: parameters of explain appear.
    for name in ("KernelShap", "IntegratedGradients", "Explanation", "n_evals", "baseline"):
        assert name in api, name
    pitfalls = (out / "guide" / "pitfalls.html").read_text()
    for topic in ("Correlated features", "background", "Saturation", "baselines", "Sanity"):
        assert topic in pitfalls, topic
    bench = (out / "benchmarks.html").read_text()
    assert bench.count("<pre>") >= 6 or bench.count("highlight") >= 6
    # Offline: no page loads a script or stylesheet from the network.
    for page in pages:
        text = (out / page).read_text()
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", text), page

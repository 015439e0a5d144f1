"""Every Python example of the README runs, passes its seeds, and prints what it says.

A ``print(...)`` line ending in ``# prints: PATTERN`` must print text containing
``PATTERN``, where ``...`` stands for any text (across lines too).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
_RUNS: dict[int, tuple[dict[str, Any], list[str]]] = {}


def _block(marker: str) -> int:
    """Index of the one README example that contains ``marker``."""
    (index,) = [i for i, b in enumerate(BLOCKS) if marker in b]
    return index


def _run(index: int, folder: Path) -> tuple[dict[str, Any], list[str]]:
    """Namespace and printed texts of block ``index`` (run once per session, in ``folder``)."""
    if index not in _RUNS:
        printed: list[str] = []

        def record(*args: Any, sep: str = " ", **_: Any) -> None:
            printed.append(sep.join(str(a) for a in args))

        namespace: dict[str, Any] = {"print": record}
        exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)
        _RUNS[index] = namespace, printed
    return _RUNS[index]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")


def _expected(code: str) -> list[str | None]:
    """One entry per ``print`` call in the code: its pattern, or None without one."""
    out: list[str | None] = []
    lines = code.splitlines()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            line = lines[node.lineno - 1]
            match = re.search(r"# prints: (.+)$", line)
            out.append(match.group(1) if match else None)
    return out


def _matches(pattern: str, text: str) -> bool:
    regex = ".*?".join(re.escape(part) for part in pattern.split("..."))
    return re.search(regex, text, flags=re.S) is not None


def test_the_readme_has_its_examples():
    assert len(BLOCKS) == 7
    assert all(_expected(b) and None not in _expected(b) for b in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_prints_what_its_comments_say(index, folder, monkeypatch):
    monkeypatch.chdir(folder)
    _, printed = _run(index, folder)
    expected = _expected(BLOCKS[index])
    # The calls run in source order (no loops in the examples).
    assert len(printed) == len(expected)
    for pattern, text in zip(expected, printed, strict=True):
        assert pattern is not None and _matches(pattern, text), (pattern, text)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_passes_every_seed(index, folder, monkeypatch):
    """Each call of something that takes ``seed`` or ``random_state`` passes it."""
    monkeypatch.chdir(folder)
    namespace, _ = _run(index, folder)
    missing = []
    for node in ast.walk(ast.parse(BLOCKS[index])):
        if not isinstance(node, ast.Call):
            continue
        try:
            func = eval(compile(ast.Expression(node.func), "<call>", "eval"), namespace)
            params = inspect.signature(func).parameters
        except (NameError, AttributeError, TypeError, ValueError):
            continue  # a method of a result, or a builtin
        passed = {k.arg for k in node.keywords}
        for seed in ("seed", "random_state"):
            if seed in params and seed not in passed:
                missing.append(f"{ast.unparse(node.func)} (line {node.lineno}): {seed}")
    assert missing == []


def test_tabular_example_results(folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace, _ = _run(_block("wine.json"), folder)
    assert namespace["kernel"].values.shape == (2, 13, 3)
    assert (folder / "wine.json").exists()


def test_gradient_example_results(folder):
    namespace, _ = _run(_block("relu_rule="), folder)
    assert namespace["saliency"].shape == (4, 64) and namespace["guided"].shape == (4, 64)


def test_text_example_results(folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace, _ = _run(_block("review.html"), folder)
    assert namespace["anchor"].success
    assert (folder / "review.html").read_text().count("class='bx-doc'") == 2
    fine = namespace["fine"]
    assert fine.meta["n_model_rows"] == 800 and fine.values.shape[1] > 150


def test_metrics_example_results(folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace, _ = _run(_block("bx.compare"), folder)
    assert namespace["table"].explainers == ["Kernel SHAP", "LIME"]
    assert namespace["curve"].values.shape == (5, 31)


def test_concepts_example_results(folder):
    namespace, _ = _run(_block("bx.Tcav"), folder)
    result = namespace["tcav_result"]
    assert result.concepts == ["sevens", "zeros"]
    assert result.mean[0] == 1.0 and result.significant.tolist() == [True, False]
    proba = namespace["mlp"].predict_proba(namespace["images"])
    assert proba[:, 3].min() > 0.9
    assert namespace["top"].indices.shape == (32, 5)
    assert namespace["indices"][:, 0].tolist() == [0, 1, 2]  # each digit is its own nearest


def test_image_example_results(folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace, _ = _run(_block("bx.maskers.Image"), folder)
    page = (folder / "cat.html").read_text()
    # The image, then LIME's and SHAP's maps and top superpixels, occlusion's and RISE's maps.
    assert page.count("<img ") == 7
    occlusion = namespace["occlusion"]
    assert occlusion.values.shape == (1, 75, 113, 1)
    # The model reads the top-left 40 x 60 pixels only: no occlusion mass elsewhere.
    assert (occlusion.values[0, 48:, :, 0] == 0).all()
    assert (occlusion.values[0, :, 64:, 0] == 0).all()


def test_report_example_results(folder, monkeypatch):
    monkeypatch.chdir(folder)
    _run(_block("wine.html"), folder)
    page = (folder / "wine.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("class='bx-read'") == 3
    assert (folder / "waterfall.png").stat().st_size > 0
    assert (folder / "beeswarm.svg").read_text().startswith("<?xml")


def test_the_architecture_document_is_linked_and_names_what_exists():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "](docs/architecture.md)" in readme
    doc = (ROOT / "docs" / "architecture.md").read_text()
    import blackbox_xai as bx

    # Every public name the document presents as built exists in the package.
    built = doc.split("## Not built yet")[0]
    for name in re.findall(r"`bx\.([A-Za-z_]+)", built):
        assert hasattr(bx, name), name

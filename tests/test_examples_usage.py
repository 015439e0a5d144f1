"""Every script in examples/ runs at its small size, its numbers hold, its page renders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, out: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--small", "--out", str(out)])


def test_every_example_is_tested():
    tested = {"sklearn_tabular", "audit_onnx_model", "text_classifier", "gradients_cnn"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} - {"compare_explainers"} == tested


def test_sklearn_tabular(tmp_path, render_html, capsys):
    result = _run("sklearn_tabular", tmp_path / "r.html")
    shap, lime = result["shap"], result["lime"]
    assert shap.values.shape == (2, 13, 3) and lime.values.shape == (2, 13, 1)
    assert shap.feature_names == lime.feature_names and "proline" in shap.feature_names
    # Both methods agree on the strongest feature of row 0 for class 1.
    assert shap.top_features(0, output=1, n=1)[0][0] == lime.top_features(0, n=1)[0][0]
    assert render_html((tmp_path / "r.html").read_text()).errors == []


def test_audit_onnx_model(tmp_path, render_html, capsys):
    result = _run("audit_onnx_model", tmp_path / "r.html")
    assert result["fidelity"].held_out["r2"] > 0.8
    assert all(a.precision >= 0.95 for a in result["anchors"])
    assert float(result["shap"].stderr.max()) < 0.02
    assert "surrogate fidelity (output)" in capsys.readouterr().out
    assert render_html((tmp_path / "r.html").read_text()).errors == []


def test_text_classifier(tmp_path, render_html, capsys):
    result = _run("text_classifier", tmp_path / "r.html")
    words = result["words"]
    top = dict(words.top_features(0, output="1", n=3))
    assert top["Great"] > 0 > top["slow"]
    assert set(result["anchor"].rule) <= {"Great", "slow", "rude", "service", "food"}
    page = (tmp_path / "r.html").read_text()
    assert page.count("class='bx-doc'") >= 4
    assert render_html(page).errors == []


def test_gradients_cnn(tmp_path, render_html, capsys):
    result = _run("gradients_cnn", tmp_path / "r.html")
    assert result["accuracy"] > 0.85
    np.testing.assert_allclose(result["ig"].meta["completeness_delta"], 0, atol=1e-3)
    assert result["cam"].values.shape == (2, 8, 8, 1) and (result["cam"].values >= 0).all()
    assert result["smooth"].stderr is not None
    page = (tmp_path / "r.html").read_text()
    assert page.count("<pre>") == 4 * 2
    assert render_html(page).errors == []


@pytest.mark.parametrize(
    "name", ["sklearn_tabular", "audit_onnx_model", "text_classifier", "gradients_cnn"]
)
def test_examples_have_a_docstring_that_says_how_to_run_them(name):
    assert f"python examples/{name}.py" in (EXAMPLES / f"{name}.py").read_text()

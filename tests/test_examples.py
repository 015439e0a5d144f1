"""The examples run (at small sizes) and show what they claim."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_explainers_writes_its_table_and_figure(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path / "compare.png"
    args = ["--rows", "3", "--evals", "64", "--background", "5", "--out", str(out)]
    comparison = load("compare_explainers").main(args)
    assert out.stat().st_size > 10_000
    assert comparison.explainers == ["Kernel SHAP", "sampling Shapley", "LIME", "random"]
    assert "deletion_auc ↓" in capsys.readouterr().out
    # every real explainer beats the random ranking on faithfulness correlation
    column = comparison.scores[:, comparison.metrics.index("faithfulness_correlation")]
    assert (column[:3] > column[3]).all()

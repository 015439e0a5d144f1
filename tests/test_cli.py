"""The command line: the demo runs end to end and writes its report."""

import json

import blackbox_xai as bx
from blackbox_xai.cli import main


def test_demo_writes_json_and_html(tmp_path, capsys):
    assert main(["demo", "--rows", "2", "--background", "8", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "max |ONNX - sklearn|" in printed and "exact Shapley values for 2 rows" in printed
    expl = bx.Explanation.from_json(tmp_path / "explanation.json")
    assert expl.values.shape == (2, 12, 2)
    # Efficiency: the report's numbers add up to the model's prediction.
    total = expl.values.sum(axis=1) + expl.base_values
    assert abs(total.sum(axis=1) - 1).max() < 1e-5
    assert "<table" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "explanation.json").read_text())["method"] == "exact_shapley"

"""The command line: the demo runs end to end and writes its report (explain: test_cli_explain)."""

import json

import blackbox_xai as bx
from blackbox_xai.cli import main


def test_demo_writes_json_and_html(tmp_path, capsys):
    assert (
        main(
            ["demo", "--rows", "2", "--background", "8", "--n-evals", "200", "--out", str(tmp_path)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "max |ONNX - sklearn|" in printed and "Kernel SHAP values for 2 rows" in printed
    assert printed.count("anchor: IF") == 2
    expl = bx.Explanation.from_json(tmp_path / "explanation.json")
    assert expl.values.shape == (2, 30, 2) and expl.stderr is not None
    # Efficiency: the report's numbers add up to the model's prediction.
    total = expl.values.sum(axis=1) + expl.base_values
    assert abs(total.sum(axis=1) - 1).max() < 1e-5
    html = (tmp_path / "report.html").read_text()
    assert "<table" in html and "<h3>Anchors</h3>" in html
    # The text part: bundled reviews, an ONNX string-input export, token highlights.
    assert "exported to ONNX with a string input" in printed
    assert "review 1:" in printed and "anchor of review 0: AnchorExplanation(IF" in printed
    assert html.count("class='bx-doc'") == 3 and "class='bx-tok bx-anchor'" in html
    assert json.loads((tmp_path / "explanation.json").read_text())["method"] == "kernel_shap"

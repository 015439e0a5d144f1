"""The command line: the demo runs end to end and writes its report."""

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


def test_explain_reads_onnx_and_csv(tmp_path, cancer12, cancer_forest, capsys):
    import numpy as np

    from blackbox_xai.models.convert import sklearn_to_onnx

    X, _ = cancer12
    (tmp_path / "m.onnx").write_bytes(sklearn_to_onnx(cancer_forest, X))
    names = ",".join(f"f{j}" for j in range(12))
    np.savetxt(tmp_path / "rows.csv", X[:3], delimiter=",", header=names, comments="")
    np.savetxt(tmp_path / "bg.csv", X[100:160], delimiter=",")
    out = tmp_path / "out"
    code = main(
        [
            "explain",
            str(tmp_path / "m.onnx"),
            "--data",
            str(tmp_path / "rows.csv"),
            "--background",
            str(tmp_path / "bg.csv"),
            "--n-background",
            "5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    expl = bx.Explanation.from_json(out / "explanation.json")
    assert expl.feature_names[:2] == ["f0", "f1"] and expl.values.shape == (3, 12, 2)
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, cancer_forest.predict_proba(X[:3]), atol=1e-5
    )
    assert "exact_shapley" in capsys.readouterr().out


def test_explain_refuses_other_model_files(tmp_path, capsys):
    (tmp_path / "rows.csv").write_text("1,2\n")
    assert main(["explain", str(tmp_path / "m.pkl"), "--data", str(tmp_path / "rows.csv")]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"blackbox-xai: error: {tmp_path / 'm.pkl'}: the model must be an .onnx or .skops file.\n"
    )

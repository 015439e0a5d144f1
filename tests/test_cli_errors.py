"""``blackbox-xai explain``: its choice of explainer, what it says, and one line per user error."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import blackbox_xai as bx
from blackbox_xai.cli import EXACT_MAX_FEATURES, main

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 30-feature and a 4-feature ONNX logistic regression and CSV files for them."""
    from blackbox_xai.models.convert import sklearn_to_onnx

    folder = tmp_path_factory.mktemp("cli")
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    wide = LogisticRegression(max_iter=500).fit(X, y)
    (folder / "wide.onnx").write_bytes(sklearn_to_onnx(wide, X))
    small = LogisticRegression().fit(X[:, :4], y)
    (folder / "small.onnx").write_bytes(sklearn_to_onnx(small, X[:, :4]))
    np.savetxt(folder / "wide.csv", X[:40], delimiter=",", fmt="%.6f")
    # A spreadsheet's export: byte-order mark, quoted names.
    header = ",".join(f'"f {j}"' for j in range(4))
    body = "\n".join(",".join(f"{v:.6f}" for v in row) for row in X[:30, :4])
    (folder / "small.csv").write_text("\ufeff" + header + "\n" + body + "\n", encoding="utf-8")
    np.savetxt(folder / "small_plain.csv", X[:30, :4], delimiter=",", fmt="%.6f")
    return {p.name: p for p in folder.iterdir()}


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_many_features_use_kernel_shap_and_say_so(files, tmp_path, capsys):
    code, out, _ = _run(
        capsys, "explain", files["wide.onnx"], "--data", files["wide.csv"],
        "--rows", "3", "--n-evals", "256", "--n-background", "5", "--out", tmp_path / "r",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"explaining the first 3 of 40 rows (--rows to change) of {files['wide.csv']}; "
        f"40 background rows of {files['wide.csv']}, summarised to 5 by k-means"
    )
    assert lines[1] == (
        f"KernelShap: Shapley values of 30 features (> {EXACT_MAX_FEATURES}) estimated from "
        "256 coalitions per row, seed 0, with standard errors"
    )
    expl = bx.Explanation.from_json(tmp_path / "r" / "explanation.json")
    assert expl.method == "kernel_shap" and expl.values.shape == (3, 30, 2)
    assert "  row 0: predicted '" in out  # print(explanation): the predicted class


def test_few_features_use_exact_shapley_and_clean_header_names(files, tmp_path, capsys):
    code, out, _ = _run(
        capsys, "explain", files["small.onnx"], "--data", files["small.csv"],
        "--rows", "50", "--out", tmp_path / "r",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0].startswith("explaining all 30 rows of ")
    assert out.splitlines()[1] == "ExactShapley: exact Shapley values of 4 features (<= 12)"
    expl = bx.Explanation.from_json(tmp_path / "r" / "explanation.json")
    assert expl.feature_names == ["f 0", "f 1", "f 2", "f 3"] and len(expl) == 30


def test_one_row_is_singular(files, tmp_path, capsys):
    one = tmp_path / "one.csv"
    one.write_text("0.1,0.2,0.3,0.4\n")
    code, out, _ = _run(
        capsys, "explain", files["small.onnx"], "--data", one, "--background",
        files["small_plain.csv"], "--out", tmp_path / "r",
    )  # fmt: skip
    assert code == 0 and out.startswith(f"explaining all 1 row of {one}; 30 background rows")


def _bad_inputs(files: dict[str, Path], tmp: Path) -> list[tuple[list[object], str]]:
    small, csv = files["small.onnx"], files["small_plain.csv"]
    (tmp / "empty.csv").write_text("")
    (tmp / "header.csv").write_text("a,b,c,d\n")
    (tmp / "ragged.csv").write_text("1,2,3,4\n1,2,3\n")
    (tmp / "text.csv").write_text("a,b,c,d\n1,2,x,4\n")
    (tmp / "nan.csv").write_text("1,2,nan,4\n")
    (tmp / "three.csv").write_text("1,2,3\n4,5,6\n")
    (tmp / "latin.csv").write_bytes(b"caf\xe9,b\n1,2\n")
    (tmp / "other.csv").write_text("a,b,c,e\n1,2,3,4\n")
    (tmp / "order.csv").write_text("b,a,c,d\n1,2,3,4\n")
    (tmp / "names.csv").write_text("a,b,c,d\n1,2,3,4\n")
    (tmp / "fake.onnx").write_bytes(b"not a model")
    (tmp / "file").write_text("x")
    (tmp / "done").mkdir()
    (tmp / "done" / "report.html").write_text("old")
    args = ["explain", small, "--data"]
    return [
        ([*args, tmp / "missing.csv"], f"{tmp / 'missing.csv'}: no such file."),
        (["explain", tmp / "no.onnx", "--data", csv], f"{tmp / 'no.onnx'}: no such file."),
        (["explain", tmp / "fake.onnx", "--data", csv], f"{tmp / 'fake.onnx'}: "),
        ([*args, tmp / "empty.csv"], f"{tmp / 'empty.csv'}: the file is empty; it must hold"),
        ([*args, tmp / "header.csv"], f"{tmp / 'header.csv'}: the file has a header but no rows."),
        ([*args, tmp / "ragged.csv"], f"{tmp / 'ragged.csv'}: line 2 has 3 values, but the first line has 4."),
        ([*args, tmp / "text.csv"], f"{tmp / 'text.csv'}: line 2, column 3 ('c'): 'x' is not a finite number."),
        ([*args, tmp / "nan.csv"], f"{tmp / 'nan.csv'}: line 1, column 3: 'nan' is not a finite number."),
        ([*args, tmp / "latin.csv"], f"{tmp / 'latin.csv'}: not UTF-8 text"),
        ([*args, tmp / "three.csv"], f"{tmp / 'three.csv'}: has 3 columns, but {small} takes 4."),
        ([*args, csv, "--background", tmp / "three.csv"], f"{tmp / 'three.csv'}: has 3 columns, but {csv} has 4."),
        ([*args, tmp / "names.csv", "--background", tmp / "other.csv"], f"{tmp / 'other.csv'}: its header and {tmp / 'names.csv'}'s name different columns: ['d', 'e']."),
        ([*args, tmp / "names.csv", "--background", tmp / "order.csv"], f"{tmp / 'order.csv'}: its header orders the columns differently"),
        ([*args, csv, "--rows", "0"], "blackbox-xai explain: argument --rows: must be at least 1, got 0 (see blackbox-xai explain --help)"),
        ([*args, csv, "--rows", "-1"], "argument --rows: must be at least 1, got -1"),
        ([*args, csv, "--rows", "ten"], "argument --rows: 'ten' is not a whole number"),
        ([*args, csv, "--out", tmp / "file"], f"{tmp / 'file'}: exists and is not a folder; pass another --out."),
        ([*args, csv, "--out", tmp / "done"], f"{tmp / 'done'}: already holds report.html; pass --force to overwrite"),
        ([*args, csv, "--output", "output_label"], f"{small}: --output 'output_label' holds int64 values (class labels), which have no attributions; explain a float output instead: ['output_probability']."),
        ([*args, csv, "--output", "nope"], f"{small}: --output 'nope' is not an output; outputs are ['output_label', 'output_probability']."),
        (["explain", small], "blackbox-xai explain: the following arguments are required: --data"),
    ]  # fmt: skip


def test_every_user_error_is_one_line_naming_the_file_and_exit_code_2(files, tmp_path, capsys):
    for argv, message in _bad_inputs(files, tmp_path):
        code, out, err = _run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("blackbox-xai: error: "), err
        assert message in err, (message, err)
    # --force overwrites the report a previous run left.
    code, _, _ = _run(
        capsys, "explain", files["small.onnx"], "--data", files["small_plain.csv"], "--rows", "2",
        "--out", tmp_path / "done", "--force",
    )  # fmt: skip
    assert code == 0 and (tmp_path / "done" / "report.html").read_text() != "old"


def test_demo_arguments_are_checked(capsys):
    code, _, err = _run(capsys, "demo", "--rows", "0")
    assert code == 2 and err == (
        "blackbox-xai: error: blackbox-xai demo: argument --rows: must be at least 1, got 0 "
        "(see blackbox-xai demo --help)\n"
    )


def test_the_process_exits_with_code_2_and_one_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "blackbox_xai.cli", "explain", "m.onnx", "--data", "rows.csv"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "blackbox-xai: error: rows.csv: no such file.\n"

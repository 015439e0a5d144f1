"""``blackbox-xai``: one line per user error, naming the file and the problem, exit code 2."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import blackbox_xai as bx
from blackbox_xai.cli import main

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


def _bad_inputs(files: dict[str, Path], tmp: Path) -> list[tuple[list[object], str]]:
    """Each bad command line and a piece of the one line it must print (the file named)."""
    small, csv = files["small.onnx"], files["small_plain.csv"]
    (tmp / "empty.csv").write_text("")
    (tmp / "header.csv").write_text("a,b,c,d\n")
    (tmp / "ragged.csv").write_text("1,2,3,4\n1,2,3\n")
    (tmp / "text.csv").write_text("a,b,c,d\n1,2,x,4\n")
    (tmp / "nan.csv").write_text("1,2,nan,4\n")
    (tmp / "three.csv").write_text("1,2,3\n4,5,6\n")
    (tmp / "latin.csv").write_bytes(b"caf\xe9,b,c,d\n1,2,3,4\n")
    (tmp / "other.csv").write_text("a,b,c,e\n1,2,3,4\n")
    (tmp / "order.csv").write_text("b,a,c,d\n1,2,3,4\n")
    (tmp / "names.csv").write_text("a,b,c,d\n1,2,3,4\n")
    (tmp / "fake.onnx").write_bytes(b"not a model")
    (tmp / "folder").mkdir()
    return [
        (["explain", small, tmp / "missing.csv"], f"{tmp / 'missing.csv'}"),
        (["explain", tmp / "no.onnx", csv], f"{tmp / 'no.onnx'}"),
        (["explain", tmp / "fake.onnx", csv], f"{tmp / 'fake.onnx'}"),
        (["explain", small, tmp / "empty.csv"], f"{tmp / 'empty.csv'} holds no rows"),
        (
            ["explain", small, tmp / "header.csv"],
            f"{tmp / 'header.csv'} holds a header but no rows",
        ),
        (
            ["explain", small, tmp / "ragged.csv"],
            f"{tmp / 'ragged.csv'}, line 2: 3 cells, expected 4",
        ),
        (
            ["explain", small, tmp / "text.csv"],
            f"{tmp / 'text.csv'}, line 2, column 'c': 'x' is not a number",
        ),
        (
            ["explain", small, tmp / "nan.csv"],
            f"{tmp / 'nan.csv'}, line 1, column '2': 'nan' is not a finite number",
        ),
        (["explain", small, tmp / "latin.csv"], f"{tmp / 'latin.csv'} is not UTF-8 text"),
        (
            ["explain", small, tmp / "three.csv"],
            f"{tmp / 'three.csv'} has 3 columns; the model takes 4",
        ),
        (
            ["explain", small, csv, "--background", tmp / "three.csv"],
            f"{tmp / 'three.csv'} has 3 columns",
        ),
        (
            ["explain", small, tmp / "names.csv", "--background", tmp / "other.csv"],
            f"{tmp / 'other.csv'}",
        ),
        (
            ["explain", small, tmp / "names.csv", "--background", tmp / "order.csv"],
            f"{tmp / 'order.csv'}",
        ),
        (["explain", small, csv, "--rows", "5:5"], "--rows"),
        (["explain", small, csv, "--rows", "ten"], "--rows"),
        (["explain", small, csv, "--out", tmp / "folder"], f"{tmp / 'folder'}"),
        (["explain", small, csv, "--out", tmp / "values.txt"], f"{tmp / 'values.txt'}"),
        (["explain", small, csv, "--output", "output_label"], "output_label"),
        (["explain", small, csv, "--output", "nope"], "nope"),
        (["explain", small], "the following arguments are required: data"),
    ]


def test_every_user_error_is_one_line_naming_the_file_and_exit_code_2(files, tmp_path, capsys):
    for argv, message in _bad_inputs(files, tmp_path):
        code, out, err = _run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("blackbox-xai: error: "), err
        assert message in err, (message, err)


def test_header_names_lose_the_byte_order_mark_and_quotes(files, tmp_path, capsys):
    out = tmp_path / "values.json"
    code, _, err = _run(
        capsys, "explain", files["small.onnx"], files["small.csv"], "--rows", "0:2",
        "--method", "exact-shapley", "--quiet", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert bx.Explanation.from_json(out).feature_names == ["f 0", "f 1", "f 2", "f 3"]


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
        [sys.executable, "-m", "blackbox_xai.cli", "explain", "m.onnx", "rows.csv"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "m.onnx" in done.stderr

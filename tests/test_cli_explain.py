"""``blackbox-xai explain``: every method on an ONNX model and a CSV, skops and pickles,
text and image data, the three report formats, and one-line errors for bad input.

A few commands run in a subprocess exactly as a user types them (exit status, stderr, a
terminal for the progress bar); the method matrix calls ``main`` in-process to keep the
suite fast (each subprocess pays ~2 s of imports).
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.cli import main
from blackbox_xai.models.convert import sklearn_to_onnx

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "tests" / "autodiff" / "fixtures" / "cnn_torchscript.onnx"


@pytest.fixture(scope="module")
def files(tmp_path_factory, cancer12):
    """A small ONNX MLP on 12 standardized features, its CSVs, a text model and a CNN."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline

    d = tmp_path_factory.mktemp("cli")
    X, y = cancer12
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=2000, random_state=0).fit(X, y)
    (d / "mlp.onnx").write_bytes(sklearn_to_onnx(mlp, X, zipmap=False))
    header = ",".join(f"f{j}" for j in range(12))
    np.savetxt(d / "rows.csv", X[:3], delimiter=",", header=header, comments="")
    np.savetxt(d / "bg.csv", X[100:400], delimiter=",", header=header, comments="")
    texts, labels = bx.datasets.load_reviews(return_X_y=True)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(texts, labels)
    import joblib
    import skops.io as sio

    sio.dump(pipe, d / "text.skops")
    joblib.dump(pipe, d / "text.pkl")
    (d / "docs.txt").write_text("Great food, but slow service.\n\nTerrible and rude.\n")
    shutil.copy(CNN, d / "cnn.onnx")
    pixels = np.random.default_rng(0).random((2, 64))
    np.savetxt(d / "pixels.csv", pixels, delimiter=",")
    return d, X, mlp


def _explain(d: Path, *argv: str) -> int:
    return main(["explain", *(str(a) for a in argv)])


def _error(capsys, code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blackbox-xai: error: "), captured.err
    return lines[0]


# -- every method on the ONNX MLP and a CSV -------------------------------------------------
@pytest.mark.parametrize(
    ("method", "budget"),
    [("exact-shapley", None), ("kernel-shap", "300"), ("sampling-shapley", "20")],
)
def test_shapley_methods_add_up_to_the_onnx_prediction(files, method, budget, capsys):
    d, X, mlp = files
    out = d / f"{method}.json"
    extra = [] if budget is None else ["--budget", budget]
    code = _explain(
        d, d / "mlp.onnx", d / "rows.csv", "--background", d / "bg.csv", "--n-background", "8",
        "--method", method, "--out", out, "--seed", "1", *extra,
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"wrote {out} ({method}, 3 rows")
    expl = bx.Explanation.from_json(out)
    assert expl.feature_names == [f"f{j}" for j in range(12)] and expl.values.shape == (3, 12, 2)
    # Efficiency: base value + attributions = the model's output (exact for all three:
    # Kernel SHAP solves with the constraint, each permutation telescopes).
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, mlp.predict_proba(X[:3]), atol=1e-5
    )
    if budget is not None:
        key = "n_evals" if method == "kernel-shap" else "n_permutations"
        assert expl.meta["parameters"][key] == int(budget)


def test_lime_explains_the_target_class(files, capsys):
    d, _, _ = files
    out = d / "lime.json"
    code = _explain(
        d, d / "mlp.onnx", d / "rows.csv", "--rows", "1:3", "--method", "lime",
        "--target", "1", "--budget", "400", "--out", out,
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    expl = bx.Explanation.from_json(out)
    names = bx.OnnxModel(str(d / "mlp.onnx")).output_names
    assert expl.values.shape == (2, 12, 1) and expl.output_names == [names[1]]
    np.testing.assert_array_equal(
        expl.data, np.loadtxt(d / "rows.csv", delimiter=",", skiprows=1)[1:3]
    )


def test_anchors_and_surrogate_write_rules(files, capsys):
    d, X, mlp = files
    out = d / "anchors.json"
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--background", d / "bg.csv",
                    "--method", "anchors", "--out", out) == 0  # fmt: skip
    anchors = json.loads(out.read_text())
    assert len(anchors) == 3
    assert [a["predicted"] for a in anchors] == mlp.predict(X[:3]).tolist()
    assert all(a["precision"] >= 0.95 and a["rule"] for a in anchors)
    assert all(name.startswith("f") for a in anchors for name in a["feature_names"])
    out = d / "surrogate.csv"
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--background", d / "bg.csv",
                    "--method", "surrogate", "--budget", "2", "--out", out) == 0  # fmt: skip
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["row"] for r in table] == ["0", "1", "2"]
    # A depth-2 tree: each row's rule has at most two tests, on the CSV's columns.
    assert all(r["rule"].count(" AND ") <= 1 and "f" in r["rule"] for r in table)


def test_occlusion_is_the_drop_when_one_feature_is_replaced(files, capsys):
    d, X, mlp = files
    out = d / "occlusion.json"
    background = X[100]
    np.savetxt(d / "one.csv", background[None], delimiter=",")
    code = _explain(
        d, d / "mlp.onnx", d / "rows.csv", "--rows", "0:2", "--background", d / "one.csv",
        "--method", "occlusion", "--target", "1", "--out", out,
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    expl = bx.Explanation.from_json(out)
    # One background row: feature j's value is f(x) - f(x with x_j from the background).
    for r in range(2):
        replaced = np.repeat(X[r : r + 1], 12, axis=0)
        replaced[np.arange(12), np.arange(12)] = background
        drop = mlp.predict_proba(X[r : r + 1])[0, 1] - mlp.predict_proba(replaced)[:, 1]
        np.testing.assert_allclose(expl.values[r, :, 0], drop, atol=1e-5)


@pytest.mark.parametrize("method", ["saliency", "integrated-gradients", "smoothgrad"])
def test_gradient_methods_match_the_python_api(files, method, capsys):
    d, _, _ = files
    out = d / f"{method}.json"
    budget = [] if method == "saliency" else ["--budget", "16"]
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--method", method, "--target", "1",
                    "--out", out, *budget) == 0, capsys.readouterr().err  # fmt: skip
    expl = bx.Explanation.from_json(out)
    cls = {"saliency": bx.Saliency, "integrated-gradients": bx.IntegratedGradients,
           "smoothgrad": bx.SmoothGrad}[method]  # fmt: skip
    options = {} if method == "saliency" else {"n_steps" if "int" in method else "n_samples": 16}
    if method == "smoothgrad":
        options["seed"] = 0  # the command line's default --seed
    direct = cls(bx.DifferentiableOnnxModel(str(d / "mlp.onnx")), **options).explain(
        np.loadtxt(d / "rows.csv", delimiter=",", skiprows=1), target=1
    )
    np.testing.assert_array_equal(expl.values, direct.values)


def test_grad_cam_and_kernel_shap_of_a_cnn_read_pixels_from_csv(files, capsys):
    d, _, _ = files
    out = d / "cam.json"
    assert _explain(d, d / "cnn.onnx", d / "pixels.csv", "--method", "grad-cam", "--out", out) == 0
    cam = bx.Explanation.from_json(out)
    assert cam.values.shape == (2, 8, 8, 1)
    pixels = np.loadtxt(d / "pixels.csv", delimiter=",").reshape(2, 1, 8, 8)
    direct = bx.GradCam(bx.DifferentiableOnnxModel(str(d / "cnn.onnx"))).explain(pixels)
    np.testing.assert_array_equal(cam.values, direct.values)
    out = d / "cnn_shap.json"
    # Flat CSV rows are reshaped to the CNN's (1, 8, 8) input for the masker methods too.
    assert _explain(d, d / "cnn.onnx", d / "pixels.csv", "--method", "kernel-shap",
                    "--budget", "200", "--n-background", "2", "--out", out) == 0  # fmt: skip
    shap = bx.Explanation.from_json(out)
    net = bx.OnnxModel(str(d / "cnn.onnx"))
    np.testing.assert_allclose(
        shap.values.sum(axis=1) + shap.base_values, net(pixels.astype(np.float32)), atol=1e-5
    )


def test_image_files_are_read_in_the_model_layout(files, tmp_path, capsys):
    from skimage.io import imsave

    d, _, _ = files
    image = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    imsave(tmp_path / "a.png", image, check_contrast=False)
    out = tmp_path / "sal.json"
    assert (
        _explain(d, d / "cnn.onnx", tmp_path / "a.png", "--method", "saliency", "--out", out) == 0
    )
    expl = bx.Explanation.from_json(out)
    np.testing.assert_allclose(expl.data[0, 0], image / 255, rtol=1e-6)
    imsave(tmp_path / "big.png", np.zeros((9, 9), np.uint8), check_contrast=False)
    line = _error(capsys, _explain(d, d / "cnn.onnx", tmp_path / "big.png", "--method", "saliency"))
    assert line == "blackbox-xai: error: " + str(tmp_path / "big.png") + (
        " is 9x9 with 1 channel(s); the model takes 8x8 with 1."
    )
    line = _error(capsys, _explain(d, d / "cnn.onnx", tmp_path / "a.png", "--method", "lime"))
    assert "images are explained by occlusion, rise and the gradient methods" in line


def test_occlusion_and_rise_explain_image_files(files, tmp_path, capsys):
    from skimage.io import imsave

    d, _, _ = files
    image = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    imsave(tmp_path / "a.png", image, check_contrast=False)
    model = bx.OnnxModel(str(d / "cnn.onnx"))
    x = (image / 255).astype(np.float32)[None, None]
    for method, extra in (("occlusion", []), ("rise", ["--budget", "200"])):
        out = tmp_path / f"{method}.json"
        code = _explain(d, d / "cnn.onnx", tmp_path / "a.png", "--method", method,
                        "--target", "1", "--out", out, *extra)  # fmt: skip
        assert code == 0, capsys.readouterr().err
        expl = bx.Explanation.from_json(out)
        assert expl.values.shape == (1, 8, 8, 1)
    # Occlusion with 1-pixel windows: each pixel's drop when it is black.
    occlusion = bx.Occlusion(model, bx.maskers.Image(fill=0.0)).explain(x, target=1)
    np.testing.assert_array_equal(
        bx.Explanation.from_json(tmp_path / "occlusion.json").values, occlusion.values
    )
    assert bx.Explanation.from_json(tmp_path / "rise.json").meta["n_model_rows"] >= 200


def test_a_budget_the_method_does_not_have_is_refused(files, capsys):
    d, _, _ = files
    line = _error(capsys, _explain(d, d / "mlp.onnx", d / "rows.csv", "--method",
                                   "exact-shapley", "--budget", "3"))  # fmt: skip
    assert line == "blackbox-xai: error: exact-shapley has no budget to set: drop --budget."


# -- report formats -------------------------------------------------------------------------
def test_html_report_names_model_method_and_budget(files, tmp_path, capsys, render_html):
    d, _, _ = files
    out = tmp_path / "report.html"
    model = tmp_path / "<b>m&m.onnx"  # a file name is user text: escaped
    shutil.copy(d / "mlp.onnx", model)
    assert _explain(d, model, d / "rows.csv", "--budget", "300", "--n-jobs", "2", "--out", out) == 0
    page = out.read_text()
    assert "&lt;b&gt;m&amp;m.onnx" in page and "<b>m" not in page
    assert "kernel-shap" in page and "n_evals=300" in page
    assert "largest standard error" in page and page.count("<caption>row ") == 3
    assert render_html(page).errors == []


def test_csv_report_has_one_line_per_row_feature_and_output(files, capsys):
    d, _, _ = files
    out = d / "values.csv"
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--method", "exact-shapley",
                    "--rows", "0", "--out", out) == 0  # fmt: skip
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 12 * 2 and table[0]["feature"] == "f0" and table[0]["stderr"] == ""
    expl = bx.ExactShapley(
        bx.OnnxModel(str(d / "mlp.onnx")), np.loadtxt(d / "rows.csv", delimiter=",", skiprows=1)
    ).explain(np.loadtxt(d / "rows.csv", delimiter=",", skiprows=1)[:1])
    assert float(table[3]["value"]) == pytest.approx(expl.values[0, 1, 1], abs=1e-12)


# -- text models: skops and pickles ---------------------------------------------------------
def test_skops_text_model_explains_documents(files, capsys):
    d, _, _ = files
    out = d / "text.html"
    assert _explain(d, d / "text.skops", d / "docs.txt", "--target", "1", "--out", out) == 0
    page = out.read_text()
    assert page.count("class='bx-doc'") == 2 and "slow" in page
    out = d / "anchor.json"
    assert _explain(d, d / "text.skops", d / "docs.txt", "--method", "anchors", "--out", out) == 0
    assert len(json.loads(out.read_text())) == 2


def test_pickles_need_trust_pickle(files, capsys):
    d, _, _ = files
    line = _error(capsys, _explain(d, d / "text.pkl", d / "docs.txt"))
    assert "runs whatever code it contains" in line and "--trust-pickle" in line
    out = d / "pickled.json"
    assert _explain(d, d / "text.pkl", d / "docs.txt", "--trust-pickle", "--out", out) == 0
    assert bx.Explanation.from_json(out).method == "kernel_shap"


def test_skops_untrusted_types_are_named_and_trusted_one_by_one(tmp_path, files, capsys):
    import operator

    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    d, X, mlp = files
    pipe = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression())
    sio.dump(pipe.fit(X, mlp.predict(X)), tmp_path / "neg.skops")
    line = _error(capsys, _explain(d, tmp_path / "neg.skops", d / "rows.csv"))
    assert line == (
        f"blackbox-xai: error: {tmp_path / 'neg.skops'} holds types skops does not trust by default: "
        "_operator.neg. Check them, then pass each with --trust TYPE."
    )
    out = tmp_path / "neg.json"
    code = _explain(d, tmp_path / "neg.skops", d / "rows.csv", "--trust", "_operator.neg",
                    "--method", "exact-shapley", "--out", out)  # fmt: skip
    assert code == 0
    expl = bx.Explanation.from_json(out)
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, pipe.predict_proba(X[:3]), atol=1e-12
    )


# -- bad input: one line, status 2 ----------------------------------------------------------
def test_bad_inputs_get_one_line_each(files, tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    d, _, _ = files
    (tmp_path / "junk.onnx").write_bytes(b"not a model at all")
    line = _error(capsys, _explain(d, tmp_path / "junk.onnx", d / "rows.csv"))
    assert "junk.onnx is not an ONNX model" in line
    # Parses, but a node reads a tensor nothing produces: the checker refuses it.
    graph = helper.make_graph(
        [helper.make_node("Relu", ["nowhere"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 12])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "broken.onnx")
    assert "broken.onnx fails the ONNX checker" in _error(
        capsys, _explain(d, tmp_path / "broken.onnx", d / "rows.csv")
    )
    assert "more than the limit of 0.001 MB" in _error(
        capsys, _explain(d, d / "mlp.onnx", d / "rows.csv", "--max-model-mb", "0.001")
    )
    with open(d / "rows.csv") as fh:
        narrow = [",".join(line.strip().split(",")[:5]) for line in fh]
    (tmp_path / "narrow.csv").write_text("\n".join(narrow) + "\n")
    assert _error(capsys, _explain(d, d / "mlp.onnx", tmp_path / "narrow.csv")) == (
        f"blackbox-xai: error: {tmp_path / 'narrow.csv'} has 5 columns; the model takes 12."
    )
    (tmp_path / "text.csv").write_text("a,b\n1,x\n")
    assert "line 2, column 'b': 'x' is not a number" in _error(
        capsys, _explain(d, d / "mlp.onnx", tmp_path / "text.csv")
    )
    assert _error(capsys, _explain(d, tmp_path / "none.onnx", d / "rows.csv")) == (
        f"blackbox-xai: error: model file {str(tmp_path / 'none.onnx')!r} does not exist."
    )
    assert "does not exist" in _error(capsys, _explain(d, d / "mlp.onnx", tmp_path / "none.csv"))
    assert "--out must end in .html, .json or .csv" in _error(
        capsys, _explain(d, d / "mlp.onnx", d / "rows.csv", "--out", tmp_path / "x.txt")
    )
    assert "--rows must be START:STOP" in _error(
        capsys, _explain(d, d / "mlp.onnx", d / "rows.csv", "--rows", "a-b")
    )
    assert "ExactShapley enumerates 2**d coalitions; d=64" in _error(
        capsys, _explain(d, d / "cnn.onnx", d / "pixels.csv", "--method", "exact-shapley")
    )
    assert "the model takes text: pass a .txt file" in _error(
        capsys, _explain(d, d / "text.skops", d / "rows.csv")
    )


# -- as a user runs it ----------------------------------------------------------------------
def _run(*argv: object, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "blackbox_xai.cli", "explain", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        check=False,
    )


def test_subprocess_refuses_a_pickle_in_one_line_without_traceback(files):
    d, _, _ = files
    done = _run(d / "text.pkl", d / "docs.txt")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"blackbox-xai: error: {d / 'text.pkl'} is a pickle: loading it runs whatever code it contains. "
        "Pass --trust-pickle only for a file you made or trust, or save the model with "
        "skops (.skops).\n"
    )


def test_subprocess_shows_a_progress_bar_on_a_terminal_only(files, tmp_path):
    d, _, _ = files
    out = tmp_path / "r.json"
    done = _run(d / "mlp.onnx", d / "rows.csv", "--budget", "200", "--out", out)
    assert done.returncode == 0 and done.stderr == ""  # stderr is a pipe: no bar
    assert done.stdout.startswith(f"wrote {out} (kernel-shap, 3 rows")
    master, slave = pty.openpty()
    # A terminal with a width: tqdm draws nothing on a zero-column one.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        done = _run(d / "mlp.onnx", d / "rows.csv", "--budget", "200", "--out", out, stderr=slave)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    assert b"kernel_shap" in shown and b"3/3" in shown
    assert b"kernel_shap" in shown and b"3/3" in shown


def test_quiet_prints_nothing_and_changes_no_value(files, tmp_path, capsys):
    d, _, _ = files
    out = tmp_path / "q.json"
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--budget", "200", "--out", out) == 0
    first = bx.Explanation.from_json(out)
    capsys.readouterr()
    assert _explain(d, d / "mlp.onnx", d / "rows.csv", "--budget", "200", "--out", out,
                    "--quiet") == 0  # fmt: skip
    assert capsys.readouterr() == ("", "")
    np.testing.assert_array_equal(bx.Explanation.from_json(out).values, first.values)

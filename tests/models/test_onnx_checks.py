"""ONNX models: batch-independent values, external data, parameters checked up front."""

import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import blackbox_xai as bx
from blackbox_xai.autodiff import DifferentiableOnnxModel
from blackbox_xai.models.convert import sklearn_to_onnx


@pytest.fixture(scope="module")
def iris_onnx():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return sklearn_to_onnx(pipe, X), X


def test_ort_rows_depend_on_the_run_size_and_fixed_batches_remove_it(iris_onnx):
    raw, X = iris_onnx
    rows = X[:7].astype(np.float32)
    session = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = "output_probability"
    alone = np.concatenate([session.run([out], {name: r[None]})[0] for r in rows])
    together = session.run([out], {name: rows})[0]
    assert not np.array_equal(alone, together)  # what fixed batches are for
    model = bx.OnnxModel(raw)
    assert model.fixed_batch == "auto" and model.run_size(model._feeds(X)) == 256
    one_by_one = np.concatenate([model(r[None]) for r in X[:7]])
    np.testing.assert_array_equal(one_by_one, model(X[:7]))
    np.testing.assert_array_equal(model(X)[:7], model(X[:7]))  # 150 rows: one padded run


def test_rows_per_run_is_the_padded_run_size(iris_onnx, tmp_path):
    raw, X = iris_onnx
    assert bx.OnnxModel(raw).rows_per_run(X) == 256
    assert bx.OnnxModel(raw, fixed_batch=7).rows_per_run(X) == 7
    assert bx.OnnxModel(raw, fixed_batch=None).rows_per_run(X) == 1
    assert bx.CachedModel(bx.OnnxModel(raw, fixed_batch=7), tmp_path).rows_per_run(X) == 7
    assert bx.wrap(lambda A: A.sum(axis=1)).rows_per_run(X) == 1
    # Rows the model refuses: the call reports them (with the batch), not this query.
    assert bx.OnnxModel(raw).rows_per_run(X[:, :3]) == 1
    assert bx.OnnxModel(raw).rows_per_run(X[0]) == 1  # not rows: a row's values
    assert bx.OnnxModel(raw).rows_per_run(X[:0]) == 1
    # Batches of a smaller batch_size are whole runs too: 20 rows as 14 + 6, not 16 + 4
    # (padded to 2 runs of 7 + 1 run of 7).
    small = bx.OnnxModel(raw, fixed_batch=7, batch_size=16)
    sizes: list[int] = []
    predict = small._predict
    small._predict = lambda A: (sizes.append(len(A)), predict(A))[1]  # type: ignore[method-assign]
    np.testing.assert_array_equal(small(X[:20]), bx.OnnxModel(raw, fixed_batch=7)(X[:20]))
    assert sizes == [14, 6]
    # Large rows: at most 2 MiB of input per run (10 RGB float32 images of 128 x 128).
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2, 3], keepdims=0)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 128, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
    )
    images = bx.OnnxModel(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert images.rows_per_run(np.zeros((1, 3, 128, 128))) == 10


def test_onnx_shapley_values_do_not_depend_on_n_jobs_or_chunks(iris_onnx):
    # Without fixed runs these differ by up to 3.5e-8 (ExactShapley) and 1.7e-8
    # (KernelShap) between chunk sizes: each chunk is a model call of its own size.
    raw, X = iris_onnx
    model = bx.OnnxModel(raw)
    rows, background = X, X[::30]
    settings = ((1, None), (2, 16), (1, 1), (1, 7))
    exact = [
        bx.ExactShapley(model, background, n_jobs=n_jobs).explain(rows, chunk_size=c).values
        for n_jobs, c in settings
    ]
    kernel = [
        bx.KernelShap(model, background, seed=0, n_jobs=n_jobs)
        .explain(rows, n_evals=12, chunk_size=c)
        .values
        for n_jobs, c in settings
    ]
    for values in (exact, kernel):
        for other in values[1:]:
            np.testing.assert_array_equal(values[0], other)


def test_unpadded_runs_keep_models_that_reduce_over_the_batch():
    nodes = [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=1)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])],
    )
    model = bx.OnnxModel(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]))
    np.testing.assert_array_equal(model(np.array([[1.0, 2.0]])), [[3.0]])
    assert model.fixed_batch is None


def _external_model(folder, location="w.bin"):
    weights = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [weights],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    path = os.path.join(folder, "model.onnx")
    onnx.save_model(proto, path, save_as_external_data=True, location=location, size_threshold=0)
    return path


def test_external_data_beside_the_model_is_loaded(tmp_path):
    path = _external_model(str(tmp_path))
    x = np.ones((2, 4))
    expected = [[18.0, 22.0, 26.0]] * 2
    np.testing.assert_array_equal(bx.OnnxModel(path)(x), expected)
    np.testing.assert_array_equal(DifferentiableOnnxModel(path)(x), expected)
    grad = DifferentiableOnnxModel(path).gradient(x, 0)
    np.testing.assert_array_equal(grad, [[0.0, 3.0, 6.0, 9.0]] * 2)


def test_external_data_outside_the_model_folder_is_refused(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    path = _external_model(str(sub))
    shutil.move(str(sub / "w.bin"), str(tmp_path / "w.bin"))
    proto = onnx.load(path, load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../w.bin"
    onnx.save_model(proto, path)
    with pytest.raises(ValueError, match="points outside the directory"):
        bx.OnnxModel(path)


def test_bad_parameters_are_refused_naming_them(iris_onnx):
    raw, _ = iris_onnx
    cap = 4 * (os.cpu_count() or 1)
    with pytest.raises(ValueError, match=rf"intra_op_threads=10000 .* Pass at most {cap}"):
        bx.OnnxModel(raw, intra_op_threads=10**4)
    with pytest.raises(ValueError, match="intra_op_threads must be >= 1"):
        bx.OnnxModel(raw, intra_op_threads=0)
    with pytest.raises(
        ValueError, match=r"output 'output_label' holds INT64 values \(predicted lab"
    ):
        bx.OnnxModel(raw, output="output_label")
    available = ort.get_available_providers()
    with pytest.raises(ValueError, match=r"providers \['TypoExecutionProvider'\] are not avail"):
        bx.OnnxModel(raw, providers=["TypoExecutionProvider"])
    try:
        bx.OnnxModel(raw, providers=["TypoExecutionProvider"])
    except ValueError as exc:
        assert str(available) in str(exc)


def test_values_beyond_float32_are_refused_not_made_inf(iris_onnx):
    raw, X = iris_onnx
    model = bx.OnnxModel(raw)
    big = X[:3].copy()
    big[1, 2] = 1e300
    with pytest.raises(
        bx.ModelCallError, match=r"would become inf \(first: row 1, column 2, 1e\+300"
    ):
        model(big)


def test_gradients_check_their_input_like_predictions(tmp_path):
    model = DifferentiableOnnxModel(_external_model(str(tmp_path)))
    bad = np.ones((2, 4))
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN values .* first at index \(1, 3\)"):
        model.gradient(bad, 0)
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="X contains inf values"):
        model.gradient(bad, 0)
    with pytest.raises(ValueError, match="X has no rows"):
        model.gradient(np.ones((0, 4)), 0)
    with pytest.raises(ValueError, match=r"X must have a batch axis .* shape \(4,\)"):
        model.gradient(np.ones(4), 0)


def test_auto_runs_take_fewer_rows_when_rows_are_large():
    # 2 MiB of input per run: 10 RGB images of 128 x 128 float32 (192 KiB each), 256
    # rows of a small input; a row's output is the same whatever the call's size.
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Flatten", ["g"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 128, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [w],
    )
    model = bx.OnnxModel(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    images = rng.random((23, 3, 128, 128))
    assert model.run_size(model._feeds(images)) == 10
    together = model(images)
    assert model.n_calls == 1
    np.testing.assert_array_equal(np.concatenate([model(x[None]) for x in images]), together)
    np.testing.assert_array_equal(model(images[5:17]), together[5:17])
    with pytest.raises(ValueError, match="fixed_batch"):
        bx.OnnxModel(helper.make_model(graph), fixed_batch="big")

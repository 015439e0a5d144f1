"""ONNX Runtime backend: classifier exports, dtypes, strings, batching, pickling, errors."""

import pickle

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from joblib import Parallel, delayed
from onnx import TensorProto, helper
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import blackbox_xai as bx
from blackbox_xai.models.convert import sklearn_to_onnx


@pytest.fixture(scope="module")
def forest_onnx(cancer12):
    X, y = cancer12
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    return forest, X


@pytest.mark.parametrize("zipmap", [True, False])
def test_classifier_export_agrees_with_sklearn(forest_onnx, zipmap):
    forest, X = forest_onnx
    model = bx.OnnxModel(sklearn_to_onnx(forest, X, zipmap=zipmap))
    assert model.n_outputs == 2 and model.n_input_columns == 12 and model.n_calls == 0  # probed
    np.testing.assert_allclose(model(X), bx.wrap(forest)(X), atol=1e-5)
    assert model.output_names == ["0", "1"]
    assert model.output == ("output_probability" if zipmap else "probabilities")


def test_regressor_double_input_is_cast(wine):
    X, y = wine
    reg = Ridge().fit(X, y)
    model = bx.OnnxModel(sklearn_to_onnx(reg, X, double=True))
    assert model._input_specs[0][1] == 11  # double
    np.testing.assert_allclose(model(X)[:, 0], reg.predict(X), rtol=1e-12)


def test_every_source_kind_loads(forest_onnx, tmp_path):
    forest, X = forest_onnx
    raw = sklearn_to_onnx(forest, X)
    path = tmp_path / "forest.onnx"
    path.write_bytes(raw)
    expected = bx.OnnxModel(raw)(X[:5])
    for source in (
        str(path),
        path,
        onnx.load_model_from_string(raw),
        ort.InferenceSession(raw, providers=["CPUExecutionProvider"]),
    ):
        np.testing.assert_array_equal(bx.wrap(source)(X[:5]), expected)


def test_batching_counts_and_matches(forest_onnx):
    forest, X = forest_onnx
    model = bx.OnnxModel(sklearn_to_onnx(forest, X), batch_size=100)
    whole = bx.OnnxModel(sklearn_to_onnx(forest, X))(X)
    np.testing.assert_array_equal(model(X), whole)
    assert model.n_calls == 6 and model.n_rows == len(X)


def _predict_in_worker(model, X):
    return model(X), model._session is not None


def test_pickled_model_runs_in_joblib_worker(forest_onnx):
    forest, X = forest_onnx
    model = bx.OnnxModel(sklearn_to_onnx(forest, X))
    clone = pickle.loads(pickle.dumps(model))
    assert clone._session is None and clone.intra_op_threads == 1
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_predict_in_worker)(model, X[i::2]) for i in range(2)
    )
    for i, (out, rebuilt) in enumerate(results):
        assert rebuilt
        np.testing.assert_allclose(out, forest.predict_proba(X[i::2]), atol=1e-5)


def test_text_pipeline_with_string_input():
    docs = ["good movie", "bad movie", "good plot", "bad plot", "great fun", "awful mess"]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, [1, 0, 1, 0, 1, 0])
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType

    # The C locale exists on every machine; skl2onnx defaults to en_US.UTF-8.
    options = {id(pipe.steps[0][1]): {"locale": "C"}}
    proto = to_onnx(
        pipe,
        initial_types=[("text", StringTensorType([None, 1]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    model = bx.wrap(proto)
    assert model.input_kind == "text"
    np.testing.assert_allclose(
        model(["good movie", "awful plot"]),
        pipe.predict_proba(["good movie", "awful plot"]),
        atol=1e-5,
    )


def test_providers_are_kept_and_passed(forest_onnx):
    forest, X = forest_onnx
    model = bx.OnnxModel(sklearn_to_onnx(forest, X), providers=["CPUExecutionProvider"])
    assert model.providers == ["CPUExecutionProvider"]
    assert model._get_session().get_providers() == ["CPUExecutionProvider"]


def test_output_choice_and_errors(forest_onnx):
    forest, X = forest_onnx
    raw = sklearn_to_onnx(forest, X, zipmap=False)
    with pytest.raises(
        ValueError,
        match=r"output 'nope' is not an output of the ONNX model; outputs are \['label', 'probabilities'\]",
    ):
        bx.OnnxModel(raw, output="nope")


def test_unloadable_bytes_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="the ONNX model could not be parsed"):
        bx.OnnxModel(b"not an onnx model")
    with pytest.raises(ValueError, match="could not read the ONNX file"):
        bx.OnnxModel(str(tmp_path / "missing.onnx"))
    with pytest.raises(TypeError, match="path, bytes, onnx.ModelProto"):
        bx.OnnxModel(42)


def _one_node_model(op, input_type, ir_version=None, **attrs):
    node = helper.make_node(op, ["x"] * (2 if op == "Mul" else 1), ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", input_type, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if ir_version is not None:
        proto.ir_version = ir_version
    return proto


def test_model_without_float_or_string_input_is_refused():
    proto = _one_node_model("Cast", TensorProto.INT64, to=TensorProto.FLOAT)
    with pytest.raises(ValueError, match=r"no float or string input \(input element types \[7\]\)"):
        bx.OnnxModel(proto)


def test_image_model_is_not_probed_with_columns():
    # an (n, 3, 4, 4) input has no columns: probing it with (1, 3) rows would fail
    node = helper.make_node("GlobalAveragePool", ["x"], ["p"])
    flat = helper.make_node("Flatten", ["p"], ["y"])
    graph = helper.make_graph(
        [node, flat],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    model = bx.OnnxModel(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert model.n_input_columns is None and model.n_calls == 0
    images = np.arange(96, dtype=np.float32).reshape(2, 3, 4, 4)
    np.testing.assert_allclose(model(images), images.mean(axis=(2, 3)))


def test_ir_version_newer_than_runtime_is_lowered():
    model = bx.OnnxModel(_one_node_model("Mul", TensorProto.FLOAT, ir_version=99))
    np.testing.assert_allclose(model(np.array([[2.0, 3.0]])), [[4.0, 9.0]])
    assert onnx.load_model_from_string(model.model_bytes).ir_version == 8


def test_zipmap_of_a_double_export_keeps_double_probabilities(wine):
    X, y = wine
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    model = bx.OnnxModel(sklearn_to_onnx(clf, X, double=True))
    np.testing.assert_allclose(model(X[:5]), clf.predict_proba(X[:5]), rtol=1e-9)


def test_string_class_labels_name_the_outputs(wine):
    X, y = wine
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, labels)
    assert bx.OnnxModel(sklearn_to_onnx(clf, X)).output_names == ["barbera", "barolo", "grignolino"]


def test_rows_are_split_over_several_inputs():
    nodes = [
        helper.make_node("Cast", ["a"], ["a64"], to=TensorProto.DOUBLE),
        helper.make_node("Concat", ["a64", "b"], ["ab"], axis=1),
        helper.make_node("ReduceSum", ["ab"], ["y"], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("b", TensorProto.DOUBLE, [None, 2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])],
    )
    model = bx.OnnxModel(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]))
    assert model.n_input_columns == 3
    np.testing.assert_allclose(model(np.array([[1.0, 2.0, 3.0]])), [[6.0]])


def test_integer_inputs_refuse_fractions_and_unknown_types_are_named():
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)
    mixed = helper.make_graph(
        [node, helper.make_node("Identity", ["f"], ["g"])],
        "g",
        [
            helper.make_tensor_value_info("f", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("x", TensorProto.INT64, [None, 1]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("g", TensorProto.FLOAT, [None, 1]),
        ],
    )
    model = bx.OnnxModel(
        helper.make_model(mixed, opset_imports=[helper.make_opsetid("", 17)]), output="y"
    )
    np.testing.assert_array_equal(model(np.array([[0.5, 2.0]])), [[2.0]])
    with pytest.raises(
        bx.ModelCallError,
        match=r"the ONNX input 'x' is int64, but columns 1..1 hold non-integer values",
    ):
        model(np.array([[0.5, 2.7]]))
    with pytest.raises(ValueError, match=r"element types blackbox_xai cannot feed: \[\('x', 2\)\]"):
        bx.OnnxModel(_one_node_model("Cast", TensorProto.UINT8, to=TensorProto.FLOAT))


def test_wrap_validates_onnx_batch_size(forest_onnx):
    forest, X = forest_onnx
    with pytest.raises(ValueError, match="batch_size must be a positive integer or None, got 0"):
        bx.wrap(sklearn_to_onnx(forest, X), batch_size=0)


def test_onnx_explanations_identical_for_any_n_jobs_and_backend(forest_onnx):
    from joblib import parallel_config

    forest, X = forest_onnx
    model = bx.OnnxModel(sklearn_to_onnx(forest, X))
    reference = bx.ExactShapley(model, X[:6]).explain(X[50:54])
    for backend in ("threading", "loky"):
        with parallel_config(backend=backend, n_jobs=2):
            other = bx.ExactShapley(model, X[:6]).explain(X[50:54], chunk_size=1)
        np.testing.assert_array_equal(other.values, reference.values)

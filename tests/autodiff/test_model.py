"""DifferentiableOnnxModel: predictions, gradients, activations, targets, batching, pickling."""

import pickle

import numpy as np
import pytest
from autodiff_harness import Runner, gradients, make_model, to_float32
from autodiff_models import cnn, mlp, transformer
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx

rng = np.random.default_rng(12)


@pytest.fixture(scope="module")
def cnn32():
    model, _ = cnn(np.random.default_rng(0))
    model = to_float32(model)
    x = np.random.default_rng(1).standard_normal((5, 3, 8, 8)).astype(np.float32)
    return _any_batch(model), x


def _any_batch(model):
    """Declare the first axis of every graph input and output as a batch of any size."""
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "n"
    return model


def _one_hot(classes, k):
    seeds = np.zeros((len(classes), k), np.float32)
    seeds[np.arange(len(classes)), classes] = 1
    return seeds


def test_public_names():
    assert bx.DifferentiableOnnxModel is bx.autodiff.DifferentiableOnnxModel
    assert issubclass(bx.DifferentiableOnnxModel, bx.OnnxModel)


def test_predict_and_gradient_of_a_class(cnn32):
    model, x = cnn32
    dm = bx.DifferentiableOnnxModel(model)
    np.testing.assert_allclose(dm.predict(x), Runner(model)({"x": x})["proba"], rtol=1e-6)
    grad = dm.gradient(x, target=2)
    expected, _ = gradients(model, {"x": x}, {"proba": _one_hot([2] * 5, 5)}, ["x"])
    assert grad.dtype == np.float64 and grad.shape == x.shape
    np.testing.assert_array_equal(grad, expected["x"])


def test_targets_per_row_and_seeds(cnn32):
    model, x = cnn32
    dm = bx.DifferentiableOnnxModel(model)
    classes = np.array([0, 4, 1, 1, 3])
    expected, _ = gradients(model, {"x": x}, {"proba": _one_hot(classes, 5)}, ["x"])
    np.testing.assert_array_equal(dm.gradient(x, classes), expected["x"])
    seeds = rng.standard_normal((5, 5))
    expected, _ = gradients(model, {"x": x}, {"proba": seeds.astype(np.float32)}, ["x"])
    np.testing.assert_array_equal(dm.gradient(x, seeds), expected["x"])


def test_batches_give_the_same_gradients(cnn32):
    model, x = cnn32
    whole = bx.DifferentiableOnnxModel(model).gradient(x, [0, 1, 2, 3, 4])
    batched = bx.DifferentiableOnnxModel(model, batch_size=2)
    np.testing.assert_array_equal(batched.gradient(x, [0, 1, 2, 3, 4]), whole)
    assert (batched.n_gradient_calls, batched.n_gradient_rows) == (3, 5)
    batched.reset_counts()
    assert (batched.n_gradient_calls, batched.n_gradient_rows, batched.n_calls) == (0, 0, 0)


def test_activations_and_gradients_of_a_layer(cnn32):
    model, x = cnn32
    dm = bx.DifferentiableOnnxModel(model, batch_size=3)
    acts, grads = dm.activations_and_gradients(x, 1, layer="c2")
    grad_model = bx.autodiff.gradient_model(model, "c2", outputs="proba")
    out = Runner(grad_model)({"x": x, "proba__seed": _one_hot([1] * 5, 5)})
    np.testing.assert_array_equal(acts, out["c2"])
    np.testing.assert_array_equal(grads, out["c2__grad"])
    acts, grads = dm.activations_and_gradients(x, 1, layer="x")  # an input: its values are X
    np.testing.assert_array_equal(acts, x)
    np.testing.assert_array_equal(grads, dm.gradient(x, 1))


def test_wrt_names_and_relu_rules(cnn32):
    model, x = cnn32
    dm = bx.DifferentiableOnnxModel(model)
    np.testing.assert_array_equal(dm.gradient(x, 0, wrt="x"), dm.gradient(x, 0))
    by_input, by_layer = dm.gradient(x, 0, wrt=["x", "r1"])
    assert by_input.shape == x.shape and by_layer.shape == (5, 4, 8, 8)
    guided = dm.gradient(x, 0, relu_rule="guided")
    expected, _ = gradients(
        model, {"x": x}, {"proba": _one_hot([0] * 5, 5)}, ["x"], relu_rule="guided"
    )
    np.testing.assert_array_equal(guided, expected["x"])
    assert not np.array_equal(guided, dm.gradient(x, 0))


def test_pickle_carries_only_the_model_and_gradients_are_rebuilt(cnn32):
    model, x = cnn32
    dm = bx.DifferentiableOnnxModel(model)
    expected = dm.gradient(x, 3, relu_rule="deconv")
    pickled = pickle.dumps(dm)
    # no copy of the weights per gradient graph: workers receive the model once
    assert len(pickled) < len(dm.model_bytes) + 1000
    clone = pickle.loads(pickled)
    np.testing.assert_array_equal(clone.gradient(x, 3, relu_rule="deconv"), expected)


def test_fully_convolutional_model_on_images_of_another_size():
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    x6 = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    model = make_model([conv], {"x": x6}, ["y"], {"w": w}, dims={"x": ["n", 3, "h", "w"]})
    dm = bx.DifferentiableOnnxModel(model)
    for x in (x6, rng.standard_normal((2, 3, 8, 8)).astype(np.float32), x6):
        seeds = rng.standard_normal((len(x), 2, *x.shape[2:])).astype(np.float32)
        expected, _ = gradients(model, {"x": x}, {"y": seeds}, ["x"])
        np.testing.assert_array_equal(dm.gradient(x, seeds), expected["x"])


def test_tabular_model_with_inputs_split_over_columns():
    feeds = {"a": rng.standard_normal((4, 2)), "b": rng.standard_normal((4, 3))}
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),
        helper.make_node("MatMul", ["ab", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["proba"]),
    ]
    model = _any_batch(make_model(nodes, feeds, ["proba"], {"w": rng.standard_normal((5, 3))}))
    dm = bx.DifferentiableOnnxModel(model)
    X = np.hstack([feeds["a"], feeds["b"]])
    grad = dm.gradient(X, [0, 1, 2, 0])
    expected, _ = gradients(
        model, feeds, {"proba": _one_hot([0, 1, 2, 0], 3).astype(np.float64)}, ["a", "b"]
    )
    np.testing.assert_allclose(grad, np.hstack([expected["a"], expected["b"]]), rtol=1e-12)


def test_token_model_needs_wrt_and_differentiates_the_embeddings():
    model, feeds = transformer(np.random.default_rng(3))
    model.graph.initializer.append(numpy_helper.from_array(feeds["table"], "table"))  # a weight now
    inputs = [i for i in model.graph.input if i.name != "table"]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    dm = bx.DifferentiableOnnxModel(_any_batch(to_float32(model)))
    tokens = feeds["tokens"]
    with pytest.raises(ValueError, match=r"the model inputs \['tokens'\] are not float.*pass wrt="):
        dm.gradient(tokens, 0)
    acts, grads = dm.activations_and_gradients(tokens, 2, layer="emb")
    assert acts.shape == grads.shape == (2, 5, 8)


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        (7, ValueError, r"target classes must lie in \[0, 5\)"),
        ([0, 1], ValueError, "target has 2 rows for 5 rows of X"),
        (np.ones((5, 4)), ValueError, r"target seeds must be shaped like the output \('n', 5\)"),
        ("a", TypeError, "target must be a class index"),
    ],
)
def test_bad_targets(cnn32, target, error, match):
    model, x = cnn32
    with pytest.raises(error, match=match):
        bx.DifferentiableOnnxModel(model).gradient(x, target)


def test_bad_relu_rule(cnn32):
    model, x = cnn32
    with pytest.raises(ValueError, match="relu_rule must be one of"):
        bx.DifferentiableOnnxModel(model).gradient(x, 0, relu_rule="smooth")


def test_class_index_needs_a_two_dimensional_output():
    x = rng.standard_normal((2, 3, 4))
    model = _any_batch(make_model([helper.make_node("Tanh", ["x"], ["y"])], {"x": x}, ["y"]))
    dm = bx.DifferentiableOnnxModel(model)
    with pytest.raises(ValueError, match=r"class indices need an output of shape \(n, k\)"):
        dm.gradient(x, 0)
    np.testing.assert_allclose(dm.gradient(x, np.ones_like(x)), 1 - np.tanh(x) ** 2)


def test_unsupported_op_is_reported_when_the_model_is_wrapped():
    x = rng.standard_normal((3, 2, 2))
    model = make_model([helper.make_node("Det", ["x"], ["y"], name="det")], {"x": x}, ["y"])
    with pytest.raises(bx.autodiff.UnsupportedOperatorError, match="Det node 'det'"):
        bx.DifferentiableOnnxModel(to_float32(model))


def test_mlp_from_bytes_and_path(tmp_path):
    model, feeds = mlp(np.random.default_rng(4))
    model = _any_batch(model)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(model.SerializeToString())
    a = bx.DifferentiableOnnxModel(str(path)).gradient(feeds["x"], 1)
    b = bx.DifferentiableOnnxModel(model.SerializeToString()).gradient(feeds["x"], 1)
    np.testing.assert_array_equal(a, b)


def test_output_of_a_type_that_cannot_be_fed_as_seed_is_reported():
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    cast = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)
    model = make_model([cast], {"x": x}, ["y"], dims={"x": ["n", 3, 2, 2]})
    with pytest.raises(ValueError, match=r"the output 'y' has the ONNX element type BFLOAT16"):
        bx.DifferentiableOnnxModel(model, output="y")

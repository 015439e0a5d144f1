"""DifferentiableOnnxModel on real exports: (n, k, 1, 1) outputs, output= any tensor or
"logits", layers listed and resolved, gradients at given layer values, graphs per input
shape, and the CUDA provider."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from autodiff_harness import gradients, make_model, to_float32
from autodiff_models import cnn, transformer
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx
from blackbox_xai.autodiff import StaticShapeError, gradient_model, list_layers, resolve_layer

rng = np.random.default_rng(21)


def _any_batch(model):
    for value in (*model.graph.input, *model.graph.output):
        if value.type.tensor_type.shape.dim:
            value.type.tensor_type.shape.dim[0].dim_param = "n"
    return model


@pytest.fixture(scope="module")
def conv_head():
    """A classifier ending in a 1x1 convolution: logits (n, 4, 1, 1), then a Softmax."""
    x = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    weights = {
        "w": rng.standard_normal((6, 2, 3, 3)).astype(np.float32),
        "head": rng.standard_normal((4, 6, 1, 1)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="conv1"),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu1"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Conv", ["pooled", "head"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["prob"], axis=1),
    ]
    return _any_batch(make_model(nodes, {"x": x}, ["prob"], weights)), x


def test_outputs_of_shape_n_k_1_1_are_classes(conv_head):
    model, x = conv_head
    assert bx.OnnxModel(model)(x).shape == (3, 4)
    dm = bx.DifferentiableOnnxModel(model, output="logits")
    assert dm.output == "scores" and dm(x).shape == (3, 4)
    grad = dm.gradient(x, [0, 3, 1])
    seeds = np.zeros((3, 4, 1, 1), np.float32)
    seeds[[0, 1, 2], [0, 3, 1]] = 1
    expected, _ = gradients(model, {"x": x}, {"scores": seeds}, ["x"])
    np.testing.assert_array_equal(grad, expected["x"])
    weights = rng.standard_normal((3, 4)).astype(np.float32)  # (n, k) seeds fit too
    expected, _ = gradients(model, {"x": x}, {"scores": weights[..., None, None]}, ["x"])
    np.testing.assert_array_equal(dm.gradient(x, weights), expected["x"])
    with pytest.raises(ValueError, match=r"target classes must lie in \[0, 4\)"):
        dm.gradient(x, 4)


def test_output_names_any_tensor_or_its_node(conv_head):
    model, x = conv_head
    by_tensor = bx.DifferentiableOnnxModel(model, output="relu")
    by_node = bx.DifferentiableOnnxModel(model, output="relu1")
    assert by_tensor.output == by_node.output == "relu"
    seeds = np.ones((3, 6, 3, 3), np.float32)
    np.testing.assert_array_equal(by_tensor.gradient(x, seeds), by_node.gradient(x, seeds))
    with pytest.raises(ValueError, match=r"output 'relu9' is neither a tensor nor a node"):
        bx.DifferentiableOnnxModel(model, output="relu9")


def test_logits_need_a_final_softmax():
    model, _ = cnn(np.random.default_rng(0))  # ends in Softmax: logits found
    assert bx.DifferentiableOnnxModel(to_float32(model), output="logits").output == "logits"
    x = rng.standard_normal((2, 3)).astype(np.float32)
    tanh = make_model([helper.make_node("Tanh", ["x"], ["y"])], {"x": x}, ["y"])
    with pytest.raises(ValueError, match="needs a graph that ends in Softmax or LogSoftmax"):
        bx.DifferentiableOnnxModel(tanh, output="logits")


def test_layers_are_listed_and_resolved_with_candidates(conv_head):
    model, _ = conv_head
    layers = list_layers(model, min_rank=4)
    assert [layer.name for layer in layers] == ["x", "conv", "relu", "pooled", "scores", "prob"]
    relu = resolve_layer(model, "relu1")
    assert (relu.name, relu.op_type, relu.node, relu.shape) == (
        "relu",
        "Relu",
        "relu1",
        ("n", 6, 3, 3),
    )
    with pytest.raises(ValueError, match=r"'rleu' is neither.*candidates are 'relu' \(Relu"):
        resolve_layer(model, "rleu")
    with pytest.raises(ValueError, match="has rank 4, but at least 5 axes"):
        resolve_layer(model, "relu", min_rank=5)


def test_layer_gradient_sets_the_layers_values():
    model, feeds = transformer(np.random.default_rng(3))
    model.graph.initializer.append(numpy_helper.from_array(feeds["table"], "table"))
    inputs = [i for i in model.graph.input if i.name != "table"]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    dm = bx.DifferentiableOnnxModel(_any_batch(to_float32(model)))
    tokens = feeds["tokens"]
    acts, grads = dm.activations_and_gradients(tokens, 2, layer="emb")
    outputs, at_own = dm.layer_gradient(tokens, 2, "emb", acts)
    np.testing.assert_allclose(at_own, grads, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(outputs, dm(tokens), rtol=1e-5, atol=1e-6)
    # other values: the gradient of the model with the embeddings replaced
    other = rng.standard_normal(acts.shape).astype(np.float32)
    out, grad = dm.layer_gradient(tokens, 2, "emb", other)
    cut = bx.autodiff.layers.cut_at(onnx.load_model_from_string(dm.model_bytes), "emb", [dm.output])
    assert "emb" in {i.name for i in cut.graph.input}
    fed = {"emb": other, "tokens": tokens}
    fed = {i.name: fed[i.name] for i in cut.graph.input if i.name in fed}
    expected, _ = gradients(cut, fed, {dm.output: _seeds(out.shape, 2)}, ["emb"])
    np.testing.assert_allclose(grad, expected["emb"], rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"values has \(1,\) rows for 2 rows of X"):
        dm.layer_gradient(tokens, 2, "emb", other[:1])


def _seeds(shape, c):
    seeds = np.zeros(shape, np.float32)
    seeds[:, c] = 1
    return seeds


def test_graphs_are_built_per_input_shape_when_a_rule_needs_fixed_sizes():
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["up"], mode="linear"),
        helper.make_node("ReduceSum", ["up", "axes"], ["y"], keepdims=0),
    ]
    weights = {"scales": np.array([1, 1, 2, 2], np.float32), "axes": np.array([1, 2, 3])}
    model = make_model(nodes, {"x": x}, ["y"], weights, dims={"x": ["n", 2, "h", "w"]})
    with pytest.raises(StaticShapeError, match="needs static sizes"):
        gradient_model(model, "x")
    dm = bx.DifferentiableOnnxModel(model)  # no error: sizes are known at run time
    for size in (4, 7):
        images = rng.standard_normal((3, 2, size, size)).astype(np.float32)
        grad = dm.gradient(images, np.ones(3, np.float32))
        fixed = make_model(nodes, {"x": images}, ["y"], weights, dims={"x": ["n", 2, size, size]})
        expected, _ = gradients(fixed, {"x": images}, {"y": np.ones(3, np.float32)}, ["x"])
        np.testing.assert_array_equal(grad, expected["x"])
    assert len(dm._gradient_sessions) == 2


def test_fixed_batch_of_one_runs_row_by_row(conv_head):
    model, x = conv_head
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    om = bx.OnnxModel(fixed)
    assert om.batch_size == 1
    np.testing.assert_allclose(om(x), bx.OnnxModel(model)(x), rtol=1e-6)


@pytest.mark.skipif(
    "CUDAExecutionProvider" not in ort.get_available_providers(),
    reason="needs onnxruntime-gpu and a CUDA device (this onnxruntime has "
    f"{ort.get_available_providers()})",
)
def test_gradients_and_explainers_on_cuda(conv_head):
    model, x = conv_head
    cpu = bx.DifferentiableOnnxModel(model, output="logits")
    gpu = bx.DifferentiableOnnxModel(
        model, output="logits", providers=["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert gpu._gradient_graph(("x",), "standard").session.get_providers()[0] == (
        "CUDAExecutionProvider"
    )
    np.testing.assert_allclose(gpu.gradient(x, 1), cpu.gradient(x, 1), rtol=1e-4, atol=1e-6)
    for explainer in (bx.IntegratedGradients, bx.GradCam, bx.GuidedBackprop):
        np.testing.assert_allclose(
            explainer(gpu).explain(x, 2).values,
            explainer(cpu).explain(x, 2).values,
            rtol=1e-4,
            atol=1e-6,
        )


def test_tensor_types_left_in_the_graph(conv_head):
    model, _ = conv_head
    assert {o.type.tensor_type.elem_type for o in model.graph.output} == {TensorProto.FLOAT}

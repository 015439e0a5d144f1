"""gradient_model as a graph transform: path finding, wrt/outputs, errors, opsets, pruning."""

import numpy as np
import onnx
import pytest
from autodiff_harness import Runner, check_vjp, gradients, make_model, node_model
from onnx import TensorProto, helper

import blackbox_xai as bx
from blackbox_xai.autodiff import UnsupportedOperatorError, gradient_model, transform

rng = np.random.default_rng(9)
i64 = np.int64


def _chain(ops, x_shape=(2, 3)):
    """x -> op0 -> op1 -> ... -> y, nodes named after their op."""
    names = ["x"] + [f"t{i}" for i in range(len(ops) - 1)] + ["y"]
    nodes = [
        helper.make_node(op, [names[i]], [names[i + 1]], name=op.lower())
        for i, op in enumerate(ops)
    ]
    return make_model(nodes, {"x": rng.standard_normal(x_shape)}, ["y"])


def test_public_names():
    assert bx.autodiff.gradient_model is gradient_model
    assert {"Conv", "MaxPool", "Softmax", "Gather", "Resize"} <= set(bx.autodiff.registered_ops())


def test_unsupported_op_error_names_the_op_the_node_and_the_path():
    model = _chain(["Relu", "Det", "Tanh"], x_shape=(2, 2))
    with pytest.raises(
        UnsupportedOperatorError,
        match=r"Det node 'det' on the path 'x' -> Relu node 'relu' -> Det node 'det': "
        r"no gradient rule is registered for Det",
    ):
        gradient_model(model, "x")


def test_unsupported_op_in_another_domain():
    node = helper.make_node("FusedGelu", ["x"], ["y"], name="g", domain="com.example")
    model = make_model([node], {"x": rng.standard_normal(3)}, ["y"], domains={"com.example": 1})
    with pytest.raises(UnsupportedOperatorError, match="FusedGelu of domain 'com.example'"):
        gradient_model(model, "x")


def test_unsupported_input_position_is_reported():
    feeds = {"x": rng.standard_normal((1, 1, 3, 3))}
    model = node_model("Conv", feeds, inputs=["x", "x"])
    with pytest.raises(
        UnsupportedOperatorError, match=r"gradient of Conv with respect to input 1 is not supported"
    ):
        gradient_model(model, "x")


def test_unsupported_op_off_the_path_is_fine():
    x = rng.standard_normal((2, 2))
    nodes = [helper.make_node("Det", ["x"], ["d"]), helper.make_node("Tanh", ["x"], ["y"])]
    model = make_model(nodes, {"x": x}, ["y", "d"])
    check_vjp(model, {"x": x}, outputs=["y"], engine="ref")  # ORT has no float64 Det
    with pytest.raises(UnsupportedOperatorError, match="Det"):
        gradient_model(model, "x")  # all float outputs by default


def test_subgraph_on_the_path_is_unsupported():
    then = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["a"])],
        "then",
        [],
        [helper.make_tensor_value_info("a", 11, [3])],
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["b"])],
        "else",
        [],
        [helper.make_tensor_value_info("b", 11, [3])],
    )
    node = helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then, else_branch=other)
    model = make_model([node], {"x": rng.standard_normal(3), "c": np.array(True)}, ["y"])
    with pytest.raises(
        UnsupportedOperatorError, match=r"If node 'branch' on the path 'x' -> If node 'branch'"
    ):
        gradient_model(model, "x")


def test_integer_shape_subgraphs_are_constants():
    x = rng.standard_normal((2, 3, 4))
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"]),  # batch size
        helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("Cast", ["n"], ["nf"], to=TensorProto.DOUBLE),  # float, but from a shape
        helper.make_node("Mul", ["flat", "nf"], ["scaled"]),
        helper.make_node("ArgMax", ["scaled"], ["arg"], axis=1, keepdims=1),
        helper.make_node("Cast", ["arg"], ["argf"], to=TensorProto.DOUBLE),
        helper.make_node("Add", ["scaled", "argf"], ["y"]),
    ]
    consts = {"zero": np.array(0, i64), "zero1": np.array([0], i64), "minus1": np.array([-1], i64)}
    model = make_model(nodes, {"x": x}, ["y"], consts)
    grads = check_vjp(model, {"x": x})
    seed = np.ones((2, 12))
    grads, grad_model = gradients(model, {"x": x}, {"y": seed}, ["x"])
    np.testing.assert_array_equal(grads["x"], np.full(x.shape, 2.0))  # d(2 x)/dx, argmax constant
    gradient_ops = [n.op_type for n in grad_model.graph.node[len(nodes) :]]
    assert "Gather" not in gradient_ops and "ArgMax" not in gradient_ops


def test_gradient_with_respect_to_an_intermediate_tensor_returns_its_value():
    x = rng.standard_normal((2, 3))
    nodes = [
        helper.make_node("Mul", ["x", "w"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "v"], ["y"]),
    ]
    w, v = rng.standard_normal(3), rng.standard_normal((3, 4))
    model = make_model(nodes, {"x": x}, ["y"], {"w": w, "v": v})
    seed = rng.standard_normal((2, 4))
    grad_model = gradient_model(model, ["r", "x"])
    assert [o.name for o in grad_model.graph.output] == ["y", "r", "r__grad", "x__grad"]
    assert [i.name for i in grad_model.graph.input] == ["x", "y__seed"]
    out = Runner(grad_model)({"x": x, "y__seed": seed})
    np.testing.assert_allclose(out["r"], np.maximum(x * w, 0))
    np.testing.assert_allclose(out["r__grad"], seed @ v.T)
    np.testing.assert_allclose(out["x__grad"], (seed @ v.T) * (x * w > 0) * w)


def test_intermediate_output_can_be_differentiated():
    x = rng.standard_normal((2, 3))
    nodes = [helper.make_node("Tanh", ["x"], ["h"]), helper.make_node("Softmax", ["h"], ["y"])]
    model = make_model(nodes, {"x": x}, ["y"])
    grad_model = gradient_model(model, "x", outputs="h")
    out = Runner(grad_model)({"x": x, "h__seed": np.ones((2, 3))})
    np.testing.assert_allclose(out["h"], np.tanh(x))
    np.testing.assert_allclose(out["x__grad"], 1 - np.tanh(x) ** 2)


def test_input_the_outputs_do_not_depend_on_gets_zeros():
    feeds = {"x": rng.standard_normal((2, 3)), "z": rng.standard_normal((4,))}
    model = make_model([helper.make_node("Tanh", ["x"], ["y"])], feeds, ["y"])
    grads, _ = gradients(model, feeds, {"y": np.ones((2, 3))}, ["x", "z"])
    np.testing.assert_array_equal(grads["z"], np.zeros(4))


def test_gradients_of_several_outputs_add_up():
    x = rng.standard_normal((2, 3))
    nodes = [helper.make_node("Tanh", ["x"], ["a"]), helper.make_node("Sigmoid", ["x"], ["b"])]
    model = make_model(nodes, {"x": x}, ["a", "b"])
    check_vjp(model, {"x": x})


def test_unsorted_nodes_are_put_in_order():
    x = rng.standard_normal((2, 3))
    nodes = [helper.make_node("Exp", ["h"], ["y"]), helper.make_node("Sin", ["x"], ["h"])]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", 11, [2, 3])],
        [helper.make_tensor_value_info("y", 11, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    grads, _ = gradients(model, {"x": x}, {"y": np.ones((2, 3))}, ["x"])
    np.testing.assert_allclose(grads["x"], np.exp(np.sin(x)) * np.cos(x))


def test_local_functions_are_inlined():
    x = rng.standard_normal((2, 3))
    function = helper.make_function(
        "local",
        "Square",
        ["a"],
        ["b"],
        [helper.make_node("Mul", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 18)],
    )
    node = helper.make_node("Square", ["x"], ["y"], domain="local")
    model = make_model([node], {"x": x}, ["y"], domains={"local": 1})
    model.functions.append(function)
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, [2, 3]))
    grads, _ = gradients(model, {"x": x}, {"y": np.ones((2, 3))}, ["x"])
    np.testing.assert_allclose(grads["x"], 2 * x)


def test_weight_gradients_are_pruned():
    feeds = {"x": rng.standard_normal((2, 3))}
    model = node_model("Add", feeds, {"b": rng.standard_normal((1, 3))})
    grad_model = gradient_model(model, "x")
    assert [n.op_type for n in grad_model.graph.node] == ["Add", "Identity"]


def test_model_from_path_and_bytes_give_the_same_graph(tmp_path):
    feeds = {"x": rng.standard_normal((2, 3))}
    model = node_model("Tanh", feeds)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    first = gradient_model(str(path), "x").SerializeToString()
    assert gradient_model(model.SerializeToString(), "x").SerializeToString() == first
    assert gradient_model(model, "x").SerializeToString() == first


def test_the_given_model_is_not_modified():
    feeds = {"x": rng.standard_normal((1, 1, 4, 4))}
    model = node_model("MaxPool", feeds, kernel_shape=[2, 2])
    before = model.SerializeToString()
    gradient_model(model, "x")
    assert model.SerializeToString() == before


@pytest.mark.parametrize(
    ("wrt", "outputs", "error", "match"),
    [
        ("w", None, ValueError, r"'w' is a weight \(initializer\)"),
        (
            "nope",
            None,
            ValueError,
            r"'nope' is neither an input of the model nor a tensor computed by it; inputs are \['x', 'i'\]",
        ),
        ("i", None, ValueError, r"'i' is not a float tensor \(element type 7\)"),
        ([], None, TypeError, "wrt must be a tensor name or a non-empty sequence"),
        (["x", "x"], None, ValueError, "wrt names the same tensor twice"),
        (
            "x",
            "nope",
            ValueError,
            r"output 'nope' is not a tensor of the model; graph outputs are \['y', 'j'\]",
        ),
        ("x", "j", ValueError, "output 'j' is not a float tensor"),
    ],
)
def test_bad_arguments(wrt, outputs, error, match):
    feeds = {"x": rng.standard_normal(3), "i": np.arange(3, dtype=i64)}
    nodes = [helper.make_node("Mul", ["x", "w"], ["y"]), helper.make_node("Neg", ["i"], ["j"])]
    model = make_model(nodes, feeds, ["y", "j"], {"w": rng.standard_normal(3)})
    with pytest.raises(error, match=match):
        gradient_model(model, wrt, outputs=outputs)


def test_bad_relu_rule():
    with pytest.raises(
        ValueError,
        match=r"relu_rule must be one of \('standard', 'guided', 'deconv'\), got 'smooth'",
    ):
        gradient_model(_chain(["Relu"]), "x", relu_rule="smooth")


def test_name_clash_with_a_seed():
    x = rng.standard_normal(3)
    nodes = [
        helper.make_node("Neg", ["x"], ["y__seed"]),
        helper.make_node("Neg", ["y__seed"], ["y"]),
    ]
    with pytest.raises(ValueError, match="the model already has a tensor named 'y__seed'"):
        gradient_model(make_model(nodes, {"x": x}, ["y"]), "x")


def test_model_that_cannot_be_upgraded():
    model = node_model("Tanh", {"x": rng.standard_normal(3)}, opset=9)
    model.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(
        ValueError,
        match=r"could not upgrade the model from opset 9 to 18 with onnx.version_converter",
    ):
        gradient_model(model, "x")


def test_unparsable_bytes_and_bad_types():
    with pytest.raises(ValueError, match="the ONNX model could not be parsed"):
        gradient_model(b"not a model", "x")
    with pytest.raises(TypeError, match="an ONNX model must be given as a path"):
        gradient_model(3, "x")
    with pytest.raises(ValueError, match="could not load the ONNX file"):
        gradient_model("/no/such/model.onnx", "x")


def test_constant_subgraphs_are_folded_for_static_shapes():
    # pads and scales computed from constants, as TorchScript exports ReflectionPad2d and
    # Upsample: Resize's gradient needs constant scales and the padded size statically
    x = rng.standard_normal((1, 2, 5, 5))
    nodes = [
        helper.make_node(
            "ConstantOfShape", ["four"], ["zeros"], value=helper.make_tensor("", 6, [1], [0])
        ),
        helper.make_node("Concat", ["p", "zeros"], ["pairs"], axis=0),
        helper.make_node("Reshape", ["pairs", "by_two"], ["grid"]),
        helper.make_node("Transpose", ["grid"], ["ends_by_begins"]),
        helper.make_node("Reshape", ["ends_by_begins", "flat"], ["flipped"]),
        helper.make_node("Slice", ["flipped", "last", "before_first", "zero", "back"], ["ordered"]),
        helper.make_node("Cast", ["ordered"], ["pads"], to=TensorProto.INT64),
        helper.make_node("Pad", ["x", "pads"], ["padded"], mode="reflect"),
        helper.make_node("Concat", ["ones", "twos"], ["scales"], axis=0),
        helper.make_node("Resize", ["padded", "", "scales"], ["y"], mode="linear"),
    ]
    consts = {
        "four": np.array([4], i64),
        "p": np.array([2, 1, 1, 2], np.int32),  # (w_begin, w_end, h_begin, h_end) reversed
        "by_two": np.array([-1, 2], i64),
        "flat": np.array([-1], i64),
        "last": np.array([-1], i64),
        "before_first": np.array([-100], i64),
        "zero": np.array([0], i64),
        "back": np.array([-1], i64),
        "ones": np.ones(2, np.float32),
        "twos": np.full(2, 2.0, np.float32),
    }
    model = make_model(nodes, {"x": x}, ["y"], consts)
    check_vjp(model, {"x": x}, engine="ref")


def test_constant_folding_leaves_large_results_to_run_time():
    from blackbox_xai.autodiff.static_info import fold_constants

    nodes = [
        helper.make_node("ConstantOfShape", ["big"], ["a"]),
        helper.make_node("ConstantOfShape", ["small"], ["b"]),
        helper.make_node("Range", ["zero", "ten", "three"], ["r"]),
        helper.make_node("Tanh", ["b", "x"], ["c"]),  # x is not constant
    ]
    values = {
        "big": np.array([100_000, 100_000], i64),
        "small": np.array([2, 3], i64),
        "zero": np.array(0, i64),
        "ten": np.array(10, i64),
        "three": np.array(3, i64),
    }
    found = fold_constants(nodes, values, 18)
    assert set(found) == {"b", "r"}
    np.testing.assert_array_equal(found["r"], [0, 3, 6, 9])
    assert found["b"].shape == (2, 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_old_clip_upgraded_with_bounds_of_the_input_type(dtype):
    # the version converter makes Clip-6's bounds float32 constants whatever x's type
    x = rng.uniform(-1, 1, (3, 4)).astype(dtype)
    model = node_model("Clip", {"x": x}, opset=9, min=-0.5, max=0.7)
    seed = rng.standard_normal((3, 4)).astype(dtype)
    grads, grad_model = gradients(model, {"x": x}, {"y": seed}, ["x"], "ref")
    inside = (x >= np.float32(-0.5)) & (x <= np.float32(0.7))
    np.testing.assert_array_equal(grads["x"], np.where(inside, seed, 0))
    onnx.shape_inference.infer_shapes(grad_model, check_type=True, strict_mode=True)


def test_ill_typed_upgrade_is_reported(monkeypatch):
    import onnx.version_converter

    def breaks_types(model, version):
        converted = onnx.ModelProto()
        converted.CopyFrom(model)
        converted.opset_import[0].version = version
        converted.graph.node[0].op_type = "Abs"
        converted.graph.node[0].ClearField("attribute")
        converted.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
        return converted

    monkeypatch.setattr(onnx.version_converter, "convert_version", breaks_types)
    transform._converted.cache_clear()  # the same graph may have been upgraded before
    model = node_model("Tanh", {"x": rng.standard_normal(3)}, opset=9)
    with pytest.raises(
        ValueError, match=r"onnx.version_converter made an ill-typed model .* opset 9 to 18"
    ):
        gradient_model(model, "x")


def test_upgrades_are_kept_per_graph_and_leave_the_model_as_it_was(monkeypatch):
    import onnx.version_converter

    calls = []
    convert = onnx.version_converter.convert_version

    def counted(model, version):
        calls.append(model)
        return convert(model, version)

    monkeypatch.setattr(onnx.version_converter, "convert_version", counted)
    transform._converted.cache_clear()
    w = rng.standard_normal((40, 40))  # 12800 bytes: left out of the converted graph
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])]
    model = make_model(nodes, {"x": rng.standard_normal((2, 40))}, ["y"], {"w": w}, opset=12)
    before = model.SerializeToString()
    first = transform.upgrade_model(model)
    assert model.SerializeToString() == before
    assert len(calls) == 1 and not calls[0].graph.initializer[0].raw_data
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(first.graph.initializer[0]), w)
    second = transform.upgrade_model(onnx.ModelProto.FromString(before))
    assert len(calls) == 1  # the same graph: the kept upgrade
    assert second == first and second is not first
    assert transform._opset(second) == transform.MIN_OPSET
    other = onnx.ModelProto.FromString(before)
    other.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(2 * w, "w"))
    np.testing.assert_array_equal(  # other weights, the same graph: its own data put back
        onnx.numpy_helper.to_array(transform.upgrade_model(other).graph.initializer[0]), 2 * w
    )
    assert len(calls) == 1


def test_stale_value_info_is_not_trusted():
    x = rng.standard_normal((3, 4))
    nodes = [helper.make_node("Tanh", ["x"], ["t"]), helper.make_node("Neg", ["t"], ["y"])]
    model = make_model(nodes, {"x": x}, ["y"], dims={"x": ["n", 4]})
    model.graph.value_info.append(helper.make_tensor_value_info("t", TensorProto.DOUBLE, [1, 4]))
    seed = rng.standard_normal((3, 4))
    grads, grad_model = gradients(model, {"x": x}, {"y": seed}, ["x"])
    np.testing.assert_allclose(grads["x"], -seed * (1 - np.tanh(x) ** 2), rtol=1e-12)
    seed_input = next(i for i in grad_model.graph.input if i.name == "y__seed")
    assert seed_input.type.tensor_type.shape.dim[0].dim_param == "n"

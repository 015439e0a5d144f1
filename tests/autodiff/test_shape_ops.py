"""Data-movement rules: reshapes, Transpose, Concat, Split, Slice, Gather*, Expand, Tile,
Pad, Identity, Dropout, Cast — over axes, negative indices, modes and opsets."""

import numpy as np
import pytest
from autodiff_harness import check_adjoint, check_vjp, gradients, make_model, node_model
from onnx import TensorProto, helper

rng = np.random.default_rng(6)
i64 = np.int64


def _x(*shape):
    return {"x": rng.standard_normal(shape)}


@pytest.mark.parametrize(
    ("op", "consts", "attrs", "opset"),
    [
        ("Reshape", {"s": np.array([4, -1, 0], i64)}, {}, 18),
        ("Reshape", {"s": np.array([2, 6, 2], i64)}, {}, 9),
        ("Flatten", {}, {"axis": 0}, 18),
        ("Flatten", {}, {"axis": 2}, 11),
        ("Squeeze", {"a": np.array([1], i64)}, {}, 18),
        ("Squeeze", {}, {"axes": [1]}, 11),
        ("Unsqueeze", {"a": np.array([0, -1], i64)}, {}, 18),
        ("Unsqueeze", {}, {"axes": [0, 4]}, 11),
    ],
)
def test_reshapes(op, consts, attrs, opset):
    feeds = {"x": rng.standard_normal((3, 1, 4, 2) if op == "Squeeze" else (2, 3, 2, 2))}
    model = node_model(op, feeds, consts, opset=opset, **attrs)
    check_vjp(model, feeds)
    check_adjoint(model, feeds, "x")


@pytest.mark.parametrize("perm", [None, [0, 2, 1], [2, 0, 1], [1, 2, 0]])
def test_transpose(perm):
    feeds = _x(2, 3, 4)
    attrs = {} if perm is None else {"perm": perm}
    check_adjoint(node_model("Transpose", feeds, **attrs), feeds, "x")


def test_transpose_with_perm_needs_no_static_rank():
    x = rng.standard_normal((2, 3, 4))
    nodes = [
        helper.make_node("Reshape", ["x", "target"], ["r"]),  # run-time shape: rank unknown
        helper.make_node("Transpose", ["r"], ["y"], perm=[2, 0, 1]),
    ]
    feeds = {"x": x, "target": np.array([2, 3, 4], i64)}
    model = make_model(nodes, feeds, ["y"], dims={"target": ["k"]})
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, ["a", "b", "c"]))
    seed = rng.standard_normal((4, 2, 3))
    grads, _ = gradients(model, feeds, {"y": seed}, ["x"])
    np.testing.assert_array_equal(grads["x"], seed.transpose(1, 2, 0))


@pytest.mark.parametrize("op", ["EyeLike", "RandomNormalLike", "RandomUniformLike"])
def test_ops_reading_only_the_shape_pass_no_gradient(op):
    x = rng.standard_normal((3, 3))
    nodes = [
        helper.make_node(op, ["x"], ["e"]),
        helper.make_node("Mul", ["x", "x"], ["sq"]),
        helper.make_node("Add", ["sq", "e"], ["y"]),
    ]
    model = make_model(nodes, {"x": x}, ["y"])
    seed = rng.standard_normal((3, 3))
    grads, _ = gradients(model, {"x": x}, {"y": seed}, ["x"])
    np.testing.assert_allclose(grads["x"], 2 * x * seed, rtol=1e-15)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_of_inputs_and_a_weight(axis):
    feeds = {"a": rng.standard_normal((2, 3, 4)), "b": rng.standard_normal((2, 3, 4))}
    consts = {"w": rng.standard_normal((2, 3, 4))}
    model = node_model("Concat", feeds, consts, inputs=["a", "w", "b"], axis=axis)
    check_vjp(model, feeds)


def test_concat_with_a_symbolic_size_on_the_axis():
    feeds = {"a": rng.standard_normal((2, 3)), "b": rng.standard_normal((4, 3))}
    model = node_model("Concat", feeds, axis=0, dims={"a": ["n", 3], "b": ["m", 3]})
    grads = check_vjp(model, feeds)
    assert grads["a"].shape == (2, 3) and grads["b"].shape == (4, 3)


@pytest.mark.parametrize(
    ("consts", "attrs", "opset", "outputs"),
    [
        ({}, {"axis": 1, "num_outputs": 3}, 18, ("y0", "y1", "y2")),
        ({"s": np.array([1, 4, 1], i64)}, {"axis": 1}, 18, ("y0", "y1", "y2")),
        ({}, {"axis": 1, "split": [2, 2, 2]}, 11, ("y0", "y1", "y2")),
        ({"s": np.array([4, 2], i64)}, {"axis": -1}, 13, ("y0", "y1")),
    ],
)
def test_split(consts, attrs, opset, outputs):
    feeds = _x(2, 6, 6)
    model = node_model("Split", feeds, consts, opset=opset, outputs=outputs, **attrs)
    check_vjp(model, feeds)


def test_split_with_an_unused_output():
    feeds = _x(2, 6, 6)
    node = helper.make_node("Split", ["x"], ["y0", "unused", "y2"], axis=1, num_outputs=3)
    check_vjp(make_model([node], feeds, ["y0", "y2"]), feeds)


def test_split_with_only_one_differentiated_output():
    feeds = _x(2, 6)
    model = node_model("Split", feeds, axis=1, num_outputs=2, outputs=("y0", "y1"))
    grads, _ = gradients(model, feeds, {"y1": np.ones((2, 3))}, ["x"])
    np.testing.assert_array_equal(
        grads["x"], np.repeat([[0.0, 1.0]], 3, axis=1).reshape(1, 6).repeat(2, 0)
    )


SLICES = [
    ([1], [3], None, None),
    ([0, 1], [2, -1], [0, 2], None),
    ([-1], [-5], [1], [-2]),
    ([3, 0], [0, 100], [2, 0], [-1, 2]),
    ([-100], [100], [-1], [3]),
]


@pytest.mark.parametrize(("starts", "ends", "axes", "steps"), SLICES)
def test_slice(starts, ends, axes, steps):
    feeds = _x(3, 5, 4)
    consts = {"starts": np.array(starts, i64), "ends": np.array(ends, i64)}
    names = ["x", "starts", "ends", "", ""]
    if axes is not None:
        consts["axes"] = np.array(axes, i64)
        names[3] = "axes"
    if steps is not None:
        consts["steps"] = np.array(steps, i64)
        names[4] = "steps"
    model = node_model("Slice", feeds, consts, inputs=names)
    check_vjp(model, feeds)
    check_adjoint(model, feeds, "x")


def test_slice_opset_9_attributes():
    feeds = _x(3, 5)
    check_vjp(node_model("Slice", feeds, opset=9, starts=[1, 0], ends=[3, -1], axes=[0, 1]), feeds)


@pytest.mark.parametrize(
    ("indices", "axis"),
    [
        (np.array([0, 2, 2, -1, 0], i64), 0),  # repeated and negative rows (embeddings)
        (np.array([[1, 1], [3, 0]], i64), 0),
        (np.array(2, i64), 0),
        (np.array([1, -2, 1], np.int32), 1),
        (np.array([[0], [2]], i64), -1),
    ],
)
def test_gather_with_repeats_and_negative_indices(indices, axis):
    feeds = _x(4, 3, 3)
    model = node_model("Gather", feeds, {"i": indices}, axis=axis)
    check_vjp(model, feeds)
    check_adjoint(model, feeds, "x")


def test_gather_accumulates_repeated_rows():
    feeds = _x(3, 2)
    model = node_model("Gather", feeds, {"i": np.array([1, 1, -2, 0], i64)})
    grads, _ = gradients(model, feeds, {"y": np.ones((4, 2))}, ["x"])
    np.testing.assert_array_equal(grads["x"], [[1, 1], [3, 3], [0, 0]])


def test_gather_elements():
    feeds = _x(3, 4)
    model = node_model(
        "GatherElements", feeds, {"i": np.array([[0, 0, 2, 1], [1, 1, 0, 2]], i64)}, axis=0
    )
    check_vjp(model, feeds)


@pytest.mark.parametrize(
    ("indices", "batch_dims"),
    [(np.array([[0, 1], [2, 3], [0, 1]], i64), 0), (np.array([[1], [0], [1]], i64), 1)],
)
def test_gather_nd(indices, batch_dims):
    feeds = _x(3, 4, 2)
    model = node_model("GatherND", feeds, {"i": indices}, batch_dims=batch_dims)
    check_vjp(model, feeds)


@pytest.mark.parametrize(
    ("x_shape", "shape"), [((3, 1), [2, 3, 4]), ((4,), [3, 4]), ((2, 1, 4), [2, 3, 1]), ((1,), [1])]
)
def test_expand(x_shape, shape):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model("Expand", feeds, {"s": np.array(shape, i64)})
    check_vjp(model, feeds)


@pytest.mark.parametrize("repeats", [[2, 1, 3], [1, 1, 1], [3, 2, 1]])
def test_tile(repeats):
    feeds = _x(2, 3, 2)
    check_vjp(node_model("Tile", feeds, {"r": np.array(repeats, i64)}), feeds)


@pytest.mark.parametrize(
    ("mode", "pads", "axes", "opset"),
    [
        ("constant", [1, 0, 2, 2, 1, 0], None, 18),
        ("constant", [-1, 1, 0, 1, -2, 1], None, 18),
        ("constant", [2, -1], [2], 18),
        ("reflect", [2, 1, 0, 1, 2, 2], None, 18),
        ("edge", [0, 2, 1, 3, 0, 1], None, 18),
        ("wrap", [1, 3, 0, 2, 4, 1], None, 19),
        ("reflect", [0, 2, 1, 0, 1, 2], None, 11),
    ],
)
def test_pad_modes_and_negative_pads(mode, pads, axes, opset):
    feeds = _x(3, 4, 3)
    consts = {"p": np.array(pads, i64), "v": np.array(0.5)}
    names = ["x", "p", "v"]
    if axes is not None:
        consts["a"] = np.array(axes, i64)
        names.append("a")
    model = node_model("Pad", feeds, consts, inputs=names, opset=opset, mode=mode)
    check_vjp(model, feeds)


def test_pad_opset_9_attributes():
    # float32: the version converter turns `value` into a float32 constant_value input
    feeds = {"x": rng.standard_normal((3, 4)).astype(np.float32)}
    model = node_model("Pad", feeds, opset=9, pads=[1, 0, 0, 2], value=1.5)
    check_adjoint(model, feeds, "x", rtol=1e-6)


def test_dropout_in_inference_mode_is_the_identity():
    feeds = _x(3, 4)
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])
    model = make_model([node], feeds, ["y"], {"r": np.array(0.3), "t": np.array(False)})
    grads, _ = gradients(model, feeds, {"y": np.full((3, 4), 2.0)}, ["x"])
    np.testing.assert_array_equal(grads["x"], 2.0)


def test_cast_between_float_types_casts_the_gradient_back():
    x = rng.standard_normal((2, 3))
    nodes = [
        helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["h"], ["y"], to=TensorProto.DOUBLE),
    ]
    model = make_model(nodes, {"x": x}, ["y"])
    seed = rng.standard_normal((2, 3))
    grads, _ = gradients(model, {"x": x}, {"y": seed}, ["x"])
    assert grads["x"].dtype == np.float64
    np.testing.assert_array_equal(grads["x"], seed.astype(np.float32).astype(np.float64))


def test_cast_like_ignores_the_values_of_its_type_donor():
    x = rng.standard_normal((2, 3))
    nodes = [
        helper.make_node("CastLike", ["c", "x"], ["c_like_x"]),  # as the dynamo exporter writes
        helper.make_node("Mul", ["x", "c_like_x"], ["h"]),
        helper.make_node("CastLike", ["h", "f32"], ["h32"]),
        helper.make_node("Cast", ["h32"], ["y"], to=TensorProto.DOUBLE),
    ]
    consts = {"c": np.array(3.0, np.float32), "f32": np.zeros(1, np.float32)}
    model = make_model(nodes, {"x": x}, ["y"], consts)
    seed = rng.standard_normal((2, 3))
    grads, grad_model = gradients(model, {"x": x}, {"y": seed}, ["x"])
    np.testing.assert_array_equal(grads["x"], 3.0 * seed.astype(np.float32).astype(np.float64))
    gradient_inputs = {i for n in grad_model.graph.node[len(nodes) :] for i in n.input}
    assert "c_like_x" in gradient_inputs and "c" not in gradient_inputs


@pytest.mark.parametrize(
    ("op", "consts", "attrs"),
    [
        ("Concat", {"w": np.ones((2, 2, 3))}, {"axis": 1}),
        ("Tile", {"r": np.array([1, 3, 2], i64)}, {}),
        ("Pad", {"p": np.array([1, 0, 2, 1, 1, 1], i64)}, {"mode": "reflect"}),
        ("Pad", {"p": np.array([0, 1, 2, 1, 0, 1], i64)}, {"mode": "edge"}),
        ("Expand", {"s": np.array([3, 2, 2, 3], i64)}, {}),
        ("GatherElements", {"i": np.array([[[0, 1, 1]], [[1, 0, 0]]], i64)}, {"axis": 1}),
    ],
)
def test_data_movement_is_adjoint_consistent(op, consts, attrs):
    feeds = _x(2, 2, 3)
    names = ["x", *consts] if op != "Concat" else ["w", "x"]
    check_adjoint(node_model(op, feeds, consts, inputs=names, **attrs), feeds, "x")

"""The onnx wheel's light models (resnet50, squeezenet, vgg19, inception_v1, densenet121).

Their weights are ConstantOfShape fills; random weights are swapped in. To check against
float64 finite differences on ONNX's reference evaluator within the test budget, images
are 32x32 instead of 224x224: the pooling window that covered the last 7x7 feature map
covers the last map instead, and a flatten to a fixed width flattens whatever is left,
with the following fully connected weight drawn at the matching width. Every op, branch
and attribute of the graphs is otherwise kept. The gradient graph (opset 9 models,
upgraded) is checked in float64 against central differences along random directions,
and its float32 twin on ONNX Runtime against the float64 gradient.
"""

from pathlib import Path

import numpy as np
import onnx
import pytest
from autodiff_harness import Runner, gradients, to_float32
from onnx import numpy_helper

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
SIZES = {"resnet50": 32, "squeezenet": 32, "vgg19": 32, "inception_v1": 64, "densenet121": 32}
DIRECTIONS = 3  # random directions checked per model
# float64 differences: 1e-6 stays within one linear piece of these ReLU / max-pool
# networks along the random directions (1e-5 already crosses kinks in resnet50)
EPS = 1e-6


def _roles(graph):
    """How each weight is used, to draw values of a sensible scale."""
    roles = {}
    for node in graph.node:
        for i, name in enumerate(node.input[1:], start=1):
            if node.op_type == "BatchNormalization":
                roles[name] = ["", "scale", "shift", "shift", "scale"][i]
            elif node.op_type in ("Conv", "Gemm") and i == 1:
                trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                roles[name] = "fan_in_last" if node.op_type == "Gemm" and not trans_b else "fan_in"
            elif node.op_type == "Mul":
                roles[name] = "scale"
        if node.op_type == "Reshape":
            roles.setdefault(node.input[0], "fan_in")
    return roles


def _draw(rng, role, shape):
    if role == "fan_in":
        return rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
    if role == "fan_in_last":
        return rng.standard_normal(shape) * np.sqrt(2.0 / shape[0])
    if role == "scale":
        return rng.uniform(0.5, 1.5, shape)
    return rng.standard_normal(shape) * 0.1


def light_model(name, rng, size):
    """The float64 light model with random weights and small images, and its input name."""
    model = onnx.load(LIGHT / f"light_{name}.onnx")
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    feeds = [i for i in graph.input if i.name not in weights]
    roles = _roles(graph)
    shapes = {
        n.output[0]: tuple(int(d) for d in numpy_helper.to_array(weights[n.input[0]]))
        for n in graph.node
        if n.op_type == "ConstantOfShape"
    }
    shapes.update(
        {i.name: tuple(i.dims) for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
    )
    kept = [
        i
        for i in graph.initializer
        if i.data_type != onnx.TensorProto.FLOAT and not i.name.endswith("__SHAPE")
    ]
    for init in kept:  # fixed flatten widths follow the smaller images
        value = numpy_helper.to_array(init)
        if value.shape == (2,) and value[0] == 1:
            init.CopyFrom(numpy_helper.from_array(np.array([1, -1], np.int64), init.name))
    nodes = [n for n in graph.node if n.op_type != "ConstantOfShape"]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.extend(feeds)
    del graph.value_info[:]  # stored float32 shapes of 224x224 images
    data = graph.input[0]  # (extend copied the messages)
    data.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    for axis in (2, 3):
        data.type.tensor_type.shape.dim[axis].dim_value = size
    for out in graph.output:
        out.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model.ir_version = 8
    _fit_heads(model, shapes)
    graph.initializer.extend(
        numpy_helper.from_array(_draw(rng, roles.get(k, "shift"), s), k)
        for k, s in sorted(shapes.items())
    )
    return model, data.name


def _fit_heads(model, shapes):
    """Size the last pooling window and the first fully connected weight to 32x32 images."""
    graph = model.graph
    for _ in range(2):  # pooling first, then the widths that follow from it
        stub = onnx.ModelProto()
        stub.CopyFrom(model)
        stub.graph.input.extend(
            onnx.helper.make_tensor_value_info(k, onnx.TensorProto.DOUBLE, s)
            for k, s in shapes.items()
        )
        inferred = onnx.shape_inference.infer_shapes(stub)
        dims = {
            v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*inferred.graph.value_info, *inferred.graph.input)
        }
        for node in graph.node:
            source = dims.get(node.input[0])
            if node.op_type == "AveragePool" and source:
                kernel = next(a for a in node.attribute if a.name == "kernel_shape")
                pads = next((list(a.ints) for a in node.attribute if a.name == "pads"), [0] * 4)
                if kernel.ints[0] > source[2]:  # one window over the map and its end padding
                    kernel.ints[:] = [d + p for d, p in zip(source[2:], pads[2:], strict=True)]
            if node.op_type == "Gemm" and source and len(source) == 2 and node.input[1] in shapes:
                trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                out_width = shapes[node.input[1]][0 if trans_b else 1]
                shapes[node.input[1]] = (
                    (out_width, source[1]) if trans_b else (source[1], out_width)
                )


def _logits(model):
    """The tensor the final Softmax normalises (its gradient is not saturated)."""
    softmax = [n for n in model.graph.node if n.op_type == "Softmax"]
    return softmax[-1].input[0] if softmax else model.graph.output[0].name


@pytest.mark.parametrize("name", ["resnet50", "squeezenet", "vgg19", "inception_v1", "densenet121"])
def test_light_model_gradient_on_ort_matches_float64_differences(name):
    rng = np.random.default_rng(11)
    size = SIZES[name]
    model, data = light_model(name, rng, size)
    logits = _logits(model)
    if logits not in {o.name for o in model.graph.output}:
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.DOUBLE, None)
        )
    x = rng.standard_normal((1, 3, size, size))
    reference = Runner(model, "ref")
    value = reference({data: x})[logits]
    seed = rng.standard_normal(value.shape)
    model32 = to_float32(model)
    original = Runner(model32, "ort")({data: x.astype(np.float32)})[logits]
    np.testing.assert_allclose(original, value, rtol=0, atol=1e-4 * np.abs(value).max())
    got, _ = gradients(
        model32, {data: x.astype(np.float32)}, {logits: seed.astype(np.float32)}, [data], "ort"
    )
    grad = got[data].astype(np.float64)
    n = grad.size
    for _ in range(DIRECTIONS):
        v = rng.standard_normal(x.shape)
        ahead = np.vdot(seed, reference({data: x + EPS * v})[logits])
        behind = np.vdot(seed, reference({data: x - EPS * v})[logits])
        numeric = (ahead - behind) / (2 * EPS)
        typical = np.linalg.norm(grad) * np.linalg.norm(v) / np.sqrt(n)  # size of <g, v>, random v
        assert abs(numeric - np.vdot(grad, v)) <= 1e-3 * typical

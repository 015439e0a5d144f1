"""Small models for the autodiff tests: an MLP, a CNN and a tiny transformer encoder."""

import math
from pathlib import Path

import numpy as np
import onnx
from autodiff_harness import make_model
from onnx import helper, numpy_helper

i64 = np.int64


def _n(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, [outputs] if isinstance(outputs, str) else outputs, **attrs)


def mlp(rng):
    nodes = [
        _n("Gemm", ["x", "w1", "b1"], "h1", transB=1),
        _n("Relu", ["h1"], "r1"),
        _n("Gemm", ["r1", "w2", "b2"], "h2", alpha=0.5),
        _n("Tanh", ["h2"], "t2"),
        _n("MatMul", ["t2", "w3"], "h3"),
        _n("Add", ["h3", "b3"], "logits"),
        _n("Softmax", ["logits"], "proba"),
    ]
    consts = {
        "w1": rng.standard_normal((8, 5)),
        "b1": rng.standard_normal(8) * 0.1,
        "w2": rng.standard_normal((8, 6)),
        "b2": rng.standard_normal(6),
        "w3": rng.standard_normal((6, 3)),
        "b3": rng.standard_normal(3),
    }
    feeds = {"x": rng.standard_normal((4, 5))}
    return make_model(nodes, feeds, ["proba"], consts), feeds


def cnn(rng, opset=18):
    """Conv/BatchNorm/ReLU/MaxPool/GlobalAveragePool/Gemm/Softmax; weights scaled by fan-in
    so that the softmax does not saturate (its gradient would vanish) for any draw."""
    nodes = [
        _n("Conv", ["x", "c1w", "c1b"], "c1", pads=[1, 1, 1, 1]),
        _n("BatchNormalization", ["c1", "s", "b", "m", "v"], "bn"),
        _n("Relu", ["bn"], "r1"),
        _n("MaxPool", ["r1"], "p1", kernel_shape=[2, 2], strides=[2, 2]),
        _n("Conv", ["p1", "c2w"], "c2", strides=[1, 1]),
        _n("Relu", ["c2"], "r2"),
        _n("GlobalAveragePool", ["r2"], "gap"),
        _n("Flatten", ["gap"], "flat"),
        _n("Gemm", ["flat", "fw", "fb"], "logits", transB=1),
        _n("Softmax", ["logits"], "proba"),
    ]
    consts = {
        "c1w": rng.standard_normal((4, 3, 3, 3)) * math.sqrt(2 / 27),
        "c1b": rng.standard_normal(4) * 0.1,
        "s": rng.uniform(0.5, 1.5, 4),
        "b": rng.standard_normal(4) * 0.1,
        "m": rng.standard_normal(4) * 0.1,
        "v": rng.uniform(0.5, 1.5, 4),
        "c2w": rng.standard_normal((6, 4, 3, 3)) * math.sqrt(2 / 36),
        "fw": rng.standard_normal((5, 6)) * 0.4,
        "fb": rng.standard_normal(5),
    }
    feeds = {"x": rng.standard_normal((2, 3, 8, 8))}
    return make_model(nodes, feeds, ["proba"], consts, opset=opset), feeds


def transformer(rng, n_tokens=5, d=8, heads=2, vocab=20):
    """One post-norm encoder layer with Erf GELU, mean pooling and a linear head."""
    dh = d // heads
    split = [0, n_tokens, heads, dh]
    nodes = [
        _n("Gather", ["table", "tokens"], "emb"),
        _n("Add", ["emb", "pos"], "h0"),
        _n("LayerNormalization", ["h0", "ln0s", "ln0b"], "h"),
        *[_n("MatMul", ["h", f"w{k}"], f"{k}0") for k in "qkv"],
        *[_n("Reshape", [f"{k}0", "split"], f"{k}1") for k in "qkv"],
        _n("Transpose", ["q1"], "q", perm=[0, 2, 1, 3]),
        _n("Transpose", ["k1"], "kt", perm=[0, 2, 3, 1]),
        _n("Transpose", ["v1"], "v", perm=[0, 2, 1, 3]),
        _n("MatMul", ["q", "kt"], "scores0"),
        _n("Div", ["scores0", "sqrt_dh"], "scores"),
        _n("Softmax", ["scores"], "attn", axis=-1),
        _n("MatMul", ["attn", "v"], "ctx0"),
        _n("Transpose", ["ctx0"], "ctx1", perm=[0, 2, 1, 3]),
        _n("Reshape", ["ctx1", "merge"], "ctx"),
        _n("MatMul", ["ctx", "wo"], "att_out"),
        _n("Add", ["h", "att_out"], "res1"),
        _n("LayerNormalization", ["res1", "ln1s", "ln1b"], "h1"),
        _n("MatMul", ["h1", "f1"], "ff0"),
        _n("Add", ["ff0", "f1b"], "ff1"),
        _n("Div", ["ff1", "sqrt2"], "ff2"),
        _n("Erf", ["ff2"], "ff3"),
        _n("Add", ["ff3", "one"], "ff4"),
        _n("Mul", ["ff1", "ff4"], "ff5"),
        _n("Mul", ["ff5", "half"], "gelu"),
        _n("MatMul", ["gelu", "f2"], "ff6"),
        _n("Add", ["h1", "ff6"], "res2"),
        _n("ReduceMean", ["res2"], "pooled", axes=[1], keepdims=0),
        _n("Gemm", ["pooled", "cw", "cb"], "logits", transB=1),
    ]
    consts = {
        "pos": rng.standard_normal((n_tokens, d)) * 0.1,
        "ln0s": rng.uniform(0.5, 1.5, d),
        "ln0b": rng.standard_normal(d) * 0.1,
        **{f"w{k}": rng.standard_normal((d, d)) / math.sqrt(d) for k in "qkvo"},
        "split": np.array(split, i64),
        "merge": np.array([0, n_tokens, d], i64),
        "sqrt_dh": np.array(math.sqrt(dh)),
        "ln1s": rng.uniform(0.5, 1.5, d),
        "ln1b": rng.standard_normal(d) * 0.1,
        "f1": rng.standard_normal((d, 2 * d)) / math.sqrt(d),
        "f1b": rng.standard_normal(2 * d) * 0.1,
        "sqrt2": np.array(math.sqrt(2.0)),
        "one": np.array(1.0),
        "half": np.array(0.5),
        "f2": rng.standard_normal((2 * d, d)) / math.sqrt(2 * d),
        "cw": rng.standard_normal((3, d)),
        "cb": rng.standard_normal(3),
    }
    feeds = {
        "tokens": rng.integers(-vocab, vocab, (2, n_tokens)),
        "table": rng.standard_normal((vocab, d)),
    }
    return make_model(nodes, feeds, ["logits"], consts, opset=17), feeds


# -- the onnx wheel's light models (real architectures, weights drawn here) -------------
LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


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

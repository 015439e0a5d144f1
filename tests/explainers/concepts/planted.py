"""A model with a planted concept direction, for the TCAV tests and benchmarks/concepts.py."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def planted_mlp(seed: int = 0, d: int = 8, k: int = 3, target: int = 1):
    """``hidden = relu(x W1 + b1)``; ``logits = hidden W2 + 0.1 tanh(hidden A) B``.

    Column ``target`` of ``W2`` is the planted unit direction ``v`` (times 2), so the
    target logit rises along ``v`` in the hidden layer. Returns the model (float32),
    ``v``, and ``u`` with ``u W1 = v`` (moving an input by ``u`` moves ``hidden`` by ``v``
    while the pre-activations stay positive).
    """
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((d, d))
    b1 = np.full(d, 4.0)
    v = rng.standard_normal(d)
    v /= np.linalg.norm(v)
    w2 = rng.standard_normal((d, k)) * 0.3
    w2[:, target] = 2.0 * v
    a, b = rng.standard_normal((d, 4)) * 0.3, rng.standard_normal((4, k))
    weights = {"w1": w1, "b1": b1, "w2": w2, "a": a, "b": b}
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["pre"], name="fc1"),
        helper.make_node("Relu", ["pre"], ["hidden"], name="relu1"),
        helper.make_node("MatMul", ["hidden", "w2"], ["linear"]),
        helper.make_node("MatMul", ["hidden", "a"], ["side_pre"]),
        helper.make_node("Tanh", ["side_pre"], ["side"]),
        helper.make_node("MatMul", ["side", "b"], ["side_out"]),
        helper.make_node("Mul", ["side_out", "tenth"], ["side_small"]),
        helper.make_node("Add", ["linear", "side_small"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["proba"], axis=1),
    ]
    weights = {n: w.astype(np.float32) for n, w in weights.items()}
    weights["tenth"] = np.array(0.1, np.float32)
    graph = helper.make_graph(
        nodes,
        "planted",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", d])],
        [helper.make_tensor_value_info("proba", TensorProto.FLOAT, ["n", k])],
        initializer=[numpy_helper.from_array(w, n) for n, w in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    u = np.linalg.solve(w1.T, v)  # x W1 moves by v when x moves by u
    return onnx.shape_inference.infer_shapes(model), v, u

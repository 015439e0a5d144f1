"""Models exported from torch (TorchScript and dynamo exporters, opset 17, BatchNorm folded
and not) against torch.autograd float64 gradients: within 1e-4 relative per element.

The fixtures and reference gradients are made by scripts/make_autodiff_fixtures.py.
"""

from pathlib import Path

import numpy as np
import onnx
import pytest

import blackbox_xai as bx

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPORTS = ["torchscript_folded", "torchscript", "dynamo_folded", "dynamo"]


def _close(ours, reference):
    """Within 1e-4 relative per element; entries a thousand times smaller than the largest
    (where float32 rounding of the sums dominates) within 1e-7 of the largest."""
    floor = 1e-7 * np.abs(reference).max()
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=floor)


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("name", ["cnn", "mlp", "decoder"])
def test_input_gradients_match_torch(name, export):
    data = np.load(FIXTURES / f"{name}.npz")
    model = bx.DifferentiableOnnxModel(FIXTURES / f"{name}_{export}.onnx", output="y")
    _close(model.gradient(data["x"], data["seed"]), data["grad_x"])
    _close(model._get_session().run(["y"], {"x": data["x"]})[0], data["output"])


def test_folded_export_has_no_batchnorm_and_unfolded_has():
    for exporter in ("torchscript", "dynamo"):
        folded = onnx.load(FIXTURES / f"cnn_{exporter}_folded.onnx")
        plain = onnx.load(FIXTURES / f"cnn_{exporter}.onnx")
        assert "BatchNormalization" not in {n.op_type for n in folded.graph.node}
        assert "BatchNormalization" in {n.op_type for n in plain.graph.node}


@pytest.mark.parametrize("export", EXPORTS)
def test_transformer_embedding_gradients_match_torch(export):
    data = np.load(FIXTURES / "transformer.npz")
    path = FIXTURES / f"transformer_{export}.onnx"
    proto = onnx.load(path)
    # the embedding lookup: the Gather that reads the token ids
    embedded = next(
        n.output[0] for n in proto.graph.node if n.op_type == "Gather" and "x" in n.input
    )
    model = bx.DifferentiableOnnxModel(path, output="y")
    _, grads = model.activations_and_gradients(data["x"], data["seed"], layer=embedded)
    _close(grads, data["grad_embedded"])
    _close(model._get_session().run(["y"], {"x": data["x"]})[0], data["output"])

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

import numpy as np
import onnx
import pytest
from autodiff_harness import Runner, gradients, to_float32
from autodiff_models import light_model

SIZES = {"resnet50": 32, "squeezenet": 32, "vgg19": 32, "inception_v1": 64, "densenet121": 32}
DIRECTIONS = 3  # random directions checked per model
# float64 differences: 1e-6 stays within one linear piece of these ReLU / max-pool
# networks along the random directions (1e-5 already crosses kinks in resnet50)
EPS = 1e-6


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

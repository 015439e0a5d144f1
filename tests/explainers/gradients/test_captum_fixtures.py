"""Every gradient method against captum on committed torch exports (float32 ORT vs captum
on the float64 torch model): within 1e-4 of the largest reference value.

Fixtures and references are made by scripts/make_gradient_fixtures.py (torch and captum
are never needed here).
"""

from pathlib import Path

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.gradients.smoothgrad import SmoothGrad

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IMAGE_MODELS = ["gap_cnn", "smooth_cnn", "mobile"]
TEXT_MODELS = ["lstm_text", "gru_text"]


def _close(ours, reference, rtol=1e-4):
    """Within ``rtol`` of the largest reference magnitude, element by element."""
    ours = np.asarray(ours)[..., 0] if np.ndim(ours) == np.ndim(reference) + 1 else ours
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=0, atol=rtol * np.abs(reference).max())


def _load(name):
    data = np.load(FIXTURES / f"{name}.npz")
    output = "logits" if name.endswith("_cnn") else None  # the CNNs end in a Softmax
    model = bx.DifferentiableOnnxModel(FIXTURES / f"{name}.onnx", output=output)
    return model, data


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_simple_gradient_methods_match_captum(name):
    model, data = _load(name)
    x, target = data["x"], data["target"]
    _close(bx.Saliency(model, reduce_channels=None).explain(x, target).values, data["saliency"])
    _close(
        bx.Saliency(model, abs=False, reduce_channels=None).explain(x, target).values,
        data["saliency_signed"],
    )
    _close(bx.GradientXInput(model).explain(x, target).values, data["gradient_x_input"])
    if name == "mobile":
        # captum changes nn.ReLU modules only; this model's functional relu and relu6
        # (ONNX Relu and Clip(0, 6)) follow the guided / deconv rules here, by design
        return
    _close(bx.GuidedBackprop(model).explain(x, target).values, data["guided_backprop"])
    _close(bx.Deconvolution(model).explain(x, target).values, data["deconvolution"])


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize(
    ("method", "steps"),
    [("gausslegendre", 64), ("riemann_left", 20), ("riemann_right", 20), ("riemann_middle", 20)],
)
def test_integrated_gradients_match_captum(name, method, steps):
    model, data = _load(name)
    ig = bx.IntegratedGradients(model, n_steps=steps, method=method)
    explanation = ig.explain(data["x"], data["target"])
    _close(explanation.values, data[f"ig_{method}"])
    # captum's convergence delta is the same completeness error
    np.testing.assert_allclose(
        explanation.meta["completeness_delta"], data[f"ig_{method}_delta"], rtol=0, atol=1e-4
    )


def test_trapezoid_weights_are_exact_where_captums_sum_to_1_minus_1_over_n():
    model, data = _load("gap_cnn")
    n = 20
    ours = bx.IntegratedGradients(model, n_steps=n, method="riemann_trapezoid")
    # captum weights the trapezoid rule's points by 1/n (ends 1/2n): ours are n/(n-1) larger
    _close(
        ours.explain(data["x"], data["target"]).values, data["ig_riemann_trapezoid"] * n / (n - 1)
    )


def test_integrated_gradients_with_an_array_baseline_match_captum():
    model, data = _load("gap_cnn")
    ig = bx.IntegratedGradients(model, baseline=data["ig_baseline"], n_steps=64)
    _close(ig.explain(data["x"], data["target"]).values, data["ig_array_baseline"])


@pytest.mark.parametrize("variant", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_smoothgrad_matches_captums_noise_tunnel_on_the_same_noise(name, variant, monkeypatch):
    model, data = _load(name)
    noise = iter(data["noise"] / data["noise_sd"][:, None, None, None, None])
    monkeypatch.setattr(SmoothGrad, "_noise", staticmethod(lambda rng, count, shape: next(noise)))
    sg = bx.SmoothGrad(model, n_samples=6, sigma=0.15, variant=variant, seed=0)
    explanation = sg.explain(data["x"], data["target"])
    np.testing.assert_allclose(explanation.meta["noise_sd"], data["noise_sd"], rtol=1e-12)
    _close(explanation.values, data[variant])


@pytest.mark.parametrize("name", ["gap_cnn", "smooth_cnn"])
def test_grad_cam_and_guided_grad_cam_match_captum(name):
    model, data = _load(name)
    x, target = data["x"], data["target"]
    layer = bx.GradCam(model, upsample=False).explain(x, target)
    _close(layer.values, data["grad_cam_layer"])
    _close(bx.GradCam(model).explain(x, target).values, data["grad_cam"])
    _close(bx.GuidedGradCam(model).explain(x, target).values, data["guided_grad_cam"])


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_token_attributions_match_captums_layer_methods(name):
    model, data = _load(name)
    tokens, target = data["x"], data["target"]
    ig = bx.IntegratedGradients(model, baseline=0, n_steps=64).explain(tokens, target)
    assert ig.values.shape == (*tokens.shape, 1)
    _close(ig.values, data["ig_tokens"])
    np.testing.assert_allclose(
        ig.meta["completeness_delta"], data["ig_tokens_delta"], rtol=0, atol=1e-4
    )
    _close(bx.Saliency(model).explain(tokens, target).values, data["saliency_tokens"])
    _close(bx.Saliency(model, abs=False).explain(tokens, target).values, data["gradient_tokens"])
    _close(bx.GradientXInput(model).explain(tokens, target).values, data["gradient_x_input_tokens"])

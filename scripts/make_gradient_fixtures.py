"""Export the torch fixtures of tests/explainers/gradients/test_captum_fixtures.py, with
captum's attributions as references.

Three small models with random weights, exported by torch's TorchScript exporter at
opset 17 with dynamic batch (and sequence) axes:

* ``gap_cnn``: conv / ReLU / max-pool / conv / ReLU / global average pooling / linear,
  ending in a Softmax (the explainers explain ``output="logits"``), trained for a few
  epochs on scikit-learn's 8x8 digits (a trained network's logits move far between
  baseline and input, so completeness errors are measured against a real change);
* ``smooth_cnn``: the same with SiLU activations and average pooling (a smooth path
  integrand, where Gauss-Legendre quadrature converges fast);
* ``mobile``: a MobileNet-style block (BatchNorm, HardSwish, depthwise convolution,
  ReLU6, a squeeze-and-excitation gate with HardSigmoid, a bilinear Upsample and a
  Concat of two branches);
* ``lstm_text`` and ``gru_text``: token embeddings, a bidirectional recurrent layer
  (batch first), a linear head on the final hidden states.

captum runs on the float64 copy of each model: Saliency, InputXGradient,
IntegratedGradients (every approximation method, zero and array baselines),
NoiseTunnel (smoothgrad, smoothgrad_sq, vargrad; the noisy inputs it draws are
recorded so that the test can replay them), GuidedBackprop, Deconvolution, LayerGradCam
(bilinear upsampling), GuidedGradCam and, for the text models, LayerIntegratedGradients
and LayerGradientXActivation on the embedding with padding-token baselines.

Run (torch and captum only in a venv of their own, never dependencies of the package)::

    python3 -m venv /tmp/bench_i12
    /tmp/bench_i12/bin/pip install torch==2.13.0 && /tmp/bench_i12/bin/pip install captum onnx
    /tmp/bench_i12/bin/python scripts/make_gradient_fixtures.py
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch

# isort: split
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    LayerGradientXActivation,
    LayerIntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from make_autodiff_fixtures import randomise_batchnorm  # (scripts/ is on the path)
from sklearn.datasets import load_digits
from torch import nn

OUT = Path(__file__).resolve().parents[1] / "tests" / "explainers" / "gradients" / "fixtures"
OPSET = 17
IG_STEPS = {"gausslegendre": 64, "riemann_left": 20, "riemann_right": 20, "riemann_middle": 20}
TRAPEZOID_STEPS = 20
NT_SAMPLES = 6
NT_SIGMA = 0.15  # relative to each row's range, as blackbox_xai's SmoothGrad
VOCAB, TOKENS, PAD = 20, 7, 0


class GapCNN(nn.Module):
    def __init__(self, smooth: bool = False) -> None:
        super().__init__()
        act, pool = (nn.SiLU, nn.AvgPool2d) if smooth else (nn.ReLU, nn.MaxPool2d)
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            act(),
            pool(2),
            nn.Conv2d(8, 12, 3, padding=1),
            act(),
        )
        self.head = nn.Linear(12, 10)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=-1)


class Mobile(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8))
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.squeeze = nn.Conv2d(8, 4, 1)
        self.excite = nn.Conv2d(4, 8, 1)
        self.side = nn.Conv2d(3, 4, 3, stride=4, padding=1)
        self.head = nn.Linear(12, 4)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.hardswish(self.stem(x))
        h = nn.functional.relu6(self.depthwise(h))
        gate = nn.functional.hardsigmoid(
            self.excite(nn.functional.relu(self.squeeze(h.mean(dim=(2, 3), keepdim=True))))
        )
        h = h * gate
        side = nn.functional.interpolate(
            self.side(x), scale_factor=2.0, mode="bilinear", align_corners=False
        )
        h = torch.cat([h, side], dim=1)
        return self.head(h.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


class TextRNN(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 6)
        self.rnn = cell(6, 5, batch_first=True, bidirectional=True)
        self.head = nn.Linear(10, 3)

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(self.embedding(tokens))
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        return self.head(torch.cat([hidden[0], hidden[1]], dim=-1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.logits(tokens)


class Logits(nn.Module):
    """The model's logits as its forward (what captum differentiates)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.logits(x)


def _export(model: nn.Module, x: torch.Tensor, path: Path, dynamic: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            str(path),
            opset_version=OPSET,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": dynamic, "y": {0: "batch"}},
            dynamo=False,
        )


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


def _noise_tunnel(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> dict:
    """NoiseTunnel over Saliency (abs=False) with each row's own stdev, noisy inputs kept."""
    refs: dict[str, np.ndarray] = {}
    span = (x.flatten(1).max(1).values - x.flatten(1).min(1).values) * NT_SIGMA
    noisy_rows = []
    for kind in ("smoothgrad", "smoothgrad_sq", "vargrad"):
        values, noisy = [], []
        for row in range(len(x)):  # captum takes one stdev per input tensor: a row at a time
            seen: list[torch.Tensor] = []
            hook = model.register_forward_pre_hook(lambda m, a, seen=seen: seen.append(a[0]))
            torch.manual_seed(row)
            out = NoiseTunnel(Saliency(model)).attribute(
                x[row : row + 1],
                nt_type=kind,
                nt_samples=NT_SAMPLES,
                nt_samples_batch_size=NT_SAMPLES,
                stdevs=float(span[row]),
                target=target[row : row + 1],
                abs=False,
            )
            hook.remove()
            values.append(_np(out))
            noisy.append(_np(torch.cat(seen)) - _np(x[row : row + 1]))
        refs[kind] = np.concatenate(values)
        noisy_rows.append(np.stack(noisy))  # (rows, samples, *shape)
    # the same seed per row draws the same noise for every variant: kept once
    assert all(np.array_equal(noisy_rows[0], other) for other in noisy_rows[1:])
    refs["noise"] = noisy_rows[0]  # (rows, samples, *shape)
    refs["noise_sd"] = _np(span)
    return refs


def _image_references(model: nn.Module, x: torch.Tensor, target: torch.Tensor, layer) -> dict:
    logits = Logits(model).double().eval()
    x = x.double()
    refs = {
        "saliency": _np(Saliency(logits).attribute(x, target=target, abs=True)),
        "saliency_signed": _np(Saliency(logits).attribute(x, target=target, abs=False)),
        "gradient_x_input": _np(InputXGradient(logits).attribute(x, target=target)),
        "guided_backprop": _np(GuidedBackprop(logits).attribute(x, target=target)),
        "deconvolution": _np(Deconvolution(logits).attribute(x, target=target)),
    }
    ig = IntegratedGradients(logits)
    for method, steps in IG_STEPS.items():
        attr, delta = ig.attribute(
            x, target=target, n_steps=steps, method=method, return_convergence_delta=True
        )
        refs[f"ig_{method}"], refs[f"ig_{method}_delta"] = _np(attr), _np(delta)
    refs["ig_riemann_trapezoid"] = _np(
        ig.attribute(x, target=target, n_steps=TRAPEZOID_STEPS, method="riemann_trapezoid")
    )
    baseline = torch.linspace(-0.5, 0.5, x[0].numel(), dtype=torch.float64).reshape(x.shape[1:])
    refs["ig_baseline"] = _np(baseline)
    refs["ig_array_baseline"] = _np(
        ig.attribute(x, baselines=baseline[None], target=target, n_steps=64)
    )
    if layer is not None:
        layer_module = layer(logits.model)
        cam = LayerGradCam(logits, layer_module).attribute(x, target=target, relu_attributions=True)
        refs["grad_cam_layer"] = _np(cam)[:, 0]
        refs["grad_cam"] = _np(LayerAttribution.interpolate(cam, x.shape[2:], "bilinear"))[:, 0]
        refs["guided_grad_cam"] = _np(
            GuidedGradCam(logits, layer_module).attribute(
                x, target=target, interpolate_mode="bilinear"
            )
        )
    refs.update(_noise_tunnel(logits, x, target))
    return refs


def _text_references(model: nn.Module, tokens: torch.Tensor, target: torch.Tensor) -> dict:
    logits = Logits(copy.deepcopy(model)).double().eval()
    embedding = logits.model.embedding
    baseline = torch.full_like(tokens, PAD)
    lig = LayerIntegratedGradients(logits, embedding)
    attr, delta = lig.attribute(
        tokens, baselines=baseline, target=target, n_steps=64, return_convergence_delta=True
    )
    gradient = LayerGradientXActivation(logits, embedding, multiply_by_inputs=False)
    grads = _np(gradient.attribute(tokens, target=target))
    times_input = LayerGradientXActivation(logits, embedding).attribute(tokens, target=target)
    return {
        "ig_tokens": _np(attr).sum(-1),
        "ig_tokens_delta": _np(delta),
        "saliency_tokens": np.abs(grads).sum(-1),
        "gradient_tokens": grads.sum(-1),
        "gradient_x_input_tokens": _np(times_input).sum(-1),
    }


def _trained_gap_cnn(smooth: bool) -> tuple[GapCNN, torch.Tensor, torch.Tensor]:
    """GapCNN fitted to 1500 digits; three held-out digits and their labels."""
    digits = load_digits()
    images = torch.from_numpy((digits.images / 16.0).astype(np.float32)[:, None])
    labels = torch.from_numpy(digits.target.astype(np.int64))
    model = GapCNN(smooth)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        order = torch.randperm(1500)
        for start in range(0, 1500, 100):
            batch = order[start : start + 100]
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model.logits(images[batch]), labels[batch])
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model.logits(images[1500:]).argmax(1) == labels[1500:]).float().mean()
    print(f"{'smooth' if smooth else 'gap'}_cnn held-out accuracy {float(accuracy):.3f}")
    return model, images[1500:1503], labels[1500:1503]


def main() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    OUT.mkdir(parents=True, exist_ok=True)
    cnn, digits, labels = _trained_gap_cnn(smooth=False)
    smooth, _, _ = _trained_gap_cnn(smooth=True)
    target = torch.tensor([0, 3, 1])
    cases = (
        ("gap_cnn", cnn, digits, labels, lambda m: m.features[4]),
        ("smooth_cnn", smooth, digits, labels, lambda m: m.features[4]),
        ("mobile", Mobile(), torch.rand(3, 3, 12, 12, generator=gen), target, None),
    )
    for name, model, images, target, layer in cases:
        randomise_batchnorm(model, gen)
        model.eval()
        _export(model, images, OUT / f"{name}.onnx", {0: "batch"})
        refs = _image_references(model, images, target, layer)
        np.savez_compressed(OUT / f"{name}.npz", x=images.numpy(), target=target.numpy(), **refs)
        print(name, "exported")
    tokens = torch.randint(1, VOCAB, (3, TOKENS), generator=gen)
    tokens[0, -2:] = PAD  # padding, as a real batch has
    text_target = torch.tensor([2, 0, 1])
    for name, cell in (("lstm_text", nn.LSTM), ("gru_text", nn.GRU)):
        model = TextRNN(cell).eval()
        _export(model, tokens, OUT / f"{name}.onnx", {0: "batch", 1: "tokens"})
        refs = _text_references(model, tokens, text_target)
        np.savez_compressed(
            OUT / f"{name}.npz", x=tokens.numpy(), target=text_target.numpy(), **refs
        )
        print(name, "exported")


if __name__ == "__main__":
    main()

"""Export the torch fixtures of tests/autodiff/test_torch_fixtures.py, with torch.autograd
reference gradients.

Four small models (a CNN with BatchNorm, an MLP of mixed activations, a transformer
encoder over token embeddings, an upsampling decoder) are exported at opset 17 with the
TorchScript exporter and the dynamo exporter, each with BatchNorm folded / constants
optimised and without, with a dynamic batch axis (the dynamo exporter keeps opset 18
where onnx cannot convert its graph down to 17). The reference gradients of ``<seed, output>`` are computed by
torch.autograd in float64 on the same weights.

Run (torch only in a venv of its own, never a dependency of the package)::

    python3 -m venv /work/venv-autodiff-torch
    /work/venv-autodiff-torch/bin/pip install torch==2.13.0 numpy onnx onnxscript
    /work/venv-autodiff-torch/bin/python scripts/make_autodiff_fixtures.py
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parents[1] / "tests" / "autodiff" / "fixtures"
OPSET = 17
EXPORTS = {
    # name: keyword arguments of torch.onnx.export
    "torchscript_folded": {"dynamo": False, "do_constant_folding": True},
    "torchscript": {"dynamo": False, "do_constant_folding": False},
    "dynamo_folded": {"dynamo": True, "optimize": True},
    "dynamo": {"dynamo": True, "optimize": False},
}


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1, groups=2),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(8, 8, 2, stride=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 5),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 16)
        self.norm = nn.LayerNorm(16)
        self.b = nn.Linear(16, 16)
        self.c = nn.Linear(16, 16)
        self.d = nn.Linear(16, 16)
        self.e = nn.Linear(16, 5)
        self.drop = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.gelu(self.norm(self.a(x)), approximate="tanh")
        h = nn.functional.elu(self.b(h))
        h = nn.functional.silu(h) + 0.5 * torch.sqrt(h * h + 1.0)
        h = self.drop(nn.functional.leaky_relu(self.c(h), 0.1))
        h = nn.functional.hardswish(nn.functional.softplus(self.d(h)))
        h = torch.clamp(h, -2.0, 2.0) * torch.sigmoid(h) + torch.tanh(h)
        return torch.log_softmax(self.e(h), dim=-1)


class Transformer(nn.Module):
    def __init__(self, vocab: int = 30, d: int = 16, tokens: int = 7) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(tokens, d) * 0.1)
        self.layer = nn.TransformerEncoderLayer(
            d, nhead=2, dim_feedforward=32, dropout=0.0, activation="gelu", batch_first=True
        )
        self.head = nn.Linear(d, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        self.embedded = self.embed(tokens)  # kept for the reference gradient
        h = self.layer(self.embedded + self.pos)
        return self.head(h.mean(dim=1))


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(4, 4, 3, padding=2, dilation=2),
            nn.Tanh(),
            nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
            nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=False),
            nn.ELU(),
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
            nn.ReflectionPad2d(1),
            nn.Conv2d(3, 2, 3),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def randomise_batchnorm(model: nn.Module, gen: torch.Generator) -> None:
    """Running statistics and affine terms away from their defaults (a folded BN matters)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            module.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


def _reference(model: nn.Module, x: torch.Tensor, seed: np.ndarray) -> dict[str, np.ndarray]:
    """torch.autograd gradients of <seed, model(x)> in float64."""
    double = copy.deepcopy(model).double().eval()
    inputs = x.double().requires_grad_(True) if x.is_floating_point() else x
    out = double(inputs)
    grads: dict[str, np.ndarray] = {}
    if isinstance(double, Transformer):
        double.embedded.retain_grad()
    (out * torch.from_numpy(seed)).sum().backward()
    if x.is_floating_point():
        grads["grad_x"] = inputs.grad.numpy()
    if isinstance(double, Transformer):
        grads["grad_embedded"] = double.embedded.grad.numpy()
    grads["output"] = out.detach().numpy()
    return grads


def _export(model: nn.Module, x: torch.Tensor, path: Path, options: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if options["dynamo"]:
            program = torch.onnx.export(
                model,
                (x,),
                opset_version=OPSET,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},),
                dynamo=True,
                optimize=options["optimize"],
                verbose=False,
            )
            program.save(str(path))
        else:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                opset_version=OPSET,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                dynamo=False,
                do_constant_folding=options["do_constant_folding"],
            )


def main() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(2)
    cases = {
        "cnn": (CNN(), torch.randn(2, 1, 8, 8, generator=gen)),
        "mlp": (MLP(), torch.randn(4, 6, generator=gen)),
        "transformer": (Transformer(), torch.randint(0, 30, (2, 7), generator=gen)),
        "decoder": (Decoder(), torch.randn(2, 2, 5, 5, generator=gen)),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (model, x) in cases.items():
        randomise_batchnorm(model, gen)
        model.eval()
        with torch.no_grad():
            shape = model(x).shape
        seed = rng.standard_normal(tuple(shape))
        np.savez(OUT / f"{name}.npz", x=x.numpy(), seed=seed, **_reference(model, x, seed))
        for export, options in EXPORTS.items():
            _export(model, x, OUT / f"{name}_{export}.onnx", options)
        print(name, "exported")


if __name__ == "__main__":
    main()

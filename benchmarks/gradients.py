"""Every gradient explainer of blackbox_xai (ONNX Runtime) vs captum (torch), same weights.

A small CNN (two conv + ReLU + max-pool blocks, two linear layers) is trained with torch
on scikit-learn's 8x8 digits and exported to ONNX (TorchScript exporter, opset 17): both
sides use the same weights. On 16 held-out digits, each method explains the predicted
class (given to both sides as the target):

* saliency (|gradient|), gradient x input, guided backprop, deconvolution;
* SmoothGrad, 50 noisy copies per image (sigma 0.15 of the [0, 1] range), all in one
  batch on both sides;
* integrated gradients: 50 Gauss-Legendre steps from a black image, all 800 rows in one
  batch on both sides; and at equal completeness error: blackbox_xai's
  ``n_steps="auto"`` (doubling from 16 points, per row, until
  ``|delta| <= tol |f(x) - f(0)|``) against captum at the fewest of 16, 32, 64, ...
  steps that bring every row within the same tolerance (found beforehand, the search
  not timed: captum's best case);
* Grad-CAM on the second ReLU (bilinear upsampling to 8x8) and guided Grad-CAM.

Times are the median CPU time (``time.process_time``) per batch of 16 over interleaved
repeats after a warm-up, with one thread on each side (``torch.set_num_threads(1)``,
ONNX Runtime's ``intra_op_num_threads=1``, threadpoolctl for BLAS). Peak memory is the
rise of the resident set (VmHWM after resetting it) while a fresh process runs the
method once (the explainer or captum object made first). Agreement is ``max |ours - captum| / max |captum|``; for SmoothGrad,
blackbox_xai replays the noisy images captum drew (timing uses its own noise).

Run (torch and captum are benchmark-only peers)::

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install -e '.[all]' torch==2.13.0 captum threadpoolctl
    /tmp/bench/bin/python benchmarks/gradients.py
"""

from __future__ import annotations

# torch is imported before scipy/sklearn, or the interpreter may crash at exit
import torch

# isort: split
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import markdown_table, write_results
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits
from torch import nn

import blackbox_xai as bx
from blackbox_xai.explainers.gradients.smoothgrad import SmoothGrad

N_IMAGES = 16
N_STEPS = 50
N_SAMPLES = 50
SIGMA = 0.15
TOL = 1e-2  # relative completeness error for IG at equal accuracy
METHODS = [
    "saliency",
    "gradient_x_input",
    "smoothgrad",
    "integrated_gradients",
    "ig_equal_delta",
    "guided_backprop",
    "deconvolution",
    "grad_cam",
    "guided_grad_cam",
]
REPEATS = {"smoothgrad": 15, "integrated_gradients": 15, "ig_equal_delta": 8}


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _train(X: np.ndarray, y: np.ndarray) -> SmallCNN:
    torch.manual_seed(0)
    model = SmallCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    inputs, labels = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(15):
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), 64):
            batch = order[start : start + 64]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimiser.step()
    return model.eval()


def _cam_layer(model: bx.DifferentiableOnnxModel) -> str:
    """The ONNX tensor of the second ReLU (captum's ``net[4]``)."""
    relus = [layer for layer in bx.autodiff.list_layers(model, 4) if layer.op_type == "Relu"]
    return relus[1].name


def _ig_steps_for(model: SmallCNN, x: torch.Tensor, target: torch.Tensor) -> int:
    """Fewest of 16, 32, 64, ... Gauss-Legendre steps with every row within TOL."""
    with torch.no_grad():
        change = (model(x) - model(torch.zeros_like(x))).gather(1, target[:, None])[:, 0]
    steps = 16
    while True:
        _, delta = IntegratedGradients(model).attribute(
            x, target=target, n_steps=steps, return_convergence_delta=True
        )
        if bool((delta.abs() <= TOL * change.abs()).all()) or steps >= 4096:
            return steps
        steps *= 2


def _ours(path: str, method: str, x: np.ndarray, target: np.ndarray, layer: str) -> Callable:
    model = bx.DifferentiableOnnxModel(path, batch_size=N_SAMPLES * N_IMAGES)
    budget = {"memory_budget_mb": 1024.0}
    explainer: Any = {
        "saliency": lambda: bx.Saliency(model, reduce_channels=None),
        "gradient_x_input": lambda: bx.GradientXInput(model),
        "smoothgrad": lambda: bx.SmoothGrad(
            model, n_samples=N_SAMPLES, sigma=SIGMA, seed=0, **budget
        ),
        "integrated_gradients": lambda: bx.IntegratedGradients(model, n_steps=N_STEPS, **budget),
        "ig_equal_delta": lambda: bx.IntegratedGradients(model, n_steps="auto", tol=TOL, **budget),
        "guided_backprop": lambda: bx.GuidedBackprop(model),
        "deconvolution": lambda: bx.Deconvolution(model),
        "grad_cam": lambda: bx.GradCam(model, layer=layer),
        "guided_grad_cam": lambda: bx.GuidedGradCam(model, layer=layer),
    }[method]()
    return lambda: explainer.explain(x, target)


def _theirs(
    model: SmallCNN, method: str, x: np.ndarray, target: np.ndarray, steps: int
) -> Callable:
    inputs, labels = torch.from_numpy(x), torch.from_numpy(target)
    layer = model.net[4]
    if method == "saliency":
        return lambda: Saliency(model).attribute(inputs, target=labels, abs=True)
    if method == "gradient_x_input":
        return lambda: InputXGradient(model).attribute(inputs, target=labels)
    if method == "smoothgrad":
        tunnel = NoiseTunnel(Saliency(model))
        return lambda: tunnel.attribute(
            inputs, nt_samples=N_SAMPLES, stdevs=SIGMA, target=labels, abs=False
        )
    if method in ("integrated_gradients", "ig_equal_delta"):
        n = N_STEPS if method == "integrated_gradients" else steps
        return lambda: IntegratedGradients(model).attribute(
            inputs, target=labels, n_steps=n, return_convergence_delta=True
        )
    if method == "guided_backprop":
        return lambda: GuidedBackprop(model).attribute(inputs, target=labels)
    if method == "deconvolution":
        return lambda: Deconvolution(model).attribute(inputs, target=labels)
    if method == "grad_cam":
        cam = LayerGradCam(model, layer)
        return lambda: LayerAttribution.interpolate(
            cam.attribute(inputs, target=labels, relu_attributions=True), (8, 8), "bilinear"
        )
    guided = GuidedGradCam(model, layer)
    return lambda: guided.attribute(inputs, target=labels, interpolate_mode="bilinear")


def _values(result: Any) -> np.ndarray:
    if isinstance(result, bx.Explanation):
        return result.values[..., 0]
    if isinstance(result, tuple):
        result = result[0]
    return result.detach().numpy()


def _time(fns: dict[str, Callable], repeats: int) -> dict[str, float]:
    """Median CPU seconds per call of each function, calls interleaved."""
    for fn in fns.values():
        fn()  # warm-up (sessions, allocator)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _peak_rise_mb(fn: Callable) -> float:
    """Rise of the resident set's high-water mark while ``fn`` runs once (Linux)."""
    status = Path("/proc/self/status")

    def read(field: str) -> float:
        line = next(s for s in status.read_text().splitlines() if s.startswith(field))
        return float(line.split()[1]) / 1024

    before = read("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    fn()
    return read("VmHWM") - before


def _data() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    return X, digits.target.astype(np.int64)


def _inputs(workdir: str) -> tuple[np.ndarray, np.ndarray, SmallCNN, str, str, int]:
    x = np.load(Path(workdir) / "x.npy")
    target = np.load(Path(workdir) / "target.npy")
    meta = json.loads((Path(workdir) / "meta.json").read_text())
    model = SmallCNN()
    model.load_state_dict(torch.load(Path(workdir) / "cnn.pt"))
    return x, target, model.eval(), str(Path(workdir) / "cnn.onnx"), meta["layer"], meta["steps"]


def _worker(library: str, method: str, workdir: str) -> None:
    """Peak memory of one method in a fresh process (printed as JSON)."""
    torch.set_num_threads(1)
    x, target, model, path, layer, steps = _inputs(workdir)
    with threadpool_limits(1):
        if library == "blackbox_xai":
            fn = _ours(path, method, x, target, layer)
        else:
            fn = _theirs(model, method, x, target, steps)
        print(json.dumps({"peak_mb": _peak_rise_mb(fn)}))  # the first explanation


def _smoothgrad_agreement(path: str, model: SmallCNN, x: np.ndarray, target: np.ndarray) -> float:
    """Ours on the noisy images captum draws (same noise), relative to captum's values."""
    seen: list[torch.Tensor] = []
    hook = model.register_forward_pre_hook(lambda m, a: seen.append(a[0].detach()))
    theirs = _values(_theirs(model, "smoothgrad", x, target, 0)())
    hook.remove()
    noisy = torch.cat(seen).numpy().reshape(N_IMAGES, N_SAMPLES, *x.shape[1:])
    flat = x.reshape(N_IMAGES, -1)
    scale = SIGMA * (flat.max(1) - flat.min(1))
    noise = iter((noisy - x[:, None]) / scale[:, None, None, None, None])
    replay = SmoothGrad.__dict__["_noise"]  # the staticmethod itself
    SmoothGrad._noise = staticmethod(lambda rng, count, shape: next(noise))  # type: ignore[method-assign]
    try:
        ours = _values(_ours(path, "smoothgrad", x, target, "")())
    finally:
        SmoothGrad._noise = replay  # type: ignore[method-assign]
    # captum's stdev is absolute: the same as ours when every image spans [0, 1]
    assert np.allclose(scale, SIGMA)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def main() -> None:
    torch.set_num_threads(1)
    X, y = _data()
    model = _train(X[:1500], y[:1500])
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(X[1500:])).argmax(1).numpy() == y[1500:]).mean())
    x = X[1500 : 1500 + N_IMAGES]
    with torch.no_grad():
        target = model(torch.from_numpy(x)).argmax(1).numpy()
    rows: list[list[Any]] = []
    payload: dict[str, Any] = {
        "accuracy": accuracy,
        "n_images": N_IMAGES,
        "n_steps": N_STEPS,
        "n_samples": N_SAMPLES,
        "tol": TOL,
    }
    with tempfile.TemporaryDirectory() as workdir, threadpool_limits(1):
        path = str(Path(workdir) / "cnn.onnx")
        torch.onnx.export(
            model,
            (torch.from_numpy(x),),
            path,
            opset_version=17,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}},
            dynamo=False,
        )
        layer = _cam_layer(bx.DifferentiableOnnxModel(path))
        steps = _ig_steps_for(model, torch.from_numpy(x), torch.from_numpy(target))
        torch.save(model.state_dict(), Path(workdir) / "cnn.pt")
        np.save(Path(workdir) / "x.npy", x)
        np.save(Path(workdir) / "target.npy", target)
        (Path(workdir) / "meta.json").write_text(json.dumps({"layer": layer, "steps": steps}))
        payload["captum_steps_at_tol"] = steps
        for method in METHODS:
            ours, theirs = (
                _ours(path, method, x, target, layer),
                _theirs(model, method, x, target, steps),
            )
            a, b = ours(), theirs()
            if method == "smoothgrad":
                agreement = _smoothgrad_agreement(path, model, x, target)
            else:
                ours_values = _values(a)
                theirs_values = _values(b).reshape(ours_values.shape)  # Grad-CAM: (n, 1, H, W)
                agreement = float(
                    np.abs(ours_values - theirs_values).max() / np.abs(theirs_values).max()
                )
            extra: dict[str, Any] = {}
            if method.startswith("integrated") or method == "ig_equal_delta":
                change = np.abs(np.asarray(a.meta["output_change"]))
                extra = {
                    "ours_max_relative_delta": float(
                        (np.abs(a.meta["completeness_delta"]) / change).max()
                    ),
                    "captum_max_relative_delta": float((b[1].abs().numpy() / change).max()),
                    "ours_steps_per_row": a.meta["n_steps"],
                }
            seconds = _time({"blackbox_xai": ours, "captum": theirs}, REPEATS.get(method, 100))
            peaks = {}
            for library in ("blackbox_xai", "captum"):
                worker = subprocess.run(
                    [sys.executable, __file__, "--worker", library, method, workdir],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                peaks[library] = json.loads(worker.stdout.strip().splitlines()[-1])["peak_mb"]
            ratio = seconds["blackbox_xai"] / seconds["captum"]
            rows.append(
                [
                    method,
                    1e3 * seconds["blackbox_xai"],
                    1e3 * seconds["captum"],
                    ratio,
                    peaks["blackbox_xai"],
                    peaks["captum"],
                    agreement,
                ]
            )
            payload[method] = {
                "cpu_seconds": seconds,
                "peak_rss_rise_mb": peaks,
                "ratio_ours_over_captum": ratio,
                "max_abs_diff_relative": agreement,
                **extra,
            }
            print(method, f"ratio {ratio:.3f}", f"agreement {agreement:.1e}", flush=True)
    table = markdown_table(
        [
            "method (16 digits)",
            "ours ms CPU",
            "captum ms CPU",
            "ratio ours/captum",
            "ours peak MB",
            "captum peak MB",
            "max |diff| / max |captum|",
        ],
        rows,
    )
    equal = payload["ig_equal_delta"]
    note = (
        f"\n\nSmall CNN on 8x8 digits (test accuracy {accuracy:.3f}), one thread each, CPU "
        f"time per batch of {N_IMAGES} (median of interleaved repeats); peak = rise of the "
        f"resident set in a fresh process. SmoothGrad: {N_SAMPLES} samples, agreement on "
        f"captum's own noise. integrated_gradients: {N_STEPS} Gauss-Legendre steps on both "
        f"sides (max relative completeness error ours "
        f"{payload['integrated_gradients']['ours_max_relative_delta']:.1e}, captum "
        f"{payload['integrated_gradients']['captum_max_relative_delta']:.1e}). "
        f"ig_equal_delta: every row within {TOL} of |f(x) - f(0)|: ours n_steps='auto' "
        f"(steps per row {sorted(set(equal['ours_steps_per_row']))}, max error "
        f"{equal['ours_max_relative_delta']:.1e}) vs captum at {steps} steps for all rows "
        f"(max error {equal['captum_max_relative_delta']:.1e}; the step search not timed); "
        "agreement not comparable there (different steps). Cam has no captum peer."
    )
    print(table + note)
    write_results("gradients", payload, table + note)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:5])
    else:
        main()

"""Gradients on ONNX Runtime (blackbox_xai.autodiff) vs torch autograd and captum.

A small CNN (two conv + max-pool blocks, two linear layers) is trained with torch on
scikit-learn's 8x8 digits and exported to ONNX (TorchScript exporter, opset 17): both
sides use the same weights. Two tasks on 16 images:

* the gradient of each image's predicted class (``DifferentiableOnnxModel.gradient`` vs
  ``torch.autograd``);
* 50-step integrated gradients from a black baseline, with the Gauss-Legendre points of
  captum's default method, all 800 model rows in one batch on both sides.

Times are medians over interleaved repeats after a warm-up, one thread on both sides. Peak memory is
the rise of the resident set (VmHWM after resetting it) while a fresh process runs the
task once. Attributions of both libraries are compared.

Run (torch and captum are benchmark-only peers)::

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install -e '.[all]' torch==2.13.0 captum
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
from pathlib import Path

import numpy as np
from _common import markdown_table, write_results
from captum.attr import IntegratedGradients
from sklearn.datasets import load_digits
from torch import nn

import blackbox_xai as bx

N_IMAGES = 16
N_STEPS = 50
REPEATS = {"gradient": 200, "integrated_gradients": 20}


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


def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] and weights of n-point Gauss-Legendre (captum's default rule)."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1), 0.5 * weights


def _ours(model_path: str, task: str, x: np.ndarray, target: np.ndarray):
    model = bx.DifferentiableOnnxModel(model_path, batch_size=N_STEPS * N_IMAGES)
    if task == "gradient":
        return lambda: model.gradient(x, target)
    alphas, weights = _gauss_legendre(N_STEPS)

    def integrated_gradients() -> np.ndarray:
        points = (alphas[:, None, None, None, None] * x[None]).reshape(-1, *x.shape[1:])
        grads = model.gradient(points, np.tile(target, N_STEPS)).reshape(N_STEPS, *x.shape)
        return np.tensordot(weights, grads, axes=1) * x

    return integrated_gradients


def _theirs(model: SmallCNN, task: str, x: np.ndarray, target: np.ndarray):
    inputs, labels = torch.from_numpy(x), torch.from_numpy(target)
    if task == "gradient":

        def gradient() -> np.ndarray:
            leaf = inputs.clone().requires_grad_(True)
            model(leaf).gather(1, labels[:, None]).sum().backward()
            return leaf.grad.numpy()

        return gradient
    explainer = IntegratedGradients(model)
    return lambda: explainer.attribute(inputs, target=labels, n_steps=N_STEPS).detach().numpy()


def _time(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved (fair under load drift)."""
    for fn in fns.values():
        fn()  # warm-up (sessions, allocator)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _peak_rise_mb(fn) -> float:
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


def _worker(library: str, task: str, workdir: str) -> None:
    """Peak memory of one task in a fresh process (printed as JSON)."""
    torch.set_num_threads(1)
    x = np.load(Path(workdir) / "x.npy")
    target = np.load(Path(workdir) / "target.npy")
    if library == "blackbox_xai":
        fn = _ours(str(Path(workdir) / "cnn.onnx"), task, x, target)
    else:
        model = SmallCNN()
        model.load_state_dict(torch.load(Path(workdir) / "cnn.pt"))
        fn = _theirs(model.eval(), task, x, target)
    print(json.dumps({"peak_mb": _peak_rise_mb(fn)}))


def main() -> None:
    torch.set_num_threads(1)
    X, y = _data()
    model = _train(X[:1500], y[:1500])
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(X[1500:])).argmax(1).numpy() == y[1500:]).mean())
    x = X[1500 : 1500 + N_IMAGES]
    with torch.no_grad():
        target = model(torch.from_numpy(x)).argmax(1).numpy()
    rows, payload = [], {"accuracy": accuracy, "n_images": N_IMAGES, "n_steps": N_STEPS}
    with tempfile.TemporaryDirectory() as workdir:
        onnx_path = str(Path(workdir) / "cnn.onnx")
        torch.onnx.export(
            model,
            (torch.from_numpy(x),),
            onnx_path,
            opset_version=17,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}},
            dynamo=False,
        )
        torch.save(model.state_dict(), Path(workdir) / "cnn.pt")
        np.save(Path(workdir) / "x.npy", x)
        np.save(Path(workdir) / "target.npy", target)
        for task, peer in (("gradient", "torch.autograd"), ("integrated_gradients", "captum")):
            ours, theirs = _ours(onnx_path, task, x, target), _theirs(model, task, x, target)
            a, b = ours(), theirs()
            max_diff = float(np.abs(a - b).max() / np.abs(b).max())
            seconds = _time({"blackbox_xai": ours, peer: theirs}, REPEATS[task])
            peaks = {}
            for library in ("blackbox_xai", peer):
                worker = subprocess.run(
                    [sys.executable, __file__, "--worker", library, task, workdir],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                peaks[library] = json.loads(worker.stdout.strip().splitlines()[-1])["peak_mb"]
            ratio = seconds["blackbox_xai"] / seconds[peer]
            for library in ("blackbox_xai", peer):
                rows.append(
                    [
                        task,
                        library,
                        1e3 * seconds[library],
                        peaks[library],
                        seconds[library] / seconds[peer],
                    ]
                )
            payload[task] = {
                "seconds": seconds,
                "peak_rss_rise_mb": peaks,
                "ratio_ours_over_peer": ratio,
                "max_abs_diff_relative": max_diff,
            }
    table = markdown_table(
        ["task (16 digits)", "library", "ms (median)", "peak RSS rise MB", "ratio ours/peer"], rows
    )
    note = (
        f"\n\nSmall CNN on 8x8 digits (test accuracy {accuracy:.3f}), one thread each; "
        f"integrated gradients: {N_STEPS} Gauss-Legendre steps, {N_STEPS * N_IMAGES} rows in "
        "one batch. Max |ours - peer| / max |peer|: "
        + ", ".join(
            f"{t} {payload[t]['max_abs_diff_relative']:.1e}"
            for t in ("gradient", "integrated_gradients")
        )
        + "."
    )
    print(table + note)
    write_results("gradients", payload, table + note)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:5])
    else:
        main()

"""Explanation metrics of blackbox_xai (ONNX Runtime) vs Quantus (torch), same CNN and weights.

The model is the digits CNN of the gradient fixtures
(``tests/explainers/gradients/fixtures/gap_cnn.onnx``: conv / ReLU / max-pool / conv /
ReLU / global average pooling / linear / softmax). Its torch twin is the same
architecture with the ONNX initializers loaded by name (onnx2torch needs torchvision,
whose CPU build does not load against torch 2.13 here, so the twin is written out; the
benchmark checks it reproduces the ONNX outputs). Images: 128 held-out 8x8 digits
(``load_digits().images[1500:] / 16``), each explained for its predicted class.

* Deletion (pixel flipping): Quantus ``PixelFlipping(features_in_step=1,
  perturb_baseline="black")`` against ``bx.metrics.deletion_curve`` with pixels set to 0
  (the digits' minimum, Quantus's "black"), both tracking the predicted class's
  probability after each of the 64 steps; the attributions are the same array
  (blackbox_xai's ``Saliency``). Quantus's AUC is the trapezoid over steps
  (``dx=1``, steps 1..64); ours is over the fraction of pixels (steps 0..64), so the
  table compares the curves themselves and Quantus's AUC recomputed from ours.
* Insertion: Quantus has no insertion metric; ``bx.metrics.insertion_curve`` (pixels
  inserted into a black image) is checked and timed against the same per-step loop on
  the torch twin (one batch of all images per step, as Quantus's loop).
* MPRT: Quantus ``MPRT(layer_order="top_down")`` (cascading, Spearman of normalised
  absolute attributions, a torch saliency ``explain_func``) against
  ``bx.metrics.model_randomization_test`` with ``bx.Saliency``. Both sides use the
  same random weights: Quantus's layer generator is given the twins of the models
  ``randomize_onnx_weights(order="cascading", seed=0)`` yields (same three layers, from
  the output down, as Quantus's own ``reset_parameters`` order).

Times are the median CPU time (``time.process_time``) of 3 runs after a warm-up, one
thread on each side (``torch.set_num_threads(1)``; ONNX Runtime's default here is one
intra-op thread).

Run (torch and Quantus are benchmark-only peers)::

    python3 -m venv /work/venvs/metrics
    /work/venvs/metrics/bin/pip install torch==2.13.0 quantus onnx onnxruntime scikit-image
    PYTHONPATH=. /work/venvs/metrics/bin/python benchmarks/metrics.py
"""

from __future__ import annotations

# torch is imported before scipy/sklearn, or the interpreter may crash at exit
import torch

# isort: split
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import quantus
from _common import markdown_table, write_results
from _torch_twins import gap_cnn_twin
from quantus.helpers.model.pytorch_model import PyTorchModel
from sklearn.datasets import load_digits
from torch import nn

import blackbox_xai as bx

ONNX_PATH = Path(__file__).resolve().parents[1] / "tests/explainers/gradients/fixtures/gap_cnn.onnx"
N_IMAGES = 128
REPEATS = 3
SEED = 0


def torch_saliency(model: nn.Module, inputs: Any, targets: Any, **_: Any) -> np.ndarray:
    """|d logit_target / d x| on the torch side (Quantus's ``explain_func``)."""
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32).requires_grad_(True)
    logits = model.logits(x) if hasattr(model, "logits") else model(x)
    picked = logits[torch.arange(len(x)), torch.as_tensor(np.asarray(targets))]
    (grad,) = torch.autograd.grad(picked.sum(), x)
    return grad.abs().numpy()


def cpu_time(fn: Callable[[], Any]) -> tuple[float, Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(REPEATS):
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    warnings.filterwarnings("ignore")
    proto = onnx.load(ONNX_PATH)
    twin = gap_cnn_twin(proto, proba=True)
    images = (load_digits().images[1500 : 1500 + N_IMAGES] / 16.0).astype(np.float32)[:, None]
    assert (images.reshape(N_IMAGES, -1).min(axis=1) == 0).all()  # "black" is 0
    proba = bx.OnnxModel(ONNX_PATH)
    logits_model = bx.DifferentiableOnnxModel(ONNX_PATH, output="logits")
    with torch.no_grad():
        twin_out = twin(torch.from_numpy(images)).numpy()
    twin_error = float(np.abs(twin_out - proba(images)).max())
    target = proba(images).argmax(axis=1)
    attributions = bx.Saliency(logits_model).explain(images, target).values[..., 0]
    flat = attributions.reshape(N_IMAGES, -1)
    ties = sum(len(np.unique(row)) < row.size for row in flat)
    if ties:  # Quantus sorts with an unstable quicksort: break ties the same on both sides
        attributions = attributions + 1e-9 * np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8)

    rows: list[list[Any]] = []
    payload: dict[str, Any] = {
        "n_images": N_IMAGES,
        "twin_max_abs_error": twin_error,
        "rows_with_tied_attributions": int(ties),
    }

    # -- deletion: pixel flipping ---------------------------------------------------------
    def quantus_deletion() -> np.ndarray:
        metric = quantus.PixelFlipping(
            features_in_step=1, perturb_baseline="black", disable_warnings=True
        )
        scores = metric(
            model=twin,
            x_batch=images,
            y_batch=target,
            a_batch=attributions,
            channel_first=True,
            softmax=False,
            device="cpu",
            batch_size=N_IMAGES,
        )
        return np.asarray(scores)

    def ours_deletion() -> bx.metrics.Curve:
        return bx.metrics.deletion_curve(
            proba, images, attributions, bx.metrics.ImagePerturbation(fill=0.0), target=target
        )

    t_q, q_curves = cpu_time(quantus_deletion)
    t_o, curve = cpu_time(ours_deletion)
    ours_steps = curve.values[:, 1:]
    q_auc = np.trapezoid(q_curves, dx=1.0, axis=1)
    o_auc = np.trapezoid(ours_steps, dx=1.0, axis=1)
    rows.append(
        [
            "deletion (PixelFlipping), 64 steps",
            f"{np.abs(ours_steps - q_curves).max():.1e}",
            f"{np.abs(o_auc - q_auc).max():.1e}",
            f"{q_auc.mean():.4f}",
            t_q,
            t_o,
            t_o / t_q,
        ]
    )
    payload["deletion"] = {
        "quantus_s": t_q,
        "ours_s": t_o,
        "max_abs_curve_diff": float(np.abs(ours_steps - q_curves).max()),
        "mean_auc_quantus_dx1": float(q_auc.mean()),
        "mean_auc_ours_fraction": curve.mean_auc,
        "ours_model_calls": curve.n_model_calls,
    }

    # -- insertion: the same per-step loop on the twin --------------------------------------
    def loop_insertion() -> np.ndarray:
        order = np.argsort(-attributions.reshape(N_IMAGES, -1), axis=1, kind="stable")
        x = torch.zeros((N_IMAGES, 64))
        source = torch.from_numpy(images.reshape(N_IMAGES, -1))
        out = []
        with torch.no_grad():
            out.append(twin(x.reshape(-1, 1, 8, 8))[np.arange(N_IMAGES), target].numpy())
            for step in range(64):
                idx = torch.from_numpy(order[:, step])
                x[torch.arange(N_IMAGES), idx] = source[torch.arange(N_IMAGES), idx]
                out.append(twin(x.reshape(-1, 1, 8, 8))[np.arange(N_IMAGES), target].numpy())
        return np.stack(out, axis=1)

    def ours_insertion() -> bx.metrics.Curve:
        return bx.metrics.insertion_curve(
            proba, images, attributions, bx.metrics.ImagePerturbation(fill=0.0), target=target
        )

    t_l, loop = cpu_time(loop_insertion)
    t_i, inserted = cpu_time(ours_insertion)
    rows.append(
        [
            "insertion, 64 steps (vs a torch loop)",
            f"{np.abs(inserted.values - loop).max():.1e}",
            f"{np.abs(inserted.auc - np.trapezoid(loop, dx=1 / 64, axis=1)).max():.1e}",
            f"{inserted.mean_auc:.4f}",
            t_l,
            t_i,
            t_i / t_l,
        ]
    )
    payload["insertion"] = {"loop_s": t_l, "ours_s": t_i, "mean_auc": inserted.mean_auc}

    # -- MPRT ---------------------------------------------------------------------------------
    randomized = list(bx.metrics.randomize_onnx_weights(proto, order="cascading", seed=SEED))
    # Quantus's names of the same layers, in the same order (from the output down)
    names = ("head", "features.3", "features.0")
    twins = [
        (name, gap_cnn_twin(p, proba=True)) for name, (_, p) in zip(names, randomized, strict=True)
    ]

    def layers(self: Any, order: str = "top_down", seed: int = 42) -> Any:
        yield from twins

    PyTorchModel.get_random_layer_generator = layers  # the same weights as ours

    def quantus_mprt() -> dict[str, list[float]]:
        metric = quantus.MPRT(layer_order="top_down", disable_warnings=True)
        return metric(
            model=twin,
            x_batch=images,
            y_batch=target,
            a_batch=None,
            explain_func=torch_saliency,
            channel_first=True,
            softmax=False,
            device="cpu",
            batch_size=N_IMAGES,
        )

    def ours_mprt() -> bx.metrics.SanityResult:
        return bx.metrics.model_randomization_test(
            lambda m: bx.Saliency(m),
            logits_model,
            images,
            target=target.tolist(),
            seed=SEED,
            similarity=("spearman_abs",),  # what Quantus computes
        )

    t_qm, q_scores = cpu_time(quantus_mprt)
    t_om, result = cpu_time(ours_mprt)
    q_layers = np.array([q_scores[name] for name, _ in twins])
    ours_layers = result.similarity["spearman_abs"]
    rows.append(
        [
            "MPRT, 3 layers cascading (Spearman |a|)",
            f"{np.abs(ours_layers - q_layers).max():.1e}",
            "",
            " / ".join(f"{v:.3f}" for v in q_layers.mean(axis=1)),
            t_qm,
            t_om,
            t_om / t_qm,
        ]
    )
    payload["mprt"] = {
        "quantus_s": t_qm,
        "ours_s": t_om,
        "quantus_mean_per_layer": q_layers.mean(axis=1).tolist(),
        "ours_mean_per_layer": ours_layers.mean(axis=1).tolist(),
        "max_abs_diff": float(np.abs(ours_layers - q_layers).max()),
    }

    headers = [
        "metric",
        "max |ours - peer| per row",
        "max |AUC diff|",
        "peer value (mean)",
        "peer CPU s",
        "ours CPU s",
        "time ratio ours/peer",
    ]
    table = markdown_table(headers, rows)
    tied = (
        f"{ties} rows had tied attributions (broken by 1e-9 x pixel index on both sides)"
        if ties
        else "no row had tied attributions (Quantus's unstable sort orders them alike)"
    )
    note = (
        f"\n\n{N_IMAGES} digits, torch twin max |proba diff| {twin_error:.1e}; {tied}. "
        f"Quantus {quantus.__version__}, torch {torch.__version__}. Ratios vary by about "
        "x2 between runs on this shared machine."
    )
    print(table + note)
    write_results("metrics", payload, table + note)


if __name__ == "__main__":
    main()

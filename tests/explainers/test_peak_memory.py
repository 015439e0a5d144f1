"""Peak memory of every explainer: flat in the rows explained and in its evaluation
budget (permutations, samples, masks, windows, integration steps, noise samples).

Each pair of runs differs 4-8x in rows or budget under a 1 MiB memory budget; the
larger may exceed the smaller only by the growth of the result itself plus a small
margin (before the fixes, the large runs grew in proportion: SamplingShapley kept a
whole round per row, Anchors ran every row's search at once, integrated gradients'
Gauss-Legendre rule built an n x n matrix, 128 MiB at 4,096 steps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import blackbox_xai as bx

FIXTURES = Path(__file__).resolve().parent / "gradients" / "fixtures"
D = 10
RNG = np.random.default_rng(0)
W = RNG.normal(size=(D, 3))
BACKGROUND = RNG.normal(size=(20, D))
X = RNG.normal(size=(256, D))
IMAGES = RNG.random((16, 24, 24, 3))
W_IMAGE = RNG.normal(size=(24 * 24 * 3, 2))


def tabular_model(Z):
    return np.tanh(Z @ W)


def image_model(B):
    return np.asarray(B).reshape(len(B), -1) @ W_IMAGE


#: Per explained digit, eight copies of its 64 pixels in float64 (the validated input and
#: its float32 copy, baseline, difference, running sums, and the result's values and data).
PER_DIGIT = 8 * 64 * 8 / 2**20


def _cnn():
    return bx.DifferentiableOnnxModel(FIXTURES / "gap_cnn.onnx", output="logits")


def _digits(n):
    x = np.load(FIXTURES / "gap_cnn.npz")["x"]
    return np.resize(x, (n, *x.shape[1:]))


def _grid():
    return bx.maskers.Image(segmenter="grid")


# name: (explain at a size, small size, large size, result MiB per unit of size)
CASES = {
    "sampling shapley, rows": (
        lambda n: bx.SamplingShapley(tabular_model, bx.Tabular(BACKGROUND), seed=0).explain(
            X[:n], n_permutations=16
        ),
        64,
        256,
        2 * D * 3 * 8 / 2**20,
    ),
    "sampling shapley, permutations": (
        lambda n: bx.SamplingShapley(tabular_model, bx.Tabular(BACKGROUND[:4]), seed=0).explain(
            X[:1], n_permutations=n
        ),
        2048,
        16384,
        0.0,
    ),
    "sampling shapley per background row, permutations": (
        lambda n: bx.SamplingShapley(tabular_model, bx.Tabular(BACKGROUND[:4]), seed=0).explain(
            X[:1], n_permutations=n, background="sample"
        ),
        2048,
        16384,
        0.0,
    ),
    "lime, rows": (
        lambda n: bx.Lime(tabular_model, BACKGROUND, seed=0).explain(X[:n], n_samples=500),
        8,
        64,
        3 * D * 3 * 8 / 2**20,
    ),
    "anchors, rows": (
        lambda n: bx.Anchors(tabular_model, BACKGROUND, seed=0).explain_many(X[:n]),
        16,
        64,
        2e-3,  # an AnchorExplanation with its examples pickles to about 1.7 KiB
    ),
    "occlusion, rows": (
        lambda n: bx.Occlusion(image_model, _grid(), window=2, stride=2).explain(IMAGES[:n]),
        2,
        16,
        2 * 24 * 24 * 3 * 3 * 8 / 2**20,  # values per pixel and output, data
    ),
    "occlusion, windows": (
        lambda n: bx.Occlusion(image_model, _grid(), window=24 // n, stride=24 // n).explain(
            IMAGES[:2]
        ),
        4,
        24,
        0.0,
    ),
    "rise, masks": (
        lambda n: bx.Rise(image_model, _grid(), n_masks=n, seed=0).explain(IMAGES[:1]),
        500,
        2000,
        0.0,
    ),
    "integrated gradients, rows": (
        lambda n: bx.IntegratedGradients(_cnn(), n_steps=16).explain(_digits(n)),
        64,
        256,
        PER_DIGIT,
    ),
    "integrated gradients, steps": (
        lambda n: bx.IntegratedGradients(_cnn(), n_steps=n).explain(_digits(4)),
        512,
        4096,
        0.0,
    ),
    "smoothgrad, samples": (
        lambda n: bx.SmoothGrad(_cnn(), n_samples=n, seed=0).explain(_digits(2)),
        1000,
        8000,
        0.0,
    ),
    "saliency, rows": (
        lambda n: bx.Saliency(_cnn()).explain(_digits(n)),
        64,
        512,
        PER_DIGIT,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_peak_memory_is_flat_in_rows_and_budget(case, peak_mib) -> None:
    explain, small, large, result_mib = CASES[case]
    with bx.config_context(memory_budget_mb=1):
        peak_small = peak_mib(lambda: explain(small))
        peak_large = peak_mib(lambda: explain(large))
    allowed = 1.25 * peak_small + (large - small) * result_mib + 0.1
    assert peak_large < allowed, (peak_small, peak_large, allowed)


def test_lime_refuses_a_design_beyond_its_budget_and_the_largest_fits(peak_mib) -> None:
    # One row's surrogate needs all its samples at once: beyond the budget, refused
    # with the largest n_samples that fits, whose peak then stays near the budget.
    lime = bx.Lime(tabular_model, BACKGROUND, seed=0)
    with bx.config_context(memory_budget_mb=1):
        with pytest.raises(ValueError, match=r"n_samples=100000 needs about 91 MiB") as info:
            lime.explain(X[:1], n_samples=100_000)
        largest = int(str(info.value).split("fits is ")[1].split(";")[0])
        assert 4000 < largest < 5000
        with pytest.raises(ValueError, match=r"fits is (\d+); .* n_holdout \(now 2000\)") as info:
            lime.explain(X[:1], n_samples=100_000, n_holdout=2000)
        fits = int(str(info.value).split("fits is ")[1].split(";")[0])
        lime.explain(X[:1], n_samples=fits, n_holdout=2000)  # the suggestion does fit
        peak = peak_mib(lambda: lime.explain(X[:1], n_samples=largest))
    assert peak < 1.5 * 4, peak  # the designs' share: 4 x 1 MiB

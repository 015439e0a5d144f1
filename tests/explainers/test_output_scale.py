"""Outputs near 1e300 or 1e-300: squares and fourth moments must neither overflow into
NaN standard errors nor underflow into zero ones (nor a huge fit look "perfect")."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx

CASES = {
    "sampling-mean": (bx.SamplingShapley, {"n_permutations": 12}, 10),
    "sampling-sample": (bx.SamplingShapley, {"n_permutations": 12, "background": "sample"}, 3),
    "kernel-mean": (bx.KernelShap, {"n_evals": 100}, 10),
    "kernel-sample": (bx.KernelShap, {"n_evals": 100, "background": "sample"}, 3),
    "lime": (bx.Lime, {}, 10),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_standard_errors_scale_with_the_model(case) -> None:
    # Estimates are kept over a power of two per row and output, which changes no
    # rounding: a model whose first output is scaled by 2**+-990 gives exactly the
    # scaled values, standard errors and R^2 for it and the very same ones for the
    # ordinary second output (one exponent shared by both made the second's squares
    # underflow: standard errors 0, R^2 1); scaled by 1e300, finite ones that agree.
    cls, kwargs, n_background = CASES[case]
    rng = np.random.default_rng(3)
    X, W = rng.normal(size=(10, 8)), rng.normal(size=(8, 8))

    def explain(scale: float) -> bx.Explanation:
        def model(Z):
            hidden = np.tanh(Z @ W)
            return np.column_stack([scale * hidden.sum(axis=1), hidden[:, :3].sum(axis=1)])

        explainer = cls(bx.wrap(model), bx.maskers.Tabular(X[:n_background]), seed=0)
        return explainer.explain(X[:3], **kwargs)

    plain = explain(1.0)
    if cls is not bx.Lime:  # Lime's default design is enumerated: no sampling error
        assert np.all(plain.stderr[..., 0] > 0) and np.all(plain.stderr[..., 1] > 0)
    for scale in (2.0**990, 2.0**-990):
        scaled = explain(scale)
        np.testing.assert_array_equal(scaled.values[..., 0], plain.values[..., 0] * scale)
        np.testing.assert_array_equal(scaled.stderr[..., 0], plain.stderr[..., 0] * scale)
        np.testing.assert_array_equal(scaled.values[..., 1], plain.values[..., 1])
        np.testing.assert_array_equal(scaled.stderr[..., 1], plain.stderr[..., 1])
        assert scaled.meta.get("r2") == plain.meta.get("r2")
    with np.errstate(all="raise"):
        huge = explain(1e300)
    np.testing.assert_allclose(huge.values[..., 0] / 1e300, plain.values[..., 0], rtol=1e-9)
    np.testing.assert_allclose(huge.stderr[..., 0] / 1e300, plain.stderr[..., 0], rtol=1e-6)
    np.testing.assert_allclose(huge.values[..., 1], plain.values[..., 1], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(huge.stderr[..., 1], plain.stderr[..., 1], rtol=1e-6, atol=1e-14)
    if "r2" in plain.meta:
        np.testing.assert_allclose(huge.meta["r2"], plain.meta["r2"], rtol=1e-12)
        assert np.all(np.asarray(plain.meta["r2"]) < 0.99)

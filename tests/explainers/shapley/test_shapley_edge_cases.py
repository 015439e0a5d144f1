"""KernelShap and SamplingShapley at the edges: one or two players, three outputs,
nonlinear feature groups, the logit link over several background rows, unbiasedness."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.shapley.exact import shapley_from_all_coalitions
from blackbox_xai.sampling import all_coalitions


@pytest.mark.parametrize("d", [1, 2])
def test_one_or_two_players_give_the_exact_values(rng, d) -> None:
    bg, X = rng.normal(size=(3, d)), rng.normal(size=(4, d))

    def f(Z: np.ndarray) -> np.ndarray:
        return np.exp(Z).prod(1)

    exact = bx.ExactShapley(f, bg).explain(X).values
    kernel = bx.KernelShap(f, bg, seed=0).explain(X)
    np.testing.assert_allclose(kernel.values, exact, atol=1e-12)
    assert kernel.meta["n_evals"] == [2**d] * len(X)
    # Antithetic pairs are exact for interactions of order <= 2, so for d <= 2.
    sampled = bx.SamplingShapley(f, bg, seed=0).explain(X, n_permutations=4)
    np.testing.assert_allclose(sampled.values, exact, atol=1e-12)


def test_three_outputs_are_explained_in_one_call(data) -> None:
    bg, X = data

    def f(Z: np.ndarray) -> np.ndarray:
        return np.stack(
            [np.sin(Z[:, 0] * Z[:, 1]), Z[:, 2] * Z[:, 3] * Z[:, 4], np.tanh(Z.sum(1))], 1
        )

    exact = bx.ExactShapley(f, bg).explain(X).values
    for background in ("mean", "sample"):
        expl = bx.KernelShap(f, bg, seed=0).explain(X, n_evals=200, background=background)
        assert expl.values.shape == (5, 8, 3) and expl.stderr.shape == (5, 8, 3)
        np.testing.assert_allclose(expl.values.sum(1) + expl.base_values, f(X), atol=1e-10)
        assert np.mean(np.abs(expl.values - exact) <= 3 * expl.stderr + 1e-12) >= 0.9
    sampled = bx.SamplingShapley(f, bg, seed=0).explain(X, n_permutations=40)
    assert sampled.values.shape == (5, 8, 3)
    np.testing.assert_allclose(sampled.values.sum(1) + sampled.base_values, f(X), atol=1e-10)


def test_nonlinear_groups_match_exact_shapley_with_the_same_groups(data) -> None:
    # Every term couples at most two groups nonlinearly: a game of order two in the
    # players, on which paired coalitions and antithetic permutations are exact.
    bg, X = data
    groups = [[0, 1], [2, 3, 4]]

    def f(Z: np.ndarray) -> np.ndarray:
        a, b = np.sin(Z[:, 0] * Z[:, 1]), np.exp(Z[:, 2:5].sum(1) / 3)
        return a * b + np.cos(Z[:, 5]) * Z[:, 6] ** 2 + Z[:, 7]

    masker = bx.Tabular(bg, groups=groups)
    exact = bx.ExactShapley(f, masker).explain(X).values
    kernel = bx.KernelShap(f, masker, seed=0).explain(X, n_evals=20, background="mean")
    np.testing.assert_allclose(kernel.values, exact, atol=1e-10)
    sampled = bx.SamplingShapley(f, masker, seed=0).explain(X, n_permutations=4)
    np.testing.assert_allclose(sampled.values, exact, atol=1e-10)


def test_logit_link_with_several_background_rows_explains_the_log_odds_of_the_mean(rng) -> None:
    bg, X = rng.normal(size=(5, 6)), rng.normal(size=(3, 6))

    def proba(Z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(np.sin(Z[:, 0] * Z[:, 1]) + Z[:, 2:].sum(1))))

    v = bx.Tabular(bg).coalition_values(bx.wrap(proba), X, all_coalitions(6))
    truth = shapley_from_all_coalitions(np.log(v) - np.log1p(-v), 6)
    exact = bx.KernelShap(proba, bg, link="logit", seed=0).explain(X, n_evals=64)
    np.testing.assert_allclose(exact.values, truth, atol=1e-10)
    sampled = bx.KernelShap(proba, bg, link="logit", seed=0).explain(X, n_evals=40)
    np.testing.assert_allclose(sampled.values.sum(1), truth.sum(1), atol=1e-10)
    assert np.all(np.abs(sampled.values - truth) <= 4 * sampled.stderr + 1e-10)


@pytest.mark.parametrize("background", ["mean", "sample"])
def test_sampling_shapley_is_unbiased_over_many_seeds(data, rough, background) -> None:
    # The mean over 200 seeds has standard error SE / sqrt(200); its distance to the
    # exact values, in those units, is within 4 for every value.
    bg, X = data[0], data[1][:2]
    exact = bx.ExactShapley(rough, bg).explain(X).values
    runs = [
        bx.SamplingShapley(rough, bg, seed=s).explain(X, n_permutations=24, background=background)
        for s in range(200)
    ]
    values = np.stack([r.values for r in runs])
    z = (values.mean(0) - exact) / (values.std(0, ddof=1) / np.sqrt(len(runs)) + 1e-15)
    assert np.abs(z).max() < 4.0

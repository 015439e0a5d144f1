"""SamplingShapley: antithetic pairs exact for order two, efficient, reproducible, calibrated."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx


def test_one_antithetic_pair_is_exact_for_pairwise_interactions(data, rng) -> None:
    bg, X = data
    w, B = rng.normal(size=8), np.triu(rng.normal(size=(8, 8)), 1)

    def f(Z: np.ndarray) -> np.ndarray:
        return Z @ w + np.einsum("ni,ij,nj->n", Z, B, Z)

    exact = bx.ExactShapley(f, bg).explain(X).values
    expl = bx.SamplingShapley(f, bg, seed=0).explain(X, n_permutations=4)
    np.testing.assert_allclose(expl.values, exact, atol=1e-10)
    np.testing.assert_allclose(expl.stderr, 0.0, atol=1e-10)
    # delta evaluation: d - 1 new coalitions per permutation, empty and full once
    assert expl.meta["n_evals"] == [2 + 4 * 7] * len(X)
    assert expl.meta["n_model_rows"] == len(X) * (
        len(bg) * (1 + 4 * 7) + 1
    )  # full coalition: 1 row


def test_efficiency_holds_exactly_for_every_output(data, rough) -> None:
    bg, X = data
    expl = bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=10)
    assert expl.values.shape == (5, 8, 2)
    np.testing.assert_allclose(expl.values.sum(1) + expl.base_values, rough(X), atol=1e-12)


def test_estimates_agree_with_exact_values_within_their_standard_errors(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    expl = bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=40)
    err = np.abs(expl.values - exact)
    assert err.max() > 1e-3
    assert np.mean(err <= 2 * expl.stderr) >= 0.9


def test_one_background_row_per_pair_is_unbiased_and_cheaper(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    expl = bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=400, background="sample")
    assert np.mean(np.abs(expl.values - exact) <= 2.5 * expl.stderr) >= 0.9
    # one model row per coalition, f(x) per row, f(b) once for the block of rows
    assert expl.meta["n_model_rows"] == len(X) * (1 + 400 * 7) + len(bg)


def test_same_seed_same_values_and_n_jobs_does_not_matter(data, rough, check_reproducible) -> None:
    bg, X = data
    kwargs = {"n_permutations": 6, "tol": 0.1, "max_permutations": 30}
    one = bx.SamplingShapley(rough, bg, seed=4, n_jobs=1).explain(X, **kwargs)
    again = bx.SamplingShapley(rough, bg, seed=4, n_jobs=1).explain(X, **kwargs)
    two = bx.SamplingShapley(rough, bg, seed=4, n_jobs=2).explain(X, chunk_size=2, **kwargs)
    other = bx.SamplingShapley(rough, bg, seed=5, n_jobs=1).explain(X, **kwargs)
    assert len(set(one.meta["n_permutations"])) > 1
    check_reproducible(one, again, two, other)


def test_standard_error_shrinks_like_one_over_sqrt_permutations(data, rough) -> None:
    bg, X = data
    small = bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=20).stderr.mean()
    large = bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=80).stderr.mean()
    assert 1.6 < small / large < 2.5


def test_tol_stops_early_on_an_easy_model(data, rough) -> None:
    bg, X = data
    # A linear game: every pair is exact (SE 0); 10 pairs >= max(10, d) stop at round 0.
    easy = bx.SamplingShapley(lambda Z: Z @ np.ones(8), bg, seed=0).explain(
        X, n_permutations=20, tol=0.01
    )
    assert easy.meta["n_permutations"] == [20] * len(X)
    assert easy.meta["converged"] == [True] * len(X)
    hard = bx.SamplingShapley(rough, bg, seed=0).explain(
        X, n_permutations=4, tol=1e-4, max_permutations=12
    )
    assert hard.meta["n_permutations"] == [12] * len(X)
    assert hard.meta["converged"] == [False] * len(X)


def test_feature_groups_are_single_players(data) -> None:
    bg, X = data
    masker = bx.Tabular(bg, groups={"a": [0, 1], "b": [2, 3, 4]})
    w = np.arange(1.0, 9.0)
    grouped = bx.SamplingShapley(lambda Z: Z @ w, masker, seed=0).explain(X, n_permutations=4)
    plain = bx.ExactShapley(lambda Z: Z @ w, bg).explain(X).values[..., 0]
    assert grouped.feature_names == ["a", "b", "x5", "x6", "x7"]
    np.testing.assert_allclose(grouped.values[:, 0, 0], plain[:, :2].sum(1), atol=1e-10)
    np.testing.assert_allclose(grouped.values[:, 1, 0], plain[:, 2:5].sum(1), atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_permutations": 5}, ValueError, "n_permutations must be even"),
        ({"n_permutations": 2}, ValueError, "n_permutations must be >= 4"),
        ({"background": "median"}, ValueError, "background must be one of"),
        ({"max_permutations": 40}, ValueError, "max_permutations only applies with tol"),
        ({"n_permutations": 8, "tol": 0.1, "max_permutations": 4}, ValueError, "must be >= n_"),
        ({"tol": 0.0}, ValueError, "tol must be positive"),
    ],
)
def test_bad_arguments_say_what_to_pass(data, kwargs, error, match, rough) -> None:
    bg, X = data
    with pytest.raises(error, match=match):
        bx.SamplingShapley(rough, bg, seed=0).explain(X, **kwargs)


def test_sampled_background_rows_are_stratified(data, rough) -> None:
    # An additive game varies only between background rows: stratified pairs are exact.
    bg, X = data
    w = np.arange(1.0, 9.0)
    exact = bx.ExactShapley(lambda Z: Z @ w, bg).explain(X).values
    additive = bx.SamplingShapley(lambda Z: Z @ w, bg, seed=0).explain(
        X, n_permutations=24, background="sample"
    )
    np.testing.assert_allclose(additive.values, exact, atol=1e-10)
    np.testing.assert_allclose(additive.stderr, 0.0, atol=1e-10)
    exact = bx.ExactShapley(rough, bg).explain(X).values
    sample = bx.SamplingShapley(rough, bg, seed=0).explain(
        X, n_permutations=48 * len(bg), background="sample"
    )
    assert np.abs(sample.values - exact).max() > 1e-3
    assert np.mean(np.abs(sample.values - exact) <= 2 * sample.stderr + 1e-12) >= 0.9


def test_sampled_background_needs_two_pairs_per_background_row(data, rough) -> None:
    bg, X = data
    with pytest.raises(ValueError, match=r"pass n_permutations >= 24"):
        bx.SamplingShapley(rough, bg, seed=0).explain(X, n_permutations=20, background="sample")


def test_tol_does_not_stop_on_a_few_identical_pairs() -> None:
    # f = x1 x2 x3 x4 at x = 1, background 0: only orders that put the four players
    # last give a nonzero contribution, so a couple of pairs often agree exactly (SE 0)
    # and are wrong (0.5 where the truth is 0.25). The rule needs enough pairs first.
    d = 12
    explainer_args = (lambda Z: Z[:, :4].prod(1), np.zeros((1, d)))
    for seed in range(20):
        expl = bx.SamplingShapley(*explainer_args, seed=seed).explain(
            np.ones((1, d)), n_permutations=4, tol=0.05
        )
        assert expl.meta["n_permutations"][0] >= 2 * d

"""KernelShap(background="sample"): one design per background row, one model row each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blackbox_xai as bx


def test_mean_over_seeds_matches_exact_values_within_the_standard_error(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    runs = [
        bx.KernelShap(rough, bg, seed=s).explain(X, n_evals=100, background="sample")
        for s in range(24)
    ]
    mean = np.mean([r.values for r in runs], axis=0)
    se_of_mean = np.sqrt(np.sum([r.stderr**2 for r in runs], axis=0)) / len(runs)
    assert np.abs(mean - exact).max() > 1e-4  # sampled, not exact
    assert np.mean(np.abs(mean - exact) <= 2 * se_of_mean) >= 0.9


def test_standard_errors_are_calibrated(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    err, se = [], []
    for s in range(8):
        expl = bx.KernelShap(rough, bg, seed=s).explain(X, n_evals=100, background="sample")
        err.append(np.abs(expl.values - exact))
        se.append(expl.stderr)
    assert np.mean(np.asarray(err) <= 2 * np.asarray(se)) >= 0.9
    assert np.mean(np.asarray(err) <= 0.5 * np.asarray(se)) <= 0.6  # SEs are not inflated


def test_efficiency_holds_exactly_and_base_values_are_the_mean_game(data, rough) -> None:
    bg, X = data
    expl = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, background="sample")
    assert expl.values.shape == (5, 8, 2)
    np.testing.assert_allclose(expl.values.sum(1) + expl.base_values, rough(X), atol=1e-12)
    np.testing.assert_allclose(expl.base_values, np.tile(rough(bg).mean(0), (5, 1)), atol=1e-12)


def test_pairwise_interactions_are_exact_with_weighted_backgrounds(data, rng) -> None:
    # Each background row's game has interactions of order two: paired designs solve it.
    bg, X = data
    w, B = rng.normal(size=8), np.triu(rng.normal(size=(8, 8)), 1)

    def f(Z: np.ndarray) -> np.ndarray:
        return Z @ w + np.einsum("ni,ij,nj->n", Z, B, Z)

    masker = bx.Tabular(bg, weights=[0.0, 1.0, 2.0, 3.0, 1.0, 1.0])
    exact = bx.ExactShapley(f, masker).explain(X).values
    expl = bx.KernelShap(f, masker, seed=1).explain(X, n_evals=30, background="sample")
    np.testing.assert_allclose(expl.values, exact, atol=1e-9)
    np.testing.assert_allclose(expl.stderr, 0.0, atol=1e-9)
    # the row of weight zero gets no design: 5 rows of 28 coalitions, f(x), f(b) once
    assert expl.meta["n_model_rows"] == len(X) * (1 + 5 * 28) + 5


def test_model_rows_match_the_averaged_game_at_equal_n_evals(data, rough) -> None:
    bg, X = data
    mean = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, background="mean")
    sample = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, background="sample")
    # averaged: every coalition but the full one costs len(bg) rows; sampled: one row per
    # (coalition, background row), f(x) per row and f(b) once per block of rows
    assert mean.meta["n_model_rows"] == len(X) * (len(bg) * 39 + 1)
    assert sample.meta["n_model_rows"] == len(X) * (len(bg) * 38 + 1) + len(bg)
    assert sample.meta["n_evals"] == mean.meta["n_evals"] == [40] * len(X)
    assert sample.meta["parameters"]["background"] == "sample"


def test_auto_samples_where_it_applies(data, rough) -> None:
    bg, X = data
    auto = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40)
    sample = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, background="sample")
    assert auto.meta["parameters"]["background"] == "sample"
    assert np.array_equal(auto.values, sample.values)
    proba = bx.KernelShap(lambda Z: 0.5 + 0.1 * np.tanh(rough(Z)), bg, link="logit", seed=0)
    assert proba.explain(X, n_evals=40).meta["parameters"]["background"] == "mean"


def test_same_seed_same_values_and_n_jobs_does_not_matter(data, rough, check_reproducible) -> None:
    bg, X = data
    kwargs: dict[str, Any] = {"n_evals": 20, "tol": 0.05, "max_evals": 120, "background": "sample"}
    one = bx.KernelShap(rough, bg, seed=5, n_jobs=1).explain(X, **kwargs)
    again = bx.KernelShap(rough, bg, seed=5, n_jobs=1).explain(X, **kwargs)
    two = bx.KernelShap(rough, bg, seed=5, n_jobs=2).explain(X, chunk_size=2, **kwargs)
    other = bx.KernelShap(rough, bg, seed=6, n_jobs=1).explain(X, **kwargs)
    assert len(set(one.meta["n_evals"])) > 1  # rows stopped after different rounds
    check_reproducible(one, again, two, other)


def test_results_do_not_depend_on_the_memory_budget(data, rough) -> None:
    bg, X = data
    a = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, background="sample")
    tiny = bx.Tabular(bg, memory_budget_mb=1e-3)
    b = bx.KernelShap(rough, tiny, seed=0).explain(X, n_evals=40, background="sample")
    assert np.array_equal(a.values, b.values) and b.meta["n_model_calls"] > a.meta["n_model_calls"]


class _NotTabular(bx.maskers.Masker):
    n_players = 8

    def validate(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float)

    def coalition_values(self, model: Any, X: Any, Z: np.ndarray) -> np.ndarray:
        raise AssertionError("not reached")


@pytest.mark.parametrize(
    ("link", "masker", "kwargs", "error", "match"),
    [
        ("identity", None, {"background": "median"}, ValueError, "background must be one of"),
        ("logit", None, {"background": "sample"}, ValueError, "use background='mean' with this"),
        ("identity", _NotTabular(), {"background": "sample"}, TypeError, "needs a Tabular"),
    ],
)
def test_bad_background_options_say_what_to_pass(
    data, rough, link, masker, kwargs, error, match
) -> None:
    bg, X = data
    explainer = bx.KernelShap(rough, bg if masker is None else masker, link=link, seed=0)
    with pytest.raises(error, match=match):
        explainer.explain(X, n_evals=40, **kwargs)


def test_many_background_designs_at_the_minimum_budget_finish_quickly(rng) -> None:
    # background="sample" draws one design per background row; at the minimum budget a
    # design is full rank only ~0.7-0.9 of the time, so redrawing all of them until all
    # are full rank never finished (p**100 per try) with 100 rows.
    import signal

    def stop(*_: object) -> None:
        raise TimeoutError("KernelShap did not finish within 20 s")

    bg, X = rng.normal(size=(100, 13)), rng.normal(size=(1, 13))
    explainer = bx.KernelShap(lambda Z: np.sin(Z).sum(1), bg, seed=0)
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    try:
        expl = explainer.explain(X, n_evals=explainer.min_evals())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert expl.meta["parameters"]["background"] == "sample"
    np.testing.assert_allclose(expl.values.sum(1)[:, 0], np.sin(X).sum() - np.sin(bg).sum(1).mean())

"""KernelShap: exact where theory says so, efficient, reproducible, calibrated."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx


def linear(w: np.ndarray):
    return lambda X: X @ w


def pairwise(w: np.ndarray, B: np.ndarray):
    """Main effects and every pairwise product: a game of interaction order two."""
    return lambda X: X @ w + np.einsum("ni,ij,nj->n", X, B, X)


def test_linear_model_is_exact_at_the_minimum_budget(data) -> None:
    bg, X = data
    w = np.arange(1.0, 9.0)
    explainer = bx.KernelShap(linear(w), bg, seed=3)
    expl = explainer.explain(X, n_evals=explainer.min_evals())
    np.testing.assert_allclose(expl.values[..., 0], w * (X - bg.mean(0)), atol=1e-10)
    np.testing.assert_allclose(expl.stderr, 0.0, atol=1e-10)
    assert expl.meta["n_evals"] == [18] * len(X)


def test_pairwise_interactions_are_exact_with_paired_sampling(data, rng) -> None:
    bg, X = data
    f = pairwise(rng.normal(size=8), np.triu(rng.normal(size=(8, 8)), 1))
    exact = bx.ExactShapley(f, bg).explain(X).values
    for weights in ("kernel", "leverage", "geometric"):
        expl = bx.KernelShap(f, bg, seed=1).explain(X, n_evals=40, weights=weights)
        np.testing.assert_allclose(expl.values, exact, atol=1e-9)


def test_efficiency_holds_exactly_and_all_outputs_come_at_once(data, rough) -> None:
    bg, X = data
    expl = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=60)
    assert expl.values.shape == (5, 8, 2)
    total = expl.values.sum(axis=1) + expl.base_values
    np.testing.assert_allclose(total, rough(X), atol=1e-10)
    np.testing.assert_allclose(expl.base_values, np.tile(rough(bg).mean(0), (5, 1)), atol=1e-12)


def test_estimates_agree_with_exact_values_within_their_standard_errors(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    expl = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=120)
    err = np.abs(expl.values - exact)
    assert err.max() > 1e-3  # sampled, not exact
    assert np.mean(err <= 2 * expl.stderr) >= 0.9


def test_same_seed_same_values_other_seed_other_values(data, rough) -> None:
    bg, X = data
    a = bx.KernelShap(rough, bg, seed=7).explain(X, n_evals=60)
    b = bx.KernelShap(rough, bg, seed=7).explain(X, n_evals=60)
    c = bx.KernelShap(rough, bg, seed=8).explain(X, n_evals=60)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.stderr, b.stderr)
    assert not np.allclose(a.values, c.values)
    assert a.meta["seed"] == 7


def test_seed_none_is_recorded_and_replays(data, rough) -> None:
    bg, X = data
    a = bx.KernelShap(rough, bg).explain(X, n_evals=60)
    b = bx.KernelShap(rough, bg, seed=a.meta["seed"]).explain(X, n_evals=60)
    assert np.array_equal(a.values, b.values)


def test_results_do_not_depend_on_n_jobs_or_chunking(data, rough) -> None:
    bg, X = data
    kwargs = {"n_evals": 40, "tol": 0.02, "max_evals": 200, "background": "mean"}
    one = bx.KernelShap(rough, bg, seed=5, n_jobs=1).explain(X, **kwargs)
    two = bx.KernelShap(rough, bg, seed=5, n_jobs=2).explain(X, chunk_size=2, **kwargs)
    assert len(set(one.meta["n_evals"])) > 1  # rows stopped after different rounds
    assert np.array_equal(one.values, two.values)
    assert np.array_equal(one.stderr, two.stderr)
    assert one.meta["n_evals"] == two.meta["n_evals"]
    assert one.meta["n_model_rows"] == two.meta["n_model_rows"]


@pytest.mark.parametrize("background", ["mean", "sample"])
def test_one_round_and_one_output_do_not_depend_on_chunking(data, rough, background) -> None:
    # Without tol (a single round) and with one output, a row's regression must see the
    # same memory layout whatever the size of its chunk (BLAS rounds by layout).
    bg, X = data
    X = np.concatenate([X, X + 0.5, X - 0.5])  # 15 rows: chunks of 1 vs all in one
    first = lambda Z: rough(Z)[:, 0]  # noqa: E731
    kwargs = {"n_evals": 60, "background": background}
    whole = bx.KernelShap(first, bg, seed=3, n_jobs=1).explain(X, **kwargs)
    ones = bx.KernelShap(first, bg, seed=3, n_jobs=1).explain(X, chunk_size=1, **kwargs)
    assert np.array_equal(whole.values, ones.values)
    assert np.array_equal(whole.stderr, ones.stderr)


def test_standard_error_shrinks_like_one_over_sqrt_budget(rng) -> None:
    # 24 players: the budgets sample a small fraction of every stratum but the first.
    d = 24
    bg, X = rng.normal(size=(1, d)), rng.normal(size=(4, d))

    def f(Z: np.ndarray) -> np.ndarray:
        return np.sin(Z[:, :12].sum(1) * Z[:, 12:].sum(1) / 4)

    small = bx.KernelShap(f, bg, seed=0).explain(X, n_evals=800).stderr.mean()
    large = bx.KernelShap(f, bg, seed=0).explain(X, n_evals=3200).stderr.mean()
    assert 1.7 < small / large < 2.4


def test_tol_stops_early_on_an_easy_model_and_not_on_a_hard_one(data, rough) -> None:
    bg, X = data
    easy = bx.KernelShap(linear(np.ones(8)), bg, seed=0).explain(
        X, n_evals=40, tol=0.01, max_evals=200
    )
    assert easy.meta["n_evals"] == [40] * len(X)
    assert easy.meta["converged"] == [True] * len(X)
    hard = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=40, tol=1e-4, max_evals=200)
    assert max(hard.meta["n_evals"]) > 40
    assert not all(hard.meta["converged"])
    assert all(n <= 200 for n in hard.meta["n_evals"])


def test_rows_that_stop_meet_the_rule(data, rough) -> None:
    bg, X = data
    expl = bx.KernelShap(rough, bg, seed=2).explain(X, n_evals=40, tol=0.05, max_evals=240)
    for i, ok in enumerate(expl.meta["converged"]):
        if ok:
            spread = np.ptp(expl.values[i], axis=0)
            assert np.all(expl.stderr[i].max(axis=0) <= 0.05 * spread)


def test_budget_covering_every_coalition_is_exact(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X)
    expl = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=256)
    np.testing.assert_allclose(expl.values, exact.values, atol=1e-12)
    assert expl.meta["parameters"]["exact"] and np.all(expl.stderr == 0)
    auto = bx.KernelShap(rough, bg, seed=0).explain(X)  # auto = 2 d + 2048 >= 2**8
    assert auto.meta["n_evals"] == [256] * len(X)


def test_exhausting_every_pair_by_rounds_gives_exact_values(data, rough) -> None:
    bg, X = data
    exact = bx.ExactShapley(rough, bg).explain(X).values
    expl = bx.KernelShap(rough, bg, seed=0).explain(X, n_evals=100, tol=1e-9, max_evals=256)
    np.testing.assert_allclose(expl.values, exact, atol=1e-10)
    assert expl.meta["n_evals"] == [256] * len(X)
    np.testing.assert_allclose(expl.stderr, 0.0, atol=1e-12)


def test_feature_groups_are_players_and_sum_to_the_ungrouped_total(data, rough) -> None:
    bg, X = data
    groups = [[0, 1], [2, 3, 4]]
    w = np.arange(1.0, 9.0)
    plain = bx.KernelShap(linear(w), bg, seed=0).explain(X, n_evals=20)
    grouped = bx.KernelShap(linear(w), bx.Tabular(bg, groups=groups), seed=0).explain(X, n_evals=14)
    assert grouped.values.shape == (5, 5, 1)
    assert grouped.feature_names == ["x0+x1", "x2+x3+x4", "x5", "x6", "x7"]
    np.testing.assert_allclose(grouped.values[:, 0], plain.values[:, :2].sum(1), atol=1e-10)
    np.testing.assert_allclose(grouped.values[:, 1], plain.values[:, 2:5].sum(1), atol=1e-10)
    nonlinear = bx.KernelShap(rough, bx.Tabular(bg, groups=groups), seed=0).explain(X, n_evals=20)
    np.testing.assert_allclose(nonlinear.values.sum(1) + nonlinear.base_values, rough(X))


def test_logit_link_agrees_with_explaining_the_log_odds_model(rng) -> None:
    # With one background row the game is f itself, so logit(v(S)) is the log-odds game.
    bg, X = rng.normal(size=(1, 7)), rng.normal(size=(4, 7))

    def log_odds(Z: np.ndarray) -> np.ndarray:
        return np.sin(Z[:, 0] * Z[:, 1] * Z[:, 2]) + Z[:, 3:].sum(1)

    def proba(Z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-log_odds(Z)))

    a = bx.KernelShap(proba, bg, link="logit", seed=0).explain(X, n_evals=40)
    b = bx.KernelShap(log_odds, bg, seed=0).explain(X, n_evals=40)
    np.testing.assert_allclose(a.values, b.values, atol=1e-9)
    np.testing.assert_allclose(a.base_values, b.base_values, atol=1e-12)


def test_logit_link_warns_when_probabilities_reach_zero_or_one(data) -> None:
    bg, X = data

    def step(Z: np.ndarray) -> np.ndarray:
        return (Z[:, 0] > 0).astype(float)

    with pytest.warns(UserWarning, match="strictly between 0 and 1") as caught:
        bx.KernelShap(step, bg, link="logit", seed=0).explain(X, n_evals=40)
    assert caught[0].filename == __file__  # points at the caller, not into the package


def test_budget_below_the_minimum_names_the_minimum(data, rough) -> None:
    bg, X = data
    explainer = bx.KernelShap(rough, bg, seed=0)
    assert explainer.min_evals() == 18  # empty, full and 8 pairs for 8 players
    with pytest.raises(ValueError, match=r"n_evals=17 is too small .* the minimum is 18"):
        explainer.explain(X, n_evals=17)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_evals": "many"}, ValueError, "n_evals must be an integer or 'auto'"),
        ({"n_evals": 2.5}, TypeError, "n_evals must be an integer"),
        ({"weights": "uniform"}, ValueError, "weights must be one of"),
        ({"tol": -1.0}, ValueError, "tol must be positive"),
        ({"tol": "small"}, TypeError, "tol must be a number"),
        ({"max_evals": 500}, ValueError, "max_evals only applies with tol"),
        ({"n_evals": 40, "tol": 0.1, "max_evals": 30}, ValueError, "must be >= n_evals=40"),
    ],
)
def test_bad_arguments_say_what_to_pass(data, kwargs, error, match, rough) -> None:
    bg, X = data
    with pytest.raises(error, match=match):
        bx.KernelShap(rough, bg, seed=0).explain(X, **kwargs)


def test_unknown_link_is_refused(data, rough) -> None:
    with pytest.raises(ValueError, match="link must be one of"):
        bx.KernelShap(rough, data[0], link="probit")


def test_seventy_players_do_not_overflow_the_pair_counts(rng) -> None:
    # C(70, 35) does not fit in int64: the stratum capacities must stay Python ints.
    w = rng.normal(size=70)
    bg, X = rng.normal(size=(2, 70)), rng.normal(size=(2, 70))
    expl = bx.KernelShap(linear(w), bg, seed=0).explain(X, n_evals=400)
    np.testing.assert_allclose(expl.values[..., 0], w * (X - bg.mean(0)), atol=1e-8)


def test_tol_stops_at_round_zero_once_enough_pairs_give_zero_error(data) -> None:
    bg, X = data
    w = np.arange(1.0, 9.0)
    explainer = bx.KernelShap(linear(w), bg, seed=0)
    # 19 pairs >= max(10, d): a linear game has SE 0, the rule fires at once.
    expl = explainer.explain(X, n_evals=40, tol=0.01)
    assert expl.meta["n_evals"] == [40] * len(X) and all(expl.meta["converged"])
    # 8 pairs (the minimum budget) are too few to trust an SE of 0: more rounds run.
    expl = explainer.explain(X, n_evals=explainer.min_evals(), tol=0.01)
    assert min(expl.meta["n_evals"]) > explainer.min_evals()
    np.testing.assert_allclose(expl.values[..., 0], w * (X - bg.mean(0)), atol=1e-10)


def test_a_single_design_is_the_best_conditioned_of_its_draws(monkeypatch) -> None:
    from blackbox_xai.explainers.shapley import kernel

    def first_round(candidates: int) -> kernel._Rounds:
        monkeypatch.setattr(kernel, "_CANDIDATES", candidates)
        return kernel._Rounds(9, "geometric", np.random.SeedSequence(3), 38, 38)

    one, chosen = first_round(1), first_round(64)
    assert chosen.design.room == one.design.room  # same counts per stratum
    assert chosen.regressions[0].conditioning()[0] < one.regressions[0].conditioning()[0]
    # The chosen design's pairs are read back from its draw: a fresh run gives the same.
    again = first_round(64)
    for mine, theirs in zip(chosen.design.pairs, again.design.pairs, strict=True):
        assert np.array_equal(mine, theirs)

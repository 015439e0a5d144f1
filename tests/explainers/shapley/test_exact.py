"""Exact Shapley values: closed forms, axioms, efficiency, parallel identity, limits."""

from itertools import permutations
from math import factorial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import blackbox_xai as bx
from blackbox_xai.explainers.shapley.exact import shapley_from_all_coalitions


def test_linear_model_closed_form(rng):
    w = np.array([1.5, -2.0, 0.0, 3.0, 0.25])
    bg = rng.normal(size=(13, 5))
    weights = rng.random(13)
    X = rng.normal(size=(4, 5))
    model = bx.wrap(lambda Z: Z @ w + 1.0)
    expl = bx.ExactShapley(model, bx.Tabular(bg, weights=weights)).explain(X)
    mean_b = np.average(bg, axis=0, weights=weights)
    np.testing.assert_allclose(expl.values[..., 0], w * (X - mean_b), atol=1e-12)
    np.testing.assert_allclose(expl.base_values[:, 0], mean_b @ w + 1.0, atol=1e-12)


def test_matches_permutation_definition_on_a_random_game(rng):
    d = 4
    table = rng.normal(size=(2**d, 2))  # an arbitrary game, values by coalition bitmask
    phi = shapley_from_all_coalitions(table[None], d)[0]
    brute = np.zeros((d, 2))
    for order in permutations(range(d)):
        code = 0
        for j in order:
            brute[j] += table[code | (1 << j)] - table[code]
            code |= 1 << j
    np.testing.assert_allclose(phi, brute / factorial(d), atol=1e-12)


def test_efficiency_for_a_random_forest(cancer12, cancer_forest):
    X, _ = cancer12
    explainer = bx.ExactShapley(cancer_forest, bx.Tabular(X[:30]))
    expl = explainer.explain(X[100:103])
    pred = cancer_forest.predict_proba(X[100:103])
    expected = cancer_forest.predict_proba(X[:30]).mean(axis=0)
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base_values, pred, atol=1e-10)
    np.testing.assert_allclose(expl.base_values, np.tile(expected, (3, 1)), atol=1e-12)
    assert expl.values.shape == (3, 12, 2) and expl.output_names == ["0", "1"]
    assert expl.meta["n_evals"] == [4096] * 3
    assert expl.meta["n_model_rows"] == 3 * (4095 * 30 + 1)  # the full coalition is f(x)


def test_symmetric_features_share_and_dummy_gets_zero(rng):
    bg = rng.normal(size=(9, 4))
    model = bx.wrap(lambda Z: np.tanh(Z[:, 0] + Z[:, 1]) * Z[:, 3])  # x0, x1 symmetric; x2 dummy
    x = np.array([[0.7, 0.7, 5.0, 1.3]])
    bg[:, 1] = bg[:, 0]
    phi = bx.ExactShapley(model, bg).explain(x).values[0, :, 0]
    assert phi[0] == pytest.approx(phi[1], abs=1e-12)
    assert phi[2] == 0.0


def test_groups_are_single_players_and_sum_to_members(rng):
    w = np.array([1.0, 2.0, -1.0, 0.5])
    bg = rng.normal(size=(5, 4))
    X = rng.normal(size=(2, 4))
    grouped = bx.ExactShapley(lambda Z: Z @ w, bx.Tabular(bg, groups={"first": [0, 1]})).explain(X)
    single = bx.ExactShapley(lambda Z: Z @ w, bg).explain(X)
    assert grouped.feature_names == ["first", "x2", "x3"]
    np.testing.assert_allclose(grouped.values[:, 0], single.values[:, :2].sum(axis=1), atol=1e-12)


def test_n_jobs_and_chunks_give_identical_values(cancer12, cancer_forest):
    X, _ = cancer12
    masker = bx.Tabular(X[:10])
    one = bx.ExactShapley(cancer_forest, masker, n_jobs=1).explain(X[200:205])
    model = bx.wrap(cancer_forest)
    two = bx.ExactShapley(model, masker, n_jobs=2).explain(X[200:205], chunk_size=2)
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(one.base_values, two.base_values)
    assert model.n_rows == 5 * (4095 * 10 + 1) and model.n_calls == 3


def test_a_row_alone_gets_the_values_it_gets_among_others():
    # numpy sums a middle axis in another order when it has one row; a one-row block
    # (a one-row dask partition, a tight memory budget) must not change the last bits.
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 2**6, 1))  # one output: the case numpy sums differently
    together = shapley_from_all_coalitions(v, 6)
    for i in range(3):
        np.testing.assert_array_equal(shapley_from_all_coalitions(v[i : i + 1], 6)[0], together[i])


def test_more_than_twenty_players_is_refused():
    with pytest.raises(ValueError, match="d=21 players is more than 20. Use KernelShap"):
        bx.ExactShapley(lambda Z: Z[:, 0], np.zeros((1, 21)))


def test_wrong_feature_count_names_both_numbers():
    explainer = bx.ExactShapley(lambda Z: Z[:, 0], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X has 2 features, but 3 were expected"):
        explainer.explain(np.zeros((1, 2)))


def test_every_joblib_backend_can_run_the_chunks(rng):
    from joblib import parallel_config

    bg = rng.normal(size=(4, 3))
    X = rng.normal(size=(3, 3))
    ref = bx.ExactShapley(np.cos, bg).explain(X)
    with parallel_config(backend="multiprocessing", n_jobs=2):
        other = bx.ExactShapley(np.cos, bg).explain(X, chunk_size=1)
    np.testing.assert_array_equal(other.values, ref.values)


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_efficiency_and_null_player_hold_for_any_game(d, seed):
    table = np.random.default_rng(seed).normal(size=(1, 2**d, 2))
    # Make the last player a null player: v(S + last) = v(S).
    half = 2 ** (d - 1)
    table[:, half:] = table[:, :half]
    phi = shapley_from_all_coalitions(table, d)
    np.testing.assert_allclose(phi.sum(axis=1), table[:, -1] - table[:, 0], atol=1e-12)
    np.testing.assert_allclose(phi[:, -1], 0.0, atol=1e-12)

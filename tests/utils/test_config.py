"""The shared memory budget, the global row offset, and both reaching parallel workers."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from joblib import parallel_config

import blackbox_xai as bx
from blackbox_xai.utils.config import SHARES, budget_mb
from blackbox_xai.utils.parallel import map_row_chunks
from blackbox_xai.utils.seeding import current_row_offset, row_offset, row_rng


def test_defaults_and_context_restore():
    assert bx.get_config() == {"memory_budget_mb": 256.0}
    assert budget_mb("model_input") == 32.0 and budget_mb("game_values") == 64.0
    with bx.config_context(memory_budget_mb=8) as inside:
        assert inside == {"memory_budget_mb": 8.0}
        assert budget_mb("model_input") == 1.0
        assert budget_mb("model_input", own=5.0) == 5.0
    assert bx.get_config()["memory_budget_mb"] == 256.0
    assert sum(SHARES[k] for k in ("model_input", "game_values")) <= 1.0


def test_set_config_changes_this_context_only():
    seen = {}

    def other_thread() -> None:
        seen["other"] = bx.get_config()["memory_budget_mb"]

    with bx.config_context():  # restores whatever set_config does inside
        bx.set_config(memory_budget_mb=100)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert bx.get_config()["memory_budget_mb"] == 100.0
        bx.set_config()  # None leaves it as it is
        assert bx.get_config()["memory_budget_mb"] == 100.0
    assert seen["other"] == 256.0
    assert bx.get_config()["memory_budget_mb"] == 256.0


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "64", True])
def test_bad_budgets_are_refused(bad):
    with pytest.raises(
        ValueError, match="memory_budget_mb must be a positive finite number of MiB"
    ):
        bx.set_config(memory_budget_mb=bad)
    with pytest.raises(ValueError, match="memory_budget_mb must be a positive finite number"):
        bx.Tabular(np.zeros((2, 2)), memory_budget_mb=bad)


def test_unknown_settings_are_refused():
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['budget'\]"):
        with bx.config_context(budget=3):
            pass


def test_the_budget_sizes_model_calls_but_not_values():
    rng = np.random.default_rng(0)
    X, bg = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))
    weights = np.array([1.0, -2.0, 0.5, 3.0])
    explainer = bx.KernelShap(lambda A: np.sin(A @ weights), bg, seed=1)
    wide = explainer.explain(X, n_evals=16)
    # 16 coalitions x 5 background rows x 4 columns x 16 bytes = 5 KiB a row.
    with bx.config_context(memory_budget_mb=8 * 5 * 2**10 / 2**20):
        tight = explainer.explain(X, n_evals=16)
    np.testing.assert_array_equal(tight.values, wide.values)
    assert wide.meta["n_model_calls"] == 1
    assert tight.meta["n_model_calls"] == 6


def _settings_and_offset(model, start, stop):
    return [(bx.get_config()["memory_budget_mb"], current_row_offset(), start, stop)]


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_settings_and_row_offset_reach_the_workers(backend):
    with parallel_config(backend=backend), bx.config_context(memory_budget_mb=3), row_offset(40):
        parts = map_row_chunks(_settings_and_offset, bx.wrap(np.sin), 4, n_jobs=2, chunk_size=2)
    assert parts == [[(3.0, 40, 0, 2)], [(3.0, 40, 2, 4)]]


def test_row_offset_gives_the_streams_of_the_global_rows():
    with row_offset(7):
        inside = row_rng(3, 2).random()
        with row_offset(0):
            local = row_rng(3, 2).random()
    assert inside == row_rng(3, 9).random() and local == row_rng(3, 2).random()
    assert current_row_offset() == 0
    with pytest.raises(ValueError, match="row offset must be non-negative, got -1"):
        with row_offset(-1):
            pass
    with pytest.raises(TypeError, match="row offset must be an int, got float"):
        with row_offset(1.0):  # type: ignore[arg-type]
            pass


def test_a_table_explained_in_pieces_equals_the_whole():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 6))
    # Sampling Shapley draws each row's permutations from the row's own stream.
    sampling = bx.SamplingShapley(
        lambda A: np.tanh(A @ [1.0, -1.0, 2.0, 0.5, 1.5, -3.0]) * A[:, 0], X[:5], seed=4
    )
    whole = sampling.explain(X, n_permutations=4).values
    pieces = []
    for start, stop in [(0, 4), (4, 5), (5, 9)]:
        with row_offset(start):
            pieces.append(sampling.explain(X[start:stop], n_permutations=4).values)
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    # Without the offset the second piece would reuse the streams of rows 0...
    alone = sampling.explain(X[4:5], n_permutations=4).values
    assert not np.array_equal(alone[0], whole[4])

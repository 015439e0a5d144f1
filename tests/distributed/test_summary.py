"""The streamed summary: its stated accuracy, and exact merges (no cluster needed)."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.distributed._sketch import LogSketch

da = pytest.importorskip("dask.array")


@pytest.fixture
def values() -> np.ndarray:
    rng = np.random.default_rng(0)
    # Magnitudes over 8 decades, both signs, exact zeros: what attributions look like.
    v = rng.standard_t(3, size=(2000, 4, 2)) * 10.0 ** rng.integers(-5, 3, size=(2000, 4, 1))
    v[::50] = 0.0
    return v


def test_quantiles_are_within_the_stated_relative_accuracy(values):
    levels = np.linspace(0, 1, 41)
    for accuracy in (0.01, 0.05):
        summary = bx.summarize_dask(values, levels=levels, relative_accuracy=accuracy)
        truth = np.quantile(values, levels, axis=0, method="lower")
        error = np.abs(summary.quantiles - truth)
        assert np.all(error <= accuracy * np.abs(truth) * (1 + 1e-9))
        # ... and the bound is nearly reached: the buckets are not finer than they say.
        assert error.max(initial=0) > 0 and np.max(error / np.abs(truth + 1e-300)) > accuracy / 2
    np.testing.assert_allclose(summary.mean_abs, np.abs(values).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(summary.mean, values.mean(axis=0), rtol=1e-9, atol=1e-15)


def test_the_partitioning_does_not_change_the_quantiles(values):
    whole = bx.summarize_dask(values)
    for rows in (2000, 333, 7):
        parts = bx.summarize_dask(da.from_array(values, chunks=(rows, 2, 1)), split_every=3)
        np.testing.assert_array_equal(parts.quantiles, whole.quantiles)
        np.testing.assert_allclose(parts.mean_abs, whole.mean_abs, rtol=1e-13)
        assert parts.n_rows == 2000


def test_merging_is_adding_counts():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(70, 3))
    one = LogSketch(3, 0.01)
    one.add(np.concatenate([a, b]))
    left, right = LogSketch(3, 0.01), LogSketch(3, 0.01)
    left.add(a)
    right.add(b)
    merged = left.merge(right)
    np.testing.assert_array_equal(merged.positive, one.positive)
    np.testing.assert_array_equal(merged.negative, one.negative)
    assert merged.count == 120
    with pytest.raises(ValueError, match="only sketches of the same columns and accuracy"):
        left.merge(LogSketch(3, 0.02))


def test_summary_frame_and_names(values):
    summary = bx.summarize_dask(values[..., :1], feature_names=list("abcd"), output_names=["y"])
    frame = summary.to_frame("y")
    assert list(frame.columns) == ["mean_abs", "mean", "q0.05", "q0.25", "q0.5", "q0.75", "q0.95"]
    assert list(frame.index) == [
        summary.feature_names[i] for i in np.argsort(-summary.mean_abs[:, 0])
    ]
    assert repr(summary) == "AttributionSummary(n_rows=2000, n_features=4, n_outputs=1)"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"levels": (0.5, 1.5)}, ValueError, "levels must be a non-empty sequence of numbers in"),
        ({"relative_accuracy": 0.0}, ValueError, r"relative_accuracy must be in \(0, 0.5\]"),
        ({"split_every": 1}, ValueError, "split_every must be an integer >= 2"),
        ({"feature_names": ["a"]}, ValueError, "got 1 feature names and 2 output names"),
    ],
)
def test_bad_arguments_are_named(values, kwargs, error, message):
    with pytest.raises(error, match=message):
        bx.summarize_dask(values, **kwargs)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="values must be a Dask Array, a Dask DataFrame or a numpy"):
        bx.summarize_dask([[1.0]])
    with pytest.raises(ValueError, match=r"attributions must be \(n, d\) or \(n, d, k\)"):
        bx.summarize_dask(np.zeros(3))
    with pytest.raises(ValueError, match="attributions must be finite"):
        bx.summarize_dask(np.full((2, 2), np.nan))


def test_huge_values_are_reported_as_clipped():
    with pytest.warns(UserWarning, match="1 attributions exceed 1e\\+12 in magnitude"):
        summary = bx.summarize_dask(np.array([[1.0], [2e12], [3.0]]))
    assert summary.n_clipped == 1


def test_an_unseeded_explainer_gets_one_seed_for_all_partitions():
    X = np.random.default_rng(0).random((6, 3))
    explainer = bx.KernelShap(lambda X: X @ np.ones(3), X, seed=None)
    bag = bx.explain_dask(explainer, da.from_array(X, chunks=2), returns="explanations")
    seeds = {e.meta["seed"] for e in bag.compute(scheduler="synchronous")}
    assert len(seeds) == 1

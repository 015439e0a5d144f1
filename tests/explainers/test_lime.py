"""Lime: closed forms, exactness, seeding, parallel identity and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.lime import Lime

COEF = np.array([3.0, -2.0, 1.5, 0.0, 1.0, -1.0, 0.5, 0.0, 2.0, -0.5, 0.0, 1.0])


def linear(A: np.ndarray) -> np.ndarray:
    return A @ COEF[: A.shape[1]] + 1.0


@pytest.fixture
def data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 12)) * np.linspace(0.5, 2.0, 12)


def bin_mean_gaps(masker: bx.LimeTabular, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """mean(x_j | x's bin) - mean(x_j | other bins): Garreau & von Luxburg's factor."""
    B, b = masker.bins.transform(X), masker.bins.transform(rows)
    return np.array(
        [
            [
                X[B[:, j] == b[i, j], j].mean() - X[B[:, j] != b[i, j], j].mean()
                for j in range(X.shape[1])
            ]
            for i in range(len(rows))
        ]
    )


def test_linear_model_matches_garreau_von_luxburg_within_sampling_error(data: np.ndarray) -> None:
    # Discretised tabular LIME of f(x) = a.x + b converges to a_j (mu_in_j - mu_out_j)
    # (Garreau & von Luxburg 2020, whatever the kernel width). 2**12 masks x 8 draws
    # exceed 4000 samples, so this run samples.
    lime = Lime(linear, data, seed=3)
    expl = lime.explain(data[:3], n_samples=4000, alpha=0.0)
    assert expl.meta["parameters"]["exact"] is False
    expected = COEF * bin_mean_gaps(lime.masker, data, data[:3])
    se = expl.stderr[..., 0]
    assert se.max() < 0.1 * np.abs(expected).max()  # the bound below is a tight one
    assert np.all(np.abs(expl.values[..., 0] - expected) <= 3 * se)


def test_enumerated_masks_are_exact_and_seed_free(data: np.ndarray) -> None:
    X = data[:, :6]
    runs = [Lime(linear, X, seed=s).explain(X[:4], n_samples=2000, alpha=0.0) for s in (0, 1)]
    a, b = runs
    assert a.meta["parameters"]["exact"] and a.meta["parameters"]["n_replicates"] == 31
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.stderr, np.zeros_like(a.stderr))
    # Unused features (COEF[3] = 0) get exactly zero weight; the others sit at the
    # closed form up to the fixed 31-draw design's quadrature error.
    assert np.abs(a.values[:, 3]).max() < 1e-10
    expected = COEF[:6] * bin_mean_gaps(a_masker := Lime(linear, X).masker, X, X[:4])
    assert isinstance(a_masker, bx.LimeTabular)
    np.testing.assert_allclose(a.values[..., 0], expected, atol=0.03 * np.abs(expected).max())


def test_masker_game_of_a_linear_model_is_exact() -> None:
    # With an interventional Tabular masker, v(z) = b + sum_j a_j (z_j x_j + (1-z_j) m_j):
    # linear in z, so LIME returns a_j (x_j - m_j) exactly, for any seed.
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(20, 5))
    X = rng.normal(size=(3, 5))
    expl = Lime(linear, bx.Tabular(bg), seed=5).explain(X, n_samples=64, alpha=0.0)
    assert expl.meta["parameters"]["exact"]
    np.testing.assert_allclose(expl.values[..., 0], COEF[:5] * (X - bg.mean(axis=0)), atol=1e-10)
    np.testing.assert_allclose(expl.meta["r2"], 1.0)


def test_sampled_masker_game_merges_duplicate_masks() -> None:
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(10, 4))
    X = rng.normal(size=(2, 4))
    model = bx.wrap(linear)
    expl = Lime(model, bx.Tabular(bg), seed=0).explain(X, n_samples=500, exact=False, alpha=0.0)
    # 4 players: at most 16 distinct masks per row for the fit and 16 for the hold-out.
    assert expl.meta["n_model_rows"] <= 2 * 2 * 16 * 10
    np.testing.assert_allclose(expl.values[..., 0], COEF[:4] * (X - bg.mean(axis=0)), atol=1e-10)


def test_standardised_continuous_features_recover_scaled_slopes(data: np.ndarray) -> None:
    # Without a discretizer F_j = (x_j - mean_j) / sd_j, so f is exactly linear in F with
    # slope a_j sd_j, on the samples and on the held-out samples.
    lime = Lime(linear, data, discretizer=None, seed=0)
    expl = lime.explain(data[:2], n_samples=300, alpha=0.0)
    np.testing.assert_allclose(
        expl.values[..., 0], np.tile(COEF * data.std(axis=0), (2, 1)), atol=1e-9
    )
    np.testing.assert_allclose(expl.meta["holdout_r2"], 1.0)
    np.testing.assert_allclose(
        np.asarray(expl.meta["local_prediction"])[:, 0], linear(data[:2]), rtol=1e-9
    )


def nonlinear(A: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-(A[:, 0] * A[:, 1] + np.sin(A[:, 2]) - A[:, 3])))
    return np.column_stack([1.0 - p, p])


def test_same_seed_same_output_and_seeds_differ(data: np.ndarray) -> None:
    one = Lime(nonlinear, data, seed=7).explain(data[:3], n_samples=600)
    two = Lime(nonlinear, data, seed=7).explain(data[:3], n_samples=600)
    other = Lime(nonlinear, data, seed=8).explain(data[:3], n_samples=600)
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(one.stderr, two.stderr)
    assert one.meta["holdout_r2"] == two.meta["holdout_r2"]
    assert not np.array_equal(one.values, other.values)
    assert one.meta["seed"] == 7


def test_n_jobs_and_chunking_do_not_change_results(data: np.ndarray) -> None:
    serial = Lime(nonlinear, data, seed=2, n_jobs=1).explain(data[:5], n_samples=400)
    parallel = Lime(nonlinear, data, seed=2, n_jobs=2).explain(
        data[:5], n_samples=400, chunk_size=2
    )
    np.testing.assert_array_equal(serial.values, parallel.values)
    np.testing.assert_array_equal(serial.base_values, parallel.base_values)
    assert serial.meta["n_model_rows"] == parallel.meta["n_model_rows"] == 5 * (400 + 40)


def test_one_target_is_that_column_of_all_targets(data: np.ndarray) -> None:
    both = Lime(nonlinear, data, seed=1).explain(data[:2], n_samples=500)
    one = Lime(nonlinear, data, seed=1).explain(data[:2], n_samples=500, target=1)
    assert both.values.shape == (2, 12, 2) and one.values.shape == (2, 12, 1)
    # Same draws; only BLAS's order of summation differs between 1 and 2 right-hand sides.
    np.testing.assert_allclose(one.values[..., 0], both.values[..., 1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(one.stderr[..., 0], both.stderr[..., 1], rtol=1e-12, atol=1e-15)
    # Class probabilities sum to one, so the two surrogates mirror each other.
    np.testing.assert_allclose(both.values[..., 0], -both.values[..., 1], atol=1e-12)


@pytest.mark.parametrize("selection", ["forward", "highest_weights", "lasso_path", "auto"])
def test_feature_selection_keeps_the_strongest_features(data: np.ndarray, selection: str) -> None:
    expl = Lime(linear, data, seed=0).explain(
        data[:1], n_samples=1000, n_features=3, feature_selection=selection
    )
    # |a_j| * (bin gap) is largest for x0, x1 and x8 at this row.
    gaps = np.abs(COEF * bin_mean_gaps(Lime(linear, data).masker, data, data[:1]))[0]
    top = {f"x{j}" for j in np.argsort(-gaps)[:3]}
    assert set(expl.meta["selected"][0][0]) == top
    assert np.count_nonzero(expl.values) == 3
    assert set(np.flatnonzero(expl.values[0, :, 0])) == {int(n[1:]) for n in top}


def test_entropy_bins_use_the_models_classes(data: np.ndarray) -> None:
    lime = Lime(nonlinear, data, discretizer="entropy", seed=0)
    assert lime.masker.bins.n_bins_.max() <= 8
    expl = lime.explain(data[:1], n_samples=400, target=1)
    assert np.isfinite(expl.values).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda X: Lime(linear, X).explain(X[:1], n_samples=10),
            r"n_samples=10 is too small for 12 interpretable features.*n_samples >= 14",
        ),
        (
            lambda X: Lime(linear, X).explain(X[:1], n_features=13),
            r"n_features=13 is more than the 12",
        ),
        (
            lambda X: Lime(linear, X).explain(X[:1], feature_selection="best"),
            r"feature_selection must be one of",
        ),
        (
            lambda X: Lime(linear, X).explain(X[:1], alpha=-1.0),
            r"alpha must be a finite number >= 0",
        ),
        (
            lambda X: Lime(nonlinear, X).explain(X[:1], target=2),
            r"target=2 is out of range: the model has 2 output\(s\).*\[0, 2\)",
        ),
        (
            lambda X: Lime(nonlinear, X).explain(X[:1], target="yes"),
            r"target='yes' is not an output name",
        ),
        (
            lambda X: Lime(linear, X, discretizer=None).explain(X[:1], exact=True),
            r"exact=True enumerates masks",
        ),
        (lambda X: Lime(linear, X, kernel_width=0.0), r"kernel_width must be a positive number"),
        (
            lambda X: Lime(linear, X, discretizer="entropy"),
            r"discretizer='entropy' needs class labels",
        ),
        (lambda X: Lime(linear, X[:1]), r"training data, which has 1 row; pass at least two rows"),
        (
            lambda X: Lime(linear, np.column_stack([X[:, :11], np.ones(len(X))])),
            r"feature\(s\) \['x11'\] are constant in the training data",
        ),
        (lambda X: Lime(linear, X).explain(X[:1, :5]), r"X has 5 features, but 12 were expected"),
    ],
)
def test_bad_input_gets_a_clear_message(data: np.ndarray, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call(data)


def test_target_of_the_wrong_type() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(TypeError, match="target must be an int, an output name or None"):
        Lime(linear, X).explain(X[:1], target=1.5)  # type: ignore[arg-type]

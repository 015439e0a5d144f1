"""Lime: closed forms, exactness, seeding, parallel identity and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.lime.lime import Lime

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


@pytest.mark.parametrize("share", [False, True])
def test_linear_model_matches_garreau_von_luxburg_within_sampling_error(
    data: np.ndarray, share: bool
) -> None:
    # Discretised tabular LIME of f(x) = a.x + b converges to a_j (mu_in_j - mu_out_j)
    # (Garreau & von Luxburg 2020, whatever the kernel width), with each row's own draws
    # or with draws shared by the rows.
    runs = [
        Lime(linear, data, seed=s).explain(
            data[:3], n_samples=4000, alpha=0.0, n_holdout=0, share_samples=share
        )
        for s in range(10)
    ]
    expected = COEF * bin_mean_gaps(Lime(linear, data).masker, data, data[:3])
    values = np.array([r.values[..., 0] for r in runs])
    sd = values.std(axis=0, ddof=1)
    assert sd.max() < 0.05 * np.abs(expected).max()  # the bounds below are tight ones
    # The mean of 10 seeds sits at the closed form within 5 of its standard errors,
    # measured from the spread itself (36 coefficients; t with 9 degrees of freedom).
    assert np.all(np.abs(values.mean(axis=0) - expected) <= 5 * sd / np.sqrt(10))
    # The reported standard errors are of the size of that spread (see test_lime_stderr.py).
    se = np.sqrt(np.mean([r.stderr[..., 0] ** 2 for r in runs], axis=0))
    assert 1 / 1.5 < np.sqrt(np.mean(se**2) / np.mean(sd**2)) < 1.5
    assert not runs[0].meta["exact"] and not runs[0].meta["parameters"]["enumerated"]


def test_enumerated_tabular_masks_are_not_exact(data: np.ndarray) -> None:
    # Each enumerated mask averages random draws of the values: the result depends on the
    # seed, says so, and reports its error; with a linear model an unused feature still
    # gets exactly 0 (its draws do not change the output, and all masks are there).
    X = data[:, :6]
    a, b = (
        Lime(linear, X, seed=s).explain(X[:4], n_samples=2000, alpha=0.0, enumerate_masks=True)
        for s in (0, 1)
    )
    assert a.meta["parameters"]["enumerated"] and not a.meta["exact"]
    assert a.meta["parameters"]["draws_per_mask"] == 31
    assert a.meta["n_evals"] == [64 * 31 + 200] * 4
    assert not np.array_equal(a.values, b.values)
    assert np.abs(a.values[:, 3]).max() < 1e-10
    used = np.abs(COEF[:6]) > 0
    assert np.all(a.stderr[:, used] > 0)
    expected = COEF[:6] * bin_mean_gaps(Lime(linear, X).masker, X, X[:4])
    assert np.all(np.abs(a.values[..., 0] - expected) <= 5 * a.stderr[..., 0] + 1e-12)


def test_masker_game_of_a_linear_model_is_exact() -> None:
    # With an interventional Tabular masker, v(z) = b + sum_j a_j (z_j x_j + (1-z_j) m_j):
    # linear in z, so LIME returns a_j (x_j - m_j) exactly, for any seed.
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(20, 5))
    X = rng.normal(size=(3, 5))
    expl = Lime(linear, bx.Tabular(bg), seed=5).explain(X, n_samples=64, alpha=0.0)
    assert expl.meta["exact"] and expl.meta["parameters"]["enumerated"]
    np.testing.assert_array_equal(expl.stderr, 0.0)
    np.testing.assert_allclose(expl.values[..., 0], COEF[:5] * (X - bg.mean(axis=0)), atol=1e-10)
    np.testing.assert_allclose(expl.meta["r2"], 1.0)


def test_sampled_masker_game_merges_duplicate_masks() -> None:
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(10, 4))
    X = rng.normal(size=(2, 4))
    model = bx.wrap(linear)
    expl = Lime(model, bx.Tabular(bg), seed=0).explain(
        X, n_samples=500, enumerate_masks=False, alpha=0.0
    )
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


@pytest.mark.parametrize("share", [False, True])
def test_n_jobs_and_chunking_do_not_change_results(data: np.ndarray, share: bool) -> None:
    serial = Lime(nonlinear, data, seed=2, n_jobs=1).explain(
        data[:5], n_samples=400, share_samples=share
    )
    parallel = Lime(nonlinear, data, seed=2, n_jobs=2).explain(
        data[:5], n_samples=400, chunk_size=2, share_samples=share
    )
    np.testing.assert_array_equal(serial.values, parallel.values)
    np.testing.assert_array_equal(serial.base_values, parallel.base_values)
    rows = 1 if share else 5  # shared draws are evaluated once, for all rows
    assert serial.meta["n_model_rows"] == parallel.meta["n_model_rows"] == rows * (400 + 40)


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


def test_entropy_bins_split_where_the_models_class_changes() -> None:
    # The model says class 1 exactly when x0 > 0.355; x0 takes the values 0, 0.01, ..., 1.
    # The entropy tree of x0 against the model's classes splits between 0.35 and 0.36
    # (at float32 precision, as scikit-learn's trees do).
    rng = np.random.default_rng(0)
    X = np.column_stack([np.linspace(0.0, 1.0, 101), rng.normal(size=101)])

    def step(A: np.ndarray) -> np.ndarray:
        p = (A[:, 0] > 0.355).astype(float)
        return np.column_stack([1.0 - p, p])

    lime = Lime(step, X, discretizer="entropy", seed=0)
    np.testing.assert_allclose(lime.masker.bins.edges_[0], [0.355], rtol=1e-6)
    given = Lime(step, X, discretizer="entropy", labels=X[:, 0] > 0.605)
    np.testing.assert_allclose(given.masker.bins.edges_[0], [0.605], rtol=1e-6)
    # On these bins the model is exactly "x0 in the row's bin": weight 1, the rest 0.
    expl = lime.explain(X[[80]], n_samples=400, target=1, alpha=0.0)
    np.testing.assert_allclose(expl.values[0, :, 0], [1.0, 0.0], atol=1e-12)


def test_kernel_is_limes_weight_with_limes_default_width() -> None:
    from blackbox_xai.explainers.lime._weights import kernel_weights

    # lime weighs a sample at distance D by sqrt(exp(-D^2 / w^2)), w = 0.75 sqrt(d).
    dist2 = np.array([0.0, 1.0, 2.5, 12.0])
    np.testing.assert_allclose(kernel_weights(dist2, 1.3), np.sqrt(np.exp(-dist2 / 1.3**2)))
    X = np.random.default_rng(0).normal(size=(50, 7))
    assert Lime(linear, X).kernel_width == pytest.approx(0.75 * np.sqrt(7))


@pytest.mark.parametrize("share", [False, True])
def test_holdout_samples_are_fresh_draws_and_give_the_reported_fidelity(
    data: np.ndarray, share: bool
) -> None:
    seen: list[np.ndarray] = []
    model = bx.wrap(lambda A: seen.append(A.copy()) or nonlinear(A))
    lime = Lime(model, data, seed=4)
    expl = lime.explain(data[:2], n_samples=400, n_holdout=100, target=1, share_samples=share)
    inputs = seen[-1]  # the fit's and the hold-out's draws (of both rows, or shared), in one call
    rows = 1 if share else 2
    assert len(inputs) == rows * 500
    fit_only = Lime(nonlinear, data, seed=4).explain(
        data[:2], n_samples=400, n_holdout=0, target=1, share_samples=share
    )
    np.testing.assert_array_equal(expl.values, fit_only.values)  # drawn apart from the fit
    assert fit_only.meta["holdout_r2"] == [None, None]
    assert fit_only.meta["n_model_rows"] == rows * 400
    for i in range(2):
        start = 0 if share else i * 500
        fit, hold = np.split(inputs[start : start + 500], [400])
        assert not (hold[:, None, :] == fit[None]).all(axis=2).any()  # no draw reused
        F = (lime.masker.bins.transform(hold) == lime.masker.bins.transform(data[[i]])).astype(
            float
        )
        w = np.exp(-(1.0 - F).sum(axis=1) / (2 * lime.kernel_width**2))
        pred = F @ expl.values[i] + expl.base_values[i]
        y = nonlinear(hold)[:, [1]]
        r2 = 1 - w @ (y - pred) ** 2 / (w @ (y - w @ y / w.sum()) ** 2)
        np.testing.assert_allclose(expl.meta["holdout_r2"][i], r2, rtol=1e-10)


def test_target_by_name_explains_that_class() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    clf = LogisticRegression().fit(X, np.where(X[:, 0] - X[:, 2] > 0, "yes", "no"))
    named = Lime(clf, X, seed=0).explain(X[:2], n_samples=300, target="yes")
    indexed = Lime(clf, X, seed=0).explain(X[:2], n_samples=300, target=1)
    assert named.output_names == ["yes"] and named.meta["parameters"]["target"] == "yes"
    np.testing.assert_array_equal(named.values, indexed.values)
    assert named.values[0, 0, 0] * (X[0, 0] - np.median(X[:, 0])) > 0  # x0 pushes towards yes


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
            lambda X: Lime(linear, X, discretizer=None).explain(X[:1], enumerate_masks=True),
            r"enumerate_masks=True needs masks",
        ),
        (
            lambda X: Lime(linear, X[:, :6]).explain(
                X[:1, :6], enumerate_masks=True, n_samples=100
            ),
            r"averages n_samples // 2\*\*6 draws per mask.*n_samples >= 128",
        ),
        (
            lambda X: Lime(linear, X, discretizer=None).explain(X[:1], share_samples=True),
            r"share_samples=True needs draws whose values do not depend on the row",
        ),
        (
            lambda X: Lime(linear, bx.Tabular(X[:10])).explain(X[:1], share_samples=True),
            r"share_samples=True needs .*LimeTabular with a discretizer",
        ),
        (
            lambda X: Lime(linear, X[:, :6]).explain(
                X[:1, :6], enumerate_masks=True, share_samples=True
            ),
            r"share_samples=True .*sampled \(enumerate_masks not True\)",
        ),
        (
            lambda X: Lime(linear, X).explain(X[:1], n_holdout=-1),
            r"n_holdout must be >= 0",
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
        (
            # Lime takes no allow_nan, so the message must not suggest it.
            lambda X: Lime(linear, X).explain(np.where(X[:1] > 0, np.nan, X[:1])),
            r"X contains NaN values \(\d+ in all, first at index \(0, \d+\)\) \(drop or impute",
        ),
        (
            lambda X: Lime(linear, np.where(X > 3, np.inf, X)),
            r"data contains inf values .*\(replace them with finite values\)",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(data: np.ndarray, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call(data)


def test_target_of_the_wrong_type() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(TypeError, match="target must be an int, an output name or None"):
        Lime(linear, X).explain(X[:1], target=1.5)  # type: ignore[arg-type]


def test_a_binary_feature_mostly_at_its_maximum_gets_its_weight() -> None:
    # Review repro: x2 is 1 in 80% of the rows. Its quartiles all sit at the maximum;
    # it must still get two bins (0 and 1) and LIME's weight a_2 (1 - 0) = 3.
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(200, 2)), rng.random(200) < 0.8]
    lime = Lime(lambda A: A @ [1.0, 2.0, 3.0], X, seed=0)
    np.testing.assert_allclose(lime.masker.presence(X[:1])[0, 2], (X[:, 2] == X[0, 2]).mean())
    for enumerate_masks in (True, False):
        expl = lime.explain(X[:2], n_samples=1000, enumerate_masks=enumerate_masks, alpha=0.0)
        # Not 0 (one bin), no crash: 3 within the error of the draws of x0, x1.
        assert np.all(np.abs(expl.values[:, 2, 0] - 3.0) <= 5 * expl.stderr[:, 2, 0] + 1e-12)
        assert expl.stderr[:, 2, 0].max() < 0.2  # so the bound above is a real test

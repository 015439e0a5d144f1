"""LimeTabular: draws that realise the masks, categoricals by equality, tied quantiles."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.sampling import scramble_sizes, scrambled_sobol, shifted_uniforms


@pytest.fixture
def data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack(
        [
            rng.normal(size=400),
            rng.integers(0, 3, size=400).astype(float),  # categorical: 0, 1, 2
            np.where(rng.random(400) < 0.7, 0.0, rng.random(400)),  # 70% ties at zero
        ]
    )


def first_output(A: np.ndarray) -> np.ndarray:
    return A[:, :1]


def test_draws_keep_present_features_in_the_rows_bin(data: np.ndarray) -> None:
    masker = bx.LimeTabular(data, categorical=[1])
    x = np.array([[0.1, 2.0, 0.0]])
    rng, sizes = np.random.default_rng(0), scramble_sizes(4096)
    U = shifted_uniforms(scrambled_sobol(rng, sizes, 3), sizes, rng)[None]
    calls: list[np.ndarray] = []
    F, dist2, counts, _ = masker.draw(bx.wrap(lambda A: calls.append(A) or A[:, :1]), x, U)
    inputs = calls[0]
    assert counts is None
    same_bin = masker.bins.transform(inputs) == masker.bins.transform(x)
    np.testing.assert_array_equal(F[0].astype(bool), same_bin)
    np.testing.assert_array_equal(dist2[0], (~same_bin).sum(axis=1))
    # Categorical: present means equal to x's category, absent means another category.
    np.testing.assert_array_equal(inputs[:, 1] == 2.0, F[0, :, 1].astype(bool))
    # Tied quantiles merge into one bin holding every zero: present means exactly 0.
    np.testing.assert_array_equal(inputs[:, 2] == 0.0, F[0, :, 2].astype(bool))
    # Each feature is present with the training frequency of x's bin (stratified draws).
    q = masker.presence(x)[0]
    np.testing.assert_allclose(q[1:], [(data[:, 1] == 2).mean(), (data[:, 2] == 0).mean()])
    np.testing.assert_allclose(F[0].mean(axis=0), q, atol=2e-3)


def test_every_drawn_value_is_a_training_value(data: np.ndarray) -> None:
    masker = bx.LimeTabular(data, categorical=[1])
    Z = np.array([[True, False, False], [False, True, True]])
    seen: list[np.ndarray] = []
    U = np.random.default_rng(0).random((16, 3))
    values = masker.expected_values(bx.wrap(lambda A: seen.append(A) or A[:, :1]), data[:2], Z, U)
    assert values.shape == (2, 2, 16, 1)
    inputs = seen[0]
    for j in range(3):
        assert np.isin(inputs[:, j], data[:, j]).all()
    # Present features sit in the row's bin, absent ones outside it, in every replicate.
    rows = np.repeat(data[:2], 2 * 16, axis=0)
    same = masker.bins.transform(inputs) == masker.bins.transform(rows)
    expected = np.repeat(np.tile(Z, (2, 1)), 16, axis=0)
    np.testing.assert_array_equal(same, expected)


def test_coalition_values_are_deterministic_game_values(data: np.ndarray) -> None:
    masker = bx.LimeTabular(data)
    Z = np.ones((1, 3), dtype=bool)
    one = masker.coalition_values(bx.wrap(first_output), data[:3], Z)
    two = masker.coalition_values(bx.wrap(first_output), data[:3], Z)
    np.testing.assert_array_equal(one, two)
    with pytest.raises(ValueError, match=r"masks shared by all rows, \(m, p\)"):
        masker.coalition_values(bx.wrap(first_output), data[:3], np.ones((3, 1, 3), dtype=bool))


def test_dataframe_schema_reaches_the_model(data: np.ndarray) -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    model = LinearRegression().fit(frame, data @ [1.0, 2.0, 0.0])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn warns when a frame-fitted model gets arrays
        expl = bx.Lime(model, frame, seed=0).explain(
            frame.iloc[:2], n_samples=200, enumerate_masks=True
        )
    assert expl.feature_names == ["a", "b", "c"]
    assert np.abs(expl.values[:, 2]).max() < 1e-10


def test_a_varying_feature_left_in_one_entropy_bin_is_named_in_a_warning(data: np.ndarray) -> None:
    labels = np.zeros(len(data))  # one class: the trees of x0 and x2 have no split
    with pytest.warns(UserWarning, match=r"feature\(s\) \['x0', 'x2'\] vary but have a single bin"):
        bx.LimeTabular(data, discretizer="entropy", categorical=[1], labels=labels)

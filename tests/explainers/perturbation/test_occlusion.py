"""Occlusion: closed forms on images, players (tabular, text), batching, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx


def _linear(w: np.ndarray):
    return lambda X: np.tensordot(X, w, axes=(list(range(1, X.ndim)), list(range(w.ndim))))


def test_tiles_give_each_windows_drop_exactly(rng: np.random.Generator) -> None:
    image = rng.random((12, 8, 3))
    w = rng.normal(size=image.shape)
    e = bx.Occlusion(_linear(w), bx.maskers.Image(fill=0.25), window=(4, 2)).explain(image)
    assert e.values.shape == (1, 12, 8, 1)
    expected = np.empty((12, 8))
    for y in range(0, 12, 4):
        for x in range(0, 8, 2):
            expected[y : y + 4, x : x + 2] = (w * (image - 0.25))[y : y + 4, x : x + 2].sum()
    np.testing.assert_allclose(e.values[0, :, :, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(e.base_values, _linear(w)(image[None])[:, None])
    assert e.meta["n_evals"] == [1 + 12] and e.meta["n_model_calls"] == 1
    assert e.meta["parameters"] == {"window": [4, 2], "stride": [4, 2], "fill": "0.25"}


def test_overlapping_windows_average_the_drops_of_the_windows_holding_a_pixel(rng) -> None:
    image = rng.random((5, 5))
    w = rng.normal(size=image.shape)
    e = bx.Occlusion(_linear(w), bx.maskers.Image(fill=0.0), window=3, stride=1).explain(image)
    contrib = w * image
    expected = np.zeros((5, 5))
    for y in range(5):
        for x in range(5):
            drops = [
                contrib[a : a + 3, b : b + 3].sum()
                for a in range(3)
                for b in range(3)
                if a <= y < a + 3 and b <= x < b + 3
            ]
            expected[y, x] = np.mean(drops)
    np.testing.assert_allclose(e.values[0, :, :, 0], expected, rtol=1e-12)


def test_a_quadrant_model_puts_all_occlusion_mass_in_the_quadrant(rng) -> None:
    images = rng.random((2, 16, 16, 3))
    f = lambda X: X[:, :8, :8].mean(axis=(1, 2, 3))  # noqa: E731
    e = bx.Occlusion(f, bx.maskers.Image(fill=0.0), window=4).explain(images)
    assert e.values.shape == (2, 16, 16, 1)
    outside = np.ones((16, 16), bool)
    outside[:8, :8] = False
    assert (e.values[:, outside] == 0).all()
    assert (e.values[:, :8, :8] > 0).all()


def test_last_window_is_flush_with_the_edge() -> None:
    image = np.ones((7, 7))
    e = bx.Occlusion(lambda X: X.sum(axis=(1, 2)), bx.maskers.Image(fill=0.0), window=3).explain(
        image
    )
    # Windows start at 0, 3 and 4: pixel row 4 and beyond lie in the last window only.
    assert e.meta["n_evals"] == [1 + 9]
    np.testing.assert_allclose(e.values[0, 6, 6, 0], 9.0)


def test_text_leave_one_token_out() -> None:
    f = lambda docs: [[d.count("good") * 2.0 - d.count("bad") + 0.1 * len(d)] for d in docs]  # noqa: E731
    doc = "good food, bad service, good view"
    e = bx.Occlusion(f, bx.maskers.Text()).explain([doc])
    bound = bx.maskers.Text().for_instance(doc)
    fx = f([doc])[0][0]
    for j in range(bound.n_players):
        z = np.ones((1, bound.n_players), bool)
        z[0, j] = False
        assert e.values[0, j, 0] == pytest.approx(fx - f(bound.texts(z))[0][0], abs=1e-12)
    assert e.feature_names == bound.player_names
    assert "token_offsets" in e.meta


def test_text_window_is_clipped_to_a_short_document() -> None:
    f = lambda docs: [[float(len(d))] for d in docs]  # noqa: E731
    docs = ["good food", "good food, bad service"]
    e = bx.Occlusion(f, bx.maskers.Text(), window=3).explain(docs)
    bound = bx.maskers.Text().for_instance(docs[0])
    assert bound.n_players == 2
    # The short document's one window hides both tokens: each gets the whole drop.
    empty = f(bound.texts(np.zeros((1, 2), bool)))[0][0]
    np.testing.assert_allclose(e.values[0, :2, 0], len(docs[0]) - empty)


def test_tabular_windows_of_players(rng: np.random.Generator) -> None:
    background = rng.normal(size=(1, 5))
    X = rng.normal(size=(3, 5))
    w = np.array([1.0, -2.0, 3.0, 0.5, 4.0])
    e = bx.Occlusion(lambda A: A @ w, background, window=2, stride=2).explain(X)
    drops = w * (X - background)
    # Windows {0, 1}, {2, 3} and the flush {3, 4}: player 3 averages two windows.
    expected = np.stack(
        [
            drops[:, :2].sum(1),
            drops[:, :2].sum(1),
            drops[:, 2:4].sum(1),
            (drops[:, 2:4].sum(1) + drops[:, 3:].sum(1)) / 2,
            drops[:, 3:].sum(1),
        ],
        axis=1,
    )
    np.testing.assert_allclose(e.values[:, :, 0], expected, rtol=1e-12)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="fill applies to images only"):
        bx.Occlusion(lambda A: A.sum(1), np.zeros((1, 3)), fill=0.0)
    with pytest.raises(ValueError, match="window=4 is more than the 3 players"):
        bx.Occlusion(lambda A: A.sum(1), np.zeros((1, 3)), window=4)
    with pytest.raises(ValueError, match="window must be an int or a pair"):
        bx.Occlusion(lambda A: A.sum(1), bx.maskers.Image(), window=(1, 2, 3)).explain(
            np.ones((4, 4))
        )


def test_a_stride_longer_than_the_window_is_refused() -> None:
    # The features between windows would never be hidden (their values were 0 / 0).
    f = lambda A: np.asarray(A, float).reshape(len(A), -1).sum(axis=1)  # noqa: E731
    with pytest.raises(ValueError, match=r"stride 3 is larger than the window 1 \(6 players\)"):
        bx.Occlusion(f, np.zeros((1, 6)), window=1, stride=3)
    image = np.ones((12, 20))
    bad = bx.Occlusion(f, bx.maskers.Image(fill=0.0), window=(3, 4), stride=(3, 5))
    with pytest.raises(ValueError, match=r"stride 5 is larger than the window 4 \(columns"):
        bad.explain(image)
    # A window as large as the image covers it whatever the stride: every pixel gets the
    # drop of hiding it all.
    whole = bx.Occlusion(f, bx.maskers.Image(fill=0.0), window=40, stride=50).explain(image)
    np.testing.assert_array_equal(whole.values[0, :, :, 0], 240.0)
    # Where the last window, flush with the end, closes the gap, nothing is left out.
    short = bx.Occlusion(f, np.zeros((1, 5)), window=3, stride=4).explain(np.ones((1, 5)))
    assert np.isfinite(short.values).all()
    small = bx.Occlusion(f, bx.maskers.Image(fill=0.0), window=8, stride=12).explain(
        image[:10, :10]
    )
    assert np.isfinite(small.values).all()
    # Documents differ in length: refused before any is explained.
    lengths = lambda docs: np.array([len(d) for d in docs], float)  # noqa: E731
    with pytest.raises(ValueError, match=r"stride 2 is larger than the window 1: the tokens"):
        bx.Occlusion(lengths, bx.maskers.Text(), window=1, stride=2)


def test_the_fill_used_is_recorded() -> None:
    f = lambda A: np.asarray(A, float).reshape(len(A), -1).sum(axis=1)  # noqa: E731
    image = np.ones((8, 8, 3))
    masker = bx.maskers.Image("grid", fill=[0.1, 0.2, 0.3], n_rows=2, n_cols=2)
    own = bx.Occlusion(f, masker, window=4).explain(image)
    assert own.meta["parameters"]["fill"] == "[0.1, 0.2, 0.3]"  # the masker's
    given = bx.Occlusion(f, masker, window=4, fill="blur").explain(image)
    assert given.meta["parameters"]["fill"] == "blur"
    rows = bx.Occlusion(f, np.zeros((1, 4)), window=2).explain(np.ones((1, 4)))
    assert rows.meta["parameters"]["fill"] is None  # background rows hide the features

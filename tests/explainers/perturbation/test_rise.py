"""RISE: the estimator's definition, seeds, the quadrant model, standard errors, tol."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.perturbation.rise import bilinear_matrix


def _quadrant(X: np.ndarray) -> np.ndarray:
    return X[:, :8, :8].mean(axis=(1, 2))


def test_bilinear_matrix_rows_are_weights_that_reproduce_a_ramp() -> None:
    R = bilinear_matrix(3, 12)
    np.testing.assert_allclose(R.sum(axis=1), 1.0)
    # Pixel centres map to (i + 0.5) / 4 - 0.5, mirrored at the first and last cells.
    np.testing.assert_allclose(R[2:10] @ np.arange(3.0), (np.arange(2, 10) + 0.5) / 4 - 0.5)
    np.testing.assert_allclose(R[:2] @ np.arange(3.0), [0.375, 0.125])
    np.testing.assert_allclose(R[10:] @ np.arange(3.0), [2 - 0.125, 2 - 0.375])


def test_the_map_is_the_mask_weighted_mean_output() -> None:
    # A model equal to the visible mass of one pixel: with fill 0 on an image of ones,
    # f(M) = M(0, 0), so S(0, 0) = E[M(0, 0)^2] / p, computed here from the masks'
    # moments, and every SE is that of a mean of n_masks draws.
    image = np.ones((8, 8))
    f = lambda X: X[:, 0, 0]  # noqa: E731
    e = bx.Rise(f, bx.maskers.Image(fill=0.0), n_masks=400, cell_size=4, seed=3).explain(image)
    assert e.values.shape == e.stderr.shape == (1, 8, 8, 1)
    assert e.meta["n_evals"] == [400] and e.meta["n_model_rows"] == 400
    assert 0.5 < e.values[0, 0, 0, 0] < 1.0
    assert e.base_values[0, 0] == pytest.approx(0.5 * 1.0, abs=0.1)
    assert (e.stderr > 0).all()


def test_same_seed_same_map_other_seed_other_map(rng: np.random.Generator) -> None:
    image = rng.random((16, 16, 3))
    masker = bx.maskers.Image(fill=0.0)
    one = bx.Rise(_quadrant, masker, n_masks=300, seed=1).explain(image)
    again = bx.Rise(_quadrant, masker, n_masks=300, seed=1).explain(image)
    other = bx.Rise(_quadrant, masker, n_masks=300, seed=2).explain(image)
    np.testing.assert_array_equal(one.values, again.values)
    np.testing.assert_array_equal(one.stderr, again.stderr)
    assert not np.array_equal(one.values, other.values)
    # Budget and chunking do not change the masks or the map, nor how its sums round.
    small = bx.maskers.Image(fill=0.0, memory_budget_mb=0.2)
    tight = bx.Rise(_quadrant, small, n_masks=300, seed=1).explain(image)
    np.testing.assert_array_equal(tight.values, one.values)
    np.testing.assert_array_equal(tight.stderr, one.stderr)
    # Each image of a batch has its own masks, the same whatever else is explained.
    two = bx.Rise(_quadrant, masker, n_masks=300, seed=1).explain(np.stack([image, image[::-1]]))
    np.testing.assert_array_equal(two.values[:1], one.values)


def test_the_masks_do_not_depend_on_the_block(rng: np.random.Generator) -> None:
    image = rng.random((8, 8))
    rise = bx.Rise(_quadrant, bx.maskers.Image(fill=0.0), n_masks=400, cell_size=4, seed=3)
    one = rise.explain(image, block=400)
    for block in (100, 130):
        e = rise.explain(image, block=block)
        np.testing.assert_allclose(e.values, one.values, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.stderr, one.stderr, rtol=1e-12, atol=1e-15)


def test_a_quadrant_model_puts_the_mass_in_the_quadrant(rng: np.random.Generator) -> None:
    image = rng.random((32, 32))
    e = bx.Rise(_quadrant, bx.maskers.Image(fill=0.0), n_masks=4000, cell_size=4, seed=0).explain(
        image
    )
    S, se, base = e.values[0, :, :, 0], e.stderr[0, :, :, 0], e.base_values[0, 0]
    # Inside, the output grows with the mask; far outside (beyond the reach of a
    # quadrant cell through the upsampling) the mask is independent of it.
    assert ((S[:8, :8] - base) > 3 * se[:8, :8]).all()
    far = np.zeros((32, 32), bool)
    far[16:, :] = far[:, 16:] = True
    assert (np.abs(S[far] - base) < 4.5 * se[far]).all()


def test_tol_stops_early_and_reports_convergence(rng: np.random.Generator) -> None:
    image = rng.random((16, 16))
    rise = bx.Rise(_quadrant, bx.maskers.Image(fill=0.0), n_masks=4000, cell_size=4, seed=0)
    e = rise.explain(image, tol=0.2, block=100)
    assert e.meta["converged"] == [True]
    assert e.meta["relative_se"][0] <= 0.2
    assert e.meta["n_evals"][0] % 100 == 0 and e.meta["n_evals"][0] < 4000
    strict = rise.explain(image, tol=1e-4, block=1000)
    assert strict.meta["converged"] == [False] and strict.meta["n_evals"] == [4000]


def test_rise_needs_an_image_masker() -> None:
    with pytest.raises(TypeError, match="Rise masks images: pass a bx.maskers.Image masker"):
        bx.Rise(lambda A: A.sum(1), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="p must be in"):
        bx.Rise(_quadrant, bx.maskers.Image(), p=1.5)


def test_upsampling_is_scikit_images_bilinear_resize(rng: np.random.Generator) -> None:
    # RISE's reference code upsamples each grid with skimage.transform.resize(order=1,
    # mode="reflect", anti_aliasing=False); the matrices give the same masks.
    import skimage.transform

    grid = (rng.random((8, 6)) < 0.5).astype(float)
    expected = skimage.transform.resize(
        grid, (8 * 19, 6 * 19), order=1, mode="reflect", anti_aliasing=False
    )
    ours = bilinear_matrix(8, 8 * 19) @ grid @ bilinear_matrix(6, 6 * 19).T
    np.testing.assert_allclose(ours, expected, atol=1e-12)

"""The Image masker: segments, fills, one gather per batch, layouts, dtypes, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import blackbox_xai as bx
from blackbox_xai.maskers.image import relabel


def _image(rng: np.random.Generator, shape=(12, 16, 3)) -> np.ndarray:
    return rng.random(shape)


def test_relabel_makes_consecutive_labels() -> None:
    labels = np.array([[7, 7, 3], [3, 10, 10]])
    np.testing.assert_array_equal(relabel(labels), [[1, 1, 0], [0, 2, 2]])


def test_grid_segments_and_names() -> None:
    bound = bx.maskers.Image("grid", n_rows=2, n_cols=3).for_instance(np.zeros((4, 6)))
    np.testing.assert_array_equal(
        bound.segments,
        [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]],
    )
    assert bound.n_players == 6
    assert bound.player_names[:2] == ["segment 0", "segment 1"]


@pytest.mark.parametrize("segmenter", ["slic", "quickshift", "felzenszwalb"])
def test_scikit_image_segmenters_on_bundled_images(segmenter: str) -> None:
    image = skimage.data.chelsea()[::6, ::6]
    masker = bx.maskers.Image(segmenter)
    seg = masker.segment(image)
    assert seg.shape == image.shape[:2]
    assert np.array_equal(np.unique(seg), np.arange(seg.max() + 1))
    assert seg.max() >= 2
    # Computed once per image: the same array comes back, also through for_instance.
    assert masker.segment(image.copy()) is seg
    assert masker.for_instance(image).segments is seg


def test_callable_segmenter_gets_the_image_channels_last() -> None:
    seen = []

    def halves(image):
        seen.append(image.shape)
        return np.repeat([[5, 9]], image.shape[0], axis=0).repeat(image.shape[1] // 2, axis=1)

    masker = bx.maskers.Image(halves, layout="channels_first")
    bound = masker.for_instance(np.zeros((3, 4, 6)))
    assert seen == []  # segmented on first use only
    np.testing.assert_array_equal(bound.segments[0], [0, 0, 0, 1, 1, 1])
    assert seen == [(4, 6, 3)]


def test_gather_equals_per_pixel_definition(rng: np.random.Generator) -> None:
    image = _image(rng)
    bound = bx.maskers.Image("grid", fill="mean", n_rows=3, n_cols=4).for_instance(image)
    Z = rng.random((7, bound.n_players)) < 0.5
    out = bound.images(Z)
    fill = bound.fill_image()
    for i in range(len(Z)):
        for y in range(image.shape[0]):
            for x in range(image.shape[1]):
                expected = image[y, x] if Z[i, bound.segments[y, x]] else fill[y, x]
                np.testing.assert_array_equal(out[i, y, x], expected)


def test_the_segment_cache_is_bounded_and_not_pickled() -> None:
    import pickle

    masker = bx.maskers.Image("grid", n_rows=2, n_cols=2)
    images = [np.full((4, 4), float(v)) for v in range(10)]
    first = [masker.segment(im) for im in images]
    assert len(masker._segments) == 8
    assert masker.segment(images[9]) is first[9]  # kept
    assert masker.segment(images[0]) is not first[0]  # the oldest, dropped
    assert len(pickle.dumps(masker)) < 2000
    assert pickle.loads(pickle.dumps(masker))._segments == {}


def test_mean_fill_is_each_segments_mean_colour(rng: np.random.Generator) -> None:
    image = _image(rng)
    bound = bx.maskers.Image("grid", n_rows=2, n_cols=2).for_instance(image)
    fill = bound.fill_image()
    for j in range(4):
        inside = bound.segments == j
        np.testing.assert_allclose(
            fill[inside], np.broadcast_to(image[inside].mean(0), (inside.sum(), 3))
        )


def test_constant_fills(rng: np.random.Generator) -> None:
    image = _image(rng)
    bound = bx.maskers.Image("grid", fill=[0.1, 0.2, 0.3]).for_instance(image)
    np.testing.assert_array_equal(
        bound.images(np.zeros((1, bound.n_players), bool))[0, 3, 5], [0.1, 0.2, 0.3]
    )
    bound = bx.maskers.Image("grid", fill=0.5).for_instance(image)
    assert (bound.images(np.zeros((1, bound.n_players), bool)) == 0.5).all()
    with pytest.raises(ValueError, match="fill has 2 values for an image of 3 channels"):
        bx.maskers.Image("grid", fill=[0.0, 1.0]).for_instance(image).fill_image()


def test_blur_and_inpaint_fills() -> None:
    # A linear ramp: a Gaussian blur leaves its interior unchanged, biharmonic inpainting
    # restores an interior segment exactly; the fills are computed once per image.
    yy, xx = np.mgrid[0:24, 0:24].astype(float)
    ramp = np.stack([yy / 24, xx / 24, (yy + xx) / 48], axis=2)
    bound = bx.maskers.Image("grid", fill="inpaint", n_rows=3, n_cols=3).for_instance(ramp)
    centre = bound.segments == 4
    np.testing.assert_allclose(bound.fill_image()[centre], ramp[centre], atol=1e-8)
    assert bound.fill_image() is bound.fill_image()
    blur = bx.maskers.Image("grid", fill="blur", blur_sigma=1.0).for_instance(ramp).fill_image()
    np.testing.assert_allclose(blur[6:18, 6:18], ramp[6:18, 6:18], atol=1e-9)


def test_uint8_images_stay_uint8_with_a_rounded_fill() -> None:
    image = skimage.data.coffee()[::8, ::8]
    seen = []

    def model(X):
        seen.append(X.dtype)
        return X.reshape(len(X), -1).mean(axis=1)

    masker = bx.maskers.Image("grid", n_rows=2, n_cols=2)
    bound = masker.for_instance(image)
    bound.bind(bx.wrap(model))
    out = bound.images(np.array([[True, False, True, False]]))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(
        out[0][bound.segments == 1], np.rint(bound.fill_image()[bound.segments == 1])
    )
    bx.Occlusion(model, masker, window=10).explain(image)
    assert set(seen) == {np.dtype(np.uint8)}


@pytest.mark.parametrize(
    ("given", "expected_shape"),
    [((10, 8), (10, 8)), ((10, 8, 3), (10, 8, 3)), ((3, 10, 8), (3, 10, 8))],
)
def test_a_callable_gets_the_layout_it_was_given(given, expected_shape, rng) -> None:
    shapes = []

    def model(X):
        shapes.append(X.shape[1:])
        return X.reshape(len(X), -1).sum(axis=1)

    image = rng.random(given)
    e = bx.KernelShap(model, bx.maskers.Image("grid", n_rows=2, n_cols=2), seed=0).explain(image)
    assert set(shapes) == {expected_shape}
    assert e.data.shape == (1, 10, 8, 1 if len(given) == 2 else 3)


def test_batches_stay_within_the_memory_budget(rng: np.random.Generator) -> None:
    image = _image(rng, (32, 32, 3))
    calls = []

    def model(X):
        calls.append(len(X))
        return X.reshape(len(X), -1).sum(axis=1)

    # One masked image costs 32 * 32 * (3 * 16 + 1) bytes: 20 fit in 1 MiB.
    masker = bx.maskers.Image("grid", fill=0.0, memory_budget_mb=1.0, n_rows=4, n_cols=4)
    small = bx.Occlusion(model, masker, window=4).explain(image)
    assert calls == [20, 20, 20, 5]
    calls.clear()
    big = bx.Occlusion(model, bx.maskers.Image("grid", fill=0.0), window=4).explain(image)
    assert calls == [65]
    np.testing.assert_array_equal(small.values, big.values)


def test_the_shared_budget_sizes_calls_and_only_the_target_is_kept(rng) -> None:
    image = _image(rng, (32, 32, 3))
    calls = []
    weights = rng.normal(size=(32 * 32 * 3, 50))

    def model(X):
        calls.append(len(X))
        return X.reshape(len(X), -1) @ weights

    masker = bx.maskers.Image("grid", fill=0.0, n_rows=4, n_cols=4)
    assert masker.memory_budget_mb is None
    # The "model_input" share of 8 MiB is 1 MiB: 20 masked images per call, as above.
    with bx.config_context(memory_budget_mb=8):
        e = bx.Occlusion(model, masker, window=4).explain(image, target=7)
    assert calls == [20, 20, 20, 5]
    full = bx.Occlusion(model, masker, window=4).explain(image)
    np.testing.assert_allclose(e.values[..., 0], full.values[..., 7], rtol=1e-12)
    bound = masker.for_instance(image)
    bound.bind(bx.wrap(model))
    hide = lambda a, b: np.ones((b - a, 32, 32), bool)  # noqa: E731
    out = bound.predict_masks(bx.wrap(model), hide, 3, columns=lambda: [4, 1])
    np.testing.assert_allclose(out, model(np.stack([image] * 3))[:, [4, 1]], rtol=1e-12)
    with pytest.raises(ValueError, match="memory_budget_mb must be a positive finite number"):
        bx.maskers.Image(memory_budget_mb=0)


def test_bad_input_messages(rng: np.random.Generator) -> None:
    masker = bx.maskers.Image("grid")
    f = lambda X: X.reshape(len(X), -1).sum(1)  # noqa: E731
    with pytest.raises(
        ValueError, match=r"image 1 has shape \(8, 9, 3\).*image 0 has \(8, 8, 3\).*one size"
    ):
        bx.Lime(f, masker, seed=0).explain([rng.random((8, 8, 3)), rng.random((8, 9, 3))])
    nan = rng.random((8, 8, 3))
    nan[2, 3, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"image 0 has NaN or inf values \(first at row, column, channel \[2, 3, 1\]\)",
    ):
        bx.Lime(f, masker, seed=0).explain([nan])
    with pytest.raises(ValueError, match="yields a single segment for this 8 x 8 image"):
        bx.Lime(f, bx.maskers.Image("grid", n_rows=1, n_cols=1), seed=0).explain(
            rng.random((8, 8, 3))
        )
    with pytest.raises(ValueError, match="returned labels of shape"):
        bx.maskers.Image(lambda im: np.zeros(3)).segment(rng.random((8, 8, 3)))
    with pytest.raises(ValueError, match="returned NaN or inf labels"):
        bx.maskers.Image(lambda im: np.full(im.shape[:2], np.nan)).segment(rng.random((8, 8)))
    with pytest.raises(ValueError, match="n_rows must be >= 1, got 0"):
        bx.maskers.Image("grid", n_rows=0)
    with pytest.raises(TypeError, match="n_cols must be an integer, got float"):
        bx.maskers.Image("grid", n_cols=2.7)
    with pytest.raises(ValueError, match="segmenter must be one of"):
        bx.maskers.Image("watershed")
    with pytest.raises(ValueError, match="fill must be one of"):
        bx.maskers.Image(fill="zeros")
    with pytest.raises(ValueError, match="no axis of 1, 3 or 4 channels"):
        masker.for_instance(rng.random((8, 8, 7)))
    with pytest.raises(TypeError, match="images must be numeric"):
        masker.for_instance(np.array([["a"]]))
    with pytest.raises(TypeError, match="bound to each image"):
        masker.validate(rng.random((8, 8)))


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_model_batches_equal_the_composed_images_in_the_model_layout(rng, layout) -> None:
    image = (rng.random((6, 5, 3)) * 255).astype(np.uint8)
    arr = np.moveaxis(image, -1, 0) if layout == "channels_first" else image
    bound = bx.maskers.Image("grid", layout=layout, n_rows=2, n_cols=2).for_instance(arr)
    hard = rng.random((4, 6, 5)) < 0.5
    soft = rng.random((4, 6, 5))
    for masks in (hard, soft):
        batch = bound.model_batch(masks)
        np.testing.assert_array_equal(batch, bound.to_model(bound.compose(masks)))
        assert batch.flags["C_CONTIGUOUS"]
    assert bound.model_batch(hard).shape == (
        (4, 3, 6, 5) if layout == "channels_first" else (4, 6, 5, 3)
    )
    assert bound.model_batch(hard).dtype == np.uint8 and bound.model_batch(soft).dtype == np.float64


def test_repr_shows_the_settings_that_differ_from_the_defaults() -> None:
    assert repr(bx.maskers.Image()) == "Image()"
    shown = repr(bx.maskers.Image("grid", fill=0.0, n_rows=2, memory_budget_mb=4))
    assert shown == "Image(segmenter='grid', fill=0.0, memory_budget_mb=4.0, n_rows=2)"
    assert repr(bx.maskers.Text(mode="mask", memory_budget_mb=8)) == (
        "Text(mode='mask', memory_budget_mb=8.0)"
    )

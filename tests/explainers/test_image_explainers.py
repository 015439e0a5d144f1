"""Every perturbation explainer on the Image masker: closed forms, the quadrant model,
seeds, ONNX CNNs (built here, and onnx's light_squeezenet with random weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import skimage.data
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def _linear(w: np.ndarray):
    return lambda X: np.tensordot(X, w, axes=(list(range(1, X.ndim)), list(range(w.ndim))))


def _contributions(bound, w: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``sum over the pixels of segment j of w (x - fill)``, per segment."""
    c = (w * (image - bound.fill_image())).sum(axis=-1)
    return np.bincount(bound.segments.ravel(), c.ravel(), minlength=bound.n_players)


@pytest.fixture
def scene(rng: np.random.Generator):
    image = skimage.data.astronaut()[::8, ::8].astype(np.float64) / 255.0  # 64 x 64 x 3
    return image, rng.normal(size=image.shape)


def test_lime_with_all_masks_is_the_closed_form(scene) -> None:
    image, w = scene
    masker = bx.maskers.Image("slic", fill="mean", n_segments=12)
    bound = masker.for_instance(image)
    e = bx.Lime(_linear(w), masker, seed=0).explain(image, n_samples=2**bound.n_players, alpha=0.0)
    assert e.meta["exact"]
    np.testing.assert_allclose(e.values[0, :, 0], _contributions(bound, w, image), atol=1e-8)
    np.testing.assert_array_equal(np.asarray(e.meta["segments"][0]), bound.segments)
    # The per-pixel map paints each segment's value on its pixels.
    np.testing.assert_array_equal(e.pixel_map(), e.values[0, :, 0][bound.segments])


def test_shapley_estimators_on_superpixels(scene) -> None:
    image, w = scene
    f = _linear(w)
    masker = bx.maskers.Image("grid", fill="blur", n_rows=3, n_cols=4)
    bound = masker.for_instance(image)
    closed = _contributions(bound, w, image)
    exact = bx.ExactShapley(f, masker).explain(image)
    np.testing.assert_allclose(exact.values[0, :, 0], closed, atol=1e-9)
    gap = f(image[None])[0] - f(bound.fill_image()[None])[0]
    kernel = bx.KernelShap(f, masker, seed=0).explain(image, n_evals=600)
    assert kernel.values[0, :, 0].sum() == pytest.approx(gap, abs=1e-9)
    np.testing.assert_allclose(kernel.values[0, :, 0], closed, atol=1e-8)
    sampled = bx.SamplingShapley(f, masker, seed=0).explain(image, n_permutations=8)
    assert sampled.values[0, :, 0].sum() == pytest.approx(gap, abs=1e-9)
    np.testing.assert_allclose(sampled.values[0, :, 0], closed, atol=1e-9)


def test_quadrant_model_shap_mass_is_in_the_quadrant(rng: np.random.Generator) -> None:
    images = rng.random((2, 8, 8, 3))
    f = lambda X: np.sin(3 * X[:, :4, :4].mean(axis=(1, 2, 3)))  # noqa: E731
    masker = bx.maskers.Image("grid", fill=0.0, n_rows=4, n_cols=4)
    seg = masker.for_instance(images[0]).segments
    inside = np.unique(seg[:4, :4])
    outside = np.setdiff1d(np.arange(16), inside)
    exact = bx.ExactShapley(f, masker).explain(images)
    np.testing.assert_allclose(exact.values[:, outside, 0], 0.0, atol=1e-12)
    assert (np.abs(exact.values[:, inside, 0]) > 1e-3).all()
    kernel = bx.KernelShap(f, masker, seed=0).explain(images, n_evals=2000)
    err = kernel.values[:, outside, 0]
    assert (np.abs(err) < 4 * kernel.stderr[:, outside, 0] + 1e-12).all()
    again = bx.KernelShap(f, masker, seed=0).explain(images, n_evals=2000)
    np.testing.assert_array_equal(kernel.values, again.values)


def _cnn(rng: np.random.Generator, channels_last: bool = False, linear: bool = False):
    """A small CNN on float32 images ``(n, 3, H, W)`` (or ``(n, H, W, 3)``), two softmax
    outputs; ``linear``: a 1x1 convolution and a global average, one output."""
    shape = [None, None, None, 3] if channels_last else [None, 3, None, None]
    nodes, inits = [], []
    x = "x"
    if channels_last:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]))
        x = "xt"
    if linear:
        w = rng.normal(size=(1, 3, 1, 1)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w"))
        nodes += [
            helper.make_node("Conv", [x, "w"], ["c"]),
            helper.make_node("GlobalAveragePool", ["c"], ["g"]),
            helper.make_node("Flatten", ["g"], ["y"]),
        ]
        k = 1
    else:
        inits += [
            numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1"),
            numpy_helper.from_array(rng.normal(size=(4, 2)).astype(np.float32), "w2"),
        ]
        nodes += [
            helper.make_node("Conv", [x, "w1"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("GlobalAveragePool", ["r"], ["g"]),
            helper.make_node("Flatten", ["g"], ["h"]),
            helper.make_node("MatMul", ["h", "w2"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["y"], axis=1),
        ]
        k = 2
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, k])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, (None if not linear else w[0, :, 0, 0].astype(np.float64))


def test_onnx_image_model_declares_layout_shape_and_dtype(rng) -> None:
    first = bx.OnnxModel(_cnn(rng)[0])
    assert first.input_shape == (3, None, None) and first.input_layout == "channels_first"
    assert first.input_dtype == np.float32 and first.n_input_columns is None
    last = bx.OnnxModel(_cnn(rng, channels_last=True)[0])
    assert last.input_shape == (None, None, 3) and last.input_layout == "channels_last"


@pytest.mark.parametrize("channels_last", [False, True])
def test_onnx_cnn_gets_its_layout_and_matches_the_closed_form(rng, channels_last) -> None:
    proto, w = _cnn(rng, channels_last=channels_last, linear=True)
    image = skimage.data.coffee()[::10, ::10]  # uint8, 40 x 60 x 3
    masker = bx.maskers.Image("grid", fill=0.0, n_rows=2, n_cols=3)
    e = bx.ExactShapley(bx.OnnxModel(proto), masker).explain(image)
    bound = masker.for_instance(image)
    per_pixel = np.full(image.shape, 1.0) * w / (image.shape[0] * image.shape[1])
    np.testing.assert_allclose(
        e.values[0, :, 0], _contributions(bound, per_pixel, image.astype(float)), rtol=1e-4
    )


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_every_explainer_runs_on_bundled_images_with_an_onnx_cnn(rng, name) -> None:
    image = getattr(skimage.data, name)()[::8, ::8].astype(np.float32) / 255.0
    model = bx.OnnxModel(_cnn(rng)[0])
    masker = bx.maskers.Image("slic", n_segments=8)
    d = masker.for_instance(image).n_players
    lime = bx.Lime(model, masker, seed=0).explain(image, n_samples=200)
    shap = bx.KernelShap(model, masker, seed=0).explain(image, n_evals=200)
    occ = bx.Occlusion(model, masker, window=16).explain(image)
    rise = bx.Rise(model, masker, n_masks=100, seed=0).explain(image)
    for e in (lime, shap):
        assert e.values.shape == (1, d, 2) and e.pixel_map(0, 1).shape == image.shape[:2]
    for e in (occ, rise):
        assert e.values.shape == (1, *image.shape[:2], 2)
    # Softmax outputs sum to one: attributions to the two classes are opposite.
    np.testing.assert_allclose(shap.values[..., 0], -shap.values[..., 1], atol=1e-6)
    np.testing.assert_allclose(occ.values[..., 0], -occ.values[..., 1], atol=1e-6)


@pytest.fixture(scope="module")
def squeezenet() -> bx.OnnxModel:
    return _random_squeezenet(np.random.default_rng(0))


def test_wrong_channel_count_and_size_for_the_model(rng, squeezenet) -> None:
    model = bx.OnnxModel(_cnn(rng)[0])
    with pytest.raises(
        ValueError,
        match="the model takes images with 3 channels, but image 0 has 1. Convert it with skimage.color.gray2rgb",
    ):
        bx.Lime(model, bx.maskers.Image("grid"), seed=0).explain(np.zeros((1, 16, 16, 1)))
    squeeze = squeezenet
    with pytest.raises(
        ValueError,
        match="the model takes images of 224 x 224 pixels, but image 0 is 64 x 64; resize it first",
    ):
        bx.Occlusion(squeeze, bx.maskers.Image(fill=0.0)).explain(np.zeros((64, 64, 3)))


def _random_squeezenet(rng: np.random.Generator) -> bx.OnnxModel:
    """onnx's light_squeezenet (weights are constant fills) with He-normal weights, and a
    free batch axis so that many images go in one call."""
    model = onnx.load(LIGHT / "light_squeezenet.onnx")
    graph = model.graph
    shapes = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    fills = [n for n in graph.node if n.op_type == "ConstantOfShape"]
    weights = []
    for node in fills:
        shape = tuple(int(s) for s in shapes[node.input[0]])
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
        value = (
            rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape) if fan_in else np.zeros(shape)
        ).astype(np.float32)
        weights.append(numpy_helper.from_array(value, node.output[0]))
    kept = [n for n in graph.node if n.op_type != "ConstantOfShape"]
    del graph.node[:]
    graph.node.extend(kept)
    drop = {n.input[0] for n in fills}
    inits = [i for i in graph.initializer if i.name not in drop] + weights
    del graph.initializer[:]
    graph.initializer.extend(inits)
    names = {i.name for i in inits}
    feeds = [i for i in graph.input if i.name not in names | drop]
    del graph.input[:]
    graph.input.extend(feeds)
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "n"
    del graph.value_info[:]
    return bx.OnnxModel(model, intra_op_threads=2)


def test_light_squeezenet_at_224(squeezenet) -> None:
    model = squeezenet
    assert model.input_shape == (3, 224, 224) and model.input_layout == "channels_first"
    image = skimage.data.chelsea()[:224, 50:274]  # uint8, 224 x 224 x 3
    full = model(np.moveaxis(image, -1, 0)[None].astype(np.float32))[0]
    empty = model(np.zeros((1, 3, 224, 224), np.float32))[0]
    top = int(np.argmax(full))
    masker = bx.maskers.Image("grid", fill=0.0, n_rows=2, n_cols=2)
    occ = bx.Occlusion(model, masker, window=112).explain(image, target=top)
    assert occ.values.shape == (1, 224, 224, 1)
    assert occ.meta["n_model_calls"] == 1 and occ.meta["n_model_rows"] == 5
    np.testing.assert_allclose(occ.base_values[0, 0], full[top], rtol=1e-6)
    shap = bx.ExactShapley(model, masker).explain(image)
    np.testing.assert_allclose(shap.values[0].sum(axis=0), full - empty, atol=1e-6)
    # Each quadrant's occlusion drop is the value of its leave-one-out coalition.
    bound = masker.for_instance(image)
    Z = ~np.eye(4, dtype=bool)
    drops = full[top] - model(bound.to_model(bound.images(Z)))[:, top]
    np.testing.assert_allclose(occ.values[0, ::112, ::112, 0].ravel(), drops, rtol=1e-5)


def test_images_in_parallel_give_the_same_values(rng: np.random.Generator) -> None:
    import joblib

    images = rng.random((3, 12, 12, 3))
    f = lambda X: np.tanh(X[:, :6].sum(axis=(1, 2, 3)) / 50)  # noqa: E731
    masker = bx.maskers.Image("grid", n_rows=3, n_cols=3)
    one = bx.Lime(f, masker, seed=4).explain(images, n_samples=100)
    rise = bx.Rise(f, bx.maskers.Image(fill=0.0), n_masks=50, seed=4).explain(images)
    with joblib.parallel_config(backend="threading"):
        two = bx.Lime(f, masker, seed=4, n_jobs=2).explain(images, n_samples=100, chunk_size=1)
        rise2 = bx.Rise(f, bx.maskers.Image(fill=0.0), n_masks=50, seed=4, n_jobs=2).explain(
            images, chunk_size=1
        )
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(rise.values, rise2.values)
    assert one.meta["segments"] == two.meta["segments"]


def test_one_masker_serves_models_of_different_layouts(rng: np.random.Generator) -> None:
    proto, w = _cnn(rng, linear=True)
    image = rng.random((10, 12, 3))
    masker = bx.maskers.Image("grid", fill=0.0, n_rows=2, n_cols=2)
    onnx_shap = bx.ExactShapley(bx.OnnxModel(proto), masker)  # takes (n, 3, H, W)
    numpy_shap = bx.ExactShapley(lambda X: (X @ w).mean(axis=(1, 2)), masker)  # (n, H, W, 3)
    a = numpy_shap.explain(image)
    b = onnx_shap.explain(image)
    np.testing.assert_allclose(a.values, numpy_shap.explain(image).values)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5)


def test_model_calls_hold_whole_runs_of_the_model(rng: np.random.Generator) -> None:
    # An ONNX model pads a call's last run to its run size: calls cut to whole runs (and
    # never below one) evaluate no padding images but the last call's.
    image = rng.random((16, 16, 3)).astype(np.float32)
    model = bx.OnnxModel(_cnn(rng)[0], fixed_batch=4)
    assert model.rows_per_run(np.zeros((1, 3, 16, 16), np.float32)) == 4
    sizes: list[int] = []
    predict = model._predict
    model._predict = lambda X: (sizes.append(len(X)), predict(X))[1]  # type: ignore[method-assign]
    per_image = 16 * 16 * (3 * (4 + 8) + 1)  # bytes (see BoundImage.images_per_call)
    values = []
    for fit in (7, 1, 1000):
        masker = bx.maskers.Image(
            "grid", fill=0.0, n_rows=4, n_cols=4, memory_budget_mb=fit * per_image / 2**20
        )
        assert masker.for_instance(image).images_per_call() == fit
        sizes.clear()
        values.append(bx.Occlusion(model, masker, window=4).explain(image).values)
        # 16 windows in calls of whole runs, then the image itself (or all in one call)
        assert sizes == ([17] if fit == 1000 else [4, 4, 4, 4, 1])
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_array_equal(values[0], values[2])

"""Feature visualisation on the digits CNN; the parameterisations' adjoints."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx
from blackbox_xai.explainers.concepts._image_param import ImageParam, affine_matrix, apply

LAYER = "/features/features.4/Relu_output_0"


@pytest.mark.parametrize("param", ["fft", "pixel"])
def test_class_visualisation_is_classified_and_beats_the_dataset(param, digits_cnn, digits_images):
    images, _ = digits_images
    fv = bx.FeatureVisualization(digits_cnn, ("class", 7), param=param, n_steps=256, seed=0)
    result = fv.visualize(n=2)
    assert result.images.shape == (2, 1, 8, 8)
    assert result.images.min() >= 0 and result.images.max() <= 1
    proba = bx.DifferentiableOnnxModel(digits_cnn.model_bytes)(result.images)
    assert proba[:, 7].min() > 0.9
    assert result.values.min() > fv.objective_values(images).max()
    np.testing.assert_allclose(result.values, digits_cnn(result.images)[:, 7], rtol=1e-5)
    assert result.trace.shape == (256, 2) and result.trace[-1].mean() > result.trace[0].mean()


def test_channel_and_neuron_objectives(digits_cnn, digits_images):
    images, _ = digits_images
    acts = bx.LayerActivations(digits_cnn, LAYER).compute(images)
    channel = int(acts.mean(axis=(2, 3)).max(axis=0).argmax())
    fv = bx.FeatureVisualization(digits_cnn, ("channel", LAYER, channel), n_steps=96, seed=1)
    result = fv.visualize()
    np.testing.assert_allclose(fv.objective_values(images), acts[:, channel].mean(axis=(1, 2)))
    assert result.values[0] > acts[:, channel].mean(axis=(1, 2)).max()
    neuron = bx.FeatureVisualization(
        digits_cnn, ("neuron", LAYER, channel, 1, 2), n_steps=96, seed=1
    )
    assert neuron.visualize().values[0] > acts[:, channel, 1, 2].max()


def test_same_seed_same_images_and_regularisers_run(digits_cnn):
    options = {"n_steps": 20, "l1": 0.1, "tv": 0.1, "blur": 0.1, "seed": 4}
    a = bx.FeatureVisualization(digits_cnn, ("class", 2), **options).visualize(n=2)
    b = bx.FeatureVisualization(digits_cnn, ("class", 2), **options).visualize(n=2)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.trace, b.trace)
    one = bx.FeatureVisualization(digits_cnn, ("class", 2), **options).visualize(n=1)
    np.testing.assert_array_equal(one.images[0], a.images[0])  # one stream per image


def test_flat_inputs_take_an_image_shape(planted):
    model, *_ = planted
    fv = bx.FeatureVisualization(
        model, ("class", 1), image_shape=(2, 4), n_steps=30, transforms=(), seed=0
    )
    result = fv.visualize()
    assert result.images.shape == (1, 8)
    assert result.trace[-1, 0] > result.trace[0, 0]


def test_rgb_crops_of_any_size():
    """A fully convolutional RGB model with symbolic H, W: the image shape fixes them."""
    rng = np.random.default_rng(0)
    weights = {"c1": (rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float32)}
    nodes = [
        helper.make_node("Conv", ["x", "c1"], ["a1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "crops",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    with pytest.raises(ValueError, match="symbolic sizes; pass image_shape"):
        bx.FeatureVisualization(model, ("channel", "r1", 2))
    fv = bx.FeatureVisualization(
        model, ("channel", "r1", 2), image_shape=(3, 48, 192), n_steps=12, seed=0
    )
    result = fv.visualize()
    assert result.images.shape == (1, 3, 48, 192)
    assert result.trace[-1, 0] > result.trace[0, 0]
    assert fv.jitter == 3  # min(H, W) // 16


@pytest.mark.parametrize("shape", [(3, 6, 8), (1, 7, 5), (1, 48, 192)])
def test_parameterisation_adjoints_are_exact(shape):
    rng = np.random.default_rng(0)
    param = ImageParam(shape, "fft", (0.0, 1.0))
    t = rng.standard_normal(param.param_shape(2))
    g = rng.standard_normal((2, *shape))
    assert np.vdot(g, param._basis(t)) == pytest.approx(np.vdot(param._basis_adjoint(g), t))
    z = rng.standard_normal((2, *shape))
    assert np.vdot(g, param._mix(z)) == pytest.approx(np.vdot(param._mix(g, transpose=True), z))


def test_affine_resampling_keeps_constants_and_shifts_by_whole_pixels():
    matrix = affine_matrix(5, 6, (1.0, -2.0), 1.0, 0.0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    image = np.arange(30.0).reshape(1, 5, 6)
    moved = apply(matrix, image)
    np.testing.assert_array_equal(moved[0, 1:, :4], image[0, :4, 2:])


def test_bad_objectives(digits_cnn):
    with pytest.raises(ValueError, match=r"objective must be \('class', k\)"):
        bx.FeatureVisualization(digits_cnn, ("logit", 3))
    with pytest.raises(ValueError, match="is neither a tensor nor a node"):
        bx.FeatureVisualization(digits_cnn, ("channel", "conv9", 0))
    with pytest.raises(ValueError, match=r"index \(12,\) is outside layer"):
        bx.FeatureVisualization(digits_cnn, ("channel", LAYER, 12))
    with pytest.raises(ValueError, match="param must be 'fft' or 'pixel'"):
        bx.FeatureVisualization(digits_cnn, ("class", 3), param="dct")
    with pytest.raises(ValueError, match="transforms must be a subset"):
        bx.FeatureVisualization(digits_cnn, ("class", 3), transforms=("flip",))

"""Top-activating inputs and patches against a brute-force pass; embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

import blackbox_xai as bx
from blackbox_xai.autodiff.layers import GraphIndex
from blackbox_xai.explainers.concepts._receptive_field import receptive_field

LAYER = "/features/features.4/Relu_output_0"
CONV1 = "/features/features.1/Relu_output_0"


def _brute_force(acts, k):
    n, units = acts.shape[:2]
    flat = acts.reshape(n, units, -1)
    best = flat.max(axis=2)
    top = np.stack([np.lexsort((np.arange(n), -best[:, u]))[:k] for u in range(units)])
    where = flat.argmax(axis=2)
    return top, best, where


@pytest.mark.parametrize("layer", [LAYER, CONV1])
def test_top_patches_are_the_brute_force_ones(layer, digits_cnn, digits_images):
    images, _ = digits_images
    data = images[:600]
    top = bx.TopActivations(digits_cnn, layer, k=4, batch_size=128)
    # a generator of batches: the dataset is streamed
    result = top.fit(data[i : i + 150] for i in range(0, len(data), 150))
    acts = bx.LayerActivations(digits_cnn, layer).compute(data)
    indices, best, where = _brute_force(acts, 4)
    np.testing.assert_array_equal(result.indices, indices)
    np.testing.assert_allclose(result.values, np.take_along_axis(best.T, indices, axis=1))
    size = acts.shape[2:]
    for unit in range(acts.shape[1]):
        for rank, row in enumerate(indices[unit]):
            y, x = np.unravel_index(where[row, unit], size)
            assert tuple(result.positions[unit, rank]) == (y, x)
            (y0, y1), (x0, x1) = result.boxes[unit, rank]
            np.testing.assert_array_equal(result.patches[unit][rank], data[row][:, y0:y1, x0:x1])
    assert result.meta["n_inputs"] == 600
    as_list = top.fit(list(data[:50]))  # a list holds rows, not batches
    np.testing.assert_array_equal(as_list.indices, top.fit(data[:50]).indices)


def test_receptive_fields_of_the_digits_cnn(digits_cnn, digits_images):
    images, _ = digits_images
    # conv3x3 pad 1 -> relu -> maxpool 2 -> conv3x3 pad 1: 8 px, stride 2, from -3
    deep = bx.TopActivations(digits_cnn, LAYER, k=1).fit(images[:10])
    assert deep.meta["receptive_field"] == [8, 8] and deep.meta["stride"] == [2, 2]
    shallow = bx.TopActivations(digits_cnn, CONV1, k=1).fit(images[:10])
    assert shallow.meta["receptive_field"] == [3, 3] and shallow.meta["stride"] == [1, 1]
    field = receptive_field(GraphIndex(digits_cnn), LAYER, 2)
    assert field.start == (-3, -3) and field.stop == (5, 5)


def test_dense_layers_have_top_inputs_but_no_patches(digits_cnn, digits_images):
    images, _ = digits_images
    with pytest.raises(ValueError, match="without spatial axes, so its units have no"):
        bx.TopActivations(digits_cnn, "/head/Gemm_output_0")
    result = bx.TopActivations(digits_cnn, "/head/Gemm_output_0", patches=False, k=3).fit(
        images[:300]
    )
    logits = digits_cnn(images[:300])
    np.testing.assert_array_equal(result.indices[7], np.argsort(-logits[:, 7], kind="stable")[:3])
    assert result.boxes is None and result.patches is None
    with pytest.raises(ValueError, match="'/head/Gem' is neither"):
        bx.TopActivations(digits_cnn, "/head/Gem")


def test_feature_space_neighbours_and_map(digits_cnn, digits_images):
    images, labels = digits_images
    space = bx.FeatureSpace(digits_cnn, "/ReduceMean_output_0").fit(images[:200])
    distances, indices = space.neighbors(images[:5], n_neighbors=3)
    np.testing.assert_array_equal(indices[:, 0], np.arange(5))  # each is its own nearest
    np.testing.assert_allclose(distances[:, 0], 0.0, atol=1e-6)
    features = space.features_
    brute = np.linalg.norm(features[:5, None] - features[None], axis=2)
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :3], rtol=1e-6, atol=1e-6)
    # neighbours in the last hidden layer mostly share the label
    _, near = space.neighbors(images[:200], n_neighbors=2)
    assert (labels[near[:, 1]] == labels[:200]).mean() > 0.8
    small = bx.FeatureSpace(digits_cnn, "/ReduceMean_output_0").fit(images[:40])
    coords = small.embed(perplexity=10, max_iter=500, seed=0)
    assert coords.shape == (40, 2)
    assert trustworthiness(small.features_, coords, n_neighbors=5) > 0.9
    np.testing.assert_array_equal(coords, small.embed(perplexity=10, max_iter=500, seed=0))


def test_batches_stay_within_the_memory_budget(digits_cnn, digits_images):
    from blackbox_xai.explainers.concepts._network import Network

    images = digits_images[0][:100]
    network = Network(digits_cnn)
    assert [len(b) for b in network.batches(images)] == [100]  # 256 rows at most
    # 1/16 MiB: its model-input share (8 KiB) holds 16 rows of 64 float64 pixels
    with bx.config_context(memory_budget_mb=1 / 16):
        sizes = [len(b) for b in network.batches(images)]
        assert sizes == [16] * 6 + [4]
        layer = network.resolve("/features/features.1/Relu")
        batched = network.activations(images, layer)
    np.testing.assert_allclose(batched, network.activations(images, layer), rtol=1e-6, atol=1e-7)
    assert [len(b) for b in Network(digits_cnn, batch_size=30).batches(images)] == [30] * 3 + [10]
    with pytest.raises(ValueError, match="batch_size must be a positive integer or None"):
        Network(digits_cnn, batch_size=0)

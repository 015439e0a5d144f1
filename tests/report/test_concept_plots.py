"""Figures of the concept tools: what each draws, and errors for what it cannot."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.report import concepts as plots
from blackbox_xai.results import TcavResult, TopActivationsResult


def _tcav_result():
    scores = np.array([[1.0, 1.0, 1.0], [0.2, 0.7, 0.4]])
    return TcavResult(
        concepts=["striped", "dotted"],
        layer="relu3",
        target=4,
        scores=scores,
        magnitudes=scores,
        random_scores=np.array([0.3, 0.6, 0.5]),
        random_magnitudes=np.array([0.3, 0.6, 0.5]),
        p_values=np.array([0.001, 0.6]),
        alpha=0.05,
        cavs=np.zeros((2, 3, 5)),
    )


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_tcav_plot_marks_significance():
    fig = plots.plot_tcav(_tcav_result())
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, [1.0, 13 / 30])
    assert [bar.get_hatch() for bar in ax.patches] == [None, "//"]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["p=0.001", "p=0.6\nnot significant"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["striped", "dotted"]
    assert _png(fig).startswith(b"\x89PNG")
    assert len(_tcav_result().plot().axes[0].patches) == 2  # the result draws itself


def test_image_grids_and_feature_maps():
    rng = np.random.default_rng(0)
    fig = plots.plot_images(rng.random((5, 1, 8, 8)), titles=list("abcde"), n_cols=3)
    assert len(fig.axes) == 6 and [a.get_title() for a in fig.axes[:5]] == list("abcde")
    rgb = plots.as_displayable(rng.random((3, 4, 6)) * 10)
    assert rgb.shape == (4, 6, 3) and rgb.min() == 0 and rgb.max() == 1
    maps = plots.plot_layer_activations(rng.random((12, 4, 4)), max_maps=10)
    assert sum(1 for a in maps.axes if a.images) == 10
    with pytest.raises(ValueError, match=r"one input's maps \(C, H, W\)"):
        plots.plot_layer_activations(rng.random((2, 12, 4, 4)))
    with pytest.raises(ValueError, match="got 2 titles for 5 images"):
        plots.plot_images(rng.random((5, 8, 8)), titles=["a", "b"])


def test_top_patches_and_2d_map():
    patches = [[np.ones((1, 3, 3)), np.zeros((1, 2, 3))] for _ in range(3)]
    result = TopActivationsResult(
        layer="conv", indices=np.zeros((3, 2), int), values=np.ones((3, 2)), patches=patches
    )
    fig = plots.plot_top_activations(result, units=[0, 2])
    assert sum(1 for a in fig.axes if a.images) == 4
    assert sum(1 for a in result.plot().axes if a.images) == 6
    with pytest.raises(ValueError, match="has no patches"):
        plots.plot_top_activations(
            TopActivationsResult("fc", np.zeros((2, 1), int), np.ones((2, 1)))
        )
    coords = np.random.default_rng(1).standard_normal((6, 2))
    fig = plots.plot_feature_map(coords, thumbnails=np.ones((6, 1, 8, 8)), labels=np.arange(6))
    assert len(fig.axes[0].artists) == 6
    with pytest.raises(ValueError, match=r"coords must be \(n, 2\)"):
        plots.plot_feature_map(coords[:, :1])


def test_feature_visualization_figure(digits_cnn_for_plots):
    result = bx.FeatureVisualization(
        digits_cnn_for_plots, ("class", 7), n_steps=5, seed=0
    ).visualize(n=2)
    fig = plots.plot_feature_visualization(result)
    assert [a.get_title() for a in fig.axes] == [f"{v:.3g}" for v in result.values]
    assert [a.get_title() for a in result.plot().axes] == [f"{v:.3g}" for v in result.values]


@pytest.fixture
def digits_cnn_for_plots():
    path = Path(__file__).resolve().parents[1] / "explainers" / "gradients" / "fixtures"
    return bx.DifferentiableOnnxModel(path / "gap_cnn.onnx", output="logits")

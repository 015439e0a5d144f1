"""Image explanations rendered: overlays, top superpixels, side by side, escaped, in a browser."""

from __future__ import annotations

import base64
from typing import Any

import matplotlib
import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.report import html_page
from blackbox_xai.report.image import display_image, image_explanation_html, top_segments

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def explained() -> tuple[bx.Explanation, bx.Explanation]:
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16, 3))
    f = lambda X: X[:, :8, :8].mean(axis=(1, 2, 3))  # noqa: E731
    masker = bx.maskers.Image("grid", fill=0.0, n_rows=2, n_cols=2)
    shap = bx.ExactShapley(f, masker).explain(images)
    occ = bx.Occlusion(f, masker, window=4).explain(images)
    return shap, occ


def test_display_image_scales_to_unit_rgb() -> None:
    e = bx.Occlusion(lambda X: X.sum(axis=(1, 2)), bx.maskers.Image(fill=0.0), window=2).explain(
        np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    )
    shown = display_image(e, 0)
    assert shown.shape == (4, 4, 3)
    np.testing.assert_allclose(shown[0, 1], 16 / 255)


def test_top_segments_are_the_largest_values(explained) -> None:
    shap, _ = explained
    assert top_segments(shap, 0, None, 1).tolist() == [0]  # the quadrant's cell


def test_html_embeds_png_overlays_side_by_side(explained) -> None:
    shap, occ = explained
    page = image_explanation_html([shap, occ])
    # One row per image: the image, SHAP's map and top superpixels, occlusion's map.
    assert page.count("<tr>") == 2 and page.count("<img ") == 8
    uris = [part.split("'")[0] for part in page.split("src='data:image/png;base64,")[1:]]
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    assert "http" not in page
    assert shap.to_html().count("<img ") == 6


def test_strings_are_escaped(explained) -> None:
    shap, _ = explained
    odd = bx.Explanation(
        shap.values,
        shap.base_values,
        data=shap.data,
        output_names=["<b>cat</b>"],
        method="<script>x</script>",
        meta=shap.meta,
    )
    page = odd.to_html()
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;cat&lt;/b&gt;" in page


def test_plot_draws_the_overlay_with_a_colour_bar(explained) -> None:
    shap, occ = explained
    ax = occ.plot(row=1)
    assert len(ax.figure.axes) == 2  # the map and its colour bar
    heat = ax.images[1].get_array()
    np.testing.assert_array_equal(heat, occ.pixel_map(1))
    lo, hi = ax.images[1].get_clim()
    assert lo == -hi == -np.abs(occ.pixel_map(1)).max()
    np.testing.assert_array_equal(shap.plot().images[1].get_array(), shap.pixel_map(0))


def test_pixel_map_needs_an_image_explanation() -> None:
    e = bx.ExactShapley(lambda A: A.sum(1), np.zeros((1, 2))).explain(np.ones((1, 2)))
    with pytest.raises(ValueError, match="pixel_map needs an image explanation"):
        e.pixel_map()
    with pytest.raises(ValueError, match="is not an image explanation"):
        image_explanation_html([e])


def test_json_round_trip_keeps_the_pixel_map(explained, tmp_path) -> None:
    shap, occ = explained
    back = bx.Explanation.from_json(shap.to_json())
    np.testing.assert_array_equal(back.pixel_map(1), shap.pixel_map(1))
    occ.save(tmp_path / "occ.npz")
    np.testing.assert_array_equal(
        bx.Explanation.load(tmp_path / "occ.npz").pixel_map(0), occ.pixel_map(0)
    )


def test_renders_in_a_browser(explained, render_html: Any) -> None:
    shap, occ = explained
    page = render_html(html_page("images", [image_explanation_html([shap, occ])]))
    assert page.errors == []
    widths = page.page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 8 and min(widths) > 50


def test_views_show_each_images_own_class_by_default() -> None:
    # Two classes: "left" wins on image 0, "right" on image 1. Shapley views show the
    # predicted class (as print and to_html do), targeted ones their target, and side
    # by side every panel of an image shows the first explanation's class.
    images = np.zeros((2, 8, 8, 3))
    images[0, :, :4], images[1, :, 4:] = 1.0, 1.0

    def f(X):
        left, right = X[:, :, :4].mean(axis=(1, 2, 3)), X[:, :, 4:].mean(axis=(1, 2, 3))
        return np.stack([left, right], axis=1)

    masker = bx.maskers.Image("grid", fill=0.0, n_rows=2, n_cols=2)
    shap = bx.ExactShapley(lambda X: f(X), masker).explain(images)
    shap.output_names = ["left", "right"]
    assert shap.shown_outputs() == ([0, 1], "predicted")
    assert shap.plot(row=0).get_title() == "exact_shapley: left"
    assert shap.plot(row=1).get_title() == "exact_shapley: right"
    assert shap.plot(row=0, output="right").get_title() == "exact_shapley: right"
    occ = bx.Occlusion(lambda X: f(X), masker, window=4).explain(images)
    occ.output_names = ["left", "right"]
    page = image_explanation_html([shap, occ])
    assert page.count("exact_shapley → left") == 1 and page.count("occlusion → left") == 1
    assert page.count("exact_shapley → right") == 1 and page.count("occlusion → right") == 1
    section = shap.to_html()  # the report section: each image's own class too
    assert "each row&#x27;s predicted class" in section or "each row's predicted class" in section
    assert "exact_shapley → left" in section and "exact_shapley → right" in section
    targeted = bx.Occlusion(lambda X: f(X), masker, window=4).explain(images, target=1)
    with pytest.raises(ValueError, match="'occlusion' has no output 'left'"):
        image_explanation_html([shap, targeted], output="left")

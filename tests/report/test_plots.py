"""The figures draw what the explanation holds: bar ends, dot positions, colours, texts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.colors import to_rgba

import blackbox_xai as bx
from blackbox_xai.report import _palette, plots

W = np.array([3.0, -2.0, 0.5, 1.0, -0.25])


def _linear(X: np.ndarray) -> np.ndarray:
    return (np.asarray(X) @ W)[:, None]


@pytest.fixture(scope="module")
def background() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (30, 5))


@pytest.fixture(scope="module")
def exact(background: np.ndarray) -> bx.Explanation:
    """Exact Shapley values of a linear model: ``w_j (x_j - mean_j)``."""
    X = np.random.default_rng(1).uniform(-1, 1, (12, 5))
    return bx.ExactShapley(_linear, bx.Tabular(background)).explain(X)


@pytest.fixture(scope="module")
def kernel(background: np.ndarray) -> bx.Explanation:
    def curved(X: np.ndarray) -> np.ndarray:
        return (np.tanh(X @ W) + 0.3 * X[:, 0] * X[:, 1])[:, None]

    X = np.random.default_rng(2).uniform(-1, 1, (3, 5))
    return bx.KernelShap(curved, bx.Tabular(background), seed=0).explain(X, n_evals=24)


def _bars(fig) -> list:
    return list(fig.axes[0].patches)


def test_waterfall_runs_from_the_base_value_to_the_prediction(exact, background):
    fig = plots.waterfall(exact, row=1, max_features=3)
    bars = _bars(fig)  # bottom to top: the grouped features, then the largest two
    phi = W * (exact.data[1] - background.mean(axis=0))
    np.testing.assert_allclose(exact.values[1, :, 0], phi, atol=1e-12)
    order = np.argsort(-np.abs(phi))
    widths = [b.get_width() for b in bars]
    np.testing.assert_allclose(widths, [phi[order[2:]].sum(), phi[order[1]], phi[order[0]]])
    base = exact.base_values[1, 0]
    assert bars[0].get_x() == pytest.approx(base)
    end = bars[-1].get_x() + bars[-1].get_width()
    assert end == pytest.approx(_linear(exact.data[1:2])[0, 0])
    for below, above in itertools.pairwise(bars):  # each bar starts where one ends
        assert above.get_x() == pytest.approx(below.get_x() + below.get_width())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "other 3 features"
    assert labels[-1] == f"x{order[0]} = {exact.data[1, order[0]]:.4g}"
    assert to_rgba(bars[0].get_facecolor()) == to_rgba(_palette.NEUTRAL)
    top = phi[order[0]]
    assert to_rgba(bars[-1].get_facecolor()) == to_rgba(_palette.signed(top))


def test_waterfall_whiskers_are_one_standard_error(kernel):
    fig = plots.waterfall(kernel, row=0, max_features=5)
    (container,) = [c for c in fig.axes[0].containers if hasattr(c, "has_xerr")]
    segments = container.lines[2][0].get_segments()
    half = [abs(s[1][0] - s[0][0]) / 2 for s in segments]
    order = np.argsort(-np.abs(kernel.values[0, :, 0]))[::-1]
    np.testing.assert_allclose(half, kernel.stderr[0, order, 0])


def test_bar_draws_the_largest_values_with_their_signs(exact):
    fig = plots.bar(exact, row=0, max_features=4)
    v = exact.values[0, :, 0]
    top = np.argsort(-np.abs(v))[:4][::-1]
    np.testing.assert_allclose([b.get_width() for b in _bars(fig)], v[top])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [f"x{j}" for j in top]
    colours = [to_rgba(b.get_facecolor()) for b in _bars(fig)]
    assert colours == [to_rgba(_palette.signed(x)) for x in v[top]]


def test_beeswarm_places_each_dot_at_its_value_coloured_by_rank(exact):
    fig = plots.beeswarm(exact, max_features=5)
    ax = fig.axes[0]
    order = np.argsort(-np.abs(exact.values[:, :, 0]).mean(axis=0))[::-1]
    for line, (points, j) in enumerate(zip(ax.collections, order, strict=True)):
        xy = points.get_offsets()
        np.testing.assert_allclose(xy[:, 0], exact.values[:, j, 0])
        assert np.all(np.abs(xy[:, 1] - line) <= 0.4 + 1e-12)
        ranks = np.argsort(np.argsort(exact.data[:, j])) / (len(exact) - 1)
        np.testing.assert_allclose(points.get_array(), ranks)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"x{j}" for j in order]


def test_importance_is_the_mean_absolute_value_with_its_quartiles(exact):
    fig = plots.importance(exact)
    magnitude = np.abs(exact.values[:, :, 0])
    order = np.argsort(-magnitude.mean(axis=0))[::-1]
    widths = [b.get_width() for b in _bars(fig)]
    np.testing.assert_allclose(widths, magnitude.mean(axis=0)[order])
    (container,) = fig.axes[0].containers[1:]
    segments = container.lines[2][0].get_segments()
    q25, q75 = np.percentile(magnitude[:, order], [25, 75], axis=0)
    np.testing.assert_allclose([s[0][0] for s in segments], np.minimum(q25, widths))
    np.testing.assert_allclose([s[1][0] for s in segments], np.maximum(q75, widths))


def test_dependence_is_coloured_by_the_planted_interaction():
    rng = np.random.default_rng(3)
    background = rng.uniform(-1, 1, (40, 4))

    def f(X: np.ndarray) -> np.ndarray:
        return (X[:, 0] * X[:, 2] + X[:, 1])[:, None]

    X = rng.uniform(-1, 1, (80, 4))
    expl = bx.ExactShapley(f, bx.Tabular(background)).explain(X)
    assert plots.strongest_interaction(expl, 0) == 2
    assert plots.strongest_interaction(expl, "x2") == 0
    fig = plots.dependence(expl, "x0")
    points = fig.axes[0].collections[0]
    np.testing.assert_allclose(points.get_offsets(), np.c_[X[:, 0], expl.values[:, 0, 0]])
    assert fig.axes[1].get_ylabel() == "x2 (rank)"  # the colour bar names the interaction
    plain = plots.dependence(expl, 1, interaction=None)
    assert len(plain.axes) == 1


def test_figures_refuse_what_they_cannot_draw(exact):
    image = bx.Explanation(np.zeros((2, 4, 4, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"waterfall needs 1-D features.*use image_maps"):
        plots.waterfall(image)
    no_data = bx.Explanation(exact.values, exact.base_values)
    with pytest.raises(ValueError, match=r"needs the explained rows' feature values"):
        plots.dependence(no_data, 0)
    with pytest.raises(ValueError, match="unknown feature 'z'"):
        plots.dependence(exact, "z")
    with pytest.raises(ValueError, match="row must be an integer index below 12"):
        plots.bar(exact, row=12)
    with pytest.raises(ValueError, match="max_features must be a positive integer"):
        plots.waterfall(exact, max_features=0)
    with pytest.raises(ValueError, match="fmt must be 'svg' or 'png'"):
        plots.to_data_uri(plots.bar(exact), "gif")


def test_names_are_drawn_as_written_not_as_mathtext(exact):
    odd = r"$\frac$ & <b>"  # mathtext would fail on it
    named = bx.Explanation(
        exact.values, exact.base_values, data=exact.data, feature_names=[odd, "a", "b", "c", "d"]
    )
    for draw in (plots.bar, plots.waterfall, plots.beeswarm, plots.importance):
        fig = draw(named, max_features=5)
        assert odd in [t.get_text().split(" = ")[0] for t in fig.axes[0].get_yticklabels()]
        assert plots.to_data_uri(fig).startswith("data:image/svg+xml;base64,")


def test_anchor_card_shows_rule_precision_and_coverage():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (300, 3))

    def step(A: np.ndarray) -> np.ndarray:
        p = (np.asarray(A)[:, 0] > 0).astype(float)
        return np.c_[1 - p, p]

    anchor = bx.Anchors(step, X, seed=0).explain(np.array([0.5, 0.0, 0.0]))
    fig = plots.anchor_card(anchor)
    text = fig.axes[0].texts[0].get_text()
    assert text.startswith(f"IF {anchor.rule[0]}") and text.endswith("THEN the model predicts 1")
    widths = sorted(b.get_width() for b in fig.axes[1].patches)
    np.testing.assert_allclose(widths, sorted([anchor.precision, anchor.coverage]))
    labels = " ".join(t.get_text() for t in fig.axes[1].get_yticklabels())
    assert f"precision {anchor.precision:.3f}" in labels
    assert f"coverage {anchor.coverage:.3f}" in labels


def test_surrogate_tree_names_its_splits_and_its_held_out_fidelity(background):
    surrogate = bx.GlobalSurrogate(_linear, kind="tree", max_depth=2).fit(background[:20])
    fidelity = surrogate.fidelity(background[20:])
    fig = plots.surrogate_tree(surrogate, fidelity)
    title = fig.axes[0].get_title()
    assert f"r2 {fidelity.held_out['r2']:.3f} held-out" in title
    root = surrogate.estimator_.tree_.feature[0]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert (
        any(t.startswith(f"x{root} <= ") for t in texts) and len(texts) == 7 + 2
    )  # 7 nodes, "True" and "False"
    in_sample = plots.surrogate_tree(surrogate).axes[0].get_title()
    assert "in-sample only" in in_sample
    with pytest.raises(ValueError, match="call surrogate.fit"):
        plots.surrogate_tree(bx.GlobalSurrogate(_linear))


def test_text_highlight_colours_each_token_as_the_html_does():
    def model(docs: list[str]) -> np.ndarray:
        score = np.array([d.count("good") - d.count("dull") for d in docs], float)
        return np.c_[-score, score]

    text = "a good film,\nbut dull and long"
    expl = bx.ExactShapley(model, bx.maskers.Text()).explain(text)
    fig = plots.text_highlight(expl, output=1, width=10)
    ax = fig.axes[0]
    words = [t.get_text() for t in ax.texts]
    assert words == ["a", "good", "film", ",", "but", "dull", "and", "long"]
    # Lines break at spaces within 10 characters, and at the newline.
    assert [round(t.get_position()[1]) for t in ax.texts] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [t.get_position()[0] for t in ax.texts] == [0, 2, 0, 4, 0, 4, 0, 4]
    good, dull = (to_rgba(p.get_facecolor()) for p in ax.patches)
    assert good == to_rgba(_palette.POSITIVE, 0.85) and dull == to_rgba(_palette.NEGATIVE, 0.85)
    with pytest.raises(ValueError, match="needs a text explanation"):
        plots.text_highlight(bx.Explanation(np.zeros((1, 2, 1)), np.zeros((1, 1))))


def test_image_maps_show_the_channel_sums():
    values = np.random.default_rng(5).standard_normal((3, 3, 6, 6, 1))
    images = np.random.default_rng(6).uniform(size=(3, 3, 6, 6))
    expl = bx.Explanation(values, np.zeros((3, 1)), data=images, method="saliency")
    fig = plots.image_maps(expl, max_rows=2)
    shown = [im.get_array() for ax in fig.axes[:4] for im in ax.images]
    np.testing.assert_allclose(shown[2], values[0, ..., 0].sum(axis=0))  # row 0's map
    np.testing.assert_allclose(shown[0], images[0].mean(axis=0))


@pytest.mark.parametrize(
    "draw",
    [
        lambda e: plots.waterfall(e, 2),
        lambda e: plots.bar(e, 1),
        plots.beeswarm,
        plots.importance,
        lambda e: plots.dependence(e, 0),
    ],
)
def test_a_figure_is_reproduced_from_the_saved_explanation(exact, draw):
    again = bx.Explanation.from_json(exact.to_json())
    assert plots.to_data_uri(draw(exact)) == plots.to_data_uri(draw(again))


def test_text_and_image_figures_are_reproduced_from_the_saved_explanation():
    def model(docs: list[str]) -> np.ndarray:
        score = np.array([d.count("good") - d.count("dull") for d in docs], float)
        return np.c_[-score, score]

    text = bx.ExactShapley(model, bx.maskers.Text()).explain(["good, not dull", "dull"])
    again = bx.Explanation.from_json(text.to_json())
    for row in (0, 1):
        first = plots.to_data_uri(plots.text_highlight(text, row, 1))
        assert first == plots.to_data_uri(plots.text_highlight(again, row, 1))
    rng = np.random.default_rng(7)
    image = bx.Explanation(
        rng.standard_normal((2, 4, 4, 1)), np.zeros((2, 1)), data=rng.uniform(size=(2, 1, 4, 4))
    )
    again = bx.Explanation.from_json(image.to_json())
    assert plots.to_data_uri(plots.image_maps(image)) == plots.to_data_uri(plots.image_maps(again))


def test_signed_colours_stay_apart_under_colour_vision_deficiencies():
    """The two signed colours, simulated for protanopia, deuteranopia and tritanopia
    (Machado, Oliveira & Fernandes 2009, severity 1, applied to linear RGB), remain far
    apart in CIELAB (Delta E 1976 above 20: clearly different at a glance)."""
    skimage_color = pytest.importorskip("skimage.color")
    machado = {
        "protanopia": [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ],
        "deuteranopia": [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ],
        "tritanopia": [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ],
    }

    def linear(rgb):
        c = np.asarray(rgb, float) / 255
        return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)

    def srgb(lin):
        lin = np.clip(lin, 0, 1)
        return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)

    assert to_rgba(_palette.POSITIVE)[:3] == pytest.approx(np.divide(_palette.POSITIVE_RGB, 255))
    assert to_rgba(_palette.NEGATIVE)[:3] == pytest.approx(np.divide(_palette.NEGATIVE_RGB, 255))
    pair = np.stack([linear(_palette.POSITIVE_RGB), linear(_palette.NEGATIVE_RGB)])
    distances = {}
    for name, matrix in {"normal": np.eye(3), **machado}.items():
        seen = srgb(pair @ np.asarray(matrix).T)
        lab = skimage_color.rgb2lab(seen[None])[0]
        distances[name] = float(np.linalg.norm(lab[0] - lab[1]))
    assert min(distances.values()) > 20, distances
    # A red/green pair, which these deficiencies confuse, fails the same check.
    bad = np.stack([linear((200, 60, 40)), linear((60, 140, 40))])
    seen = srgb(bad @ np.asarray(machado["deuteranopia"]).T)
    lab = skimage_color.rgb2lab(seen[None])[0]
    assert np.linalg.norm(lab[0] - lab[1]) < 20

"""Faithfulness metrics: exact curves where theory gives them, Shapley optimality, the
three data kinds, batching and the messages for bad input."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

import blackbox_xai as bx
from blackbox_xai.metrics import (
    ImagePerturbation,
    completeness,
    deletion_curve,
    faithfulness_correlation,
    infidelity,
    insertion_curve,
)

FIXTURES = Path(__file__).resolve().parents[1] / "explainers" / "gradients" / "fixtures"
W = np.array([3.0, -1.0, 2.0, 0.5])


def linear(X):
    # Column by column, not ``X @ W``: BLAS's matrix-vector product may round a row
    # differently with the number of rows, and the tests compare rows bit for bit.
    X = np.asarray(X)
    return sum(X[:, j] * w for j, w in enumerate(W))


@pytest.fixture(scope="module")
def forest():
    X, y = make_classification(300, 8, n_informative=4, random_state=0)
    return RandomForestClassifier(30, random_state=0).fit(X, y), X


# -- exact values -------------------------------------------------------------------------
def test_deletion_curve_of_a_linear_model_is_the_sum_of_the_remaining_terms():
    x = np.array([[1.0, 2.0, -1.0, 4.0], [2.0, 1.0, 1.0, -2.0]])
    phi = x * W  # exact Shapley values against a zero background
    model = bx.wrap(linear)
    curve = deletion_curve(model, x, phi, np.zeros((1, 4)))
    order = np.argsort(-phi, axis=1, kind="stable")
    expected = np.array([[phi[i, order[i, t:]].sum() for t in range(5)] for i in range(2)])
    np.testing.assert_allclose(curve.values, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(curve.fractions, np.arange(5) / 4)
    trapezoid = ((expected[:, 1:] + expected[:, :-1]) / 8).sum(axis=1)
    np.testing.assert_allclose(curve.auc, trapezoid, atol=1e-12)
    # all steps of all rows in one call: 2 rows x 5 steps
    assert (curve.n_model_calls, curve.n_model_rows) == (1, 10)
    lerf = deletion_curve(model, x, phi, np.zeros((1, 4)), order="lerf")
    np.testing.assert_allclose(
        lerf.values, [[phi[i, order[i, : 4 - t]].sum() for t in range(5)] for i in range(2)]
    )
    inserted = insertion_curve(model, x, phi, np.zeros((1, 4)))
    np.testing.assert_allclose(inserted.values, expected[:, [0]] - expected, atol=1e-12)


def test_n_steps_takes_the_first_floor_t_d_over_steps_players():
    x = np.ones((1, 4))
    curve = deletion_curve(linear, x, W[None], np.zeros((1, 4)), n_steps=3)
    # players in order 0 (3), 2 (2), 3 (0.5), 1 (-1); steps remove 0, 1, 2, 4 of them
    np.testing.assert_allclose(curve.values, [[4.5, 1.5, -0.5, 0.0]])


def test_deletion_auc_of_exact_shapley_beats_random_rankings_on_a_forest(forest):
    rf, X = forest
    masker = bx.Tabular(X[:10])
    rows = X[100:110]
    exact = bx.ExactShapley(rf, masker).explain(rows)
    shapley_del = deletion_curve(rf, rows, exact, masker).mean_auc
    shapley_ins = insertion_curve(rf, rows, exact, masker).mean_auc
    rng = np.random.default_rng(0)
    for _ in range(5):
        ranking = rng.standard_normal((10, 8))
        assert shapley_del < deletion_curve(rf, rows, ranking, masker, target=1).mean_auc - 0.05
        assert shapley_ins > insertion_curve(rf, rows, ranking, masker, target=1).mean_auc + 0.05


def test_infidelity_is_zero_for_exact_shapley_of_a_linear_model_under_subsets():
    rng = np.random.default_rng(1)
    background, x = rng.standard_normal((5, 4)), rng.standard_normal((6, 4))
    masker = bx.Tabular(background)
    exact = bx.ExactShapley(linear, masker).explain(x)
    np.testing.assert_allclose(infidelity(linear, x, exact, masker), 0, atol=1e-25)
    wrong = exact.values[..., 0] * np.array([1.0, 1.0, 1.0, 0.5])
    assert (infidelity(linear, x, wrong, masker) > 1e-5).all()
    # the input-space version: the gradient of a linear model has infidelity 0
    gaussian = infidelity(linear, x, np.tile(W, (6, 1)), perturbation="gaussian")
    np.testing.assert_allclose(gaussian, 0, atol=1e-25)
    scaled = infidelity(
        linear, x, np.tile(W, (6, 1)), perturbation=lambda x, rng, m: np.full((m, 4), 0.1)
    )
    np.testing.assert_allclose(scaled, 0, atol=1e-25)


def test_faithfulness_correlation_of_exact_shapley_on_a_linear_model_is_one():
    rng = np.random.default_rng(2)
    background, x = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    masker = bx.Tabular(background)
    exact = bx.ExactShapley(linear, masker).explain(x)
    np.testing.assert_allclose(faithfulness_correlation(linear, x, exact, masker), 1, rtol=1e-12)
    # the same subsets whatever the rows after it: one seed stream per row position
    # (noisy attributions, whose correlation depends on the subsets drawn)
    noisy = exact.values[..., 0] + rng.standard_normal((4, 4))
    alone = faithfulness_correlation(linear, x[:1], noisy[:1], masker, subset_size=2, seed=0)
    both = faithfulness_correlation(linear, x, noisy, masker, subset_size=2, seed=0)
    other = faithfulness_correlation(linear, x, noisy, masker, subset_size=2, seed=1)
    assert alone[0] == both[0] != other[0]
    assert np.all(both < 0.99)
    reversed_ranks = faithfulness_correlation(linear, x, -exact.values[..., 0], masker)
    np.testing.assert_allclose(reversed_ranks, -1, rtol=1e-12)


def test_completeness_is_zero_for_exact_shapley_and_small_for_integrated_gradients(forest):
    rf, X = forest
    exact = bx.ExactShapley(rf, X[:10]).explain(X[50:55])
    np.testing.assert_allclose(completeness(rf, X[50:55], exact), 0, atol=1e-12)
    data = np.load(FIXTURES / "smooth_cnn.npz")
    model = bx.DifferentiableOnnxModel(FIXTURES / "smooth_cnn.onnx", output="logits")
    ig = bx.IntegratedGradients(model, n_steps=64).explain(data["x"], data["target"])
    relative = completeness(model, data["x"], ig, relative=True)
    assert (relative < 1e-3).all(), relative
    np.testing.assert_allclose(
        completeness(model, data["x"], ig), np.abs(ig.meta["completeness_delta"]), atol=1e-6
    )


# -- text and images ----------------------------------------------------------------------
def score_words(docs):
    return np.array([[d.count("good") - d.count("bad"), len(d.split())] for d in docs], float)


def test_text_deletion_removes_tokens_in_order_in_one_call():
    docs = ["good good bad day", "bad film"]
    masker = bx.maskers.Text()
    explanation = bx.ExactShapley(score_words, masker).explain(docs)
    model = bx.wrap(score_words)
    curve = deletion_curve(model, docs, explanation, masker, output=0, n_steps=2)
    # doc 0: values good 1, good 1, bad -1, day 0 -> removes "good good", then the rest
    np.testing.assert_array_equal(curve.values, [[1.0, -1.0, 0.0], [-1.0, -1.0, 0.0]])
    assert curve.n_model_calls == 1
    default = deletion_curve(model, docs, explanation, output=0)  # Text() by default
    assert default.values.shape == (2, 5)


def pixel_sum(images):
    return np.asarray(images).reshape(len(images), -1).sum(axis=1, keepdims=True)


def test_image_pixels_and_superpixels_go_to_the_fill():
    rng = np.random.default_rng(3)
    images = rng.random((2, 1, 4, 4))
    model = bx.wrap(pixel_sum)
    curve = deletion_curve(
        model, images, images, ImagePerturbation(channel_axis=0, fill=0.5), n_steps=16
    )
    for i in range(2):
        kept = np.sort(images[i].ravel())  # largest removed first -> smallest kept
        expected = [kept[: 16 - t].sum() + 0.5 * t for t in range(17)]
        np.testing.assert_allclose(curve.values[i], expected, atol=1e-12)
    segments = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 2, 0), 2, 1)  # 2x2 blocks
    blocks = deletion_curve(
        model, images, images, ImagePerturbation(channel_axis=0, segments=segments)
    )
    sums = np.array([[im[0][segments == s].sum() for s in range(4)] for im in images])
    expected = sums.sum(1, keepdims=True) - np.concatenate(
        [np.zeros((2, 1)), np.cumsum(-np.sort(-sums, axis=1), axis=1)], axis=1
    )
    np.testing.assert_allclose(blocks.values, expected, atol=1e-12)
    mean = deletion_curve(model, images, images, ImagePerturbation(channel_axis=0, fill="mean"))
    np.testing.assert_allclose(mean.values[:, -1], images.sum(axis=(1, 2, 3)), atol=1e-12)
    blur = insertion_curve(
        model, images, images, ImagePerturbation(channel_axis=0, fill="blur", sigma=1.0)
    )
    from scipy.ndimage import gaussian_filter

    np.testing.assert_allclose(
        blur.values[:, 0],
        [gaussian_filter(im, sigma=[0, 1, 1], mode="nearest").sum() for im in images],
    )
    per_channel = ImagePerturbation(channel_axis=0, fill=np.array([1.0, 2.0]).reshape(2, 1, 1))
    rgb = np.concatenate([images, images], axis=1)  # (2, 2, 4, 4): a pixel is both channels
    gone = deletion_curve(model, rgb, rgb, per_channel)
    np.testing.assert_allclose(gone.values[:, -1], 3.0 * 16)
    channels_last = ImagePerturbation(fill=0.0, channel_axis=-1)
    hwc = deletion_curve(model, images.transpose(0, 2, 3, 1), images[:, 0], channels_last)
    chw = deletion_curve(model, images, images, ImagePerturbation(channel_axis=0, fill=0.0))
    np.testing.assert_allclose(hwc.values, chw.values, atol=1e-12)


def test_image_channels_are_found_as_the_image_masker_finds_them():
    rng = np.random.default_rng(5)
    hwc = rng.random((2, 5, 5, 3))
    model = bx.wrap(pixel_sum)
    auto = deletion_curve(model, hwc, hwc[..., 0], ImagePerturbation())
    last = deletion_curve(model, hwc, hwc[..., 0], ImagePerturbation(channel_axis=-1))
    np.testing.assert_array_equal(auto.values, last.values)
    assert auto.values.shape == (2, 26)  # 25 pixels (all their channels) per image
    chw = hwc.transpose(0, 3, 1, 2)
    first = deletion_curve(model, chw, hwc[..., 0], ImagePerturbation())
    np.testing.assert_allclose(first.values, auto.values, rtol=1e-12)
    with pytest.raises(ValueError, match="no channel axis of 1, 3 or 4 entries"):
        deletion_curve(model, rng.random((2, 5, 5, 5)), rng.random((2, 5, 5)))


def test_cnn_deletion_tracks_the_explained_class(forest):
    data = np.load(FIXTURES / "gap_cnn.npz")
    model = bx.DifferentiableOnnxModel(FIXTURES / "gap_cnn.onnx", output="logits")
    saliency = bx.GradientXInput(model).explain(data["x"], data["target"])
    curve = deletion_curve(model, data["x"], saliency)
    logits = model(data["x"])
    np.testing.assert_allclose(curve.values[:, 0], logits[np.arange(3), data["target"]], rtol=1e-6)
    assert curve.meta["target"] == data["target"].tolist()
    assert curve.values.shape == (3, 65)


def test_deletion_scores_the_output_a_perturbation_explainer_was_asked_for():
    rng = np.random.default_rng(0)
    X, M = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    f = lambda A: np.asarray(A) @ M  # noqa: E731
    for explainer in (
        bx.Occlusion(f, np.zeros((1, 4))),
        bx.Lime(f, rng.normal(size=(20, 4)), seed=0),
    ):
        e = explainer.explain(X, target=3)
        assert e.meta["target"] == [3, 3, 3]
        curve = deletion_curve(f, X, e, np.zeros((1, 4)))
        assert curve.meta["target"] == [3, 3, 3]
        np.testing.assert_allclose(curve.values[:, 0], f(X)[:, 3], rtol=1e-12)
    assert "target" not in bx.Occlusion(f, np.zeros((1, 4))).explain(X).meta
    g = lambda B: B.reshape(len(B), -1)[:, :3]  # noqa: E731
    rise = bx.Rise(g, bx.maskers.Image(), n_masks=4, seed=0).explain(
        np.ones((2, 4, 4, 3)), target=2
    )
    assert rise.meta["target"] == [2, 2]


# -- declarations and messages -----------------------------------------------------------
def test_each_metric_declares_what_it_applies_to():
    assert deletion_curve.info.higher_is_better is False
    assert insertion_curve.info.higher_is_better is True
    assert infidelity.info.data == ("tabular", "text", "image")
    assert bx.metrics.max_sensitivity.info.reexplains is True
    assert not any(info.needs_gradients for info in bx.metrics.METRICS.values())


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: deletion_curve(linear, np.ones((2, 4)), np.ones((2, 4))),
            ValueError,
            "background",
        ),
        (
            lambda: deletion_curve(
                linear, np.ones((2, 4)), np.ones((2, 4)), np.zeros((1, 4)), order="up"
            ),
            ValueError,
            "order must be one of",
        ),
        (
            lambda: deletion_curve(linear, np.ones((2, 4)), np.ones((3, 4)), np.zeros((1, 4))),
            ValueError,
            "3 rows, X has 2",
        ),
        (
            lambda: deletion_curve(linear, np.ones((2, 4)), np.ones((2, 5)), np.zeros((1, 4))),
            ValueError,
            "explain with the same masker",
        ),
        (
            lambda: deletion_curve(
                pixel_sum, np.ones((1, 1, 2, 2)), np.ones((1, 3)), ImagePerturbation(fill="noise")
            ),
            ValueError,
            "fill must be",
        ),
        (
            lambda: infidelity(linear, np.ones((2, 4)), np.ones((2, 4)), perturbation="uniform"),
            ValueError,
            "perturbation must be one of",
        ),
        (
            lambda: infidelity(linear, np.ones((2, 4)), np.ones((2, 3)), perturbation="gaussian"),
            ValueError,
            "attributions of the input's shape",
        ),
        (lambda: completeness(linear, np.ones((2, 4)), np.ones((2, 4))), TypeError, "Explanation"),
        (
            lambda: deletion_curve(
                linear, np.ones((2, 4)), np.ones((2, 4)), np.zeros((1, 4)), target=7
            ),
            ValueError,
            "out of range",
        ),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_memory_budget_changes_the_calls_not_the_values():
    rng = np.random.default_rng(4)
    images = rng.random((3, 1, 4, 4))
    model = bx.wrap(pixel_sum)
    big = deletion_curve(model, images, images, ImagePerturbation(channel_axis=0))
    small = deletion_curve(
        model, images, images, ImagePerturbation(channel_axis=0, memory_budget_mb=1e-3)
    )
    np.testing.assert_array_equal(big.values, small.values)
    assert big.n_model_calls == 1 and small.n_model_calls == 3 * 17 // 4 + 1
    with bx.config_context(memory_budget_mb=8e-3):  # the shared budget's 1e-3 MiB share
        shared = deletion_curve(model, images, images, ImagePerturbation(channel_axis=0))
    assert shared.n_model_calls == small.n_model_calls
    x, background = rng.standard_normal((5, 4)), rng.standard_normal((6, 4))
    wide = deletion_curve(linear, x, x, bx.Tabular(background))
    narrow = deletion_curve(linear, x, x, bx.Tabular(background, memory_budget_mb=1e-3))
    np.testing.assert_array_equal(wide.values, narrow.values)
    assert wide.n_model_calls == 1 < narrow.n_model_calls


def test_dataframe_trained_models_get_dataframes():
    pandas = pytest.importorskip("pandas")
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(5)
    frame = pandas.DataFrame(rng.standard_normal((30, 4)), columns=list("abcd"))
    fitted = LinearRegression().fit(frame, frame.to_numpy() @ W)
    masker = bx.Tabular(frame.iloc[:5])
    exact = bx.ExactShapley(fitted, masker).explain(frame.iloc[10:13])
    curve = deletion_curve(fitted, frame.iloc[10:13], exact, masker)
    np.testing.assert_allclose(curve.values[:, 0], fitted.predict(frame.iloc[10:13]))
    np.testing.assert_allclose(completeness(fitted, frame.iloc[10:13], exact), 0, atol=1e-12)


def test_an_image_masker_removes_segments_as_the_explainers_did():
    # The masker's own game (segments, fill, layout): the same curves as the equivalent
    # ImagePerturbation, for per-segment values and for per-pixel maps alike.
    rng = np.random.default_rng(4)
    images, weights = rng.random((3, 3, 12, 12)), rng.normal(size=(3 * 12 * 12, 2))

    def model(B):
        return np.asarray(B).reshape(len(B), -1) @ weights

    masker = bx.maskers.Image("grid", fill=0.0, n_rows=3, n_cols=3)
    shapley = bx.ExactShapley(model, masker).explain(images)
    occlusion = bx.Occlusion(model, masker, window=4, stride=4).explain(images)
    segments = np.stack([masker.for_instance(image).segments for image in images])
    spec = bx.metrics.ImagePerturbation(segments=segments, fill=0.0, channel_axis=0)
    for explanation in (shapley, occlusion):
        ours = bx.metrics.deletion_curve(model, images, explanation, masker)
        theirs = bx.metrics.deletion_curve(model, images, explanation, spec)
        np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.auc, theirs.auc, rtol=1e-12)
    # a fill only the masker has
    inpainted = bx.maskers.Image("grid", fill="inpaint", n_rows=3, n_cols=3)
    curve = bx.metrics.insertion_curve(model, images[:1], shapley[0], inpainted)
    assert np.isfinite(curve.auc).all()
    with pytest.raises(ValueError, match="match neither the images"):
        bx.metrics.deletion_curve(model, images, np.ones((3, 5, 5)), masker)


def test_text_curves_build_perturbed_texts_one_call_at_a_time(peak_mib):
    # 65 perturbations of a 1,000-token document hold about 0.35 MB of text; building
    # them all before the first call peaked at 3.0 MiB, a call's worth at 0.35.
    rng = np.random.default_rng(0)
    doc = " ".join(rng.choice("good bad fine awful great plain".split(), 1000))
    values = rng.normal(size=(1, 1000))

    def model(docs):
        return np.array([[d.count("good") - d.count("bad")] for d in docs], dtype=float)

    def curve():
        return bx.metrics.deletion_curve(model, [doc], values, bx.maskers.Text(), n_steps=64)

    with bx.config_context(memory_budget_mb=1):
        assert peak_mib(curve) < 1.0
        calls = bx.wrap(model)
        bx.metrics.deletion_curve(calls, [doc], values, bx.maskers.Text(), n_steps=64)
        assert calls.n_calls > 1  # the budget split the 65 texts into several calls


def test_image_curves_call_the_model_in_whole_runs():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
        "pixel_sum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
        [helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])],
    )
    model = bx.OnnxModel(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), fixed_batch=4
    )
    sizes: list[int] = []
    predict = model._predict
    model._predict = lambda X: (sizes.append(len(X)), predict(X))[1]  # type: ignore[method-assign]
    images = np.random.default_rng(2).random((3, 1, 4, 4)).astype(np.float32)
    # 7 perturbed images fit the budget (16 pixels x 16 bytes each): calls of one run.
    spec = ImagePerturbation(channel_axis=0, fill=0.5, memory_budget_mb=7 * 256 / 2**20)
    curve = deletion_curve(model, images, images, spec, n_steps=16)
    assert sizes[:-1] == [4] * 12 and sizes[-1] == 3  # 3 images x 17 steps
    exact = deletion_curve(bx.wrap(pixel_sum), images, images, spec, n_steps=16)
    np.testing.assert_allclose(curve.values, exact.values, rtol=1e-6)

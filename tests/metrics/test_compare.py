"""``bx.compare``: one table of explainers against metrics, its figure and its messages."""

import numpy as np
import pytest

import blackbox_xai as bx

W = np.array([2.0, -1.0, 0.5])


def linear(X):
    return np.asarray(X) @ W


class Reversed:
    """Exact Shapley values with the sign flipped: the worst ranking there is."""

    def __init__(self, exact):
        self.exact, self.seed, self.model = exact, None, exact.model

    def explain(self, X):
        e = self.exact.explain(X)
        return bx.Explanation(-e.values, e.base_values)


@pytest.fixture(scope="module")
def comparison():
    rng = np.random.default_rng(0)
    background, X = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    model = bx.wrap(linear)
    exact = bx.ExactShapley(model, background)
    return bx.compare(
        {"exact": exact, "reversed": Reversed(exact)},
        model,
        X,
        masker=background,
        metrics=[
            "deletion_auc",
            "insertion_auc",
            "faithfulness_correlation",
            "completeness",
            "stability",
        ],
    )


def test_the_table_ranks_the_exact_values_first(comparison):
    assert comparison.best() == {
        "deletion_auc": "exact",
        "insertion_auc": "exact",
        "faithfulness_correlation": "exact",
        "completeness": "exact",
        "stability": "exact",  # ties go to the first listed
    }
    table = comparison.to_dict()
    assert list(table) == [
        "explainer",
        "time (s)",
        "model evaluations",
        "deletion_auc ↓",
        "insertion_auc ↑",
        "faithfulness_correlation ↑",
        "completeness ↓",
        "stability ↑",
    ]
    # 6 rows x 8 coalitions x 4 background rows, minus the full coalitions' copies
    assert table["model evaluations"] == [6 * 7 * 4 + 6, 6 * 7 * 4 + 6]
    np.testing.assert_allclose(table["faithfulness_correlation ↑"], [1.0, -1.0])
    np.testing.assert_allclose(table["completeness ↓"][0], 0.0, atol=1e-12)
    frame = comparison.to_frame()
    assert list(frame.index) == ["exact", "reversed"]
    assert "deletion_auc ↓" in str(comparison)


def test_the_figure_has_a_panel_per_metric_and_time(comparison):
    import matplotlib

    matplotlib.use("Agg")
    figure = comparison.plot()
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == [comparison.column(m) for m in comparison.metrics] + ["time (s) ↓"]


def test_metrics_that_do_not_apply_are_nan():
    docs = ["good day", "bad day"]
    f = lambda d: np.array([[x.count("good") - x.count("bad")] for x in d], float)  # noqa: E731
    result = bx.compare(
        {"exact": bx.ExactShapley(f, bx.maskers.Text())},
        f,
        docs,
        metrics=["deletion_auc", "max_sensitivity"],
    )
    assert np.isfinite(result.scores[0, 0]) and np.isnan(result.scores[0, 1])


def test_unknown_metrics_and_no_explainers_are_refused():
    with pytest.raises(ValueError, match="unknown metrics \\['speed'\\]"):
        bx.compare({"a": None}, linear, np.ones((1, 3)), metrics=["speed"])
    with pytest.raises(ValueError, match="at least one explainer"):
        bx.compare({}, linear, np.ones((1, 3)))


def test_gradient_explainers_on_images_count_their_gradient_rows():
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "explainers" / "gradients" / "fixtures"
    x = np.load(fixtures / "gap_cnn.npz")["x"]
    model = bx.DifferentiableOnnxModel(fixtures / "gap_cnn.onnx", output="logits")
    saliency = bx.Saliency(model)
    result = bx.compare({"saliency": saliency}, model, x, metrics=["deletion_auc"])
    # one forward row per image (the predicted class) and one gradient row
    assert result.model_rows.tolist() == [6]
    direct = bx.metrics.deletion_curve(model, x, result.explanations["saliency"])
    assert result.scores[0, 0] == direct.mean_auc

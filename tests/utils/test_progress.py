"""``progress=True`` on explain: a tqdm bar over the rows on stderr, values unchanged."""

import re

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.linear_model import LogisticRegression

import blackbox_xai as bx


@pytest.fixture
def updates(monkeypatch):
    """The ``update(n)`` calls every tqdm bar receives, in order."""
    import tqdm

    seen: list[int] = []

    class Recorder(tqdm.tqdm):
        def update(self, n=1):
            seen.append(int(n))
            return super().update(n)

    monkeypatch.setattr(tqdm, "tqdm", Recorder)
    return seen


def _final_count(err: str) -> str:
    """The last ``done/total`` tqdm drew."""
    return re.findall(r"(\d+/\d+) \[", err)[-1]


@pytest.fixture(scope="module")
def model(cancer12):
    X, y = cancer12
    return LogisticRegression(max_iter=5000).fit(X, y), X


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bar_counts_rows_and_changes_no_value(model, n_jobs, capsys):
    clf, X = model
    explainer = bx.KernelShap(clf, X[:20], seed=3, n_jobs=n_jobs)
    with parallel_config(backend="threading"):
        quiet = explainer.explain(X[:7], n_evals=200)
        assert capsys.readouterr().err == ""
        shown = explainer.explain(X[:7], n_evals=200, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rkernel_shap:") and _final_count(err) == "7/7"
    np.testing.assert_array_equal(shown.values, quiet.values)
    np.testing.assert_array_equal(shown.stderr, quiet.stderr)


def test_every_explainer_family_takes_progress(model, capsys):
    clf, X = model
    bx.Lime(clf, X[:50], seed=0).explain(X[:3], n_samples=100, progress=True)
    assert _final_count(capsys.readouterr().err) == "3/3"
    bx.ExactShapley(clf, X[:5]).explain(X[:2], progress=True)
    assert "exact_shapley" in capsys.readouterr().err
    anchors = bx.Anchors(clf, X, seed=0).explain_many(X[:2], progress=True)
    assert len(anchors) == 2 and _final_count(capsys.readouterr().err) == "2/2"


def test_documents_are_counted_once(capsys):
    texts = ["good food", "bad service and slow", "great", "awful food"]

    def predict(docs):
        return np.array([[d.count("good") + d.count("great") + 0.5] for d in docs])

    model = bx.CallableModel(predict, input_kind="text")
    expl = bx.KernelShap(model, bx.maskers.Text(), seed=0).explain(texts, progress=True)
    err = capsys.readouterr().err
    # Each document is its own nested explain; only the outer bar counts, once per document.
    assert _final_count(err) == "4/4" and err.count("kernel_shap:") >= 2
    assert not re.search(r"\b[5-9]/4\b", err) and len(expl) == 4


def test_gradient_bar_counts_rows_as_their_points_finish(capsys, updates):
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from blackbox_xai.models.convert import sklearn_to_onnx

    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    with pytest.warns(Warning):
        mlp.fit(X[:200] / 16, y[:200])
    model = bx.DifferentiableOnnxModel(sklearn_to_onnx(mlp, X, zipmap=False))
    # memory_budget_mb small enough that the 3 rows' 64 steps take several calls.
    ig = bx.IntegratedGradients(model, n_steps=64, memory_budget_mb=0.002)
    shown = ig.explain(X[:3] / 16, target=0, progress=True)
    err = capsys.readouterr().err
    assert _final_count(err) == "3/3" and updates[:3] == [1, 1, 1]
    np.testing.assert_array_equal(shown.values, ig.explain(X[:3] / 16, target=0).values)


def test_progress_must_be_a_bool(model):
    clf, X = model
    with pytest.raises(TypeError, match="progress must be True or False, got 'yes'"):
        bx.KernelShap(clf, X[:5], seed=0).explain(X[:1], progress="yes")


@pytest.mark.parametrize("explainer", ["KernelShap", "Lime", "SamplingShapley"])
def test_documents_move_the_bar_one_by_one(explainer, capsys, updates):
    texts = ["good food", "bad service and slow", "great", "awful food"]

    def predict(docs):
        return np.array([[d.count("good") + d.count("great") + 0.5] for d in docs])

    model = bx.CallableModel(predict, input_kind="text")
    getattr(bx, explainer)(model, bx.maskers.Text(), seed=0).explain(texts, progress=True)
    # One worker: every document in one chunk, still one step per finished document.
    assert updates[:4] == [1, 1, 1, 1] and _final_count(capsys.readouterr().err) == "4/4"

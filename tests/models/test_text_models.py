"""Text models through bx.wrap: vectorizer pipelines, string-input ONNX, token-id ONNX."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import blackbox_xai as bx
from blackbox_xai.datasets import load_reviews
from blackbox_xai.models.convert import sklearn_to_onnx

FIXTURE = "tests/autodiff/fixtures/transformer_torchscript.onnx"


def _ids(docs: list[str]) -> np.ndarray:
    return np.array([[len(w) % 30 for w in (d.split() + [""] * 7)[:7]] for d in docs])


@pytest.mark.parametrize("vectorizer", [CountVectorizer(), HashingVectorizer(n_features=64)])
def test_vectorizer_pipelines_take_documents(vectorizer):
    texts, y = load_reviews(return_X_y=True)
    pipe = make_pipeline(vectorizer, LogisticRegression()).fit(texts, y)
    model = bx.wrap(pipe)
    assert model.input_kind == "text" and model.output_names == ["0", "1"]
    np.testing.assert_array_equal(model(texts[:3]), pipe.predict_proba(texts[:3]))
    with pytest.raises(TypeError, match="a list of strings, not a single string"):
        model("one document")


def test_string_input_onnx_export_matches_sklearn():
    texts, y = load_reviews(return_X_y=True)
    pipe = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, y)
    model = bx.OnnxModel(sklearn_to_onnx(pipe, texts[:1]))
    assert model.input_kind == "text"
    np.testing.assert_allclose(model(texts[:20]), pipe.predict_proba(texts[:20]), atol=1e-6)


def test_token_id_model_feeds_what_tokenize_returns():
    model = bx.wrap(FIXTURE, tokenize=_ids)
    assert model.input_kind == "text"
    out = model(["a bb ccc", "dddd"])
    assert out.shape == (2, 3) and model.n_calls == 1
    by_name = bx.wrap(FIXTURE, tokenize=lambda d: {"x": _ids(d)})
    np.testing.assert_array_equal(by_name(["a bb ccc", "dddd"]), out)


@pytest.mark.parametrize(
    ("tokenize", "match"),
    [
        (lambda d: {"input_ids": _ids(d)}, r"needs the input 'x'"),
        (lambda d: _ids(d)[:1], r"1 rows of 'x' for 2 documents"),
        (lambda d: _ids(d) + 0.5, r"float64 values for the integer input 'x'"),
    ],
)
def test_bad_tokenize_output_is_named(tokenize, match):
    model = bx.wrap(FIXTURE, tokenize=tokenize)
    with pytest.raises(bx.ModelCallError, match=match):
        model(["a b", "c"])


def test_tokenize_is_for_onnx_models_only():
    with pytest.raises(ValueError, match="tokenize= feeds documents to an ONNX model"):
        bx.wrap(lambda docs: np.zeros(len(docs)), tokenize=_ids)
    with pytest.raises(TypeError, match="tokenize must be callable"):
        bx.models.TokenIdOnnxModel(FIXTURE, tokenize="bert")  # type: ignore[arg-type]


def test_text_masker_refuses_a_numeric_onnx_model(cancer12):
    X, y = cancer12
    model = bx.OnnxModel(sklearn_to_onnx(LogisticRegression(max_iter=500).fit(X, y), X))
    with pytest.raises(TypeError, match="takes numeric input.*tokenize=fn"):
        bx.KernelShap(model, bx.maskers.Text())

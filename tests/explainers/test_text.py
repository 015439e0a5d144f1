"""Every masker-based explainer on the Text masker: exact values where theory gives them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

import blackbox_xai as bx
from blackbox_xai.datasets import load_reviews
from blackbox_xai.maskers import Text
from blackbox_xai.models.convert import sklearn_to_onnx

DOCS = [
    "The plot was good, the cast was not good at all.",
    "Great fun: great cast and a bad ending!",
]


@pytest.fixture(scope="module")
def counts_model():
    """A linear regression on word counts: f(doc) = b + sum_w coef_w count_w(doc)."""
    texts, y = load_reviews(return_X_y=True)
    score = y + 0.1 * np.arange(len(y)) % 3  # any target: only linearity matters
    return make_pipeline(CountVectorizer(), LinearRegression()).fit(texts, score)


def _contributions(pipe, doc: str, masker: Text) -> np.ndarray:
    """Each player's exact contribution: coef of its word times its occurrences."""
    vec, reg = pipe.steps[0][1], pipe.steps[1][1]
    vocab, analyzer = vec.vocabulary_, vec.build_analyzer()
    bound = masker.for_instance(doc)
    out = np.zeros(bound.n_players)
    for token, player in zip(bound.tokens, bound.token_players, strict=True):
        words = analyzer(token)  # lowercased; one-letter tokens are no words of the model
        out[player] += sum(reg.coef_[vocab[w]] for w in words if w in vocab)
    return out


@pytest.mark.parametrize("features", ["positional", "bag_of_words"])
def test_kernel_shap_on_a_linear_count_model_gives_each_tokens_contribution(
    counts_model, features: str
):
    masker = Text(features=features)
    expl = bx.KernelShap(counts_model, masker, seed=0).explain(DOCS, n_evals=200)
    for i, doc in enumerate(DOCS):
        row = expl[i]
        np.testing.assert_allclose(
            row.values[0, :, 0], _contributions(counts_model, doc, masker), atol=1e-10
        )
        assert row.base_values[0, 0] == pytest.approx(counts_model.predict([""])[0])
    assert expl.meta["n_players"][0] == (11 if features == "positional" else 9)


def test_lime_with_every_mask_recovers_the_coefficients(counts_model):
    masker = Text(features="bag_of_words")
    expl = bx.Lime(counts_model, masker, seed=0).explain(DOCS, alpha=0.0, n_samples=1024)
    assert expl.meta["exact"] is True
    for i, doc in enumerate(DOCS):
        np.testing.assert_allclose(
            expl[i].values[0, :, 0], _contributions(counts_model, doc, masker), atol=1e-8
        )


def test_sampling_and_exact_shapley_agree_on_text(counts_model):
    masker = Text()
    exact = bx.ExactShapley(counts_model, masker).explain(DOCS[1])
    sampled = bx.SamplingShapley(counts_model, masker, seed=0).explain(DOCS[1], n_permutations=8)
    np.testing.assert_allclose(sampled.values, exact.values, atol=1e-10)  # additive game
    np.testing.assert_allclose(
        exact.values[0, :, 0], _contributions(counts_model, DOCS[1], masker), atol=1e-10
    )


def test_onnx_export_explains_like_the_sklearn_pipeline():
    texts, y = load_reviews(return_X_y=True)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(texts, y)
    onnx_model = bx.OnnxModel(sklearn_to_onnx(pipe, texts[:2]))
    assert onnx_model.input_kind == "text" and bx.wrap(pipe).input_kind == "text"
    assert onnx_model.output_names == ["0", "1"]
    masker = Text(mode="mask")
    ours = bx.KernelShap(onnx_model, masker, seed=0).explain(DOCS, n_evals=300)
    ref = bx.KernelShap(pipe, masker, seed=0).explain(DOCS, n_evals=300)
    np.testing.assert_allclose(ours.values, ref.values, atol=1e-5)
    np.testing.assert_allclose(ours.base_values, ref.base_values, atol=1e-5)
    assert np.abs(ref.values[0, :11]).max() > 0.01  # a real explanation, not zeros


def test_token_id_onnx_model_through_a_tokenize_function():
    vocab = {w: i + 1 for i, w in enumerate("the movie was great bad plot fun".split())}

    def tokenize(docs: list[str]) -> np.ndarray:
        ids = [[vocab.get(w.lower(), 29) for w in d.split()][:7] for d in docs]
        return np.array([row + [0] * (7 - len(row)) for row in ids])

    path = "tests/autodiff/fixtures/transformer_torchscript.onnx"
    model = bx.wrap(path, tokenize=tokenize)
    assert isinstance(model, bx.models.TokenIdOnnxModel) and model.n_outputs == 3
    # Documents are tokenized; an integer array is fed as token ids as it is.
    np.testing.assert_array_equal(model(["the movie"]), model(tokenize(["the movie"])))
    expl = bx.ExactShapley(model, Text()).explain(["the movie was great", "bad plot"])
    full = model(["the movie was great"])[0]
    np.testing.assert_allclose(expl[0].values[0].sum(axis=0) + expl.base_values[0], full, atol=1e-5)

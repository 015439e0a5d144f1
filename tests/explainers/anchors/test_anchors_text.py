"""Anchors on text: the anchor is the set of words that must stay."""

from __future__ import annotations

import re

import joblib
import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.maskers import Text


def great(docs: list[str]) -> np.ndarray:
    """Positive iff the word "great" appears."""
    has = np.array(["great" in re.findall(r"\w+", d) for d in docs], float)
    return np.stack([1 - has, has], axis=1)


def great_and_fun(docs: list[str]) -> np.ndarray:
    """Positive iff both "great" and "fun" appear."""
    words = [set(re.findall(r"\w+", d)) for d in docs]
    has = np.array([{"great", "fun"} <= w for w in words], float)
    return np.stack([1 - has, has], axis=1)


DOC = "a truly great movie with a fine cast and a good plot"


@pytest.mark.parametrize("mode", ["remove", "mask"])
def test_the_anchor_of_a_great_detector_is_exactly_great(mode: str):
    anchor = bx.Anchors(great, Text(mode=mode), seed=0).explain(DOC)
    assert anchor.rule == ["great"] and anchor.features == [2]
    assert anchor.success and anchor.precision == 1.0 and anchor.predicted == 1
    assert anchor.precision_bounds[0] >= 0.95
    assert anchor.coverage == 0.5  # a perturbation keeps a word with probability 1/2
    assert anchor.examples["differ"] == []
    assert all("great" in t for t in anchor.examples["agree"])
    if mode == "mask":
        assert all("UNK" in t for t in anchor.examples["agree"])
    assert anchor.meta["token_offsets"][2] == [8, 13]


def test_two_words_needed_and_a_negative_prediction():
    both = bx.Anchors(great_and_fun, Text(), seed=0).explain("great fun for a rainy day")
    assert sorted(both.rule) == ["fun", "great"] and both.success
    assert both.coverage == 0.25
    negative = bx.Anchors(great, Text(), seed=0).explain("a dull film")
    assert negative.rule == [] and negative.predicted == 0 and negative.coverage == 1.0


def test_precision_holds_on_fresh_perturbations_and_results_replay():
    explainer = bx.Anchors(great_and_fun, Text(), seed=3)
    docs = ["great fun", "such great fun with friends", "great, but no fun"]
    first = explainer.explain_many(docs)
    with joblib.parallel_config(backend="threading"):
        again = bx.Anchors(great_and_fun, Text(), seed=3, n_jobs=2).explain_many(docs, chunk_size=1)
    assert [a.rule for a in first] == [a.rule for a in again]
    assert [a.n_samples for a in first] == [a.n_samples for a in again]
    for doc, anchor in zip(docs, first, strict=True):
        fresh = explainer.score_anchor(doc, anchor.rule, n_samples=2000, seed=11)
        assert fresh.precision >= 0.95 and fresh.n_samples == 2000
        assert fresh.meta["scored_on"] == "perturbations"


def test_corpus_coverage_and_similar_words():
    corpus = ["great fun", "not great", "a fine day", "great cast"]
    explainer = bx.Anchors(great, Text(), seed=0, corpus=corpus)
    anchor = explainer.explain(DOC)
    assert anchor.rule == ["great"] and anchor.coverage == 0.75
    assert anchor.meta["coverage_on"] == "corpus"
    # "great" replaced by "good" when absent: the prediction changes in those samples.
    swapped = bx.Anchors(great, Text(), seed=0, similar_words={"truly": ["really"]})
    anchor = swapped.explain(DOC)
    assert anchor.rule == ["great"]
    assert any("really" in t for t in anchor.examples["agree"])


def test_budget_json_and_bad_input(tmp_path):
    explainer = bx.Anchors(great_and_fun, Text(), seed=0)
    capped = explainer.explain("great fun for a rainy day", max_model_calls=2)
    assert not capped.success and capped.meta["stopped_by_budget"]
    assert capped.n_model_calls <= 2
    anchor = explainer.explain("great fun")
    again = bx.AnchorExplanation.from_json(anchor.to_json())
    assert again.data == "great fun" and again.examples == anchor.examples
    assert again.rule == anchor.rule
    with pytest.raises(TypeError, match="one document"):
        explainer.explain(["great fun"])
    with pytest.raises(ValueError, match="has no tokens"):
        explainer.explain("  ...  ")
    with pytest.raises(ValueError, match="not a word of this document"):
        explainer.score_anchor("great fun", ["boring"])
    with pytest.raises(ValueError, match="apply to text"):
        bx.Anchors(great, np.zeros((5, 2)), corpus=["x"])
    with pytest.raises(ValueError, match="p_absent must be in"):
        bx.Anchors(great, Text(), p_absent=1.0)
    with pytest.raises(TypeError, match="list of strings"):
        bx.Anchors(great, Text(), similar_words={"great": "good"})

"""Text masker: perturbed texts keep the original characters; players; budgets; bad input."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.maskers import Text

ODD = "  Hello,\tworld!!  It's\n\n 'fine'...  don't   stop  "


@pytest.mark.parametrize("tokenizer", ["word", "treebank"])
@pytest.mark.parametrize("mode", ["remove", "mask"])
def test_perturbed_texts_keep_the_original_spacing_and_punctuation(tokenizer: str, mode: str):
    doc = Text(tokenizer=tokenizer, mode=mode, mask_token="[M]").for_instance(ODD)
    spans = doc.spans.tolist()
    assert [ODD[s:e] for s, e in spans] == doc.tokens
    Z = np.random.default_rng(0).random((50, doc.n_players)) < 0.5
    Z[0], Z[1] = True, False
    texts = doc.texts(Z)
    assert texts[0] == ODD  # every token present: the original, character for character
    absent = "" if mode == "remove" else "[M]"
    for z, text in zip(Z, texts, strict=True):
        # Rebuilt from the original string: each absent token's characters replaced in
        # place, everything between tokens (tabs, runs of spaces, newlines) untouched.
        expected, last = [], 0
        for (s, e), keep in zip(spans, z, strict=True):
            expected += [ODD[last:s], ODD[s:e] if keep else absent]
            last = e
        assert text == "".join([*expected, ODD[last:]])
    gaps = re.sub(r"\w+", "", ODD) if tokenizer == "word" else None
    if gaps is not None and mode == "remove":
        assert texts[1] == gaps  # no token: exactly the non-word characters remain


def test_treebank_quotes_are_not_rewritten():
    text = 'He said "great" -- didn\'t he?'
    doc = Text(tokenizer="treebank").for_instance(text)
    assert doc.tokens == ["He", "said", '"', "great", '"', "--", "did", "n't", "he", "?"]
    assert doc.texts(np.ones((1, doc.n_players), bool)) == [text]


def test_bag_of_words_players_are_distinct_words_and_remove_every_occurrence():
    doc = Text(features="bag_of_words", mode="mask").for_instance("good, good and bad. Good!")
    assert doc.player_names == ["good", "and", "bad", "Good"]
    assert doc.texts([[False, True, True, True]]) == ["UNK, UNK and bad. Good!"]
    assert doc.token_players.tolist() == [0, 0, 1, 2, 3]


def test_groups_are_players_with_their_text_as_name():
    text = "I liked it. But the end, sadly, was weak! Fine."
    sentences = Text(groups="sentences").for_instance(text)
    assert sentences.player_names == ["I liked it", "But the end, sadly, was weak", "Fine"]
    assert sentences.texts([[True, False, True]]) == ["I liked it.   , ,  ! Fine."]
    clauses = Text(groups="clauses").for_instance(text)
    assert clauses.player_names == ["I liked it", "But the end", "sadly", "was weak", "Fine"]
    windows = Text(groups=4).for_instance(text)
    assert windows.token_players.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    custom = Text(groups=lambda t, spans: [s < 12 for s, _ in spans]).for_instance(text)
    assert custom.n_players == 2 and custom.player_names[0] == "I liked it"


def test_a_callable_tokenizer_gives_spans():
    doc = Text(tokenizer=lambda t: [(m.start(), m.end()) for m in re.finditer(r"\S+", t)])
    bound = doc.for_instance("a-b  c!")
    assert bound.tokens == ["a-b", "c!"]


def _count_model(weights: dict[str, float]):
    def predict(docs: list[str]) -> np.ndarray:
        counts = [re.findall(r"\w+", d) for d in docs]
        score = np.array([sum(weights.get(w, 0.0) for w in c) for c in counts])
        return np.stack([score, -score], axis=1)

    return predict


def test_instance_meta_offsets_and_stacked_explanations():
    model = _count_model({"good": 1.0, "bad": -2.0})
    docs = ["good movie", "bad, bad plot but good cast"]
    expl = bx.ExactShapley(model, Text()).explain(docs)
    assert expl.meta["n_players"] == [2, 6]
    assert expl.meta["token_offsets"][1][:2] == [[0, 3], [5, 8]]
    assert expl.data == docs
    np.testing.assert_allclose(expl[1].values[0, :, 0], [-2, -2, 0, 0, 1, 0], atol=1e-12)
    one = bx.ExactShapley(model, Text()).explain(docs[1])  # a single string is one document
    np.testing.assert_array_equal(one.values[0], expl[1].values[0])


def test_long_document_stays_within_the_memory_budget_and_the_stated_calls():
    words = ["good", "plot", "bad", "and", "the", "cast", "was", "fine"]
    rng = np.random.default_rng(0)
    tokens = rng.choice(words, size=5000)
    text = " ".join(f"{w}." if i % 25 == 24 else str(w) for i, w in enumerate(tokens))
    seen: list[int] = []

    def model(docs: list[str]) -> np.ndarray:
        seen.append(len(docs))
        return np.array([[d.count("good") - 2.0 * d.count("bad")] for d in docs])

    masker = Text(groups=50, memory_budget_mb=4)
    bound = masker.for_instance(text)
    per_call = bound.texts_per_call()
    assert bound.n_players == 100 and 1 < per_call < 200
    expl = bx.KernelShap(model, masker, seed=0).explain(text, n_evals=1000)
    rows, calls = expl.meta["n_model_rows"], expl.meta["n_model_calls"]
    assert rows == 1000 and calls == len(seen)
    # Every call holds at most texts_per_call documents (sized so that their pieces and
    # characters fit the budget), so the calls are as few as that allows.
    assert max(seen) <= per_call
    assert per_call * len(text) <= 4 * 2**20
    assert calls <= math.ceil(rows / per_call) + 2  # + the probe, f(x) and f(empty) batches
    total = expl.base_values[0, 0] + np.nansum(expl.values[0, :, 0])
    assert total == pytest.approx(model([text])[0, 0])


def test_a_100k_character_document_is_refused_or_grouped():
    rng = np.random.default_rng(1)
    text = " ".join(rng.choice(["good", "bad", "fine", "plot."], size=20_000))[:100_000]
    with pytest.raises(ValueError, match=r"more than max_players=1000.*groups='sentences'"):
        Text().instances([text])
    model = _count_model({"good": 1.0, "bad": -1.0})
    expl = bx.KernelShap(model, Text(groups=500), seed=0).explain(text, n_evals=200)
    assert expl.values.shape[1] == math.ceil(len(re.findall(r"\w+", text)) / 500)
    assert expl.meta["n_model_rows"] == 200


@pytest.mark.parametrize(
    ("docs", "error", "match"),
    [
        ([""], ValueError, r"document 0 \(''\) has no tokens"),
        (["fine", "  \n\t "], ValueError, r"document 1 .* only whitespace or punctuation"),
        (["ok", "?!... ,"], ValueError, r"tokenizer='treebank' to make punctuation tokens"),
        (["ok", 3], TypeError, r"\[1\] is a int, not a string"),
        (["ok", None], TypeError, r"\[1\] is a NoneType"),
        (42, TypeError, r"a string or a sequence of strings"),
    ],
)
def test_bad_documents_get_clear_messages(docs: Any, error: type, match: str):
    with pytest.raises(error, match=match):
        bx.KernelShap(_count_model({}), Text(), seed=0).explain(docs)


def test_punctuation_only_document_has_tokens_under_treebank():
    assert Text(tokenizer="treebank").for_instance("?!").tokens == ["?", "!"]


@pytest.mark.parametrize(
    ("spans", "error", "match"),
    [
        ([(0, 4), (2, 6)], ValueError, r"overlapping spans \(0, 4\) and \(2, 6\)"),
        ([(0, 4), (5, 50)], ValueError, r"outside the document's 9 characters"),
        ([(3, 3)], ValueError, "empty"),
        (["good", "film"], TypeError, "not tokens"),
        (None, TypeError, "must return"),
    ],
)
def test_bad_tokenizer_output_is_refused(spans: Any, error: type, match: str):
    with pytest.raises(error, match=match):
        Text(tokenizer=lambda _: spans).for_instance("good film")


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        Text(mode="drop")
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        Text(tokenizer="spacy")
    with pytest.raises(ValueError, match="exclude each other"):
        Text(features="bag_of_words", groups="sentences")
    with pytest.raises(ValueError, match="groups must be None"):
        Text(groups="paragraphs")
    with pytest.raises(TypeError, match="mask_token must be a string"):
        Text(mask_token=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one label per token"):
        Text(groups=lambda t, s: [0]).for_instance("two words")

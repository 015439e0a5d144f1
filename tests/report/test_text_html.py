"""Token-highlighted HTML in a real headless browser: renders, escapes, reads as the text."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.report import html_page

DOCS = [
    "A <script>console.error('ran')</script> great film,\n\tnot   bad & \"fun\"!",
    "Bad.  Really bad\u2026 but the caf\u00e9 scene is great.",
]


def _model(docs: list[str]) -> np.ndarray:
    score = np.array([d.count("great") - 0.7 * d.count("bad") for d in docs], float)
    p = 1 / (1 + np.exp(-score))
    return np.stack([1 - p, p], axis=1)


@pytest.fixture(scope="module")
def explanation() -> bx.Explanation:
    return bx.SamplingShapley(_model, bx.maskers.Text(), seed=0).explain(DOCS, n_permutations=20)


def test_text_html_renders_one_coloured_span_per_token_and_reads_as_the_text(
    render_html: Any, explanation: bx.Explanation, tmp_path: Any
):
    fragment = explanation.to_html(output=1)
    assert explanation._repr_html_() == explanation.to_html()
    assert "<script>" not in fragment  # escaped: shown, never run
    page = render_html(html_page("text", [fragment]), screenshot=tmp_path / "text.png")
    assert page.errors == []
    docs = page.page.query_selector_all(".bx-doc")
    assert len(docs) == len(DOCS)
    for i, doc in enumerate(docs):
        assert doc.text_content() == DOCS[i]  # every character, in order
        spans = doc.query_selector_all(".bx-tok")
        offsets = explanation.meta["token_offsets"][i]
        assert len(spans) == len(offsets) == explanation.meta["n_players"][i]
        assert [s.text_content() for s in spans] == [DOCS[i][a:b] for a, b in offsets]
        values = explanation[i].values[0, :, 1]
        for span, value in zip(spans, values, strict=True):
            colour = span.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour.startswith("rgba(192, 57, 43" if value > 0 else "rgba(36, 113, 163")
            assert f"{value:+.4g}" in span.get_attribute("title")
            assert "std. error" in span.get_attribute("title")
    # The rendered text keeps tabs, runs of spaces and newlines (pre-wrap).
    assert "not   bad" in docs[0].inner_text() and "\n" in docs[0].inner_text()
    assert "'1'" in page.page.inner_text("h3")


def test_bag_of_words_tokens_share_their_words_colour(render_html: Any):
    expl = bx.ExactShapley(_model, bx.maskers.Text(features="bag_of_words")).explain(
        "great, great and bad"
    )
    page = render_html(html_page("bow", [expl.to_html(output=1)]))
    spans = page.page.query_selector_all(".bx-tok")
    titles = [s.get_attribute("title") for s in spans]
    assert len(spans) == 4 and titles[0] == titles[1] and titles[0].startswith("great: +")
    assert page.errors == []


def test_text_anchor_html_highlights_the_anchor_words(render_html: Any):
    def great(docs: list[str]) -> np.ndarray:
        has = np.array(["great" in re.findall(r"\w+", d) for d in docs], float)
        return np.stack([1 - has, has], axis=1)

    text = "a <b>truly</b> great movie & a fine cast"
    anchor = bx.Anchors(great, bx.maskers.Text(), seed=0).explain(text)
    fragment = anchor.to_html()
    assert anchor._repr_html_() == fragment
    page = render_html(html_page("anchor", [fragment]))
    assert page.errors == []
    assert page.page.text_content(".bx-doc") == text
    assert [e.text_content() for e in page.page.query_selector_all(".bx-anchor")] == ["great"]
    body = page.page.inner_text("body")
    assert "precision 1.000" in body and "coverage 0.500" in body
    assert f"examples that keep the prediction: {len(anchor.examples['agree'])}" in body


def test_each_document_shows_its_own_predicted_class_by_default() -> None:
    from blackbox_xai.report.text import text_explanation_html

    docs = ["a great great film", "a bad bad film"]
    explanation = bx.ExactShapley(_model, bx.maskers.Text()).explain(docs)
    assert explanation.shown_outputs() == ([1, 0], "predicted")
    html = text_explanation_html(explanation)
    assert "attributions to each document&#x27;s own class" in html
    assert "document 0: base value" in html and "(1)</p>" in html and "(0)</p>" in html
    assert "attributions to &#x27;1&#x27;" in text_explanation_html(explanation, output=1)

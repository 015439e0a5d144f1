"""Tokens and groups of a document as character spans of the original string.

Every unit (token, sentence, clause) is a ``(start, end)`` span into the document, so a
perturbed document is always rebuilt from the original characters: whitespace and the
text between tokens are kept exactly, and nothing is ever re-joined with spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..utils.optional import import_optional

#: ``tokenizer="word"``: runs of word characters, the tokens of lime's and shap's default
#: ``\W+`` split. Python's ``re`` gives their spans directly (nltk's RegexpTokenizer is a
#: wrapper of the same ``re.finditer``), so the default tokenizer needs no extra.
_WORD = re.compile(r"\w+")

#: Clause boundaries inside a sentence: the punctuation that usually separates clauses.
_CLAUSE_BREAK = re.compile(r"[,;:\u2013\u2014]+|\s-{1,2}\s|\(|\)")

TOKENIZERS = ("word", "treebank")

SpanTokenizer = Callable[[str], Any]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the runs of word characters (``\\w+``)."""
    return [m.span() for m in _WORD.finditer(text)]


def treebank_spans(text: str) -> list[tuple[int, int]]:
    """Spans of nltk's Penn Treebank tokens (punctuation and clitics are tokens)."""
    tokenize = import_optional("nltk.tokenize")
    return list(tokenize.TreebankWordTokenizer().span_tokenize(text))


def resolve_tokenizer(tokenizer: str | SpanTokenizer) -> SpanTokenizer:
    """The span function of ``tokenizer`` (a name or a callable returning spans)."""
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "word":
        return word_spans
    if tokenizer == "treebank":
        import_optional("nltk.tokenize")  # fail at construction, naming the extra
        return treebank_spans
    raise ValueError(
        f"tokenizer must be one of {TOKENIZERS} or a callable returning (start, end) "
        f"character spans, got {tokenizer!r}."
    )


def check_spans(spans: Any, text: str, where: str) -> np.ndarray:
    """Validated token spans ``(T, 2)`` of ``text``, sorted by start.

    Raises
    ------
    TypeError
        The tokenizer did not return ``(start, end)`` integer pairs.
    ValueError
        Empty, out-of-range or overlapping spans.
    """
    try:
        items = list(spans)
    except TypeError as exc:
        raise TypeError(
            f"the tokenizer returned a {type(spans).__name__} for {where}; it must return "
            "(start, end) character spans."
        ) from exc
    if items and not all(
        isinstance(s, (tuple, list, np.ndarray))
        and len(s) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in s)
        for s in items
    ):
        bad = next(s for s in items if not (isinstance(s, (tuple, list, np.ndarray))))
        raise TypeError(
            f"the tokenizer returned {bad!r} for {where}; it must return (start, end) integer "
            "character spans (e.g. nltk's span_tokenize), not tokens."
        )
    arr = np.asarray(items, dtype=np.int64).reshape(-1, 2)
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    n = len(text)
    bad_range = (arr[:, 0] < 0) | (arr[:, 1] > n) | (arr[:, 1] <= arr[:, 0])
    if bad_range.any():
        s, e = arr[np.argmax(bad_range)]
        raise ValueError(
            f"the tokenizer returned the span ({s}, {e}) for {where}, which is empty or outside "
            f"the document's {n} characters; spans must satisfy 0 <= start < end <= {n}."
        )
    overlap = arr[1:, 0] < arr[:-1, 1]
    if overlap.any():
        i = int(np.argmax(overlap))
        a, b = arr[i].tolist(), arr[i + 1].tolist()
        raise ValueError(
            f"the tokenizer returned overlapping spans {tuple(a)} and {tuple(b)} for {where}; "
            "tokens must not share characters (each character is kept or perturbed once)."
        )
    return arr


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans by nltk's Punkt algorithm with its default (untrained) parameters,
    which need no downloaded model."""
    punkt = import_optional("nltk.tokenize.punkt")
    return list(punkt.PunktSentenceTokenizer().span_tokenize(text))


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Sentences cut further at commas, semicolons, colons, dashes and brackets."""
    out = []
    for start, end in sentence_spans(text):
        cut = start
        for m in _CLAUSE_BREAK.finditer(text, start, end):
            if m.end() > cut and text[cut : m.end()].strip():
                out.append((cut, m.end()))
                cut = m.end()
        if text[cut:end].strip():
            out.append((cut, end))
    return out


GROUPINGS = ("sentences", "clauses")


def group_labels(groups: Any, text: str, spans: np.ndarray, where: str) -> np.ndarray:
    """Group index of every token (groups numbered in order of first token).

    ``groups`` is ``"sentences"``, ``"clauses"``, a positive int (windows of that many
    tokens) or a callable ``groups(text, spans) -> labels`` (one hashable label per token;
    tokens with the same label form a group).
    """
    n_tokens = len(spans)
    if isinstance(groups, (int, np.integer)) and not isinstance(groups, bool):
        return np.arange(n_tokens) // int(groups)
    if groups in GROUPINGS:
        units = sentence_spans(text) if groups == "sentences" else clause_spans(text)
        starts = np.array([s for s, _ in units] or [0], dtype=np.int64)
        # A token belongs to the unit its first character falls in.
        raw = np.searchsorted(starts, spans[:, 0], side="right") - 1
        labels = np.maximum(raw, 0)
    else:
        assert callable(groups)
        given = list(groups(text, [tuple(map(int, s)) for s in spans]))
        if len(given) != n_tokens:
            raise ValueError(
                f"groups returned {len(given)} labels for the {n_tokens} tokens of {where}; "
                "it must return one label per token."
            )
        index: dict[Any, int] = {}
        return np.array([index.setdefault(g, len(index)) for g in given], dtype=np.int64)
    # Renumber by first appearance, so group 0 holds the first token.
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]

"""Text masking: a document's tokens (or words, or groups of tokens) are the players.

An absent player's tokens are deleted from the original string (``mode="remove"``) or
replaced by a mask token (``mode="mask"``); everything else, whitespace and punctuation
between tokens included, is copied from the original characters, never re-joined.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..models.base import Model
from ..utils.config import budget_mb, check_budget_mb
from ..utils.formatting import signature_repr
from ..utils.validation import check_positive_int, check_texts
from ._text_units import (
    GROUPINGS,
    SpanTokenizer,
    check_spans,
    group_labels,
    resolve_tokenizer,
)
from .base import InstanceMasker, Masker

MODES = ("remove", "mask")
FEATURES = ("positional", "bag_of_words")

#: Characters of a group's text kept in its player name.
_NAME_CHARS = 40


class Text(Masker):
    """Masker for documents: each document's tokens, words or token groups are its players.

    A per-instance masker: every explainer explains each document with the players of
    that document (see :meth:`for_instance`); explanations record each token's character
    offsets (``meta["token_offsets"]``) and the player it belongs to
    (``meta["token_players"]``).

    Parameters
    ----------
    tokenizer : {"word", "treebank"} or callable
        ``"word"``: runs of word characters (``\\w+``, the tokens of lime's and shap's
        default split; punctuation is kept but is not a player). ``"treebank"``: nltk's
        ``TreebankWordTokenizer().span_tokenize`` (punctuation and clitics such as
        ``n't`` are tokens; needs the ``text`` extra, no downloaded data). A callable
        takes the document and returns ``(start, end)`` character spans, e.g.
        ``nltk.tokenize.WhitespaceTokenizer().span_tokenize``; spans are sorted, and
        overlapping or empty spans are an error.
    mode : {"remove", "mask"}
        An absent token's characters are deleted (the text around it, spaces included,
        is kept as it is) or replaced by ``mask_token``.
    mask_token : str
        The replacement of ``mode="mask"`` (``"UNK"``, as in the Anchors paper).
    features : {"positional", "bag_of_words"}
        Players are token positions, or distinct token strings (a word's occurrences
        are present or absent together, as lime's default ``bow=True``).
    groups : {None, "sentences", "clauses"}, int or callable
        Players are groups of tokens: sentences (nltk's Punkt with its default
        parameters), clauses (sentences cut at ``, ; :`` dashes and brackets), windows
        of that many tokens, or ``groups(text, spans) -> labels`` (one label per token).
        For long documents: players stay few, so a bounded budget of model calls covers
        them. Not with ``features="bag_of_words"``.
    max_players : int
        Most players a document may have. Longer documents are an error that says to
        group tokens (``groups="sentences"``) or raise the limit: estimators need at
        least as many model evaluations as players, and their work grows with them.
    memory_budget_mb : float, optional
        Perturbed documents are built and sent to the model in calls of at most this
        many megabytes (texts and their pieces), never all at once. None: the
        ``"model_input"`` share of the package's budget (see
        :func:`blackbox_xai.set_config`).

    Examples
    --------
    >>> import blackbox_xai as bx
    >>> masker = bx.maskers.Text()
    >>> doc = masker.for_instance("Not bad,  really good!")
    >>> doc.player_names
    ['Not', 'bad', 'really', 'good']
    >>> doc.texts([[True, False, True, True]])
    ['Not ,  really good!']
    """

    per_instance = True

    def __init__(
        self,
        tokenizer: str | SpanTokenizer = "word",
        mode: str = "remove",
        mask_token: str = "UNK",
        features: str = "positional",
        groups: str | int | Any = None,
        *,
        max_players: int = 1000,
        memory_budget_mb: float | None = None,
    ) -> None:
        self.tokenize = resolve_tokenizer(tokenizer)
        self.tokenizer = tokenizer if isinstance(tokenizer, str) else "callable"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
        if not isinstance(mask_token, str):
            raise TypeError(f"mask_token must be a string, got {type(mask_token).__name__}.")
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}.")
        if groups is not None:
            if features == "bag_of_words":
                raise ValueError(
                    "groups and features='bag_of_words' exclude each other: a word's "
                    "occurrences can lie in several groups. Use features='positional'."
                )
            is_int = isinstance(groups, (int, np.integer)) and not isinstance(groups, bool)
            if is_int:
                check_positive_int(groups, "groups")
            elif groups not in GROUPINGS and not callable(groups):
                raise ValueError(
                    f"groups must be None, one of {GROUPINGS}, a positive int (tokens per "
                    f"group) or a callable (text, spans) -> labels, got {groups!r}."
                )
            if groups in GROUPINGS:
                from ..utils.optional import import_optional

                import_optional("nltk.tokenize.punkt")
        self.mode, self.mask_token, self.features, self.groups = mode, mask_token, features, groups
        self.max_players = check_positive_int(max_players, "max_players")
        self.memory_budget_mb = (
            None if memory_budget_mb is None else check_budget_mb(memory_budget_mb)
        )

    # -- the Masker interface: a per-instance masker is used through for_instance ----------
    def validate(self, X: Any) -> Any:
        """Not used: explainers bind the masker to each document (:meth:`for_instance`)."""
        raise TypeError("a Text masker is bound to each document: use for_instance(document).")

    def coalition_values(self, model: Model, X: Any, Z: np.ndarray) -> np.ndarray:
        """Not used: explainers bind the masker to each document (:meth:`for_instance`)."""
        raise TypeError("a Text masker is bound to each document: use for_instance(document).")

    def bind(self, model: Model) -> None:
        """Refuse models known to take numbers: this masker sends them strings."""
        if getattr(model, "input_kind", "array") == "array" and type(model).__name__ in (
            "OnnxModel",
            "DifferentiableOnnxModel",
        ):
            raise TypeError(
                "this ONNX model takes numeric input, but a Text masker sends it documents "
                "(strings). For a model on token ids, wrap it with "
                "bx.wrap(model, tokenize=fn), fn mapping a list of strings to token ids."
            )

    def instances(self, X: Any) -> list[str]:
        """The documents of ``X`` (a string, or a sequence of strings), checked.

        Raises
        ------
        TypeError
            An item is not a string.
        ValueError
            A document has no token (empty, or only whitespace or, for
            ``tokenizer="word"``, punctuation) or more than ``max_players`` players.
        """
        docs = check_texts(X, name="the documents")
        for i, doc in enumerate(docs):
            self.for_instance(doc, where=f"document {i}")
        return docs

    def for_instance(self, instance: Any, where: str = "the document") -> BoundText:
        """This masker bound to one document: its players, and its perturbed texts."""
        if not isinstance(instance, str):
            raise TypeError(f"{where} is a {type(instance).__name__}, not a string.")
        text = instance
        spans = check_spans(self.tokenize(text), text, where)
        if len(spans) == 0:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ValueError(
                f"{where} ({shown!r}) has no tokens under tokenizer={self.tokenizer!r}: it is "
                "empty or holds only whitespace"
                + (" or punctuation" if self.tokenizer == "word" else "")
                + ". There is nothing to attribute; drop it"
                + (
                    ", or use tokenizer='treebank' to make punctuation tokens"
                    if self.tokenizer == "word"
                    else ""
                )
                + "."
            )
        tokens = [text[s:e] for s, e in spans.tolist()]
        if self.groups is not None:
            player = group_labels(self.groups, text, spans, where)
        elif self.features == "bag_of_words":
            index: dict[str, int] = {}
            player = np.array([index.setdefault(t, len(index)) for t in tokens], dtype=np.int64)
        else:
            player = np.arange(len(tokens))
        n_players = int(player.max()) + 1
        if n_players > self.max_players:
            raise ValueError(
                f"{where} has {n_players} players ({len(tokens)} tokens, {len(text)} "
                f"characters), more than max_players={self.max_players}. Group its tokens "
                "(bx.maskers.Text(groups='sentences'), 'clauses' or a number of tokens per "
                "group) so that a bounded budget covers them, or raise max_players."
            )
        return BoundText(self, text, spans, player)

    def __repr__(self) -> str:
        return signature_repr(self)


class BoundText(InstanceMasker):
    """A :class:`Text` masker bound to one document.

    Attributes
    ----------
    text : str
        The document.
    spans : int ndarray (T, 2)
        Character offsets of its tokens.
    tokens : list of str
        The tokens, ``text[start:end]``.
    token_players : int ndarray (T,)
        The player each token belongs to.
    n_players, player_names
        Tokens, distinct words or groups, by the masker's ``features`` and ``groups``.
    """

    instance_name = "document"

    def __init__(self, masker: Text, text: str, spans: np.ndarray, player: np.ndarray) -> None:
        self.masker = masker
        self.text = text
        self.spans = spans
        self.tokens = [text[s:e] for s, e in spans.tolist()]
        self.token_players = player
        self.n_players = int(player.max()) + 1
        first = np.full(self.n_players, len(player))
        np.minimum.at(first, player, np.arange(len(player)))
        if masker.groups is None:
            self.player_names = [self.tokens[i] for i in first.tolist()]
        else:
            last = np.zeros(self.n_players, dtype=np.int64)
            np.maximum.at(last, player, np.arange(len(player)))
            self.player_names = [
                _shorten(text[spans[a, 0] : spans[b, 1]])
                for a, b in zip(first.tolist(), last.tolist(), strict=True)
            ]
        ends = np.concatenate([[0], spans[:, 1]])
        starts = np.concatenate([spans[:, 0], [len(text)]])
        #: The text before, between and after the tokens (T + 1 pieces), kept verbatim.
        self.gaps = [text[a:b] for a, b in zip(ends.tolist(), starts.tolist(), strict=True)]

    def rows(self) -> list[str]:
        """The document, as the one-row input of :meth:`validate`."""
        return [self.text]

    def validate(self, X: Any) -> np.ndarray:
        """The bound document (``X`` must be it), as a one-item object array (explainers
        index rows with integer arrays)."""
        docs = check_texts(X)
        if docs != [self.text]:
            raise ValueError("this masker is bound to another document; bind it to X first.")
        out = np.empty(1, dtype=object)
        out[0] = self.text
        return out

    def texts(self, Z: Any, replacements: np.ndarray | None = None) -> list[str]:
        """The perturbed documents of coalitions ``Z (m, d)``.

        Parameters
        ----------
        Z : bool array-like (m, d)
            True where a player is present.
        replacements : object ndarray (m, T), optional
            The text standing for each absent token in each document (e.g. a similar
            word); the masker's mode decides by default.

        Returns
        -------
        list of m str
        """
        Z = np.asarray(Z, dtype=bool)
        if Z.ndim != 2 or Z.shape[1] != self.n_players:
            raise ValueError(
                f"coalitions must have shape (m, {self.n_players}) for this document; got "
                f"{Z.shape}."
            )
        keep = Z[:, self.token_players]  # (m, T)
        pieces = np.empty((len(Z), 2 * len(self.tokens) + 1), dtype=object)
        pieces[:, 0::2] = np.asarray(self.gaps, dtype=object)
        if replacements is None:
            absent = "" if self.masker.mode == "remove" else self.masker.mask_token
            replacements = np.full(keep.shape, absent, dtype=object)
        pieces[:, 1::2] = np.where(keep, np.asarray(self.tokens, dtype=object), replacements)
        return ["".join(row) for row in pieces.tolist()]

    def texts_per_call(self) -> int:
        """How many perturbed documents one model call may hold within the memory budget.

        A document costs its pieces (one pointer per token and gap) and its characters,
        counted at the string's own width (1, 2 or 4 bytes each) with every token
        replaced by the mask token where that is longer.
        """
        n_tokens = len(self.tokens)
        longest = len(self.text) + n_tokens * len(self.masker.mask_token)
        char_bytes = max(1, (sys.getsizeof(self.text + "a") - sys.getsizeof(self.text)))
        per_text = 8 * (2 * n_tokens + 1) + char_bytes * longest + sys.getsizeof("")
        budget = budget_mb("model_input", self.masker.memory_budget_mb)
        return max(1, int(budget * 2**20) // (2 * per_text))

    def predict(
        self, model: Model, Z: np.ndarray, replacements: np.ndarray | None = None
    ) -> np.ndarray:
        """Model outputs ``(m, k)`` on the perturbed documents of ``Z (m, d)`` (see
        :meth:`texts`), built and predicted :meth:`texts_per_call` at a time."""
        step = self.texts_per_call()
        outs = []
        for s in range(0, len(Z), step):
            part = None if replacements is None else replacements[s : s + step]
            outs.append(model(self.texts(Z[s : s + step], part)))
        if not outs:
            return np.empty((0, model.n_outputs or 0))
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def instance_meta(self) -> dict[str, Any]:
        """Token offsets and the player of each token, for the explanation's ``meta``."""
        return {
            "token_offsets": self.spans.tolist(),
            "token_players": self.token_players.tolist(),
        }


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _NAME_CHARS else flat[: _NAME_CHARS - 3] + "..."


def refine_groups(explanation: Any, top: int = 3, output: int | str | None = None) -> Any:
    """Groups that split the most important groups of a grouped text explanation.

    The second step of "groups, then refine" for long documents: explain with players
    = groups (``Text(groups="sentences")``) at a bounded budget, then again with
    ``Text(groups=refine_groups(coarse))``, whose players are the tokens of each
    document's ``top`` groups of largest ``|value|`` and, as before, the other groups;
    the second explanation stays exact in sum (efficiency over all players).

    Measured on 2000-token documents (``benchmarks/text.py``): each step needs about
    four evaluations per player to be accurate; at budgets below that, sentence values
    alone rank tokens more faithfully (deletion and insertion curves), and with it the
    refined values beat shap's hierarchical Owen values.

    Parameters
    ----------
    explanation : Explanation
        A text explanation (its ``meta`` has ``token_offsets`` and ``token_players``).
    top : int
        Groups split into tokens per document.
    output : int or str, optional
        The output whose values rank the groups (the last by default).

    Returns
    -------
    callable ``(text, spans) -> labels``
        For the ``groups`` parameter of :class:`Text`; it knows the explained documents
        only, and refuses others or other tokenizations.

    Examples
    --------
    >>> import blackbox_xai as bx
    >>> f = lambda docs: [[d.count("good") - d.count("bad")] for d in docs]
    >>> doc = "A good start. A bad middle. A dull end."
    >>> coarse = bx.ExactShapley(f, bx.maskers.Text(groups="sentences")).explain(doc)
    >>> fine = bx.maskers.Text(groups=bx.maskers.text.refine_groups(coarse, top=1))
    >>> fine.for_instance(doc).player_names
    ['A', 'good', 'start', 'A bad middle', 'A dull end']
    """
    top = check_positive_int(top, "top")
    o = explanation.output_index(output)
    docs = explanation.data if isinstance(explanation.data, list) else [explanation.data]
    if "token_players" not in explanation.meta:
        raise ValueError("refine_groups needs a text explanation (meta['token_players']).")
    plans: dict[str, tuple[list[list[int]], list[int]]] = {}
    for row, text in enumerate(docs):
        players = np.asarray(explanation.meta["token_players"][row])
        n_players = int(players.max()) + 1
        values = np.abs(explanation.values[row, :n_players, o])
        split = set(np.argsort(-values, kind="stable")[:top].tolist())
        labels, fresh = [], n_players
        for p in players.tolist():
            if p in split:
                labels.append(fresh)
                fresh += 1
            else:
                labels.append(p)
        plans[str(text)] = (explanation.meta["token_offsets"][row], labels)

    def groups(text: str, spans: list[tuple[int, int]]) -> list[int]:
        if text not in plans:
            raise ValueError("refine_groups only knows the documents of its explanation.")
        offsets, labels = plans[text]
        if [list(s) for s in spans] != [list(s) for s in offsets]:
            raise ValueError(
                "refine_groups: the masker tokenizes this document differently from the "
                "grouped explanation; use the same tokenizer."
            )
        return labels

    return groups

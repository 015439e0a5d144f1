"""Anchors on text: an anchor is a set of players (tokens or words) that must stay.

Samples under an anchor are perturbations of the document: the anchor's players are kept
and every other player is absent independently with probability ``p_absent`` (0.5, the
default of the Anchors paper), absent tokens being removed or masked as the
:class:`~blackbox_xai.maskers.Text` masker says, or replaced by a similar word drawn
from a user-supplied list. The perturbation distribution is known and sampled afresh, so
the KL confidence bounds of the precision are bounds on new perturbations; the bandit
(KL-LUCB) and beam search are the tabular ones (:class:`._search.AnchorSearch`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ...maskers.text import BoundText, Text
from ...models import Model
from ...results import AnchorExplanation
from ...utils.parallel import map_row_chunks
from ...utils.seeding import resolve_seed, row_key, row_rng
from ...utils.validation import check_texts, check_unit_interval
from ._search import (
    AnchorSearch,
    Arm,
    BudgetExhausted,
    CallBudget,
    SearchSettings,
    bounds,
    lockstep_blocks,
)
from ._targets import Target

#: Perturbed documents of one request: coalitions ``Z (m, d)`` and, with similar words,
#: the text of every absent token ``(m, T)`` (None: the masker's removal or mask token).
Request = tuple[np.ndarray, np.ndarray | None]

#: Samples of an arm's first pull on text (128 instead of the tabular 32).
TEXT_FIRST_BATCH = 128

#: A text search: yields requests, receives model outputs, returns its result.
TextRounds = Generator[Request, np.ndarray, Any]


@dataclass(frozen=True)
class TextSampling:
    """How perturbations are drawn, and what coverage is counted on.

    Parameters
    ----------
    p_absent : float in (0, 1)
        Probability that a player outside the anchor is absent from a sample.
    similar_words : mapping of str -> sequence of str, optional
        Replacements of absent tokens: a token with entries is replaced by one drawn
        uniformly from them (instead of being removed or masked).
    corpus : sequence of str, optional
        Documents on which coverage is counted: the share of them containing every
        anchor word (tokens compared as the masker's tokenizer writes them). Without
        it, coverage is the probability that a perturbation keeps the anchor,
        ``(1 - p_absent) ** len(anchor)``.
    """

    p_absent: float = 0.5
    similar_words: Mapping[str, Sequence[str]] | None = None
    corpus: Sequence[str] | None = None

    @classmethod
    def checked(
        cls, masker: Text, p_absent: float, similar_words: Any, corpus: Any
    ) -> tuple[TextSampling, list[frozenset[str]] | None]:
        """Validated settings, and the token sets of the corpus documents."""
        p_absent = check_unit_interval(p_absent, "p_absent")
        if similar_words is not None:
            if not isinstance(similar_words, Mapping):
                raise TypeError(
                    "similar_words must map a word to a list of replacements, got "
                    f"{type(similar_words).__name__}."
                )
            for word, options in similar_words.items():
                if isinstance(options, str) or not all(isinstance(o, str) for o in options):
                    raise TypeError(
                        f"similar_words[{word!r}] must be a list of strings, got {options!r}."
                    )
            similar_words = {str(w): list(o) for w, o in similar_words.items() if len(o)}
        token_sets = None
        if corpus is not None:
            corpus = check_texts(corpus, name="corpus")
            if not corpus:
                raise ValueError("corpus is empty; pass documents or None.")
            token_sets = [frozenset(doc[s:e] for s, e in masker.tokenize(doc)) for doc in corpus]
        return cls(p_absent, similar_words, corpus), token_sets


class TextAnchorSearch(AnchorSearch):
    """:class:`AnchorSearch` on perturbations of one document.

    Arms are sets of players; pulling an arm draws fresh perturbations that keep its
    players. The model is a deterministic function: without similar words, a
    perturbation already evaluated for this document is not sent again.
    """

    def __init__(
        self,
        bound: BoundText,
        agree: Callable[[np.ndarray], np.ndarray],
        coverage: Callable[[tuple[int, ...]], float],
        sampling: TextSampling,
        settings: SearchSettings,
        rng: np.random.Generator,
        budget: TextBudget,
    ) -> None:
        self.bound, self.agree, self.coverage_of = bound, agree, coverage
        self.sampling, self.settings, self.rng, self.budget = sampling, settings, rng, budget
        self.verified: list[Arm] = []
        self.min_pool = 1  # the pool (perturbations) never runs out
        self._known: dict[bytes, bool] = {}
        self._examples: list[np.ndarray] = []  # masks of the samples kept as examples
        self._replacements: list[np.ndarray | None] = []
        tokens = bound.tokens
        similar = sampling.similar_words or {}
        self._options = [similar.get(t, []) for t in tokens]

    def arm(self, anchor: tuple[int, ...], mask: np.ndarray | None = None) -> Arm:
        """A fresh arm keeping the players ``anchor``."""
        pool = self.settings.max_samples
        return Arm(tuple(anchor), np.zeros(0, bool), self.coverage_of(tuple(anchor)), pool)

    def _replacements_for(self, Z: np.ndarray) -> np.ndarray | None:
        if not any(self._options):
            return None
        absent = "" if self.bound.masker.mode == "remove" else self.bound.masker.mask_token
        out = np.full((len(Z), len(self._options)), absent, dtype=object)
        for t, options in enumerate(self._options):
            if options:
                out[:, t] = np.asarray(options, dtype=object)[
                    self.rng.integers(len(options), size=len(Z))
                ]
        return out

    def pull(self, arms: list[Arm], counts: list[int]) -> Generator[Request, np.ndarray, None]:
        """Draw ``counts[i]`` fresh perturbations under each arm; the ones not seen before
        go to the model in one request."""
        d = self.bound.n_players
        draws = []
        for a, c in zip(arms, counts, strict=True):
            Z = self.rng.random((c, d)) >= self.sampling.p_absent
            Z[:, list(a.anchor)] = True
            draws.append(Z)
        Z = np.concatenate(draws) if draws else np.zeros((0, d), bool)
        replacements = self._replacements_for(Z)
        if replacements is None:
            keys = [row.tobytes() for row in np.packbits(Z, axis=1)]
            new = {k: i for i, k in enumerate(keys) if k not in self._known}
            if new:
                rows = np.fromiter(new.values(), dtype=np.int64, count=len(new))
                out = yield from self.budget.ask_text((Z[rows], None))
                for k, hit in zip(new, self.agree(out), strict=True):
                    self._known[k] = bool(hit)
            hits = np.array([self._known[k] for k in keys], dtype=bool)
        else:
            out = yield from self.budget.ask_text((Z, replacements))
            hits = np.asarray(self.agree(out), dtype=bool)
        start = 0
        for a, c in zip(arms, counts, strict=True):
            self._record_text(a, Z[start : start + c], hits[start : start + c], replacements, start)
            start += c

    def _record_text(
        self,
        arm: Arm,
        Z: np.ndarray,
        hits: np.ndarray,
        replacements: np.ndarray | None,
        offset: int,
    ) -> None:
        arm.n += len(Z)
        arm.k += int(hits.sum())
        keep = self.settings.n_examples
        for group, wanted in ((arm.agree, hits), (arm.differ, ~hits)):
            for i in np.flatnonzero(wanted)[: max(0, keep - len(group))].tolist():
                group.append(len(self._examples))
                self._examples.append(Z[i])
                self._replacements.append(
                    None if replacements is None else replacements[offset + i]
                )

    def examples(self, arm: Arm) -> dict[str, Any]:
        """Perturbed documents under the anchor on which the prediction agrees / differs."""
        out: dict[str, Any] = {}
        for name, ids in (("agree", arm.agree), ("differ", arm.differ)):
            texts = []
            for i in ids:
                rep = self._replacements[i]
                texts += self.bound.texts(
                    self._examples[i][None], None if rep is None else rep[None]
                )
            out[name] = texts
        return out

    def extend(self, beam: list[Arm], min_coverage: float) -> list[Arm]:
        """Anchors one player longer than those of the beam that could cover more than
        ``min_coverage`` (the best valid anchor's; any coverage before one is found)."""
        seen: set[frozenset[int]] = set()
        out = []
        for parent in beam:
            for j in range(self.bound.n_players):
                key = frozenset((*parent.anchor, j))
                if j in parent.anchor or key in seen:
                    continue
                seen.add(key)
                arm = self.arm((*parent.anchor, j))
                if arm.coverage > min_coverage or (min_coverage == 0 and not self.verified_valid):
                    out.append(arm)
        return out

    @property
    def verified_valid(self) -> bool:
        """Whether a valid anchor has been found."""
        return any(a.valid for a in self.verified)


def _coverage_function(
    bound: BoundText, sampling: TextSampling, token_sets: list[frozenset[str]] | None
) -> Callable[[tuple[int, ...]], float]:
    if token_sets is None:
        keep = 1.0 - sampling.p_absent
        return lambda anchor: keep ** len(anchor)
    words = [
        sorted({bound.tokens[t] for t in np.flatnonzero(bound.token_players == j).tolist()})
        for j in range(bound.n_players)
    ]
    contains = np.array([[all(w in s for w in ws) for s in token_sets] for ws in words])
    return lambda anchor: float(np.logical_and.reduce(contains[list(anchor)], axis=0).mean())


class TextAnchors:
    """The text path of :class:`~blackbox_xai.Anchors` (a ``Text`` masker in the place of
    the training data)."""

    def __init__(
        self,
        masker: Text,
        target: Target,
        settings: SearchSettings,
        sampling: TextSampling,
        token_sets: list[frozenset[str]] | None,
        parameters: dict[str, Any],
    ) -> None:
        self.masker, self.target, self.settings = masker, target, settings
        self.sampling, self.token_sets, self.parameters = sampling, token_sets, parameters

    def job(
        self,
        text: str,
        rng: np.random.Generator,
        limit: int | None,
        meta: dict[str, Any],
        anchor: tuple[int, ...] | None = None,
        n_samples: int | None = None,
    ) -> TextJob:
        """The search for the anchor of ``text`` (or, with ``anchor``, the score of that
        anchor on ``n_samples`` fresh perturbations), ready to be driven."""
        bound = self.masker.for_instance(text)
        budget = TextBudget(limit)
        return TextJob(bound, self._rounds(bound, rng, budget, anchor, n_samples), meta)

    def search(self, model: Model, *args: Any, **kwargs: Any) -> AnchorExplanation:
        """One job (see :meth:`job`), driven alone."""
        job = self.job(*args, **kwargs)
        drive_texts(model, [job])
        return self.result(model, job)

    def result(self, model: Model, job: TextJob) -> AnchorExplanation:
        """The explanation of a finished job."""
        bound = job.bound
        arm, search, predicted, kind, finished = job.outcome
        rule = [_player_text(bound, j) for j in arm.anchor]
        names = model.output_names or []
        info: dict[str, Any] = {
            **job.meta,
            "stopped_by_budget": not finished,
            "output_kind": kind,
            "token_offsets": bound.spans.tolist(),
            "token_players": bound.token_players.tolist(),
            "coverage_on": "corpus" if self.token_sets is not None else "perturbations",
            "parameters": self.parameters,
        }
        if kind in ("scores", "proba") and predicted < len(names):
            info["predicted_name"] = names[int(predicted)]
        return AnchorExplanation(
            rule,
            list(arm.anchor),
            arm.precision,
            (arm.lower, arm.upper),
            arm.coverage,
            predicted,
            arm.valid,
            job.calls,
            job.rows,
            arm.n,
            search.examples(arm),
            bound.text,
            bound.player_names,
            info,
        )

    def _rounds(
        self,
        bound: BoundText,
        rng: np.random.Generator,
        budget: TextBudget,
        anchor: tuple[int, ...] | None,
        n_samples: int | None,
    ) -> TextRounds:
        full = np.ones((1, bound.n_players), dtype=bool)
        out = yield from budget.ask_text((full, None))
        kind = self.target.resolve(out)
        value = self.target.predictions(out)[0]
        predicted = float(value) if kind == "regression" else int(value)
        search = TextAnchorSearch(
            bound,
            lambda o: self.target.agree(o, predicted),
            _coverage_function(bound, self.sampling, self.token_sets),
            self.sampling,
            self.settings,
            rng,
            budget,
        )
        if anchor is not None:
            assert n_samples is not None
            arm = search.arm(anchor)
            yield from search.pull([arm], [n_samples])
            lower, upper = bounds(arm.k, arm.n, float(np.log(2 / self.settings.delta)))
            arm.lower, arm.upper = float(lower), float(upper)
            arm.valid = arm.lower >= self.settings.threshold
            return arm, search, predicted, kind, True
        try:
            arm, finished = yield from search.run()
        except BudgetExhausted:  # before any arm was verified: the empty anchor, unscored
            arm, finished = search.arm(()), False
        return arm, search, predicted, kind, finished

    def parse(self, text: str, rule: Sequence[str | int]) -> tuple[int, ...]:
        """The players a user-given rule names: words (every player with that text) or
        player indices."""
        bound = self.masker.for_instance(text)
        anchor: list[int] = []
        for item in rule:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= item < bound.n_players:
                    raise ValueError(
                        f"rule item {item} is not a player index of this document "
                        f"(it has {bound.n_players} players)."
                    )
                ids = [int(item)]
            else:
                ids = [j for j in range(bound.n_players) if _player_text(bound, j) == str(item)]
                if not ids:
                    raise ValueError(
                        f"rule item {item!r} is not a word of this document; its players are "
                        f"{bound.player_names}."
                    )
            anchor += [j for j in ids if j not in anchor]
        return tuple(anchor)


def explain_documents(
    anchors: Any, docs: list[str], limit: int | None, chunk_size: int | None
) -> list[AnchorExplanation]:
    """Anchors of documents ``docs``: document ``i`` draws from ``row_rng(seed, i)``, so
    results depend neither on ``n_jobs`` nor on ``chunk_size``."""
    entropy = resolve_seed(anchors.seed)
    work = partial(_explain_documents, anchors.text_, docs, entropy, limit)
    parts = map_row_chunks(
        work, anchors.model, len(docs), n_jobs=anchors.n_jobs, chunk_size=chunk_size
    )
    return [e for part in parts for e in part]


def _explain_documents(
    text: TextAnchors,
    docs: list[str],
    entropy: int,
    limit: int | None,
    model: Model,
    start: int,
    stop: int,
) -> list[AnchorExplanation]:
    """Anchors of documents ``start:stop``, their rounds sharing model calls (a
    module-level function so every joblib backend can pickle it)."""
    jobs = [
        text.job(docs[i], row_rng(entropy, i), limit, {"seed": entropy, "row": row_key(i)[0]})
        for i in range(start, stop)
    ]
    blocks = lockstep_blocks([job.bound.n_players for job in jobs], text.masker.memory_budget_mb)
    waiting = deque(jobs)
    out: list[AnchorExplanation] = []
    del jobs  # finished searches are freed block by block
    for a, b in blocks:
        block = [waiting.popleft() for _ in range(b - a)]
        drive_texts(model, block)
        out.extend(text.result(model, job) for job in block)
    return out


def _player_text(bound: BoundText, j: int) -> str:
    return bound.player_names[j]


class TextBudget(CallBudget):
    """:class:`CallBudget` for text requests (coalitions, not rows)."""

    def ask_text(self, request: Request) -> Generator[Request, np.ndarray, np.ndarray]:
        """Yield one request of perturbed documents and return the model's outputs."""
        if self.limit is not None and self.calls >= self.limit:
            raise BudgetExhausted
        self.calls += 1
        self.rows += len(request[0])
        out = yield request
        return out


@dataclass
class TextJob:
    """One document's search: its bound masker, its rounds, and what it has used."""

    bound: BoundText
    rounds: TextRounds
    meta: dict[str, Any]
    calls: int = 0  # model calls it took part in
    rows: int = 0  # model rows of its own
    outcome: Any = None
    request: Request | None = None

    def advance(self, outputs: np.ndarray | None) -> None:
        """Send the outputs of its last request; keep its next request or its outcome."""
        try:
            self.request = next(self.rounds) if outputs is None else self.rounds.send(outputs)
        except StopIteration as stop:
            self.request, self.outcome = None, stop.value


def drive_texts(model: Model, jobs: list[TextJob]) -> None:
    """Run document searches in lockstep: the requests of one round, of every document,
    go to the model together, in calls that stay within each document's memory budget
    (a request costs its share of its document's ``texts_per_call``)."""
    for job in jobs:
        job.advance(None)
    while True:
        active = [job for job in jobs if job.request is not None]
        if not active:
            return
        # Pieces (job, start, stop) of the requests, packed into calls of cost <= 1.
        calls: list[list[tuple[TextJob, int, int]]] = [[]]
        used = 0.0
        for job in active:
            assert job.request is not None
            m, per = len(job.request[0]), job.bound.texts_per_call()
            for s in range(0, m, per):
                e = min(m, s + per)
                cost = (e - s) / per
                if calls[-1] and used + cost > 1.0:
                    calls.append([])
                    used = 0.0
                calls[-1].append((job, s, e))
                used += cost
        outputs: dict[int, list[np.ndarray]] = {id(job): [] for job in active}
        for pieces in calls:
            texts: list[str] = []
            for job, s, e in pieces:
                Z, rep = job.request  # type: ignore[misc]
                texts += job.bound.texts(Z[s:e], None if rep is None else rep[s:e])
            out = model(texts)
            at = 0
            for job, s, e in pieces:
                outputs[id(job)].append(out[at : at + e - s])
                at += e - s
            for job in {id(j): j for j, _, _ in pieces}.values():
                job.calls += 1
        for job in active:
            assert job.request is not None
            job.rows += len(job.request[0])
            parts = outputs[id(job)]
            job.advance(parts[0] if len(parts) == 1 else np.concatenate(parts))

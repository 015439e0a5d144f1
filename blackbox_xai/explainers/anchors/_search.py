"""Beam search for an anchor with batched KL-LUCB: one model call per bandit round.

The search is a generator: it yields the model inputs of a round, receives the
model outputs and finally returns its result, so a driver can put the rounds of
many rows into one model call (see ``anchors._drive``).

Samples under an anchor are reference (training) rows that satisfy it, drawn
without replacement. The reference rows are a sample of the data distribution, so
the rows satisfying an anchor, taken in random order, are independent draws from
the data distribution conditioned on the anchor: KL (Chernoff) bounds on them bound
the precision on new data, not only on the reference rows. A finite pool only caps
the number of samples; drawing all of it never makes a precision exact.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...utils.config import budget_mb
from ._kl_bounds import exploration_rate, kl_lower_bound, kl_upper_bound
from ._predicates import Anchor, RowPredicates

#: What a search yields (model inputs: rows, or a text search's perturbation requests),
#: receives (model outputs) and returns.
Rounds = Generator[Any, np.ndarray, None]


class BudgetExhausted(Exception):
    """Raised inside a search when its next model call would exceed ``max_model_calls``."""


class CallBudget:
    """Counts one row's model calls and rows, and stops it at ``limit`` calls."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.calls = 0
        self.rows = 0

    def ask(self, inputs: np.ndarray) -> Generator[np.ndarray, np.ndarray, np.ndarray]:
        """Yield ``inputs`` for one model call and return its outputs."""
        if self.limit is not None and self.calls >= self.limit:
            raise BudgetExhausted
        self.calls += 1
        self.rows += len(inputs)
        out = yield inputs
        return out


class ReferenceOutcomes:
    """Whether the model keeps the explained prediction on each reference row.

    The model is a deterministic function, so each reference row is sent to it at
    most once per explained row, in the first round that draws it.

    Parameters
    ----------
    reference : array (n_ref, p)
    agree : callable
        Model outputs ``(m, k)`` -> bool ``(m,)``: the prediction is kept.
    budget : CallBudget
    """

    def __init__(
        self,
        reference: np.ndarray,
        agree: Callable[[np.ndarray], np.ndarray],
        budget: CallBudget,
    ) -> None:
        self.reference = reference
        self.agree = agree
        self.budget = budget
        self.known = np.zeros(len(reference), dtype=bool)
        self.value = np.zeros(len(reference), dtype=bool)

    def get(self, rows: np.ndarray) -> Generator[np.ndarray, np.ndarray, np.ndarray]:
        """Outcomes of reference rows ``rows``; one model call for those not seen yet."""
        new = np.unique(rows[~self.known[rows]])
        if len(new):
            out = yield from self.budget.ask(self.reference[new])
            self.value[new] = self.agree(out)
            self.known[new] = True
        return self.value[rows]


@dataclass(frozen=True)
class SearchSettings:
    """Parameters of one search (see :class:`~blackbox_xai.Anchors`)."""

    threshold: float
    delta: float
    tau: float
    beam_size: int
    #: Samples of an arm's first pull; later pulls double its count.
    first_batch: int = 32
    #: Samples after which an arm is not pulled again (fewer when its pool is smaller).
    max_samples: int = 4096
    #: Agreeing / differing samples kept as examples per anchor.
    n_examples: int = 10

    def looks(self, cap: np.ndarray | int) -> np.ndarray:
        """How many sample counts an arm sampled up to ``cap`` is looked at:
        ``first_batch * 2**i`` below the cap, and the cap (see ``_next_counts``)."""
        ratio = np.asarray(cap) / self.first_batch
        return 1 + np.maximum(0, np.ceil(np.log2(ratio))).astype(np.int64)

    def min_pool(self) -> int:
        """Fewest reference rows an anchor needs to be shown valid (all of them
        agreeing, one arm verified): smaller pools are not worth searching."""
        if self.threshold == 1:
            return 1  # valid when every row of the pool agrees (see ``verify``)
        m = np.arange(1, self.max_samples + 1)
        # kl(1, q) = -log q, so the lower bound of m agreeing samples is exp(-beta / m).
        ok = m * -np.log(self.threshold) >= np.log(self.looks(m) / self.delta)
        return int(m[ok][0]) if ok.any() else self.max_samples + 1


@dataclass
class Arm:
    """A candidate anchor and the samples drawn under it."""

    anchor: Anchor
    mask: np.ndarray
    coverage: float
    pool_size: int
    order: np.ndarray | None = None  # pool rows in the order they are drawn
    n: int = 0
    k: int = 0
    lower: float = 0.0
    upper: float = 1.0
    valid: bool = False
    agree: list[int] = field(default_factory=list)
    differ: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of agreeing samples (NaN before any sample)."""
        return self.k / self.n if self.n else float("nan")


def bounds(k: Any, n: Any, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """KL confidence bounds of precisions ``k / n`` at exploration rate ``beta``."""
    mean = np.asarray(k) / np.asarray(n)
    return kl_lower_bound(mean, beta / n), kl_upper_bound(mean, beta / n)


class AnchorSearch:
    """Ribeiro et al. (2018), Algorithm 2, with every bandit round in one model call.

    Parameters
    ----------
    predicates : RowPredicates
        Predicates of the explained row.
    outcomes : ReferenceOutcomes
        Outcomes of the reference rows (asked of the model on demand).
    settings : SearchSettings
    rng : numpy Generator
        The row's stream.
    """

    def __init__(
        self,
        predicates: RowPredicates,
        outcomes: ReferenceOutcomes,
        settings: SearchSettings,
        rng: np.random.Generator,
    ) -> None:
        self.predicates = predicates
        self.outcomes = outcomes
        self.settings = settings
        self.rng = rng
        self.verified: list[Arm] = []
        self.min_pool = settings.min_pool()

    def arm(self, anchor: Anchor, mask: np.ndarray | None = None) -> Arm:
        """A fresh arm for ``anchor`` (its reference mask computed unless given)."""
        if mask is None:
            mask = self.predicates.mask(anchor)
        return Arm(anchor, mask, float(mask.mean()), int(mask.sum()))

    def examples(self, arm: Arm) -> dict[str, np.ndarray]:
        """Reference rows satisfying the anchor on which the prediction agrees / differs."""
        ref = self.outcomes.reference
        return {"agree": ref[arm.agree], "differ": ref[arm.differ]}

    # -- sampling -----------------------------------------------------------------------
    def _record(self, arm: Arm, rows: np.ndarray, hits: np.ndarray) -> None:
        arm.n += len(rows)
        arm.k += int(hits.sum())
        keep = self.settings.n_examples
        arm.agree.extend(rows[hits][: max(0, keep - len(arm.agree))].tolist())
        arm.differ.extend(rows[~hits][: max(0, keep - len(arm.differ))].tolist())

    def pull(self, arms: list[Arm], counts: list[int]) -> Rounds:
        """Draw ``counts[i]`` more pool rows of each arm, without replacement; all the
        rows not seen before go to the model in one call."""
        picks = []
        for a, c in zip(arms, counts, strict=True):
            if a.order is None:
                a.order = self.rng.permutation(np.flatnonzero(a.mask))
            picks.append(a.order[a.n : a.n + c])
        hits = yield from self.outcomes.get(np.concatenate(picks))
        start = 0
        for a, rows in zip(arms, picks, strict=True):
            self._record(a, rows, hits[start : start + len(rows)])
            start += len(rows)

    def _cap(self, arm: Arm) -> int:
        return min(self.settings.max_samples, arm.pool_size)

    def _next_counts(self, arms: list[Arm]) -> list[int]:
        # Doubling keeps the number of rounds logarithmic in the samples an arm needs.
        first = self.settings.first_batch
        return [min(max(a.n, first), self._cap(a) - a.n) for a in arms]

    # -- bandits ------------------------------------------------------------------------
    def best_arms(self, arms: list[Arm]) -> Generator[Any, np.ndarray, list[Arm]]:
        """The ``beam_size`` most precise arms, by KL-LUCB with tolerance ``tau``.

        Each round pulls every arm whose confidence interval still overlaps the
        boundary between the current top arms and the rest by more than ``tau`` (a
        superset of the two arms KL-LUCB pulls), all in one model call.
        """
        s = self.settings
        if len(arms) <= s.beam_size:
            return arms
        yield from self.pull(arms, self._next_counts(arms))
        cap = np.array([self._cap(a) for a in arms])
        t = 1
        while True:
            n = np.array([a.n for a in arms])
            k = np.array([a.k for a in arms])
            order = np.argsort(-k / n, kind="stable")
            top, rest = order[: s.beam_size], order[s.beam_size :]
            lower, upper = bounds(k, n, exploration_rate(len(arms), t, s.delta))
            hi, lo = upper[rest].max(), lower[top].min()
            if hi - lo <= s.tau:
                break
            blocking = np.sort(
                np.concatenate([top[lower[top] < hi - s.tau], rest[upper[rest] > lo + s.tau]])
            )
            blocking = blocking[n[blocking] < cap[blocking]]
            if len(blocking) == 0:
                break
            chosen = [arms[i] for i in blocking]
            yield from self.pull(chosen, self._next_counts(chosen))
            t += 1
        return [arms[i] for i in top]

    def verify(self, arms: list[Arm]) -> Rounds:
        """Sample each arm until its precision is shown above or below the threshold.

        An arm is valid when its lower KL bound reaches ``threshold`` (or, for
        ``threshold = 1``, which no bound reaches, when every sample agrees after
        ``max_samples`` samples or its whole pool), invalid when its upper bound falls
        below, or when it cannot be sampled further. The bounds hold with probability
        ``1 - delta`` by a union bound over the arms and, for each arm, the looks
        its doubling schedule allows (``delta / n_arms`` per arm, split over its
        looks).
        """
        s = self.settings
        self.verified.extend(arms)
        pending = list(arms)
        while pending:
            undecided = []
            for a in pending:
                if a.n:
                    beta = float(np.log(len(arms) * s.looks(self._cap(a)) / s.delta))
                    lower, upper = bounds(a.k, a.n, beta)
                    a.lower, a.upper = float(lower), float(upper)
                    a.valid = a.lower >= s.threshold or (
                        s.threshold == 1 and a.k == a.n >= self._cap(a)
                    )
                    if a.valid or a.upper < s.threshold or a.n >= self._cap(a):
                        continue
                undecided.append(a)
            pending = undecided
            if pending:
                yield from self.pull(pending, self._next_counts(pending))

    # -- beam search --------------------------------------------------------------------
    def extend(self, beam: list[Arm], min_coverage: float) -> list[Arm]:
        """Anchors one predicate longer than those of the beam, covering more than
        ``min_coverage`` of the reference rows (only those can improve the best) and
        enough rows to be shown valid at all (``SearchSettings.min_pool``)."""
        seen: set[frozenset[int]] = set()
        out = []
        pred = self.predicates
        for parent in beam:
            # One predicate per feature and side: a second one would imply or be implied.
            taken = {(pred.feature[i], pred.side[i]) for i in parent.anchor}
            for i in range(len(pred)):
                if (pred.feature[i], pred.side[i]) in taken:
                    continue
                key = frozenset((*parent.anchor, i))
                if key in seen:
                    continue
                seen.add(key)
                mask = parent.mask & pred.masks[i]
                if mask.mean() > min_coverage and mask.sum() >= self.min_pool:
                    out.append(self.arm((*parent.anchor, i), mask))
        return out

    def run(self) -> Generator[Any, np.ndarray, tuple[Arm, bool]]:
        """Search; return the anchor and whether the search ended on its own.

        Each size's beam extends the previous one until no candidate could cover more
        than the best valid anchor so far. The anchor is the valid one of largest
        coverage over all sizes, or (no valid anchor, or the budget ran out first)
        the verified anchor with the best lower precision bound.
        """
        empty = self.arm(())
        best: Arm | None = None
        try:
            yield from self.verify([empty])
            if empty.valid:
                return empty, True
            beam = [empty]
            while True:
                candidates = self.extend(beam, best.coverage if best else 0.0)
                if not candidates:
                    break
                beam = yield from self.best_arms(candidates)
                yield from self.verify(beam)
                for a in beam:
                    if a.valid and (best is None or a.coverage > best.coverage):
                        best = a
        except BudgetExhausted:
            return (best or self._best_effort()), False
        return (best or self._best_effort()), True

    def _best_effort(self) -> Arm:
        return max(self.verified, key=lambda a: (a.lower, a.coverage))


#: Bytes one row's search holds per player while rows run in lockstep (its samples'
#: coverage masks and outcomes, arm statistics; tracemalloc measured about 0.9 KiB at 10
#: features).
_LOCKSTEP_BYTES_PER_PLAYER = 1024


def lockstep_room(memory_budget_mb: float | None = None) -> int:
    """Players' worth of searches that may run in lockstep within the budget's
    ``"game_values"`` share: rows beyond it wait for a later block, so memory stays
    flat in the number of rows while each block still shares its model calls."""
    return int(budget_mb("game_values", memory_budget_mb) * 2**20) // _LOCKSTEP_BYTES_PER_PLAYER


def lockstep_blocks(
    sizes: list[int], memory_budget_mb: float | None = None
) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` blocks of searches whose players (``sizes``) fit
    :func:`lockstep_room` together (the masker's own budget when it has one); at least
    one search per block."""
    room, blocks, start, used = lockstep_room(memory_budget_mb), [], 0, 0
    for i, size in enumerate(sizes):
        if i > start and used + size > room:
            blocks.append((start, i))
            start, used = i, 0
        used += max(size, 1)
    if start < len(sizes):
        blocks.append((start, len(sizes)))
    return blocks

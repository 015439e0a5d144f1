"""Paired, size-stratified coalition designs for Kernel SHAP, drawn without replacement.

A *pair* is a coalition ``S`` together with its complement. Pairs are grouped into
strata by ``s = min(|S|, d - |S|)`` for ``s = 1 .. d // 2``; stratum ``s`` holds
``C(d, s)`` pairs (``C(d, s) / 2`` when ``2 s = d``). Every round gives each stratum a
fixed number of new pairs (proportional to the chosen size weights, never more than the
stratum still holds, so strata the budget covers are enumerated: the "border trick"),
drawn uniformly among the pairs not drawn before. Within a stratum all pairs carry the
same Shapley-kernel mass, so the regression weight of a sampled pair is
``stratum mass / pairs drawn``.
"""

from __future__ import annotations

import functools
import itertools
from math import comb

import numpy as np

#: Size weights: the stratum share of the budget, as a function of the coalition size.
SIZE_WEIGHTS = ("kernel", "leverage", "geometric")

#: Enumerate a stratum's pairs (and choose among them) when it holds at most this many
#: times the pairs asked for; otherwise draw random subsets and reject repeats.
_ENUMERATE_FACTOR = 8


def stratum_sizes(d: int) -> np.ndarray:
    """Smaller side ``s`` of the pairs of each stratum: ``1 .. d // 2``."""
    return np.arange(1, d // 2 + 1)


def stratum_pair_counts(d: int) -> list[int]:
    """Number of distinct pairs in each stratum (exact Python integers)."""
    return [comb(d, s) // 2 if 2 * s == d else comb(d, s) for s in stratum_sizes(d)]


def stratum_mass(d: int) -> np.ndarray:
    """Shapley-kernel mass of each stratum, per coalition of a pair.

    A coalition of size ``s`` has kernel weight ``(d-1) / (C(d,s) s (d-s))``; the
    stratum's pairs together carry ``(d-1) / (s (d-s))`` per side (half that when
    ``2 s = d``, where both sides have the same size).
    """
    s = stratum_sizes(d).astype(np.float64)
    mass = (d - 1) / (s * (d - s))
    return np.where(2 * s == d, mass / 2, mass)


def stratum_shares(d: int, size_weights: str) -> np.ndarray:
    """Share of the sampling budget given to each stratum (sums to one).

    ``"kernel"`` follows the Shapley kernel (coalition sizes near 0 and ``d`` first),
    ``"leverage"`` gives every coalition size the same share (the leverage scores of
    the Shapley regression, Musco & Witter 2025), ``"geometric"`` their geometric mean.
    """
    s = stratum_sizes(d).astype(np.float64)
    kernel_per_size = 1.0 / (s * (d - s))
    per_size = {
        "kernel": kernel_per_size,
        "leverage": np.ones_like(s),
        "geometric": np.sqrt(kernel_per_size),
    }
    if size_weights not in per_size:
        raise ValueError(f"weights must be one of {SIZE_WEIGHTS}, got {size_weights!r}.")
    # A stratum holds two sizes (s and d - s) unless 2 s = d.
    share = np.where(2 * s == d, 1.0, 2.0) * per_size[size_weights]
    return share / share.sum()


def allocate(total: int, shares: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Integer counts ``c`` with ``sum(c) = total``, ``lower <= c <= upper``, ``c ~ t * shares``.

    Water-filling: the real solution ``clip(t * shares, lower, upper)`` (``t`` found by
    bisection, the sum is monotone in ``t``), then floors plus the largest remainders.
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    if not lower.sum() <= total <= upper.sum():
        raise ValueError(f"cannot allocate {total} between {lower.sum()} and {upper.sum()}.")

    def clipped(t: float) -> np.ndarray:
        # np.clip's values (lower <= upper, no NaN), without its Python-level dispatch:
        # the bisection calls it about 60 times per round.
        return np.minimum(np.maximum(t * shares, lower), upper)

    lo, hi = 0.0, 1.0
    while clipped(hi).sum() < total:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:  # converged to the float resolution
            break
        if clipped(mid).sum() < total:
            lo = mid
        else:
            hi = mid
    real = clipped(hi)
    counts = np.floor(real).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        room = counts < upper
        order = np.argsort(-(real - counts) - 2.0 * room, kind="stable")
        counts[order[:short]] += 1
    return counts


#: Coalitions of at most this many players are keyed by their bits as one unsigned
#: integer (fast to sort); wider ones by their packed bits as a fixed-width byte string.
_BITMASK_MAX_D = 64


def _keys(masks: np.ndarray) -> np.ndarray:
    """Key of each coalition ``(c,)``, for numpy's set operations (``np.unique``, ``np.isin``)."""
    packed = np.packbits(masks, axis=1, bitorder="little")
    if masks.shape[1] <= _BITMASK_MAX_D:
        padded = np.zeros((len(masks), 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        return padded.view("<u8").ravel()
    return np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()


@functools.lru_cache(maxsize=32)
def _stratum_members(d: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of stratum ``s`` as its canonical side, and their keys (cached: every
    design of a run, one per background row with ``background="sample"``, needs them)."""
    if 2 * s == d:  # both sides have size s: the one holding player 0 stands for the pair
        combos = [(0, *c) for c in itertools.combinations(range(1, d), s - 1)]
    else:
        combos = list(itertools.combinations(range(d), s))
    masks = _pairs_to_masks(np.array(combos, dtype=np.int64).reshape(-1, s), d)
    return _read_only(masks), _read_only(_keys(masks))


def _read_only(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only (shared or cached: a write would reach every holder)."""
    a.flags.writeable = False
    return a


def _pairs_to_masks(chosen: np.ndarray, d: int) -> np.ndarray:
    """Masks ``(c, d)`` of the subsets with players ``chosen (c, s)`` (set through flat
    indices: about twice as fast as ``np.put_along_axis``)."""
    masks = np.zeros(len(chosen) * d, dtype=bool)
    masks[(chosen + d * np.arange(len(chosen))[:, None]).ravel()] = True
    return masks.reshape(len(chosen), d)


def uniform_below(rng: np.random.Generator, n: int) -> int:
    """A uniform integer in ``[0, n)`` for any Python int ``n`` (strata of d >= 67 players
    hold more pairs than int64 can count); ``rng.integers(n)`` where that fits."""
    if n < 2**63:
        return int(rng.integers(n))
    n_bytes = (n.bit_length() + 7) // 8
    while True:  # rejection keeps the draw uniform
        value = int.from_bytes(rng.bytes(n_bytes), "little") >> (8 * n_bytes - n.bit_length())
        if value < n:
            return value


class PairedDesign:
    """Coalition pairs drawn round after round, stratified by size, without replacement.

    With ``n_designs > 1`` it draws several designs of the same size together (one per
    background row for ``KernelShap(background="sample")``): each stratum's pairs are
    put in one random order, and design ``b`` reads consecutive positions of it starting
    at ``b * capacity // n_designs`` (wrapping around). Each design is still a uniform
    draw without replacement, and the designs together spread over the stratum as
    evenly as possible instead of repeating each other's pairs.

    Parameters
    ----------
    d : int
        Number of players.
    size_weights : {"kernel", "leverage", "geometric"}
        Budget share of each stratum (see :func:`stratum_shares`).
    rng : numpy.random.Generator
        Source of every draw; the design is a function of it alone.
    n_designs : int
        Designs drawn together.

    Attributes
    ----------
    stacked : list of bool arrays (n_designs, c, d)
        Per stratum, the smaller sides of every design's pairs so far, in draw order
        (all designs have the same counts).
    """

    def __init__(
        self, d: int, size_weights: str, rng: np.random.Generator, n_designs: int = 1
    ) -> None:
        self.d = d
        self.rng = rng
        self.shares = stratum_shares(d, size_weights)
        self.capacity = stratum_pair_counts(d)
        # The per-stratum arrays below are replaced, never written in place, so the
        # strata start out sharing read-only empty ones.
        no_pairs = _read_only(np.zeros((0, d), dtype=bool))
        self.stacked = [_read_only(np.zeros((n_designs, 0, d), dtype=bool))] * len(self.capacity)
        self._offsets = [[b * c // n_designs for b in range(n_designs)] for c in self.capacity]
        # Per stratum, the positions of the random order revealed so far (sorted; Python
        # ints where C(d, s) may overflow int64) and the pairs at them.
        self._revealed: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros(0, dtype=_position_dtype(c)), no_pairs) for c in self.capacity
        ]
        # Per stratum, the keys of the pairs drawn so far (see :func:`_keys`).
        self._seen = [_read_only(_keys(no_pairs))] * len(self.capacity)

    @property
    def designs(self) -> list[list[np.ndarray]]:
        """Per design and stratum, the smaller sides of its pairs so far ``(c, d)``."""
        return [list(design) for design in zip(*self.stacked, strict=True)]

    @property
    def pairs(self) -> list[np.ndarray]:
        """Per stratum, the pairs of the first (or only) design."""
        return [side[0] for side in self.stacked]

    @property
    def counts(self) -> np.ndarray:
        """Pairs drawn so far in each stratum (per design)."""
        return np.array([side.shape[1] for side in self.stacked], dtype=np.int64)

    @property
    def room(self) -> list[int]:
        """Pairs not drawn yet in each stratum (Python ints: ``C(d, s)`` overflows int64
        from ``d = 67``)."""
        return [c - int(k) for c, k in zip(self.capacity, self.counts, strict=True)]

    @property
    def n_pairs(self) -> int:
        """Pairs drawn so far in all strata (per design)."""
        return int(self.counts.sum())

    def min_first_round(self) -> int:
        """Fewest pairs of a first round: ``d`` (enough to identify ``d`` values) and two
        per stratum (so every sampled stratum has a variance)."""
        return max(self.d, sum(min(2, c) for c in self.capacity))

    def add_round(self, n_pairs: int) -> int:
        """Draw up to ``n_pairs`` new pairs per design; returns how many were drawn (fewer
        when the strata run out)."""
        counts = self.counts
        # A stratum's room can exceed float range (comb(d, s) for d > ~1030 players);
        # no round draws anywhere near 2**53 pairs, so the cap changes no allocation.
        room = np.array([min(r, 2**53) for r in self.room], dtype=float)
        n_pairs = int(min(n_pairs, room.sum()))
        lower = np.minimum(2, room) if self.n_pairs == 0 else np.zeros_like(room)
        new = allocate(n_pairs, self.shares, lower, room)
        for i, c in enumerate(new):
            if c > 0:
                taken = self._extend(i, int(counts[i]), int(c))
                if counts[i] > 0:
                    taken = np.concatenate([self.stacked[i], taken], axis=1)
                self.stacked[i] = taken
        return n_pairs

    def redraw(self, design: int) -> None:
        """Replace the pairs of one design by a fresh draw of the same counts.

        Its reading offsets in every stratum's random order move to random positions, so
        it reads a uniformly random block of pairs (still without replacement, no longer
        spread away from the other designs). Used on the first round only, for the
        designs that cannot tell some players apart; the others keep their pairs.
        """
        counts = self.counts
        for stratum, capacity in enumerate(self.capacity):
            self._offsets[stratum][design] = uniform_below(self.rng, capacity)
            if counts[stratum] > 0:
                # A new array, not an edit in place: earlier regressions may hold the old.
                side = self.stacked[stratum].copy()
                side[design] = self._extend(stratum, 0, int(counts[stratum]), [design])[0]
                self.stacked[stratum] = side

    def candidate_draws(self, n: int) -> list[np.ndarray]:
        """``n`` fresh draws of a single design's pairs so far, for choosing among them.

        Each draw has the design's counts and no repeated pair; the draws are
        independent and uniform, and the design is not changed (:meth:`install` makes
        one of them its pairs). All draws of a stratum come from one array of uniforms,
        so choosing among hundreds costs a few array operations, not a loop.

        Returns
        -------
        list of bool arrays ``(n, c_s, d)``, per stratum.
        """
        draws = []
        for stratum, count in enumerate(self.counts.tolist()):
            capacity = self.capacity[stratum]
            if count == capacity:  # enumerated: every draw holds the whole stratum
                draws.append(np.broadcast_to(self.stacked[stratum][0], (n, count, self.d)))
            elif capacity <= _ENUMERATE_FACTOR * count:
                members, _ = _stratum_members(self.d, stratum + 1)
                order = np.argsort(self.rng.random((n, capacity)), axis=1)
                draws.append(members[order[:, :count]])
            else:
                draws.append(self._distinct_draws(stratum + 1, n, count))
        return draws

    def _distinct_draws(self, s: int, n: int, count: int) -> np.ndarray:
        """``(n, count, d)``: per draw, the first ``count`` distinct subsets of size
        ``s`` read from uniforms (a draw that falls short is read again, whole)."""
        d = self.d
        width = d - 1 if 2 * s == d else d
        # In a stratum of more than _ENUMERATE_FACTOR times the pairs asked for, a draw
        # of twice as many rows (plus a few) falls short about never.
        rows = 2 * count + 8
        out = np.empty((n, count, d), dtype=bool)
        todo = np.arange(n)
        while len(todo):
            masks, keys = _subset_masks(self.rng.random((len(todo) * rows, width)), s, d)
            masks, keys = masks.reshape(len(todo), rows, d), keys.reshape(len(todo), rows)
            # A stable sort puts the first occurrence of a key ahead of its repeats.
            order = np.argsort(keys, axis=1, kind="stable")
            ordered = np.take_along_axis(keys, order, axis=1)
            repeat = np.zeros(keys.shape, dtype=bool)
            np.put_along_axis(repeat, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
            keep = ~repeat & (np.cumsum(~repeat, axis=1) <= count)
            whole = keep.sum(axis=1) == count
            out[todo[whole]] = masks[whole][keep[whole]].reshape(-1, count, d)
            todo = todo[~whole]
        return out

    def install(self, pairs: list[np.ndarray]) -> None:
        """Make ``pairs`` (per stratum ``(c_s, d)``, one of :meth:`candidate_draws`) the
        pairs of this single design so far: the first positions of each stratum's random
        order, from which later rounds read on (still without repeats)."""
        if len(self.stacked[0]) != 1:
            raise ValueError("only a single design is chosen among draws.")
        for stratum, side in enumerate(pairs):
            side = _read_only(np.array(side, dtype=bool))
            positions: np.ndarray = np.array(
                range(len(side)), dtype=_position_dtype(self.capacity[stratum])
            )
            self._offsets[stratum] = [0]
            self.stacked[stratum] = side[None]
            self._revealed[stratum] = (positions, side)
            self._seen[stratum] = _read_only(_keys(side))

    def _extend(
        self, stratum: int, start: int, count: int, which: list[int] | None = None
    ) -> np.ndarray:
        """The pairs ``(len(which), count, d)`` at positions ``start .. start + count - 1``
        past the offsets of the designs ``which`` (default all)."""
        capacity = self.capacity[stratum]
        which = list(range(len(self.stacked[stratum]))) if which is None else which
        offsets: np.ndarray = np.array(
            [self._offsets[stratum][b] for b in which], dtype=_position_dtype(capacity)
        )
        positions = (offsets[:, None] + np.arange(start, start + count)) % capacity
        # Positions of a random order not revealed yet are exchangeable: fill them, in
        # order of first appearance, with pairs drawn uniformly among those not drawn before.
        known, pairs = self._revealed[stratum]
        flat = positions.ravel()
        unknown = flat[~_sorted_contains(known, flat)] if len(known) else flat
        if not len(unknown):
            return pairs[np.searchsorted(known, positions)]
        hidden, first = _first_occurrences(unknown)  # hidden sorted
        drawn = self._draw(stratum, len(hidden))
        if len(hidden) == len(flat):
            # Every position new and distinct (the usual case for designs spread over a
            # large stratum): the draws are in the order of the positions already.
            taken, hidden_pairs = drawn.reshape(*positions.shape, self.d), drawn[first]
        else:
            taken, hidden_pairs = None, np.empty_like(drawn)
            hidden_pairs[np.argsort(first)] = drawn
        if len(known):  # merge the two sorted lists, no re-sort of all revealed so far
            at = np.searchsorted(known, hidden)
            hidden, hidden_pairs = (
                np.insert(known, at, hidden),
                np.insert(pairs, at, hidden_pairs, axis=0),
            )
        known, pairs = self._revealed[stratum] = (hidden, hidden_pairs)
        return pairs[np.searchsorted(known, positions)] if taken is None else taken

    def _draw(self, stratum: int, count: int) -> np.ndarray:
        s = stratum + 1
        seen = self._seen[stratum]
        capacity = self.capacity[stratum]
        if capacity - len(seen) <= _ENUMERATE_FACTOR * count:
            members, member_keys = self._unseen_members(s, seen)
            picked = self.rng.choice(len(members), size=count, replace=False)
            masks, keys = members[picked], member_keys[picked]
        else:
            masks, keys = self._rejection_draw(s, count, seen)
        self._seen[stratum] = np.concatenate([seen, keys])
        return masks

    def _unseen_members(self, s: int, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of the stratum not drawn yet, as its canonical side, and its key."""
        masks, keys = _stratum_members(self.d, s)
        if not len(seen):
            return masks, keys
        unseen = ~np.isin(keys, seen)
        return masks[unseen], keys[unseen]

    def _rejection_draw(
        self, s: int, count: int, seen: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform random subsets of size ``s`` and their keys; repeats (earlier or in
        this draw) rejected.

        Only used when the stratum holds many times the pairs asked for, so few are
        rejected. Each batch keeps, in order, the first occurrence of every subset not
        drawn before, as many as are still needed.
        """
        d = self.d
        taken: list[np.ndarray] = []
        taken_keys = [seen[:0]]
        n_taken = 0
        width = d - 1 if 2 * s == d else d
        while n_taken < count:
            need = count - n_taken
            batch = 2 * need + 8
            # The batch is twice what is needed (the stream is fixed by it), but with few
            # repeats its first rows hold all the picks: draw and read a prefix first,
            # the rest of the batch only when the prefix falls short (the first picks in
            # row order are the same either way), else skip over it in the stream.
            prefix = min(batch, _rows_for(need, len(seen) + n_taken, self.capacity[s - 1]))
            u = self.rng.random((prefix, width))
            while True:
                masks, keys = _subset_masks(u, s, d)
                first = _first_new(keys, np.concatenate([seen, *taken_keys]))[:need]
                if len(first) == need or len(u) == batch:
                    break
                u = np.concatenate([u, self.rng.random((batch - prefix, width))])
            if len(u) < batch:
                _skip_uniforms(self.rng, (batch - prefix) * width)
            taken.append(masks[first])
            taken_keys.append(keys[first])
            n_taken += len(first)
        return np.concatenate(taken), np.concatenate(taken_keys)


def _rows_for(need: int, seen: int, capacity: int) -> int:
    """Rows of a rejection batch that almost surely hold ``need`` new subsets: a row is
    a repeat with probability at most ``p = (seen + need) / capacity``; twice the
    expected repeats, plus a few."""
    p = (seen + need) / capacity
    return int(need * (1 + 2 * p) / (1 - p)) + 8 if p < 1 else 2 * need + 8


def _skip_uniforms(rng: np.random.Generator, n: int) -> None:
    """Move ``rng`` past ``n`` uniforms (``rng.random(n)``) without computing them.

    PCG64 spends one 64-bit output per double, so ``advance(n)`` lands on the same
    state; it also drops the buffered half of an earlier 32-bit draw, which drawing
    doubles keeps, so that is put back. Other bit generators draw and discard.
    """
    generator = rng.bit_generator
    if not isinstance(generator, np.random.PCG64 | np.random.PCG64DXSM):
        rng.random(n)
        return
    before = generator.state
    generator.advance(n)
    if before["has_uint32"]:
        generator.state = {
            **generator.state,
            "has_uint32": before["has_uint32"],
            "uinteger": before["uinteger"],
        }


def _subset_masks(u: np.ndarray, s: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks ``(rows, d)`` and keys (see :func:`_keys`) of the subsets read from the
    uniforms ``u``: the ``s`` first players of each random order ``argsort(u)``, or for
    ``2 s = d`` player 0 and ``s - 1`` others (the side holding player 0 stands for the
    pair).

    The ``k`` smallest entries of a row are those at most its ``k``-th smallest value
    (``np.partition``, cheaper than ``np.argpartition``), unless that value is tied;
    rows with ties (about ``d^2 2^-53`` of them) take :func:`_smallest`'s choice.
    """
    rows = len(u)
    half = 2 * s == d
    k = s - 1 if half else s  # players picked by the uniforms
    if k > 0:
        picked = u <= np.partition(u, k - 1, axis=1)[:, k - 1 : k]
    else:
        picked = np.zeros((rows, u.shape[1]), dtype=bool)
    masks = np.concatenate([np.ones((rows, 1), dtype=bool), picked], axis=1) if half else picked
    keys_counts = _keys_and_sizes(masks)
    if keys_counts is None:  # wide coalitions: keys as byte strings
        tied = np.count_nonzero(masks, axis=1) != s
    else:
        tied = keys_counts[1] != s
    if np.any(tied):
        masks[tied] = _pairs_to_masks(_subsets(u[tied], s, d), d)
        keys_counts = None if keys_counts is None else _keys_and_sizes(masks)
    keys = _keys(masks) if keys_counts is None else keys_counts[0]
    return masks, keys


#: Keys from a float product with the powers of two are exact up to this many players.
_FLOAT_KEY_MAX_D = 53


def _keys_and_sizes(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_keys` and sizes of the coalitions, by one BLAS product (several times
    faster than packing bits); None when :func:`_keys` gives byte strings or the float
    sum of the powers of two would not be exact."""
    d = masks.shape[1]
    if d > min(_BITMASK_MAX_D, _FLOAT_KEY_MAX_D):
        return None
    keys, sizes = (masks.astype(np.float64) @ _powers_and_ones(d)).T
    return keys.astype(np.uint64), sizes


@functools.lru_cache(maxsize=32)
def _powers_and_ones(d: int) -> np.ndarray:
    """``(d, 2)``: bit values ``2^i`` of the players, and ones (to count them)."""
    return _read_only(np.stack([2.0 ** np.arange(d), np.ones(d)], axis=1))


def _subsets(u: np.ndarray, s: int, d: int) -> np.ndarray:
    """Players ``(rows, s)`` of the subsets of :func:`_subset_masks` by partial sorts."""
    if 2 * s != d:
        return _smallest(u, s)
    others = _smallest(u, s - 1) + 1
    return np.concatenate([np.zeros((len(u), 1), dtype=np.int64), others], axis=1)


def _first_occurrences(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` (sorted) and the index of the first occurrence of each:
    ``np.unique(values, return_index=True)``, which needs a stable sort; numpy's default
    sort is markedly faster, and the smallest index of each run of equal values is the
    first occurrence whatever the sort did with ties."""
    order = np.argsort(values)
    ordered = values[order]
    new = ordered[1:] != ordered[:-1]
    if new.all():  # the usual case: all distinct
        return ordered, order
    starts = np.flatnonzero(np.concatenate([[True], new]))
    return ordered[starts], np.minimum.reduceat(order, starts)


def _first_new(keys: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Sorted indices of the first occurrence of every key of ``keys`` not in ``seen``."""
    first = np.sort(_first_occurrences(keys)[1])
    return first[~np.isin(keys[first], seen)] if len(seen) else first


def _sorted_contains(known: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is in the sorted array ``known``."""
    at = np.searchsorted(known, values)
    found = np.zeros(len(values), dtype=bool)
    inside = at < len(known)
    found[inside] = known[at[inside]] == values[inside]
    return found


def _smallest(u: np.ndarray, s: int) -> np.ndarray:
    """Per row of ``u``, the indices of its ``s`` smallest entries: the first ``s`` players
    of the random order ``argsort(u)``, by a partial sort (a pair is a set: the order
    within them does not matter)."""
    return np.argpartition(u, s - 1, axis=1)[:, :s]


def _position_dtype(capacity: int) -> type:
    """dtype of the positions in a stratum's random order: int64, or Python ints (object)
    where an offset plus a position (below ``2 * capacity``) could overflow int64."""
    return np.int64 if capacity < 2**62 else object

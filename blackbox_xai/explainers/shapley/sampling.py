"""Permutation sampling of Shapley values: antithetic pairs, delta evaluation, standard errors."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ...maskers.tabular import Tabular
from ...models import Model
from ...results import Explanation
from ...utils.config import budget_mb
from ...utils.scaling import peak_exponents
from ...utils.seeding import SeedLike, resolve_seed, row_rng
from ...utils.validation import check_positive_int
from .._instances import splits_instances
from .._sequential import (
    check_background_option,
    check_round_cap,
    check_tol,
    explain_rows,
    min_pairs_to_stop,
    run_rounds,
)
from ..base import Explainer
from ._calibration import (
    batch_moments,
    edgeworth_factor,
    merge_moments,
    pooled_shape,
    rescale_moments,
)

#: How absent features are filled: the masker's game (every background row, averaged)
#: or one background row per permutation pair (Strumbelj & Kononenko 2014), stratified.
BACKGROUNDS = ("mean", "sample")

#: The coalitions of one block of rows and one round take this fraction of the
#: "game_values" share of the memory budget (2**22 values, 32 MiB, by default).
_BLOCK_DIVISOR = 2


#: Permutation pairs of a row evaluated and merged into its moments at once: rounds of
#: up to 2 x 256 permutations go in one piece (as before pieces existed), larger ones in
#: pieces whose values stay within a block's share of the budget.
_PIECE_PAIRS = 256


def _budget_values() -> int:
    """Float64 game values one block of rows may hold."""
    return int(budget_mb("game_values") * 2**20) // (8 * _BLOCK_DIVISOR)


def _check_even(value: Any, name: str) -> int:
    count = check_positive_int(value, name, minimum=4)
    if count % 2:
        raise ValueError(
            f"{name} must be even (each permutation is used with its reverse), got {count}."
        )
    return count


def _position_contributions(
    prefix: np.ndarray, suffix: np.ndarray, empty: np.ndarray, full: np.ndarray
) -> np.ndarray:
    """Antithetic marginal contributions by position ``(n, q, d, k)``.

    ``prefix[..., i, :]`` is ``v(P_{i+1})``, the first ``i + 1`` players of a permutation,
    and ``suffix[..., i, :]`` is ``v(N minus P_{i+1})``, so the reversed permutation's
    chain is read from the suffixes. ``empty`` and ``full`` broadcast to ``(n, q, 1, k)``.
    """
    shape = (*prefix.shape[:2], 1, prefix.shape[3])
    empty, full = np.broadcast_to(empty, shape), np.broadcast_to(full, shape)
    forward = np.diff(np.concatenate([empty, prefix, full], axis=2), axis=2)
    backward = -np.diff(np.concatenate([full, suffix, empty], axis=2), axis=2)
    return 0.5 * (forward + backward)


class SamplingShapley(Explainer):
    """Shapley values by sampling permutations, each with its reverse.

    For a permutation, each player's marginal contribution is the change of the game
    value when it joins the players before it. Every permutation is paired with its
    reverse (antithetic sampling: exact for games with interactions of order at most
    two) and both chains are evaluated incrementally (delta evaluation: ``d - 1`` new
    coalitions per permutation, the empty and full coalitions once per row). All
    coalitions of a round, for every row, go to the model in one batched call. The
    estimate of every pair sums to ``v(N) - v(empty)``, so efficiency holds exactly;
    standard errors come from the spread of the independent pairs, and with ``tol``
    rows get more rounds until ``max_j SE_j <= tol * (max phi - min phi)``.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Masker, array-like or DataFrame
        Background rows (``Tabular``) or a masker; feature groups are single players.
    seed : int, optional
        Seed of the permutations (one stream per row); None draws one.
    n_jobs : int, optional
        joblib workers over row chunks; results do not depend on it.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> bg = np.zeros((1, 3)); f = lambda X: X[:, 0] * X[:, 1] + X[:, 2]
    >>> expl = bx.SamplingShapley(f, bg, seed=0).explain(np.ones((1, 3)), n_permutations=4)
    >>> np.round(expl.values[0, :, 0], 6)
    array([0.5, 0.5, 1. ])
    """

    method = "sampling_shapley"

    def __init__(
        self, model: Any, masker: Any, *, seed: SeedLike = None, n_jobs: int | None = None
    ) -> None:
        super().__init__(model, masker, seed=seed, n_jobs=n_jobs)

    @splits_instances
    def explain(
        self,
        X: Any,
        *,
        n_permutations: int = 100,
        tol: float | None = None,
        max_permutations: int | None = None,
        background: str = "mean",
        chunk_size: int | None = None,
        progress: bool = False,
    ) -> Explanation:
        """Shapley values of every output for the rows of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to explain (validated by the masker).
        n_permutations : int
            Permutations per row, reverses included (even, at least 4). With ``tol`` it
            is the size of each round.
        tol : float, optional
            Stop a row once ``max_j SE_j <= tol * (max_j phi_j - min_j phi_j)`` for every
            output, checked once at least ``max(10, d)`` pairs are in (fewer pairs give
            standard errors too noisy to stop on, sometimes 0).
        max_permutations : int, optional
            With ``tol``: most permutations per row (default ``10 * n_permutations``).
        background : {"mean", "sample"}
            ``"mean"``: the masker's game, every coalition averaged over the background.
            ``"sample"`` (``Tabular`` only): one background row per permutation pair, one
            model row per coalition. The pairs are stratified by background row (each
            row's pairs cycle through the background in random order) and the estimate
            is the weighted mean of the per-background-row means, so the spread between
            background rows adds no variance; needs ``n_permutations >= 4 *
            n_background``. This is a stratified, antithetic variant of the Strumbelj &
            Kononenko estimator, not the classic one (which draws the background row of
            every sample independently and averages all samples). Efficiency still holds
            exactly: each pair sums to ``f(x) - f(b)``, and the weighted mean of those is
            ``f(x) - v(empty)``. ``n_model_rows`` counts ``f(b)`` once per block of rows,
            so it depends on ``chunk_size``/``n_jobs`` (the values do not).
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.
        progress : bool
            Show a progress bar over the rows on stderr (needs tqdm); the values do
            not depend on it.

        Returns
        -------
        Explanation
            ``values (n, d, k)``, ``base_values (n, k) = v(empty)``, ``stderr``; ``meta``
            has per-row ``n_evals`` (coalitions), ``n_permutations`` and ``converged``.

        Notes
        -----
        ``stderr`` is scaled so that ``values +- 1.96 * stderr`` is a 95% interval that
        holds at small budgets: the spread of the pairs (per background row with
        ``"sample"``) times ``t_{nu} / 1.96`` plus a second-order Edgeworth
        (Cornish-Fisher) term for skewness and kurtosis (Hall 1992), with ``nu = pairs - 1``
        (``"mean"``) or the Welch-Satterthwaite degrees of freedom (``"sample"``). The
        skewness and kurtosis are pooled over all players and outputs of the row: the
        contributions of tree models jump, and a few pairs miss the jumps exactly when
        the mean is off. The factor tends to 1 as pairs grow and is never below 1; a
        player whose pairs all agree keeps ``stderr`` 0. The ``tol`` rule uses this
        ``stderr``.
        """
        X = self.masker.validate(X)
        d = self.masker.n_players
        per_round = _check_even(n_permutations, "n_permutations")
        tol = check_tol(tol)
        cap = check_round_cap(
            None if max_permutations is None else _check_even(max_permutations, "max_permutations"),
            tol,
            per_round,
            10 * per_round,
            ("max_permutations", "n_permutations"),
        )
        check_background_option(background, BACKGROUNDS, self.masker)
        if background == "sample":
            assert isinstance(self.masker, Tabular)
            n_bg = int(np.count_nonzero(self.masker.weights))
            if per_round < 4 * n_bg:
                raise ValueError(
                    f"background='sample' gives every background row at least two "
                    f"permutation pairs (for its variance): n_permutations={per_round} is "
                    f"too small for {n_bg} background rows; pass n_permutations >= "
                    f"{4 * n_bg} or summarise the background (Tabular(summarize=...))."
                )
        entropy = resolve_seed(self.seed)

        rows = partial(self._rows, X, entropy, per_round, cap, tol, background)

        per_perm = d - 1  # delta evaluation

        def meta(perms: np.ndarray, done: np.ndarray) -> dict[str, Any]:
            return {
                "seed": entropy,
                "n_evals": [int(2 + per_perm * p) for p in perms],
                "n_permutations": perms.tolist(),
                "converged": done.tolist(),
                "parameters": {
                    "n_players": d,
                    "n_permutations": per_round,
                    "tol": tol,
                    "max_permutations": cap,
                    "background": background,
                },
            }

        # a block's rows hold one piece of a round at a time
        block = max(1, _budget_values() // (min(per_round, 2 * _PIECE_PAIRS) * 2 * d))
        return explain_rows(self, X, rows, block, chunk_size, meta)

    def _rows(
        self,
        X: np.ndarray,
        entropy: int,
        per_round: int,
        cap: int,
        tol: float | None,
        background: str,
        model: Model,
        start: int,
        stop: int,
    ) -> list[np.ndarray]:
        """Rounds of antithetic pairs for rows ``start:stop``; each row stops once it
        converges (a bound method in a partial, so every joblib backend can pickle it)."""
        d, Xb = self.masker.n_players, X[start:stop]
        n = len(Xb)
        rngs = [row_rng(entropy, row) for row in range(start, stop)]
        strata: _Pooled | _ByBackground
        if background == "mean":
            ends = np.stack([np.zeros(d, dtype=bool), np.ones(d, dtype=bool)])
            v_ends = self.masker.coalition_values(model, Xb, ends)  # (n, 2, k)
            empty, full = v_ends[:, 0], v_ends[:, 1]
            strata = _Pooled(n, d, v_ends.shape[2])
        else:
            assert isinstance(self.masker, Tabular)
            used = np.flatnonzero(self.masker.weights > 0)
            out = model(np.concatenate([Xb, self.masker.data[used]]))
            full, f_background = out[:n], out[n:]
            weights = self.masker.weights[used]
            empty = np.broadcast_to(weights @ f_background, full.shape)
            strata = _ByBackground(n, d, full.shape[1], weights, rngs)
        k = full.shape[1]
        positions = np.arange(1, d)[:, None]
        counts = np.cumsum([min(per_round, cap - r) // 2 for r in range(0, cap, per_round)])

        # Ranks fit the smallest integer type: a round's are drawn whole (below).
        rank_type = np.min_scalar_type(d)

        def pairs(active: np.ndarray, ranks: np.ndarray, drawn: np.ndarray | None) -> None:
            """Evaluate the pairs of permutations ``ranks (rows, q, d)`` (position of
            each player) of rows ``active`` into the strata; ``drawn`` their background
            rows (``"sample"``)."""
            q = ranks.shape[1]
            prefix = ranks[:, :, None, :] < positions  # (rows, q, d - 1, d)
            z = np.concatenate([prefix, ~prefix], axis=2).reshape(len(active), -1, d)
            if drawn is None:
                v = self.masker.coalition_values(model, Xb[active], z)
                v_empty = empty[active][:, None, None]
            else:
                assert isinstance(self.masker, Tabular)
                rows_bg = np.repeat(used[drawn], 2 * (d - 1), axis=1)
                v = self.masker.one_background_values(model, Xb[active], z, rows_bg)
                v_empty = f_background[drawn][:, :, None]
            v = v.reshape(len(active), q, 2 * (d - 1), k)
            by_position = _position_contributions(
                v[:, :, : d - 1], v[:, :, d - 1 :], v_empty, full[active][:, None, None]
            )
            strata.add(active, np.take_along_axis(by_position, ranks[..., None], axis=2), drawn)

        def step(t: int, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            q = int(counts[t] - (counts[t - 1] if t else 0))
            before = int(counts[t - 1]) if t else 0
            # The round's permutations, then its background rows, as the old one-draw
            # code drew them (a generator permutes row by row: pieces draw the same).
            ranks = np.empty((len(active), q, d), dtype=rank_type)
            for start in range(0, q, _PIECE_PAIRS):
                order = np.tile(np.arange(d), (min(_PIECE_PAIRS, q - start), 1))
                for r, i in enumerate(active):
                    permuted = rngs[i].permuted(order, axis=1)
                    ranks[r, start : start + len(order)] = np.argsort(permuted, axis=1)
            drawn = None
            if background != "mean":
                assert isinstance(strata, _ByBackground)
                drawn = strata.schedule(active, before, q)  # (rows, q) into `used`
            # Pairs are evaluated and merged in pieces of a fixed size, so that a round
            # of many permutations stays within the budget while the values depend on
            # neither the budget nor the rows explained together.
            for start in range(0, q, _PIECE_PAIRS):
                piece = slice(start, start + _PIECE_PAIRS)
                pairs(active, ranks[:, piece], None if drawn is None else drawn[:, piece])
            return strata.estimate(active)

        enough = min_pairs_to_stop(d)
        phi, se, last, done = run_rounds(
            n, step, lambda t: t + 1 < len(counts), tol, lambda t: counts[t] >= enough
        )
        return [phi, np.array(empty), se, 2 * counts[last], done]


class _Scaled:
    """Running count, mean and central sums ``M2, M3, M4`` of each row's samples, per
    output divided by a power of two that follows the output's largest sample (see
    :mod:`blackbox_xai.utils.scaling`: games with values near ``1e300`` would otherwise
    give infinite fourth moments and NaN standard errors)."""

    #: Exponent of an output that has seen no samples yet (its moments are all 0).
    _UNSET = -(2**20)

    def __init__(self, cells: tuple[int, ...], k: int) -> None:
        """Moments of ``cells`` (rows first) per output, all 0."""
        n = cells[0]
        self.exponent = np.full((n, k), self._UNSET)
        self.moments = (
            np.zeros((*cells[:-1], 1, 1)),
            *(np.zeros((*cells, k)) for _ in range(4)),
        )

    def scaled(self, active: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """``samples (rows, q, d, k)`` of rows ``active`` over their scale, after widening
        the scale (and rescaling the moments so far) of outputs that outgrew it."""
        old = self.exponent[active]
        new = np.maximum(old, peak_exponents(samples, axis=(1, 2))[:, 0, 0])
        if np.any(new > old):
            extra = (1,) * (self.moments[1].ndim - 2)
            shift = (old - new).reshape(len(active), *extra, -1)
            rescaled = rescale_moments(tuple(m[active] for m in self.moments), shift)
            for m, moment in zip(self.moments, rescaled, strict=True):
                m[active] = moment
            self.exponent[active] = new
        return np.ldexp(samples, -new[:, None, None, :])

    def unscaled(self, active: np.ndarray, *estimates: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-row ``estimates (rows, d, k)`` back in the game's units."""
        exponent = self.exponent[active][:, None, :]
        return tuple(np.ldexp(e, exponent) for e in estimates)


class _Pooled(_Scaled):
    """Moments of all the pairs of a row; the third and fourth feed the small-sample
    widening of the standard errors."""

    def __init__(self, n: int, d: int, k: int) -> None:
        super().__init__((n, d), k)

    def add(self, active: np.ndarray, samples: np.ndarray, drawn: np.ndarray | None) -> None:
        """Merge the pairs ``samples (rows, q, d, k)`` into those seen so far."""
        samples = self.scaled(active, samples)
        merged = merge_moments(tuple(m[active] for m in self.moments), batch_moments(samples))
        for m, new in zip(self.moments, merged, strict=True):
            m[active] = new

    def estimate(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count, mean, m2, m3, m4 = (m[active] for m in self.moments)
        skew2, kurt = pooled_shape(count, mean, m2, m3, m4)
        pairs = count[:, 0, 0]
        widen = edgeworth_factor(pairs, skew2, kurt)[:, None, None]
        phi, se = self.unscaled(active, mean, widen * np.sqrt(m2 / ((count - 1) * count)))
        return phi, se


class _ByBackground(_Scaled):
    """Pairs stratified by background row: each row cycles through the background in a
    fresh random order per cycle, so every background row gets the same number of pairs
    (+-1); the estimate is the weighted mean of the per-background-row means, and its
    variance has no between-row part."""

    def __init__(
        self, n: int, d: int, k: int, weights: np.ndarray, rngs: list[np.random.Generator]
    ) -> None:
        super().__init__((n, len(weights), d), k)
        self.weights, self.rngs = weights, rngs
        # each row's background orders (one per cycle) not yet wholly scheduled
        self.cycles = [np.empty((0, len(weights)), dtype=np.int64) for _ in range(n)]
        self.dropped = [0] * n  # cycles of each row already wholly scheduled

    def schedule(self, active: np.ndarray, before: int, q: int) -> np.ndarray:
        """Background row (index into ``weights``) of pairs ``before .. before + q - 1``."""
        n_bg = len(self.weights)
        pair = np.arange(before, before + q)
        out = np.empty((len(active), q), dtype=np.int64)
        for r, i in enumerate(active):
            missing = -(-(before + q) // n_bg) - self.dropped[i] - len(self.cycles[i])
            if missing > 0:  # one draw of many cycles is the same stream as one by one
                order = np.tile(np.arange(n_bg), (missing, 1))
                self.cycles[i] = np.concatenate(
                    [self.cycles[i], self.rngs[i].permuted(order, axis=1)]
                )
            out[r] = self.cycles[i][pair // n_bg - self.dropped[i], pair % n_bg]
            # Later rounds start at pair before + q: cycles wholly before it are done.
            done = (before + q) // n_bg - self.dropped[i]
            self.cycles[i] = self.cycles[i][done:]
            self.dropped[i] += done
        return out

    def add(self, active: np.ndarray, samples: np.ndarray, drawn: np.ndarray | None) -> None:
        """Add the pairs ``samples (rows, q, d, k)`` of background rows ``drawn (rows, q)``
        (from :meth:`schedule`; per background row, a pairwise merge of the running mean
        and central sums: sums of powers would cancel badly for near-constant samples)."""
        assert drawn is not None, "pairs per background row come with their rows"
        samples = self.scaled(active, samples)
        for b in range(len(self.weights)):
            hit = (drawn == b)[:, :, None, None]
            old = tuple(m[active, b] for m in self.moments)
            merged = merge_moments(old, batch_moments(samples, hit))
            for m, new in zip(self.moments, merged, strict=True):
                m[active, b] = new

    def estimate(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count, mean, m2, m3, m4 = (m[active] for m in self.moments)
        w = self.weights[None, :, None, None]
        # per background row: variance of its mean, and that estimate's degrees of freedom
        part = w**2 * m2 / ((count - 1) * count)
        var = part.sum(axis=1)
        # Welch-Satterthwaite: the pairs a stratified SE effectively rests on; +1 turns
        # degrees of freedom back into a sample size (one stratum: its pairs).
        spread = (part**2 / (count - 1)).sum(axis=1)
        pairs = np.where(spread > 0, var**2 / np.where(spread > 0, spread, 1.0), np.inf) + 1
        skew2, kurt = pooled_shape(count, mean, m2, m3, m4)
        widen = edgeworth_factor(pairs, skew2[:, None, None], kurt[:, None, None])
        phi, se = self.unscaled(active, (w * mean).sum(axis=1), widen * np.sqrt(var))
        return phi, se

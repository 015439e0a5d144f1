"""Kernel SHAP: Shapley values as a constrained weighted regression on sampled coalitions."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..explanation import Explanation
from ..models import Model
from ..utils.seeding import SeedLike, resolve_seed
from ..utils.validation import check_positive_int
from ._coalitions import SIZE_WEIGHTS, PairedDesign, stratum_mass
from ._kernel_regression import PairedRegression
from ._sequential import check_tol, explain_rows, run_rounds
from .base import Explainer
from .exact import all_coalitions, shapley_from_all_coalitions

LINKS = ("identity", "logit")

#: Default size weights: the one with the lowest error per coalition in
#: benchmarks/shapley.py.
DEFAULT_WEIGHTS = "leverage"

#: Keep the game values (rows x coalitions x outputs) of one block of rows near 64 MiB.
_BLOCK_VALUES = 2**23

#: Probabilities are clipped to [_EPS, 1 - _EPS] before the logit link.
_EPS = 1e-12


def _apply_link(v: np.ndarray, link: str) -> np.ndarray:
    if link == "identity":
        return v
    if np.any((v <= 0.0) | (v >= 1.0)):
        warnings.warn(
            f"link='logit' needs values strictly between 0 and 1; some game values are 0 or "
            f"1 and were clipped to [{_EPS}, 1 - {_EPS}]. Use link='identity' for outputs "
            "that are not probabilities.",
            UserWarning,
            stacklevel=4,
        )
        v = np.clip(v, _EPS, 1.0 - _EPS)
    return np.log(v) - np.log1p(-v)


class _Rounds:
    """The coalition design of every round, drawn lazily and shared by all rows.

    The design depends only on the seed, so every row (whatever its chunk) sees the
    same coalitions and the regression of each round is factorised once. Round 0 has
    ``(budget - 2) / 2`` pairs (plus the empty and full coalitions), later rounds
    ``budget / 2`` pairs, the last one cut to stay within ``cap`` coalitions.
    """

    def __init__(self, d: int, weights: str, entropy: int, budget: int, cap: int) -> None:
        self.d, self.weights, self.budget, self.cap = d, weights, budget, cap
        self.rng = np.random.default_rng(np.random.SeedSequence(entropy))
        self.mass = stratum_mass(d)
        self.new_pairs: list[list[np.ndarray]] = []
        self.regressions: list[PairedRegression] = []
        self.design = self._first_round()

    def _first_round(self) -> PairedDesign:
        # A design that cannot tell some players apart (possible near the minimum
        # budget) is redrawn; the condition is symmetric in the players, so every pair
        # of a stratum stays equally likely.
        while True:
            design = PairedDesign(self.d, self.weights, self.rng)
            design.add_round((self.budget - 2) // 2)
            regression = PairedRegression(list(design.pairs), self.mass, design.capacity)
            if regression.rank == self.d + 1:
                self.new_pairs.append(list(design.pairs))
                self.regressions.append(regression)
                return design

    def evals(self, t: int) -> int:
        """Coalitions per row after rounds ``0..t``."""
        return 2 + 2 * self.regressions[t].pairs_total

    def has_next(self, t: int) -> bool:
        """Whether a round ``t + 1`` fits within ``cap`` and the strata are not exhausted."""
        room = np.array(self.design.capacity) - self.design.counts
        return self.evals(t) + 2 <= self.cap and bool(room.sum() > 0)

    def get(self, t: int) -> tuple[list[np.ndarray], PairedRegression]:
        """New pairs of round ``t`` (per stratum) and the regression on rounds ``0..t``."""
        while len(self.regressions) <= t:
            before = self.design.counts
            used = self.evals(len(self.regressions) - 1)
            self.design.add_round(min(self.budget // 2, (self.cap - used) // 2))
            self.new_pairs.append([p[b:] for p, b in zip(self.design.pairs, before, strict=True)])
            self.regressions.append(
                PairedRegression(list(self.design.pairs), self.mass, self.design.capacity)
            )
        return self.new_pairs[t], self.regressions[t]


class KernelShap(Explainer):
    """Kernel SHAP with paired, size-stratified sampling without replacement.

    Shapley values solve a weighted least-squares problem over coalitions (Lundberg &
    Lee 2017). This estimator samples that problem well and solves it exactly:

    - coalitions come in pairs (a coalition and its complement), which makes the
      estimate exact for games with interactions of order at most two;
    - pairs are stratified by coalition size; sizes the budget covers are enumerated
      (the "border trick"), the others sampled without replacement with a budget share
      set by ``weights`` (Shapley kernel, leverage scores as in Musco & Witter 2025, or
      their geometric mean);
    - the efficiency constraint ``sum phi = v(N) - v(empty)`` is solved in closed form
      (Covert & Lee 2021), with no lasso; one factorisation serves every row and output,
      because the coalition design depends only on the seed and is shared by all rows;
    - standard errors come from the spread of the sampled pairs within each stratum
      (stratified sampling without replacement, linearised), and with ``tol`` each row
      gets more rounds of coalitions until ``max_j SE_j <= tol * (max phi - min phi)``.

    When the budget covers all ``2**d`` coalitions the values are computed exactly.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Masker, array-like or DataFrame
        Background rows (``Tabular``) or a masker; feature groups are single players.
    link : {"identity", "logit"}
        Explain the model's outputs or their log-odds (``logit(v(S))``, for probabilities).
    seed : int, optional
        Seed of the coalition design; None draws one (recorded in ``meta["seed"]``).
    n_jobs : int, optional
        joblib workers over row chunks; results do not depend on it.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> bg = np.zeros((1, 4)); f = lambda X: X @ np.array([1.0, 2.0, 3.0, 4.0])
    >>> expl = bx.KernelShap(f, bg, seed=0).explain(np.ones((1, 4)))
    >>> np.round(expl.values[0, :, 0], 6)
    array([1., 2., 3., 4.])
    """

    method = "kernel_shap"

    def __init__(
        self,
        model: Any,
        masker: Any,
        link: str = "identity",
        *,
        seed: SeedLike = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(model, masker, seed=seed, n_jobs=n_jobs)
        if link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}, got {link!r}.")
        self.link = link

    def min_evals(self) -> int:
        """Smallest ``n_evals`` that can be solved: ``2**d`` (exact) or ``2 + 2 * max(d, strata)``."""
        d = self.masker.n_players
        pairs = PairedDesign(d, "kernel", np.random.default_rng(0)).min_first_round()
        return min(2**d, 2 + 2 * pairs)

    def explain(
        self,
        X: Any,
        *,
        n_evals: int | str = "auto",
        tol: float | None = None,
        max_evals: int | None = None,
        weights: str = DEFAULT_WEIGHTS,
        chunk_size: int | None = None,
    ) -> Explanation:
        """Shapley values of every output for the rows of ``X``.

        Parameters
        ----------
        X : rows to explain (validated by the masker).
        n_evals : int or "auto"
            Coalitions evaluated per row, the empty and full ones included ("auto":
            ``2 d + 2048``). With ``tol`` it is the size of each round.
        tol : float, optional
            Stop a row once ``max_j SE_j <= tol * (max_j phi_j - min_j phi_j)`` for every
            output; None evaluates exactly ``n_evals`` coalitions.
        max_evals : int, optional
            With ``tol``: most coalitions per row (default ``10 * n_evals``).
        weights : {"kernel", "leverage", "geometric"}
            Budget share of each coalition size.
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.

        Returns
        -------
        Explanation
            ``values (n, d, k)``, ``base_values (n, k) = link(v(empty))``, ``stderr``;
            ``meta`` has per-row ``n_evals`` and ``converged`` (whether the stopping rule
            was met; always True without ``tol``).
        """
        X = self.masker.validate(X)
        d = self.masker.n_players
        budget = self._check_budget(n_evals, d)
        tol = check_tol(tol)
        cap = self._check_max_evals(max_evals, tol, budget, d)
        if weights not in SIZE_WEIGHTS:
            raise ValueError(f"weights must be one of {SIZE_WEIGHTS}, got {weights!r}.")
        entropy = resolve_seed(self.seed)
        exact = budget >= 2**d

        def rows(model: Model, start: int, stop: int) -> list[np.ndarray]:
            if exact:
                return self._exact_rows(model, X[start:stop], d)
            # The design depends on the seed alone: every chunk rebuilds the same one.
            rounds = _Rounds(d, weights, entropy, budget, cap)
            return self._sampled_rows(model, X[start:stop], rounds, tol)

        def meta(evals: np.ndarray, done: np.ndarray) -> dict[str, Any]:
            return {
                "seed": entropy,
                "n_evals": evals.tolist(),
                "converged": done.tolist(),
                "parameters": {
                    "n_players": d,
                    "n_evals": budget,
                    "tol": tol,
                    "max_evals": cap,
                    "weights": weights,
                    "link": self.link,
                    "exact": exact,
                },
            }

        block = max(1, _BLOCK_VALUES // cap)
        return explain_rows(self, X, rows, block, chunk_size, meta)

    # -- checks -------------------------------------------------------------------------
    def _check_budget(self, n_evals: int | str, d: int) -> int:
        if isinstance(n_evals, str):
            if n_evals != "auto":
                raise ValueError(f"n_evals must be an integer or 'auto', got {n_evals!r}.")
            return min(2 * d + 2048, 2**d)
        budget = check_positive_int(n_evals, "n_evals")
        minimum = self.min_evals()
        if budget < minimum:
            raise ValueError(
                f"n_evals={budget} is too small to solve for d={d} players: the minimum is "
                f"{minimum} coalitions (the empty and full ones, and enough pairs to identify "
                f"every player). Pass n_evals >= {minimum}."
            )
        return budget

    @staticmethod
    def _check_max_evals(max_evals: int | None, tol: float | None, budget: int, d: int) -> int:
        if tol is None:
            if max_evals is not None:
                raise ValueError("max_evals only applies with tol; pass tol= or drop max_evals.")
            return budget
        if max_evals is None:
            return min(10 * budget, 2**d)
        cap = check_positive_int(max_evals, "max_evals")
        if cap < budget:
            raise ValueError(f"max_evals={cap} must be >= n_evals={budget}.")
        return cap

    # -- estimation ---------------------------------------------------------------------
    def _exact_rows(self, model: Model, X: np.ndarray, d: int) -> list[np.ndarray]:
        z = all_coalitions(d)
        block = max(1, _BLOCK_VALUES // 2**d)
        phis, bases = [], []
        for s in range(0, len(X), block):
            v = _apply_link(self.masker.coalition_values(model, X[s : s + block], z), self.link)
            phis.append(shapley_from_all_coalitions(v, d))
            bases.append(v[:, 0])
        phi = np.concatenate(phis)
        n = len(X)
        return [phi, np.concatenate(bases), np.zeros_like(phi), np.full(n, 2**d), np.ones(n, bool)]

    def _sampled_rows(
        self, model: Model, X: np.ndarray, rounds: _Rounds, tol: float | None
    ) -> list[np.ndarray]:
        """Sequential rounds for a block of rows; each row stops once it converges."""
        n, d = len(X), self.masker.n_players
        ends = np.stack([np.zeros(d, dtype=bool), np.ones(d, dtype=bool)])
        # Game values per stratum (rows, pairs, side, outputs); rows that stopped keep zeros.
        stored: list[np.ndarray] = []
        base = delta = np.zeros(0)

        def step(t: int, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            nonlocal stored, base, delta
            new_pairs, regression = rounds.get(t)
            z = np.concatenate([np.concatenate([p, ~p]) for p in new_pairs])
            if t == 0:
                z = np.concatenate([ends, z])
            v = _apply_link(self.masker.coalition_values(model, X[active], z), self.link)
            if t == 0:
                base, delta = v[:, 0], v[:, 1] - v[:, 0]
                v = v[:, 2:]
                stored = [np.zeros((n, 0, 2, v.shape[2])) for _ in new_pairs]
            start = 0
            for i, p in enumerate(new_pairs):
                c = len(p)
                grown = np.zeros((n, stored[i].shape[1] + c, 2, v.shape[2]))
                grown[:, : stored[i].shape[1]] = stored[i]
                grown[active, stored[i].shape[1] :, 0] = v[:, start : start + c]
                grown[active, stored[i].shape[1] :, 1] = v[:, start + c : start + 2 * c]
                stored[i] = grown
                start += 2 * c
            y = np.concatenate(
                [np.concatenate([s[active, :, 0], s[active, :, 1]], 1) for s in stored], 1
            )
            y = y - base[active][:, None, :]
            phi = regression.solve(y, delta[active])
            return phi, regression.stderr(y, phi)

        phi, se, last, done = run_rounds(n, step, rounds.has_next, tol)
        evals = np.array([rounds.evals(t) for t in last], dtype=np.int64)
        return [phi, base, se, evals, done]

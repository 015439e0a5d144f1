"""Sequential estimation shared by the sampling Shapley estimators: rounds until
``max_j SE_j <= tol * (max_j phi_j - min_j phi_j)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..results import Explanation
from ..utils import progress
from ..utils.parallel import map_row_chunks

if TYPE_CHECKING:
    from ..models import Model
    from .base import Explainer


def check_round_cap(
    cap: int | None, tol: float | None, per_round: int, default: int, names: tuple[str, str]
) -> int:
    """Most evaluations a row may get: ``per_round`` without ``tol``, else ``cap`` (validated
    by the caller) or ``default``. ``names`` are the cap's and the round's parameter names."""
    cap_name, round_name = names
    if tol is None:
        if cap is not None:
            raise ValueError(f"{cap_name} only applies with tol; pass tol= or drop {cap_name}.")
        return per_round
    if cap is None:
        return default
    if cap < per_round:
        raise ValueError(f"{cap_name}={cap} must be >= {round_name}={per_round}.")
    return cap


def check_background_option(background: str, allowed: tuple[str, ...], masker: Any) -> None:
    """Validate ``background=`` of a Shapley estimator: "sample" needs a Tabular masker."""
    from ..maskers.tabular import Tabular

    if background not in allowed:
        raise ValueError(f"background must be one of {allowed}, got {background!r}.")
    if background == "sample" and not isinstance(masker, Tabular):
        raise TypeError(
            f"background='sample' needs a Tabular masker, got {type(masker).__name__}; "
            "use background='mean'."
        )


def check_tol(tol: Any) -> float | None:
    """Validate ``tol`` (None, or a positive finite number)."""
    if tol is None:
        return None
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)):
        raise TypeError(f"tol must be a number or None, got {type(tol).__name__}.")
    if not 0 < tol < np.inf:
        raise ValueError(f"tol must be positive and finite (e.g. 0.01), got {tol}.")
    return float(tol)


def converged(phi: np.ndarray, stderr: np.ndarray, tol: float) -> np.ndarray:
    """Rows ``(n,)`` whose every output has ``max_j SE_j <= tol * (max_j phi_j - min_j phi_j)``.

    Parameters
    ----------
    phi, stderr : arrays (n, d, k)
        Estimates and their standard errors.
    tol : float
        Largest standard error allowed, relative to the spread of the row's values.
    """
    spread = phi.max(axis=1) - phi.min(axis=1)
    return np.all(stderr.max(axis=1) <= tol * spread, axis=1)


#: Pairs (permutation pairs, or coalition pairs per design) sampled before the stopping
#: rule may fire, at least; see :func:`min_pairs_to_stop`.
MIN_PAIRS_TO_STOP = 10

#: ``step(t, active)`` evaluates round ``t`` for the rows ``active`` (indices into the
#: block) and returns their current estimates and standard errors ``(len(active), d, k)``.
RoundStep = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray]]


def min_pairs_to_stop(d: int) -> int:
    """Fewest sampled pairs before the stopping rule may fire: ``max(10, d)``.

    With a handful of pairs the standard errors are themselves very noisy (they can be
    0 when a few pairs agree by chance), and the rule would stop on them.
    """
    return max(MIN_PAIRS_TO_STOP, d)


def run_rounds(
    n_rows: int,
    step: RoundStep,
    has_next: Callable[[int], bool],
    tol: float | None,
    can_stop: Callable[[int], bool],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run rounds until every row meets the stopping rule or no round is left.

    Without ``tol`` every row runs until ``has_next(t)`` is False. The rule is only
    checked after the rounds ``t`` with ``can_stop(t)`` (enough pairs for the standard
    errors to mean something, see :func:`min_pairs_to_stop`).

    Returns
    -------
    phi, stderr : arrays (n_rows, d, k)
        Each row's estimates after its last round.
    last_round : int array (n_rows,)
        Index of each row's last round.
    done : bool array (n_rows,)
        Whether the rule was met (always True without ``tol``).
    """
    active = np.arange(n_rows)
    last = np.zeros(n_rows, dtype=np.int64)
    done = np.zeros(n_rows, dtype=bool)
    phi_out = se_out = np.zeros(0)
    t = 0
    while len(active):
        phi, se = step(t, active)
        if t == 0:
            phi_out, se_out = np.zeros((n_rows, *phi.shape[1:])), np.zeros((n_rows, *se.shape[1:]))
        if tol is None:
            ok = np.ones(len(active), dtype=bool)
        else:
            ok = converged(phi, se, tol) & can_stop(t)
        finished = np.full(len(active), not has_next(t))
        if tol is not None:
            finished |= ok
        rows = active[finished]
        phi_out[rows], se_out[rows] = phi[finished], se[finished]
        last[rows], done[rows] = t, ok[finished]
        active = active[~finished]
        t += 1
    return phi_out, se_out, last, done


#: ``rows(model, start, stop)`` explains rows ``start:stop`` and returns, in order,
#: values, base values, standard errors and any per-row arrays.
RowsFn = Callable[["Model", int, int], list[np.ndarray]]


def _in_blocks(rows: RowsFn, block: int, model: Model, start: int, stop: int) -> list[np.ndarray]:
    """``rows`` over rows ``start:stop``, ``block`` rows at a time, concatenated."""
    parts = []
    for s in range(start, stop, block):
        parts.append(rows(model, s, min(stop, s + block)))
        progress.advance(min(stop, s + block) - s)
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


def explain_rows(
    explainer: Explainer,
    X: np.ndarray,
    rows: RowsFn,
    block: int,
    chunk_size: int | None,
    meta: Callable[..., dict[str, Any]],
) -> Explanation:
    """Run ``rows`` over parallel row chunks, ``block`` rows at a time, into an Explanation.

    ``meta(*per_row_arrays)`` builds the method's metadata; the model call and row
    counts are added here.
    """
    model = explainer.model
    # A module-level function and a partial (not a closure): every joblib backend,
    # multiprocessing included, can pickle it as long as ``rows`` pickles.
    work = partial(_in_blocks, rows, block)
    calls, n_rows = model.n_calls, model.n_rows
    parts = map_row_chunks(work, model, len(X), n_jobs=explainer.n_jobs, chunk_size=chunk_size)
    values, base, stderr, *per_row = (np.concatenate(p) for p in zip(*parts, strict=True))
    info = meta(*per_row)
    info["n_model_calls"] = model.n_calls - calls
    info["n_model_rows"] = model.n_rows - n_rows
    return Explanation(
        values,
        base,
        data=X,
        stderr=stderr,
        feature_names=explainer.masker.player_names,
        output_names=model.output_names,
        method=explainer.method,
        meta=info,
    )

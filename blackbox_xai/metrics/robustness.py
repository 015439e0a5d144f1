"""Robustness: do explanations stay put under small input changes and across seeds?"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..results import Explanation
from ..utils.seeding import SeedLike, resolve_seed, row_rng
from ..utils.validation import check_positive_int
from ._declare import MetricInfo, declares
from .sanity import spearman, top_k_jaccard


def _values(explanation: Any, output: int | str | None) -> np.ndarray:
    if isinstance(explanation, Explanation):
        return explanation.values[..., explanation.output_index(output)]
    return np.asarray(explanation, dtype=np.float64)


@declares(
    MetricInfo(
        "max_sensitivity",
        ("tabular", "image"),
        needs_gradients=False,
        higher_is_better=False,
        reexplains=True,
        description="largest relative change of the explanation under small input noise",
    )
)
def max_sensitivity(
    explainer: Any,
    X: Any,
    *,
    radius: float = 0.05,
    n_samples: int = 10,
    target: Any = None,
    output: int | str | None = None,
    seed: SeedLike = 0,
    explanation: Explanation | None = None,
) -> np.ndarray:
    """Max-sensitivity (Yeh et al. 2019): ``max_y ||phi(y) - phi(x)|| / ||phi(x)||`` over
    ``n_samples`` points ``y`` drawn uniformly in the L-infinity ball of ``radius`` (in
    units of each feature's standard deviation over ``X``) around each row.

    Costly: the explainer explains ``n_samples`` perturbed copies of every row (in one
    ``explain`` call, so its own batching applies).

    Parameters
    ----------
    explainer : explainer
        Anything with ``explain(X)``; with ``target`` given, ``explain(X, target=...)``.
    X : array (n, ...)
        Numeric rows or images.
    radius : float
        Half-width of the noise, relative to each feature's spread.
    n_samples : int
        Perturbed copies per row.
    target : optional
        The output explained (by default the original explanation's targets, so that
        the perturbed copies explain the same class).
    output : int or str, optional
        The explanation output compared.
    seed : int
        Seed of the noise (one child stream per row).
    explanation : Explanation, optional
        The explanation of ``X`` when already computed.

    Returns
    -------
    ndarray (n,)
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    X = np.asarray(X, dtype=np.float64)
    original = explanation if explanation is not None else _explain(explainer, X, target)
    if target is None and isinstance(original, Explanation):
        recorded = original.meta.get("target")
        target = recorded if isinstance(recorded, list) else None
    base = _values(original, output).reshape(len(X), -1)
    spread = X.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    entropy = resolve_seed(seed)
    noisy = np.stack(
        [
            X[i] + row_rng(entropy, i).uniform(-radius, radius, (n_samples, *X.shape[1:])) * spread
            for i in range(len(X))
        ]
    ).reshape(-1, *X.shape[1:])
    repeated = None if target is None else np.repeat(np.asarray(target), n_samples).tolist()
    again = _values(_explain(explainer, noisy, repeated), output).reshape(len(X), n_samples, -1)
    change = np.linalg.norm(np.nan_to_num(again - base[:, None]), axis=2).max(axis=1)
    size = np.linalg.norm(np.nan_to_num(base), axis=1)
    return np.asarray(change / np.where(size > 0, size, 1.0))


def _explain(explainer: Any, X: Any, target: Any) -> Any:
    if isinstance(target, list) and target and len(set(target)) == 1:
        # One output for every row, as occlusion, RISE and LIME record theirs: pass it as
        # an index, which every explainer takes (per-row lists are for gradients only).
        target = target[0]
    return explainer.explain(X) if target is None else explainer.explain(X, target=target)


@declares(
    MetricInfo(
        "stability",
        ("tabular", "text", "image"),
        needs_gradients=False,
        higher_is_better=True,
        reexplains=True,
        description="agreement of explanations across seeds (top-k Jaccard, Spearman)",
    )
)
def stability(
    explainer: Any,
    X: Any,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    k: int = 5,
    output: int | str | None = None,
    explain_kwargs: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Agreement of an explainer with itself across seeds, per row.

    Parameters
    ----------
    explainer : explainer or callable
        An explainer with a ``seed`` attribute (copied once per seed), or a factory
        ``explainer(seed)`` returning one.
    X : the inputs explained
    seeds : sequence of int
        At least two.
    k : int
        Size of the top sets compared.
    output : int or str, optional
        The explanation output compared.
    explain_kwargs : dict, optional
        Keyword arguments of every ``explain`` call (a budget, ``n_evals=...``).

    Returns
    -------
    dict
        ``"top_k_jaccard"`` and ``"spearman"`` (of absolute values): ``(n,)``, the mean
        over all pairs of seeds; 1 means identical across seeds.
    """
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"stability compares at least two seeds, got {seeds}.")
    k = check_positive_int(k, "k")
    make: Callable[[int], Any]
    if hasattr(explainer, "explain"):
        if not hasattr(explainer, "seed"):
            raise TypeError(
                f"{type(explainer).__name__} has no seed; pass a factory seed -> explainer."
            )

        def make(seed: int) -> Any:
            clone = copy.copy(explainer)
            clone.seed = seed
            return clone

    else:
        make = explainer
    kwargs = explain_kwargs or {}
    # padding of per-instance players (NaN) is the same in every run: rank it as 0
    runs = [np.nan_to_num(np.abs(_values(make(s).explain(X, **kwargs), output))) for s in seeds]
    jaccard, rho = [], []
    for a in range(len(runs)):
        for b in range(a + 1, len(runs)):
            jaccard.append(top_k_jaccard(runs[a], runs[b], k))
            rho.append(spearman(runs[a], runs[b]))
    return {"top_k_jaccard": np.mean(jaccard, axis=0), "spearman": np.mean(rho, axis=0)}

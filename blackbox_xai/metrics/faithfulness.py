"""Faithfulness: does removing what the explanation calls important change the output?

Every metric here only calls the model (on perturbed rows built by the metric's
perturber, see ``_perturb``), so it scores any explanation of any model: scikit-learn,
ONNX or a callable. All perturbations of all rows go to the model in calls as large as
the memory budget allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..models import Model, wrap
from ..results import Explanation
from ..utils.seeding import SeedLike, resolve_seed, row_rng
from ..utils.validation import check_positive_int, check_texts
from ._declare import DATA_KINDS, MetricInfo, declares
from ._perturb import (
    Perturber,
    attributions,
    data_kind,
    make_perturber,
    score,
    target_columns,
)

ORDERS = ("morf", "lerf")


@dataclass
class Curve:
    """A deletion or insertion curve of every row.

    Attributes
    ----------
    kind : {"deletion", "insertion"}
    order : {"morf", "lerf"}
        Most relevant first, or least relevant first.
    fractions : ndarray (m,)
        Fraction of each row's players removed (deletion) or inserted, from 0 to 1.
    values : ndarray (n, m)
        The tracked model output of each row after each step.
    auc : ndarray (n,)
        Area under each row's curve over ``fractions`` (trapezoid rule).
    n_model_calls, n_model_rows : int
        What the curves cost.
    """

    kind: str
    order: str
    fractions: np.ndarray
    values: np.ndarray
    auc: np.ndarray
    n_model_calls: int = 0
    n_model_rows: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_auc(self) -> float:
        """The AUC averaged over rows."""
        return float(np.mean(self.auc))


def _counted(model: Model, before: tuple[int, int]) -> tuple[int, int]:
    return model.n_calls - before[0], model.n_rows - before[1]


def _curve(
    kind: str,
    model: Any,
    X: Any,
    explanation: Any,
    masker: Any,
    output: int | str | None,
    target: Any,
    order: str,
    n_steps: int | None,
) -> Curve:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}.")
    model = wrap(model)
    perturber = make_perturber(masker, X)
    scores, o = score(explanation, perturber, output)
    d_max = max(perturber.n_players)
    steps = min(d_max, 100) if n_steps is None else check_positive_int(n_steps, "n_steps")
    t = np.arange(steps + 1)
    Z = []
    for s, d in zip(scores, perturber.n_players, strict=True):
        s = np.nan_to_num(np.asarray(s, dtype=np.float64), nan=-np.inf)
        # stable sorts: tied players go in their own order, whatever the platform
        rank = np.argsort(-s if order == "morf" else s, kind="stable")
        taken = (t * d) // steps  # players removed (or inserted) after each step
        position = np.empty(d, dtype=np.int64)
        position[rank] = np.arange(d)
        chosen = position[None, :] < taken[:, None]  # (m, d): among the first taken
        Z.append(~chosen if kind == "deletion" else chosen)
    before = (model.n_calls, model.n_rows)
    out = perturber.outputs(model, Z)
    cols = target_columns(explanation, len(Z), o, target, out.shape[-1])
    values = out[np.arange(len(Z)), :, cols]
    fractions = t / steps
    # the trapezoid rule written out: np.trapezoid needs numpy 2
    auc = ((values[:, 1:] + values[:, :-1]) / 2 * np.diff(fractions)).sum(axis=1)
    calls, rows = _counted(model, before)
    return Curve(kind, order, fractions, values, auc, calls, rows, {"target": cols.tolist()})


_CURVE_DOC = """
    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    X : rows, documents or images
        The explained inputs.
    explanation : Explanation or array
        Attributions of ``X`` (``values`` of shape ``(n, *feature_shape)`` for an array).
    masker : Tabular, Text, ImagePerturbation, background rows or None
        What a removed player becomes: background values (tabular), a removed or masked
        token (text), a fill value or blur (images). None for documents (``Text()``)
        and images (pixels to 0).
    output : int or str, optional
        The explanation's output whose values rank the players (the last by default).
    target : int or array of int, optional
        The model output tracked per row; by default the explanation's targets
        (gradient explainers) or the model output of ``output``.
    order : {"morf", "lerf"}
        Players in decreasing attribution (most relevant first) or increasing.
    n_steps : int, optional
        Steps from 0 to all players (``min(d, 100)`` by default); step ``t`` takes the
        first ``t d / n_steps`` players (rounded down) of a row with ``d`` players.

    Returns
    -------
    Curve
        ``values (n, n_steps + 1)`` and ``auc (n,)`` over the fraction of players.
"""


@declares(
    MetricInfo(
        "deletion_auc",
        DATA_KINDS,
        needs_gradients=False,
        higher_is_better=False,
        reexplains=False,
        description="area under the output as the most relevant players are removed",
    )
)
def deletion_curve(
    model: Any,
    X: Any,
    explanation: Any,
    masker: Any = None,
    *,
    output: int | str | None = None,
    target: Any = None,
    order: str = "morf",
    n_steps: int | None = None,
) -> Curve:
    """The deletion curve (Petsiuk et al. 2018): the output as players are removed in
    the explanation's order; a faithful explanation makes it fall fast (low AUC, MoRF).
    """
    return _curve("deletion", model, X, explanation, masker, output, target, order, n_steps)


@declares(
    MetricInfo(
        "insertion_auc",
        DATA_KINDS,
        needs_gradients=False,
        higher_is_better=True,
        reexplains=False,
        description="area under the output as the most relevant players are inserted",
    )
)
def insertion_curve(
    model: Any,
    X: Any,
    explanation: Any,
    masker: Any = None,
    *,
    output: int | str | None = None,
    target: Any = None,
    order: str = "morf",
    n_steps: int | None = None,
) -> Curve:
    """The insertion curve (Petsiuk et al. 2018): the output as players are inserted
    into the all-absent input in the explanation's order; faithful means a fast rise
    (high AUC, MoRF).
    """
    return _curve("insertion", model, X, explanation, masker, output, target, order, n_steps)


deletion_curve.__doc__ = (deletion_curve.__doc__ or "") + _CURVE_DOC
insertion_curve.__doc__ = (insertion_curve.__doc__ or "") + _CURVE_DOC


def _random_coalitions(
    perturber: Perturber, n_samples: int, entropy: int, draw: Callable[..., np.ndarray]
) -> list[np.ndarray]:
    """``n_samples`` coalitions per row from the row's own seed, after the full one."""
    Z = []
    for i, d in enumerate(perturber.n_players):
        z = draw(row_rng(entropy, i), n_samples, d)
        Z.append(np.concatenate([np.ones((1, d), dtype=bool), z]))
    return Z


@declares(
    MetricInfo(
        "faithfulness_correlation",
        DATA_KINDS,
        needs_gradients=False,
        higher_is_better=True,
        reexplains=False,
        description="correlation of a subset's attribution with the output drop on removing it",
    )
)
def faithfulness_correlation(
    model: Any,
    X: Any,
    explanation: Any,
    masker: Any = None,
    *,
    subset_size: int | None = None,
    n_samples: int = 100,
    output: int | str | None = None,
    target: Any = None,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Faithfulness correlation (Bhatt et al. 2020) of every row.

    Random subsets ``S`` of ``subset_size`` players are removed; the score is Pearson's
    correlation, over the subsets, between ``sum_{j in S} phi_j`` and the output drop
    ``f(x) - f(x without S)``.

    Parameters
    ----------
    model, X, explanation, masker, output, target
        As for :func:`deletion_curve`.
    subset_size : int, optional
        Players removed per subset (a quarter of each row's players by default).
    n_samples : int
        Subsets per row.
    seed : int
        Seed of the subsets (one child stream per row).

    Returns
    -------
    ndarray (n,)
        NaN for a row whose sums or drops are all equal (no correlation defined).
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    model = wrap(model)
    perturber = make_perturber(masker, X)
    scores, o = score(explanation, perturber, output)

    def draw(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
        size = max(1, d // 4) if subset_size is None else min(d, subset_size)
        removed = np.argsort(rng.random((m, d)), axis=1)[:, :size]
        z = np.ones((m, d), dtype=bool)
        np.put_along_axis(z, removed, False, axis=1)
        return z

    Z = _random_coalitions(perturber, n_samples, resolve_seed(seed), draw)
    out = perturber.outputs(model, Z)
    cols = target_columns(explanation, len(Z), o, target, out.shape[-1])
    result = np.empty(len(Z))
    for i, (z, s) in enumerate(zip(Z, scores, strict=True)):
        f = out[i, :, cols[i]]
        drop = f[0] - f[1:]
        attributed = (~z[1:]).astype(np.float64) @ np.nan_to_num(s)
        result[i] = _pearson(attributed, drop)
    return result


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / denominator) if denominator > 0 else float("nan")


PERTURBATIONS = ("subsets", "gaussian")


@declares(
    MetricInfo(
        "infidelity",
        DATA_KINDS,
        needs_gradients=False,
        higher_is_better=False,
        reexplains=False,
        description="mean squared error of attributions predicting the output change",
    )
)
def infidelity(
    model: Any,
    X: Any,
    explanation: Any,
    masker: Any = None,
    *,
    perturbation: str | Callable[..., np.ndarray] = "subsets",
    n_samples: int = 100,
    noise_scale: float = 0.1,
    output: int | str | None = None,
    target: Any = None,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Infidelity (Yeh et al. 2019): ``E_I[(I . phi - (f(x) - f(x - I)))^2]`` per row.

    Parameters
    ----------
    model, X, explanation, masker, output, target
        As for :func:`deletion_curve`.
    perturbation : {"subsets", "gaussian"} or callable
        ``"subsets"``: ``I`` is the indicator of a random set of removed players (each
        removed with probability 1/2) and ``x - I`` the input with them removed by the
        masker, the perturbation under which Shapley values of an additive game have
        infidelity 0. ``"gaussian"``: ``I ~ N(0, noise_scale^2)`` on every input
        feature (numeric inputs, attributions of the input's shape). A callable
        ``perturbation(x, rng, n_samples)`` returns ``n_samples`` perturbations ``I`` of
        the input row ``x`` (an array ``(n_samples, *x.shape)``).
    n_samples : int
        Perturbations per row.
    noise_scale : float
        Standard deviation of ``"gaussian"``.
    seed : int
        Seed of the perturbations (one child stream per row).

    Returns
    -------
    ndarray (n,)
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    entropy = resolve_seed(seed)
    model = wrap(model)
    if perturbation == "subsets":
        perturber = make_perturber(masker, X)
        scores, o = score(explanation, perturber, output)

        def draw(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
            return rng.random((m, d)) < 0.5

        Z = _random_coalitions(perturber, n_samples, entropy, draw)
        out = perturber.outputs(model, Z)
        cols = target_columns(explanation, len(Z), o, target, out.shape[-1])
        result = np.empty(len(Z))
        for i, (z, s) in enumerate(zip(Z, scores, strict=True)):
            f = out[i, :, cols[i]]
            predicted = (~z[1:]).astype(np.float64) @ np.nan_to_num(s)
            result[i] = np.mean((predicted - (f[0] - f[1:])) ** 2)
        return result
    if isinstance(perturbation, str) and perturbation != "gaussian":
        raise ValueError(
            f"perturbation must be one of {PERTURBATIONS} or a callable, got {perturbation!r}."
        )
    values, o = attributions(explanation, output)
    X = np.asarray(X, dtype=np.float64)
    if values.shape != X.shape:
        raise ValueError(
            f"input-space perturbations need attributions of the input's shape {X.shape}; "
            f"got {values.shape}. Use perturbation='subsets' for attributions of players."
        )
    perturbations = []
    for i in range(len(X)):
        rng = row_rng(entropy, i)
        if callable(perturbation):
            noise = np.asarray(perturbation(X[i], rng, n_samples), dtype=np.float64)
            if noise.shape != (n_samples, *X.shape[1:]):
                raise ValueError(
                    f"the perturbation returned shape {noise.shape}, expected "
                    f"{(n_samples, *X.shape[1:])}."
                )
        else:
            noise = rng.normal(0.0, noise_scale, (n_samples, *X.shape[1:]))
        perturbations.append(noise)
    I_all = np.stack(perturbations)  # (n, m, *shape)
    inputs = (X[:, None] - I_all).reshape(-1, *X.shape[1:])
    f_x = model(X)
    f_p = model(inputs)
    cols = target_columns(explanation, len(X), o, target, f_x.shape[-1])
    f_p = f_p.reshape(len(X), n_samples, -1)[np.arange(len(X)), :, cols]
    predicted = (I_all.reshape(len(X), n_samples, -1) * values.reshape(len(X), 1, -1)).sum(-1)
    drop = f_x[np.arange(len(X)), cols][:, None] - f_p
    return np.asarray(np.mean((predicted - drop) ** 2, axis=1))


@declares(
    MetricInfo(
        "completeness",
        DATA_KINDS,
        needs_gradients=False,
        higher_is_better=False,
        reexplains=False,
        description="|sum of attributions - (f(x) - base value)| (efficiency)",
    )
)
def completeness(
    model: Any,
    X: Any,
    explanation: Explanation,
    *,
    output: int | str | None = None,
    target: Any = None,
    relative: bool = False,
) -> np.ndarray:
    """How far attributions are from summing to the output change, per row.

    ``|sum_j phi_j - (f(x) - base)|`` with ``base`` the explanation's base value:
    Shapley values' efficiency, integrated gradients' completeness.

    Parameters
    ----------
    model : model object
    X : the explained inputs
    explanation : Explanation
    output, target
        As for :func:`deletion_curve`.
    relative : bool
        Divide by ``|f(x) - base|``.

    Returns
    -------
    ndarray (n,)
    """
    if not isinstance(explanation, Explanation):
        raise TypeError("completeness needs an Explanation (its base values).")
    model = wrap(model)
    values, o = attributions(explanation, output)
    inputs = check_texts(X) if data_kind(X) == "text" else X
    f = model(inputs)
    cols = target_columns(explanation, len(values), o, target, f.shape[-1])
    change = f[np.arange(len(values)), cols] - explanation.base_values[:, o]
    error = np.abs(np.nansum(values.reshape(len(values), -1), axis=1) - change)
    return error / np.abs(change) if relative else error

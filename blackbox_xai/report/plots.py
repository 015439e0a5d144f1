"""Figures of explanations (matplotlib, the ``plot`` extra).

Every function takes a result (an :class:`~blackbox_xai.Explanation`, an
:class:`~blackbox_xai.AnchorExplanation` or a fitted surrogate) and returns a
``matplotlib.figure.Figure`` built without pyplot, so no global figure state is touched
and the figures draw on any backend. A figure reads only what the result holds, so an
explanation saved to JSON and read back draws the same figure.

Colours come from :mod:`blackbox_xai.report._palette` (red up, blue down; ``cividis``
for feature values), chosen to stay distinct for colour-blind readers.
"""

from __future__ import annotations

import base64
import functools
import html
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from ..utils.optional import import_optional
from . import _palette

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import AnchorExplanation, Explanation

__all__ = [
    "anchor_card",
    "bar",
    "beeswarm",
    "dependence",
    "figure_html",
    "image_maps",
    "importance",
    "strongest_interaction",
    "surrogate_tree",
    "text_highlight",
    "to_data_uri",
    "waterfall",
]


F = TypeVar("F", bound=Callable[..., Any])


def _plain_text(draw: F) -> F:
    """Draw with mathtext off: names such as ``"$ spent"`` or ``"$x$"`` are shown as
    written (mathtext would parse them, or fail on them)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        matplotlib = import_optional("matplotlib")
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return cast(F, wrapper)


def _figure(width: float, height: float) -> Figure:
    # Figure() rather than pyplot: no global state, no interactive backend needed.
    figure_module = import_optional("matplotlib.figure")
    agg = import_optional("matplotlib.backends.backend_agg")
    fig = figure_module.Figure(figsize=(width, height), layout="constrained")
    agg.FigureCanvasAgg(fig)  # a renderer for layouts that measure text (plot_tree)
    return fig


def _number(value: float) -> str:
    return f"{0.0 if abs(value) < 1e-12 else value:.4g}"


def _tabular(expl: Explanation, what: str) -> None:
    if expl.values.ndim != 3:
        raise ValueError(
            f"{what} needs 1-D features (tabular or text); this explanation has feature "
            f"shape {expl.values.shape[1:-1]} (use image_maps for images)."
        )


def _row_data(expl: Explanation, row: int, names: list[str]) -> np.ndarray | None:
    """The explained row's feature values when its columns line up with the features."""
    data = expl.data
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == len(names):
        return np.asarray(data[row], dtype=np.float64)
    return None


def _check_row(expl: Explanation, row: int) -> int:
    if not isinstance(row, (int, np.integer)) or not -len(expl) <= row < len(expl):
        raise ValueError(f"row must be an integer index below {len(expl)}, got {row!r}.")
    return int(row) % len(expl)


def _top(values: np.ndarray, max_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``max_features - 1`` largest ``|values|`` (all when they fit) and the rest."""
    if not isinstance(max_features, (int, np.integer)) or max_features < 1:
        raise ValueError(f"max_features must be a positive integer, got {max_features!r}.")
    order = np.argsort(-np.abs(values), kind="stable")
    if len(order) <= max_features:
        return order, order[:0]
    return order[: max_features - 1], order[max_features - 1 :]


@_plain_text
def waterfall(
    expl: Explanation, row: int = 0, output: int | str | None = None, max_features: int = 10
) -> Figure:
    """How one row's prediction is built: from the base value, feature by feature.

    Bars start at the base value (``E f``) and add one attribution each, largest
    ``|value|`` at the top, so the last bar ends at the base value plus all attributions
    (the prediction, for Shapley values). Features beyond ``max_features - 1`` share one
    "other N features" bar. Black whiskers show one standard error when the method
    reports them.

    Parameters
    ----------
    expl : Explanation
    row : int
    output : int or str, optional
        The output (the last by default).
    max_features : int
        Bars drawn, the grouped one included.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _tabular(expl, "waterfall")
    row, o = _check_row(expl, row), expl.output_index(output)
    names = expl.player_names_of(row)
    values = expl.values[row, : len(names), o]
    stderr = None if expl.stderr is None else expl.stderr[row, : len(names), o]
    data = _row_data(expl, row, names)
    top, rest = _top(values, max_features)
    labels = [names[j] if data is None else f"{names[j]} = {_number(float(data[j]))}" for j in top]
    steps = [float(values[j]) for j in top]
    errors = [float(stderr[j]) if stderr is not None else 0.0 for j in top]
    if len(rest):
        labels.append(f"other {len(rest)} features")
        steps.append(float(values[rest].sum()))
        errors.append(0.0)
    base = float(expl.base_values[row, o])
    # Bottom bar first: the cumulative sum runs from the base value up to the top bar.
    steps, labels, errors = steps[::-1], labels[::-1], errors[::-1]
    starts = base + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    fig = _figure(7, 0.42 * len(steps) + 1.6)
    ax = fig.add_subplot()
    y = np.arange(len(steps))
    colours = [_palette.signed(s) for s in steps]
    if len(rest):
        colours[0] = _palette.NEUTRAL
    ax.barh(y, steps, left=starts, color=colours, height=0.6)
    if stderr is not None:
        ends = starts + np.asarray(steps)
        ax.errorbar(ends, y, xerr=errors, fmt="none", ecolor=_palette.INK, capsize=3, lw=1)
    for i, (start, step) in enumerate(zip(starts, steps, strict=True)):
        ax.annotate(
            f"{step:+.3g}",
            (start + step, i),
            xytext=(4 if step >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if step >= 0 else "right",
            va="center",
            fontsize=8,
        )
    total = base + float(np.sum(steps))
    ax.axvline(base, color=_palette.NEUTRAL, ls=":", lw=1)
    ax.axvline(total, color=_palette.INK, ls="--", lw=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(
        f"{expl.output_names[o]!r}: base value {_number(base)} \u2192 "
        f"base + attributions {_number(total)}"
    )
    ax.set_title(f"{expl.method}, row {row}", fontsize=10)
    ax.use_sticky_edges = False  # bars stick to their left ends; let the margins pad
    ax.margins(x=0.15)
    return fig


@_plain_text
def bar(
    expl: Explanation, row: int = 0, output: int | str | None = None, max_features: int = 10
) -> Figure:
    """One row's attributions as signed horizontal bars, largest ``|value|`` at the top.

    Parameters
    ----------
    expl : Explanation
    row : int
    output : int or str, optional
    max_features : int
        Bars drawn (the features with the largest ``|value|``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _tabular(expl, "bar")
    row, o = _check_row(expl, row), expl.output_index(output)
    names = expl.player_names_of(row)
    values = expl.values[row, : len(names), o]
    if not isinstance(max_features, (int, np.integer)) or max_features < 1:
        raise ValueError(f"max_features must be a positive integer, got {max_features!r}.")
    top = np.argsort(-np.abs(values), kind="stable")[:max_features][::-1]
    fig = _figure(6.5, 0.35 * len(top) + 1.3)
    ax = fig.add_subplot()
    stderr = None if expl.stderr is None else expl.stderr[row, : len(names), o][top]
    ax.barh(
        np.arange(len(top)),
        values[top],
        xerr=stderr,
        color=[_palette.signed(float(v)) for v in values[top]],
        ecolor=_palette.INK,
        capsize=2,
        height=0.6,
    )
    ax.axvline(0, color=_palette.INK, lw=0.8)
    ax.set_yticks(np.arange(len(top)), [names[j] for j in top])
    ax.set_xlabel(f"attribution to {expl.output_names[o]!r}")
    ax.set_title(f"{expl.method}, row {row}", fontsize=10)
    return fig


def _global(expl: Explanation, output: int | str | None, what: str) -> tuple[int, np.ndarray]:
    _tabular(expl, what)
    if isinstance(expl.meta.get("n_players"), list):
        raise ValueError(
            f"{what} needs the same features in every row; these rows have their own "
            "players (texts): plot one row at a time."
        )
    o = expl.output_index(output)
    return o, expl.values[:, :, o]


@_plain_text
def beeswarm(expl: Explanation, output: int | str | None = None, max_features: int = 10) -> Figure:
    """Every row's attribution of each feature, one line of dots per feature.

    Features are sorted by mean ``|value|``. A dot's position is the attribution, its
    colour the feature's value in that row (``cividis``, low dark blue to high yellow;
    grey without data). Dots of close values are stacked around the line (a fixed,
    seedless layout), so dense regions look thick.

    Parameters
    ----------
    expl : Explanation
        Several rows with the same features.
    output : int or str, optional
    max_features : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    o, values = _global(expl, output, "beeswarm")
    names = expl.feature_names or [str(j) for j in range(values.shape[1])]
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features][::-1]
    data = _row_data(expl, 0, names)
    X = np.asarray(expl.data, dtype=np.float64) if data is not None else None
    fig = _figure(7, 0.4 * len(order) + 1.6)
    ax = fig.add_subplot()
    span = float(np.ptp(values[:, order])) or 1.0
    points = None
    for line, j in enumerate(order):
        x = values[:, j]
        offsets = _swarm_offsets(x, span / 60.0)
        colour: dict[str, Any] = {"c": _palette.NEUTRAL}
        if X is not None:
            colour = {"c": _rank01(X[:, j]), "cmap": _palette.VALUE_CMAP, "vmin": 0, "vmax": 1}
        points = ax.scatter(x, line + offsets, s=12, linewidths=0, **colour)
    ax.axvline(0, color=_palette.NEUTRAL, lw=0.8)
    ax.set_yticks(np.arange(len(order)), [names[j] for j in order])
    ax.set_xlabel(f"attribution to {expl.output_names[o]!r} ({len(expl)} rows)")
    ax.set_title(f"{expl.method}: every row", fontsize=10)
    if X is not None and points is not None:
        bar_ = fig.colorbar(points, ax=ax, ticks=[0, 1], aspect=30)
        bar_.ax.set_yticklabels(["low", "high"])
        bar_.set_label("feature value (rank)")
    return fig


def _swarm_offsets(x: np.ndarray, width: float) -> np.ndarray:
    """Vertical offsets stacking the dots of each bin of ``width``: 0, +1, -1, +2, ...

    Deterministic (by value order), so a figure is the same every time it is drawn.
    """
    offsets = np.zeros(len(x))
    bins = np.floor((x - x.min()) / max(width, 1e-300)).astype(np.int64)
    order = np.lexsort((x, bins))
    seen: dict[int, int] = {}
    for i in order:
        count = seen.get(int(bins[i]), 0)
        seen[int(bins[i])] = count + 1
        offsets[i] = ((count + 1) // 2) * (1 if count % 2 else -1)
    top = max(float(np.abs(offsets).max()), 1.0)
    return 0.4 * offsets / top


def _rank01(column: np.ndarray) -> np.ndarray:
    """Feature values as ranks in [0, 1] (ties share a rank), so outliers do not wash
    the colours out."""
    _, inverse = np.unique(column, return_inverse=True)
    top = max(int(inverse.max()), 1)
    return inverse / top


@_plain_text
def importance(
    expl: Explanation, output: int | str | None = None, max_features: int = 10
) -> Figure:
    """Global importance: mean ``|value|`` over the rows, with its spread.

    Bars are the mean absolute attribution of each feature; whiskers span the 25th to
    the 75th percentile of ``|value|`` over the rows (how much the importance varies).

    Parameters
    ----------
    expl : Explanation
        Several rows with the same features.
    output : int or str, optional
    max_features : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    o, values = _global(expl, output, "importance")
    names = expl.feature_names or [str(j) for j in range(values.shape[1])]
    magnitude = np.abs(values)
    mean = magnitude.mean(axis=0)
    order = np.argsort(-mean, kind="stable")[:max_features][::-1]
    q25, q75 = np.percentile(magnitude[:, order], [25, 75], axis=0)
    fig = _figure(6.5, 0.35 * len(order) + 1.4)
    ax = fig.add_subplot()
    m = mean[order]
    ax.barh(np.arange(len(order)), m, color=_palette.NEGATIVE, height=0.6)
    # The mean can lie outside the quartiles (skewed |values|): whiskers never go negative.
    err = np.stack([np.maximum(m - q25, 0), np.maximum(q75 - m, 0)])
    ax.errorbar(m, np.arange(len(order)), xerr=err, fmt="none", ecolor=_palette.INK, capsize=3)
    ax.set_yticks(np.arange(len(order)), [names[j] for j in order])
    ax.set_xlabel(
        f"mean |attribution| to {expl.output_names[o]!r} over {len(expl)} rows "
        "(whiskers: 25th-75th percentile)"
    )
    ax.set_title(f"{expl.method}: global importance", fontsize=10)
    return fig


def strongest_interaction(
    expl: Explanation, feature: int | str, output: int | str | None = None
) -> int:
    """The feature whose values best explain the spread of ``feature``'s attributions at
    a fixed value of ``feature``.

    Rows are cut into (up to ten) quantile bins of ``feature``'s value; within each bin
    the attributions are correlated with every other feature's values; the feature with
    the largest bin-size-weighted ``|correlation|`` wins. It needs the rows' data.

    Returns
    -------
    int
        Column index of the interacting feature.
    """
    _, values = _global(expl, output, "strongest_interaction")
    j = _feature_index(expl, feature)
    X = _data_matrix(expl, "strongest_interaction")
    x, y = X[:, j], values[:, j]
    edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
    bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
    score = np.zeros(X.shape[1])
    for b in np.unique(bins):
        rows = bins == b
        if rows.sum() < 3 or np.ptp(y[rows]) == 0:
            continue
        yc = y[rows] - y[rows].mean()
        Xc = X[rows] - X[rows].mean(axis=0)
        norms = np.sqrt((Xc**2).sum(axis=0) * (yc**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(norms > 0, Xc.T @ yc / np.where(norms > 0, norms, 1), 0.0)
        score += rows.sum() * np.abs(corr)
    score[j] = -np.inf
    return int(np.argmax(score))


def _feature_index(expl: Explanation, feature: int | str) -> int:
    names = expl.feature_names or []
    if isinstance(feature, str):
        if feature not in names:
            raise ValueError(f"unknown feature {feature!r}; features are {names}.")
        return names.index(feature)
    d = expl.values.shape[1]
    if not isinstance(feature, (int, np.integer)) or not -d <= feature < d:
        raise ValueError(f"feature must be a name or an index below {d}, got {feature!r}.")
    return int(feature) % d


def _data_matrix(expl: Explanation, what: str) -> np.ndarray:
    data = expl.data
    d = expl.values.shape[1]
    if not (isinstance(data, np.ndarray) and data.ndim == 2 and data.shape == (len(expl), d)):
        raise ValueError(
            f"{what} needs the explained rows' feature values (expl.data of shape "
            f"{(len(expl), d)}); this explanation has none that line up with its features."
        )
    return np.asarray(data, dtype=np.float64)


@_plain_text
def dependence(
    expl: Explanation,
    feature: int | str,
    output: int | str | None = None,
    interaction: int | str | None = "auto",
) -> Figure:
    """A feature's attribution against its value, one dot per row.

    Parameters
    ----------
    expl : Explanation
        Several rows with the same features and their data.
    feature : int or str
    output : int or str, optional
    interaction : "auto", int, str or None
        The feature colouring the dots: ``"auto"`` picks the strongest interaction
        (:func:`strongest_interaction`), None draws one colour.

    Returns
    -------
    matplotlib.figure.Figure
    """
    o, values = _global(expl, output, "dependence")
    j = _feature_index(expl, feature)
    X = _data_matrix(expl, "dependence")
    names = expl.feature_names or [str(c) for c in range(X.shape[1])]
    if isinstance(interaction, str) and interaction == "auto":
        c: int | None = strongest_interaction(expl, j, o) if X.shape[1] > 1 else None
    else:
        c = None if interaction is None else _feature_index(expl, interaction)
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    colour: dict[str, Any] = {"c": _palette.NEGATIVE}
    if c is not None:
        colour = {"c": _rank01(X[:, c]), "cmap": _palette.VALUE_CMAP, "vmin": 0, "vmax": 1}
    points = ax.scatter(X[:, j], values[:, j], s=16, linewidths=0, **colour)
    ax.axhline(0, color=_palette.NEUTRAL, lw=0.8)
    ax.set_xlabel(f"{names[j]} (value)")
    ax.set_ylabel(f"attribution of {names[j]} to {expl.output_names[o]!r}")
    ax.set_title(f"{expl.method}: dependence on {names[j]}", fontsize=10)
    if c is not None:
        bar_ = fig.colorbar(points, ax=ax, ticks=[0, 1])
        bar_.ax.set_yticklabels(["low", "high"])
        bar_.set_label(f"{names[c]} (rank)")
    return fig


@_plain_text
def anchor_card(anchor: AnchorExplanation) -> Figure:
    """An anchor as a card: the rule, the prediction, its precision (with confidence
    bounds and the threshold) and its coverage (the share of reference rows, or
    perturbations for text, the rule holds on).

    Parameters
    ----------
    anchor : AnchorExplanation

    Returns
    -------
    matplotlib.figure.Figure
    """
    is_text = isinstance(anchor.data, str)
    if is_text:
        conditions = [f"the text keeps {w!r}" for w in anchor.rule]
    else:
        conditions = list(anchor.rule)
    lines = ["IF " + (conditions[0] if conditions else "(no condition)")]
    lines += [f"   AND {c}" for c in conditions[1:]]
    predicted = anchor.meta.get("predicted_name", anchor.predicted)
    lines.append(f"THEN the model predicts {predicted}")
    if not anchor.success:
        lines.append("(the precision threshold is not reached)")
    fig = _figure(6.5, 0.2 * len(lines) + 1.5)
    text_ax, bars_ax = fig.subplots(2, 1, height_ratios=[0.2 * len(lines), 1.0])
    text_ax.axis("off")
    text_ax.text(
        0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=10,
        transform=text_ax.transAxes,
    )  # fmt: skip
    lo, hi = anchor.precision_bounds
    threshold = anchor.meta.get("threshold")
    bars_ax.barh([1], [anchor.precision], color=_palette.NEGATIVE, height=0.5)
    bars_ax.errorbar(
        [anchor.precision], [1],
        xerr=[[max(anchor.precision - lo, 0)], [max(hi - anchor.precision, 0)]],
        fmt="none", ecolor=_palette.INK, capsize=3,
    )  # fmt: skip
    bars_ax.barh([0], [anchor.coverage], color=_palette.ANCHOR, height=0.5)
    if threshold is not None:
        bars_ax.axvline(float(threshold), color=_palette.POSITIVE, ls="--", lw=1)
    on = anchor.meta.get("coverage_on", "perturbations" if is_text else "reference rows")
    bars_ax.set_yticks(
        [0, 1],
        [
            f"coverage {anchor.coverage:.3f}\n(share of the {on})",
            f"precision {anchor.precision:.3f}\n(bounds {lo:.3f}-{hi:.3f})",
        ],
    )
    bars_ax.set_xlim(0, 1)
    bars_ax.set_xlabel(
        f"{anchor.n_samples} samples under the rule"
        + (f"; dashed: threshold {float(threshold):.2f}" if threshold is not None else "")
    )
    return fig


@_plain_text
def surrogate_tree(surrogate: Any, fidelity: Any = None) -> Figure:
    """A fitted global surrogate drawn: the tree (or the rules / coefficients) and its
    fidelity to the model, held-out when ``fidelity`` is given.

    Parameters
    ----------
    surrogate : GlobalSurrogate
        Fitted (``surrogate.fit(X)``).
    fidelity : SurrogateFidelity, optional
        ``surrogate.fidelity(X_holdout)``; its held-out numbers go in the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    estimator = getattr(surrogate, "estimator_", None)
    if estimator is None:
        raise ValueError("surrogate_tree needs a fitted surrogate; call surrogate.fit(X) first.")
    names = list(surrogate.feature_names_)
    if fidelity is not None:
        quality = ", ".join(
            f"{k} {fidelity.held_out[k]:.3f} held-out ({fidelity.in_sample[k]:.3f} in-sample)"
            for k in fidelity.held_out
        )
    else:
        quality = ", ".join(f"{k} {v:.3f} in-sample only" for k, v in surrogate.in_sample_.items())
    title = f"{surrogate.kind} surrogate fitted to the model's {surrogate.fit_to}: {quality}"
    if hasattr(estimator, "tree_"):
        tree_module = import_optional("sklearn.tree")
        depth = int(estimator.get_depth())
        fig = _figure(max(7.0, 2.2 * 2**depth / 2), 1.4 * depth + 2)
        ax = fig.add_subplot()
        tree_module.plot_tree(
            estimator, feature_names=names, ax=ax, impurity=False, rounded=True,
            fontsize=7, precision=3, proportion=True,
        )  # fmt: skip
    else:  # a linear surrogate: its coefficients
        coef = np.atleast_2d(estimator.coef_)[0]
        fig = _figure(6.5, 0.3 * len(names) + 1.4)
        ax = fig.add_subplot()
        ax.barh(names, coef, color=[_palette.signed(float(v)) for v in coef])
        ax.set_xlabel("coefficient")
    ax.set_title(title, fontsize=9, wrap=True)
    return fig


@_plain_text
def text_highlight(
    expl: Explanation, row: int = 0, output: int | str | None = None, width: int = 80
) -> Figure:
    """One document with its tokens on coloured boxes (red up, blue down, opacity by
    ``|value|`` relative to the largest), as :func:`blackbox_xai.report.text.text_explanation_html`
    shows it in HTML.

    Parameters
    ----------
    expl : Explanation
        A text explanation (``meta["token_offsets"]``).
    row : int
    output : int or str, optional
    width : int
        Characters per line (lines break at spaces when they can).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "token_offsets" not in expl.meta:
        raise ValueError("text_highlight needs a text explanation (meta['token_offsets']).")
    row, o = _check_row(expl, row), expl.output_index(output)
    docs = expl.data if isinstance(expl.data, list) else [expl.data]
    text = str(docs[row]).replace("\t", " ")
    offsets = expl.meta["token_offsets"][row]
    players = expl.meta["token_players"][row]
    names = expl.player_names_of(row)
    values = expl.values[row, : len(names), o]
    scale = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    colour_of = np.full(len(text), -1)
    for t, (start, end) in enumerate(offsets):
        colour_of[start:end] = players[t]
    lines = _wrap(text, width)
    # Fixed axes (no layout engine): one character is exactly _CHAR inches wide, so
    # boxes drawn in character units sit under the characters of a monospace font.
    figure_module = import_optional("matplotlib.figure")
    agg = import_optional("matplotlib.backends.backend_agg")
    fig_w, fig_h = _CHAR * width + 0.4, 0.24 * len(lines) + 0.7
    fig = figure_module.Figure(figsize=(fig_w, fig_h))
    agg.FigureCanvasAgg(fig)
    ax = fig.add_axes((0.2 / fig_w, 0.1 / fig_h, _CHAR * width / fig_w, 0.24 * len(lines) / fig_h))
    ax.set_xlim(0, width)
    ax.set_ylim(len(lines) - 0.5, -0.5)
    ax.axis("off")
    colours = import_optional("matplotlib.colors")
    patches = import_optional("matplotlib.patches")
    font = {"family": "monospace", "fontsize": _CHAR * 72 / 0.602, "va": "center", "ha": "left"}
    for line, (start, end) in enumerate(lines):
        i = start
        while i < end:
            j = int(colour_of[i])
            stop = i + 1
            while stop < end and colour_of[stop] == j and text[stop] != " ":
                stop += 1
            piece = text[i:stop]
            alpha = min(1.0, abs(float(values[j])) / scale) * 0.85 if j >= 0 and scale > 0 else 0
            if alpha > 0 and piece.strip():
                face = colours.to_rgba(_palette.signed(float(values[j])), alpha)
                ax.add_patch(
                    patches.Rectangle(
                        (i - start, line - 0.45), stop - i, 0.9, facecolor=face, edgecolor="none"
                    )
                )
            if piece.strip():
                ax.text(i - start, line, piece, **font)
            i = stop
    fig.suptitle(
        f"{expl.method}: document {row}, attributions to {expl.output_names[o]!r}",
        fontsize=9,
        y=1 - 0.05 / fig_h,
        va="top",
    )
    return fig


#: Width of one character in the text figure, inches.
_CHAR = 0.09


def _wrap(text: str, width: int) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the lines: break at newlines and, past
    ``width``, at the last space (or mid-word when there is none)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for part in text.split("\n"):
        end_of_part = start + len(part)
        while end_of_part - start > width:
            cut = text.rfind(" ", start, start + width)
            cut = cut + 1 if cut > start else start + width
            spans.append((start, cut))
            start = cut
        spans.append((start, end_of_part))
        start = end_of_part + 1
    return spans


@_plain_text
def image_maps(expl: Explanation, max_rows: int = 4, images: Any = None) -> Figure:
    """Image attributions side by side with their inputs: one column per row, the input
    on top (grey) and its map below (red up, blue down, symmetric scale per row).

    Channels are summed. (Overlays of a map on its image are the images part's.)

    Parameters
    ----------
    expl : Explanation
        Values of shape ``(n, H, W, k)`` or ``(n, C, H, W, k)``.
    max_rows : int
    images : array, optional
        The inputs, when ``expl.data`` does not hold them.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if expl.values.ndim not in (4, 5):
        raise ValueError(
            f"image_maps needs values of shape (n, H, W, k) or (n, C, H, W, k); got {expl.shape}."
        )
    colours = import_optional("matplotlib.colors")
    cmap = colours.LinearSegmentedColormap.from_list(
        "bx_signed", [_palette.NEGATIVE, "#ffffff", _palette.POSITIVE]
    )
    n = min(len(expl), max_rows)
    maps = expl.values[:n, ..., -1]
    if maps.ndim == 4:  # (n, C, H, W): the map of all channels
        maps = maps.sum(axis=1)
    inputs = np.asarray(expl.data if images is None else images, dtype=np.float64)[:n]
    if inputs.ndim == 4:
        inputs = inputs.mean(axis=1) if inputs.shape[1] in (1, 3) else inputs.mean(axis=-1)
    fig = _figure(1.7 * n + 0.6, 3.8)
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        axes[0, i].imshow(inputs[i], cmap="gray_r")
        scale = float(np.abs(maps[i]).max()) or 1.0
        shown = axes[1, i].imshow(maps[i], cmap=cmap, vmin=-scale, vmax=scale)
        axes[0, i].set_title(f"row {i}", fontsize=8)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, ticks=[])
    fig.suptitle(
        f"{expl.method}: attribution to {expl.output_names[-1]!r} (red up, blue down)",
        fontsize=9,
    )
    return fig


@_plain_text
def to_data_uri(fig: Figure, fmt: str = "svg", dpi: int = 100) -> str:
    """The figure as a ``data:`` URI (SVG text or PNG bytes, base64), for self-contained
    HTML. SVGs are written with a fixed id salt and no date, so the same figure gives
    the same bytes."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"fmt must be 'svg' or 'png', got {fmt!r}.")
    matplotlib = import_optional("matplotlib")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "blackbox_xai", "svg.fonttype": "path"}):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else {})
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def figure_html(fig: Figure, alt: str, fmt: str = "svg", wide: bool = False) -> str:
    """An ``<img>`` holding the figure as a data URI (``alt`` escaped); ``wide`` figures
    take the page's width instead of half of it."""
    uri = to_data_uri(fig, fmt)
    cls = "bx-fig bx-wide" if wide else "bx-fig"
    alt = html.escape(alt, quote=True)
    return f"<figure class='{cls}'><img src='{uri}' alt='{alt}'></figure>"

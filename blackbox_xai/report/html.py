"""Self-contained HTML for explanations (no JavaScript, no external assets)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..results import AnchorExplanation, Explanation

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}
table.bx{border-collapse:collapse;margin:.5em 0 1.5em}
table.bx td,table.bx th{padding:2px 8px;text-align:left;font-size:14px}
.bar{display:inline-block;height:12px}
.pos{background:#c0392b}.neg{background:#2471a3}
.num{font-variant-numeric:tabular-nums;text-align:right}
.bx-legend{font-size:13px;color:#444}
"""


def _num(value: float) -> str:
    # Sums of attributions carry rounding noise (1e-16): show it as zero.
    return f"{0.0 if abs(value) < 1e-12 else value:.4g}"


#: What the base value is, by method (the caption's legend says it in words).
_BASE_MEANING = {
    "exact_shapley": "the model's mean output over the background rows (no feature known)",
    "kernel_shap": "the model's mean output over the background rows (no feature known)",
    "sampling_shapley": "the model's mean output over the background rows (no feature known)",
    "lime": "the intercept of the local linear model fitted around the row",
}


def _legend(expl: Explanation, has_stderr: bool) -> str:
    base = _BASE_MEANING.get(expl.method, "the model's output at the method's reference input")
    parts = [
        f"<b>base value</b>: {html.escape(base)}",
        "<b>attribution</b>: how much the feature's value moves the output away from the "
        "base value (red up, blue down); a row's attributions, the 'other features' row "
        "included, add up to its 'base + attributions'",
    ]
    if expl.method in _BASE_MEANING and expl.method != "lime":
        parts[-1] += ", the model's output for the row"
    if has_stderr:
        parts.append(
            "<b>std. error</b>: the standard error of an estimated attribution (the spread a "
            "rerun with another seed would show); about 95% of reruns fall within two"
        )
    return "<p class='bx-legend'>" + "; ".join(parts) + ".</p>"


def explanation_html(
    expl: Explanation, output: int | str | None = None, max_features: int = 10
) -> str:
    """One table per explained row: feature, value, signed bar, attribution.

    The largest ``max_features`` attributions are listed; the others are summed in one
    "other N features" row, so that the rows shown add up to the total in the caption.
    ``output=None`` shows each row's predicted class where the method gives the model's
    output (Shapley values), else the output :meth:`Explanation.shown_outputs` picks.
    """
    if output is None:
        outputs, reason = expl.shown_outputs()
        title = {
            "predicted": "attributions to each row's predicted class",
            "target": "attributions to each row's target",
        }.get(reason, f"attributions to output {html.escape(expl.output_names[outputs[0]])!s}")
    else:
        o = expl.output_index(output)
        outputs, reason = [o] * len(expl), "given"
        title = f"attributions to output {html.escape(expl.output_names[o])!s}"
    stderr = expl.stderr
    parts = [f"<h3>{html.escape(expl.method)}: {title}</h3>", _legend(expl, stderr is not None)]
    names = expl.feature_names or []
    # Data columns line up with features only without multi-column groups.
    show_data = getattr(expl.data, "shape", (0, -1))[-1] == len(names)
    for row in range(len(expl)):
        o = outputs[row]
        finite = np.abs(expl.values[row, ..., o])
        finite = finite[np.isfinite(finite)]  # NaN attributions are shown, not drawn
        scale = max(float(finite.max()) if finite.size else 0.0, 1e-300)
        top = expl.top_features(row, o, max_features)
        base = expl.base_values[row, o]
        values = expl.values[row, ..., o]
        total = base + np.nansum(values)
        label = html.escape(expl.output_names[o])
        what = {"predicted": "predicted class", "target": "target"}.get(reason, "output")
        parts.append(
            f"<table class='bx'><caption>row {row}, {what} {label}: base value {_num(base)}, "
            f"base + attributions {_num(total)}</caption>"
            "<tr><th>feature</th><th class='num'>value</th><th></th><th class='num'>attribution</th>"
            + ("<th class='num'>std. error</th>" if stderr is not None else "")
            + "</tr>"
        )
        shown: list[int] = []
        for name, value in top:
            j = names.index(name) if name in names else -1
            shown.append(j)
            data = _num(float(expl.data[row, j])) if show_data else ""
            se = ""
            if stderr is not None and j >= 0:
                se = f"<td class='num'>{_num(float(stderr[row, j, o]))}</td>"
            parts.append(_bar_row(html.escape(name), data, value, scale, se))
        n_other = int(np.isfinite(values).sum()) - len(top)
        if n_other > 0:
            # As a waterfall plot does: the rest in one row, so the bars add up.
            rest = float(np.nansum(values) - sum(v for _, v in top))
            se = "<td class='num'></td>" if stderr is not None else ""
            parts.append(
                _bar_row(f"<i>other {n_other} features</i>", "", rest, max(scale, abs(rest)), se)
            )
        parts.append("</table>")
    return "\n".join(parts)


def _bar_row(name: str, data: str, value: float, scale: float, se: str) -> str:
    width = int(120 * abs(value) / scale) if np.isfinite(value) else 0  # NaN: no bar
    cls = "pos" if value > 0 else "neg"
    return (
        f"<tr><td>{name}</td><td class='num'>{data}</td>"
        f"<td><span class='bar {cls}' style='width:{width}px'></span></td>"
        f"<td class='num'>{_num(value) if value < 0 else '+' + _num(value)}</td>{se}</tr>"
    )


def anchors_html(anchors: Sequence[AnchorExplanation]) -> str:
    """A table of anchors: one rule per explained row with its precision and coverage."""
    parts = [
        "<h3>Anchors</h3><table class='bx'><tr><th>row</th><th>rule</th><th>prediction</th>"
        "<th class='num'>precision</th><th class='num'>coverage</th></tr>"
    ]
    for row, anchor in enumerate(anchors):
        rule = " AND ".join(anchor.rule) or "(always)"
        parts.append(
            f"<tr><td>{row}</td><td>IF {html.escape(rule)}</td><td>{html.escape(str(anchor.predicted))}</td>"
            f"<td class='num'>{anchor.precision:.3f}</td><td class='num'>{anchor.coverage:.3f}</td></tr>"
        )
    parts.append("</table>")
    return "\n".join(parts)


def html_page(title: str, sections: Iterable[str]) -> str:
    """A complete HTML document around the given fragments."""
    body = "\n".join(sections)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>"
    )


# -- report pages: a header, then one section per result ---------------------------------
_PAGE_STYLE = """
body{max-width:75em}
.bx-header{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;background:#fafafa}
.bx-header table td,.bx-header table th{padding:2px 10px 2px 0;font-size:14px;text-align:left;
vertical-align:top}
.bx-section{margin:2em 0;border-top:2px solid #ddd;padding-top:.5em}
.bx-read{background:#f3f6fa;border-left:4px solid #2471a3;padding:.4em .8em;font-size:14px}
.bx-facts{font-size:13px;color:#333}
.bx-fig{display:inline-block;vertical-align:top;margin:.4em .4em .4em 0;max-width:49%}
.bx-fig img{max-width:100%;height:auto}.bx-fig.bx-wide{max-width:100%}
.bx-note{font-size:13px;color:#555;font-style:italic}
.bx-table summary{cursor:pointer;font-size:14px;color:#2471a3}
"""

#: The "how to read this" paragraph of each method family.
_HOW_TO_READ = {
    "shapley": (
        "Each bar says how much one feature moved this row's output away from the base value "
        "(the average output over the background rows): red bars push the output up, blue "
        "bars push it down, and all of them add up to the output minus the base value. The "
        "waterfall starts at the base value and ends at the prediction. Black whiskers are "
        "one standard error of the sampling estimate: a bar shorter than about two standard "
        "errors cannot be told apart from zero. In the summaries, each dot is one row "
        "(colour: the feature's value in that row), and the importance bars are the mean "
        "absolute attribution. Correlated features share credit in ways that depend on the "
        "background: read small differences between them with care."
    ),
    "lime": (
        "The bars are the coefficients of a weighted linear model fitted around each row on "
        "binned features: how much the output changes when a feature leaves this row's bin, "
        "near this row. Unlike Shapley values they do not add up to the prediction. Whiskers "
        "are the coefficients' standard errors; check the local fit (R\u00b2) before "
        "trusting small coefficients."
    ),
    "occlusion": (
        "Each bar is how much the output drops when that feature (or the window of "
        "features it belongs to) is replaced by the background: positive bars support the "
        "output, negative ones work against it. Occlusion values do not add up to the "
        "prediction; features that matter only together can each show a small drop."
    ),
    "text": (
        "Each token is coloured by its attribution to the output named in the heading: red "
        "pushes towards it, blue against it, and the stronger the colour the larger the "
        "value (relative to the largest in the document). Hover a token for its value and "
        "standard error."
    ),
    "image": (
        "Each overlay shows how much each region of the image moved the explained output: "
        "red regions push towards it, blue ones against it, over a grey copy of the image. "
        "For superpixel methods (LIME, Shapley values) every pixel of a superpixel carries "
        "its superpixel's value, and the top superpixels are shown apart; occlusion maps "
        "average the drop of the output over the windows covering a pixel, and RISE maps "
        "weight random masks by the output they leave (their standard errors come from the "
        'mask draws). What "absent" means is the masker\'s fill: read the maps with it.'
    ),
    "gradient": (
        "Each map shows, pixel by pixel, how the explained output responds to the input "
        "(red: more of this pixel raises the output, blue: lowers it). Gradient maps are "
        "local and can be noisy; integrated gradients add up to the change of the output "
        "from the baseline, and Grad-CAM shows where the chosen layer's features support "
        "the class, at that layer's resolution."
    ),
    "saliency": (
        "Each map is the gradient of the explained output at each pixel: how strongly a small "
        "change of that pixel would move the output. By default its sign is dropped (so "
        "every pixel is red); gradients are local and noisy, and flat where the model "
        "saturates."
    ),
    "integrated_gradients": (
        "Each pixel's share of the change of the output between a baseline image and this "
        "one, integrated along the straight path between them: the shares add up to that "
        "change (the completeness gap above says how closely). Red pixels raise the "
        "output, blue ones lower it; the baseline decides what counts as absent."
    ),
    "smoothgrad": (
        "The gradient averaged over noisy copies of the image, which removes much of a "
        "plain gradient's speckle; the standard errors come from the noise draws. Red "
        "raises the output, blue lowers it."
    ),
    "grad_cam": (
        "Where the chosen convolutional layer's features support the class: the layer's "
        "activations weighted by the class's average gradient, clipped at zero and resized "
        "to the image. Coarse (the layer's resolution) but specific to the class."
    ),
    "anchors": (
        "An anchor is a rule that, when it holds, keeps the model's prediction with high "
        "probability. Precision is the share of samples satisfying the rule that get the "
        "same prediction (with its confidence bounds; the threshold applies to the lower "
        "bound); coverage is the share of the reference data the rule applies to. A short "
        "rule with high coverage is a strong, simple reason."
    ),
    "surrogate": (
        "A small model trained to imitate the black box on data: its splits show which "
        "features and thresholds drive the model globally. Trust it only as far as its "
        "held-out fidelity goes: a surrogate that imitates poorly describes a different model."
    ),
}


def _family(expl: Explanation) -> str:
    if "token_offsets" in expl.meta:
        return "text"
    if expl.is_image:
        return "image"
    if expl.values.ndim > 3:
        return "gradient"
    if "lime" in expl.method:
        return "lime"
    if expl.method == "occlusion":
        return "occlusion"
    if "shapley" in expl.method or "shap" in expl.method:
        return "shapley"
    return "gradient" if "n_gradient_rows" in expl.meta else "shapley"


def _per_row(value: Any, label: str) -> str:
    if isinstance(value, list) and value and len(set(map(str, value))) == 1:
        return f"{value[0]} {label} per row"
    if isinstance(value, list) and value:
        return f"{min(value)}-{max(value)} {label} per row"
    return f"{value} {label}"


def describe(expl: Explanation) -> tuple[str, str]:
    """What a method spent and how uncertain its numbers are, in words: ``(budget,
    uncertainty)``, from the explanation's ``meta`` and ``stderr`` alone."""
    meta = expl.meta
    budget = []
    shapley = "shap" in expl.method
    for key, label in (
        ("n_evals", "coalitions" if shapley else "perturbed samples"),
        ("n_samples", "samples"),
        ("n_steps", "integration steps"),
        ("n_model_rows", "model rows in all"),
        ("n_gradient_rows", "gradient rows in all"),
    ):
        if key in meta and meta[key] is not None:
            budget.append(_per_row(meta[key], label))
    if "n_evals" not in meta and "n_samples" in meta.get("parameters", {}):
        budget.append(f"{meta['parameters']['n_samples']} samples per row")
    uncertainty: list[str] = []
    if meta.get("exact") or expl.method == "exact_shapley":
        uncertainty.append("exact: every coalition enumerated, no sampling error")
    elif expl.stderr is not None:
        se = expl.stderr[np.isfinite(expl.stderr)]
        top = float(np.nanmax(np.abs(expl.values))) if expl.values.size else 0.0
        if se.size:
            uncertainty.append(
                f"standard errors: median {_num(float(np.median(se)))}, largest "
                f"{_num(float(se.max()))} (largest |attribution| {_num(top)})"
            )
    tol = meta.get("parameters", {}).get("tol")
    if isinstance(meta.get("converged"), list) and expl.stderr is not None and tol is not None:
        done = sum(bool(c) for c in meta["converged"])
        uncertainty.append(f"{done} of {len(meta['converged'])} rows reached the tolerance {tol}")
    if "completeness_delta" in meta:
        gap = np.abs(np.asarray(meta["completeness_delta"], dtype=np.float64))
        uncertainty.append(f"completeness gap up to {_num(float(gap.max()))}")
    if not uncertainty:
        uncertainty.append("deterministic: no sampling, no error estimate")
    return ", ".join(budget) or "not recorded", "; ".join(uncertainty)


class Section:
    """One part of a report: a heading, its "how to read this" paragraph, its body and
    the facts the page's header lists (method, budget, uncertainty).

    ``str(section)`` is its HTML fragment (escaped, self-contained).
    """

    def __init__(
        self, title: str, method: str, budget: str, uncertainty: str, read: str, body: str
    ) -> None:
        self.title, self.method, self.budget = title, method, budget
        self.uncertainty, self.read, self.body = uncertainty, read, body

    def __str__(self) -> str:
        return (
            f"<section class='bx-section'><h2>{html.escape(self.title)}</h2>"
            f"<p class='bx-facts'>method <b>{html.escape(self.method)}</b>; budget: "
            f"{html.escape(self.budget)}; uncertainty: {html.escape(self.uncertainty)}</p>"
            f"<p class='bx-read'><b>How to read this.</b> {html.escape(self.read)}</p>"
            f"{self.body}</section>"
        )

    def _repr_html_(self) -> str:
        return f"<style>{_STYLE}{_PAGE_STYLE}</style>{self}"


#: Rows below which summaries over rows (beeswarm, importance, dependence) are left out.
_MIN_GLOBAL_ROWS = 5


def _figures_available(figures: bool | None) -> bool:
    if figures is not None:
        return figures
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


_NO_FIGURES = (
    "<p class='bx-note'>Figures need matplotlib: <code>pip install 'blackbox_xai[plot]'</code>.</p>"
)


def explanation_section(
    expl: Explanation,
    *,
    title: str | None = None,
    output: int | str | None = None,
    max_features: int = 10,
    max_rows: int = 3,
    figures: bool | None = None,
    fmt: str = "svg",
) -> Section:
    """A report section of an :class:`~blackbox_xai.Explanation`, drawn from it alone.

    Each row's figure and table show its predicted class for Shapley values (its target
    for gradients) unless ``output`` is given; the summaries over rows show ``output``,
    or the one output every row shows, or else the last output.

    Tabular rows get a waterfall per row (the first ``max_rows``; a signed bar chart for
    methods whose values do not add up to the prediction, such as LIME), and with five
    rows or more a beeswarm, a global importance bar and the dependence plot of the most
    important feature, then the table of attributions (folded beyond ``max_rows`` rows);
    texts get their highlighted tokens and a bar chart of the first document; images get
    their attribution maps.

    Parameters
    ----------
    expl : Explanation
    title : str, optional
        Heading (default: the method and the output).
    output : int or str, optional
        The output shown (the last by default).
    max_features, max_rows : int
    figures : bool, optional
        Draw the figures (default: when matplotlib is installed).
    fmt : "svg" or "png"
        How figures are embedded (data URIs).

    Returns
    -------
    Section
    """
    from . import plots

    family = _family(expl)
    # Per-row figures follow the tables: each row's predicted class (Shapley values) or
    # target unless an output is given; summaries over rows need one output for all.
    if output is None:
        per_row, reason = expl.shown_outputs()
        o = per_row[0] if len(set(per_row)) == 1 else expl.output_index(None)
    else:
        o = expl.output_index(output)
        per_row, reason = [o] * len(expl), "given"
    shown = {"predicted": "each row's predicted class", "target": "each row's target"}
    what = shown.get(reason, repr(expl.output_names[o])) if len(set(per_row)) > 1 else None
    heading = title or f"{expl.method}: attributions to {what or repr(expl.output_names[o])}"
    draw = _figures_available(figures)
    parts: list[str] = [] if draw else [_NO_FIGURES]
    if family == "text":
        from .text import text_explanation_html

        parts.append(text_explanation_html(expl, output=output))
        if draw:
            first = plots.bar(expl[0], 0, per_row[0], max_features)
            parts.append(plots.figure_html(first, "bar", fmt))
    elif family == "image":
        from .image import image_explanation_html

        # The overlays are matplotlib figures too: none without it (or when not asked).
        if draw:
            rows = range(min(len(expl), max_rows))
            parts.append(image_explanation_html([expl], output=output, rows=rows))
    elif family == "gradient" and expl.values.ndim > 3:
        if draw:
            parts.append(
                plots.figure_html(plots.image_maps(expl, 4), "attribution maps", fmt, wide=True)
            )
    else:
        if draw:
            # Waterfalls only where attributions add up to the prediction (Shapley values).
            one_row = plots.waterfall if family == "shapley" else plots.bar
            for row in range(min(len(expl), max_rows)):
                fig = one_row(expl, row, per_row[row], max_features)
                parts.append(plots.figure_html(fig, f"attributions of row {row}", fmt))
            same_players = not isinstance(expl.meta.get("n_players"), list)
            if len(expl) >= _MIN_GLOBAL_ROWS and same_players:
                for name, plot in (("beeswarm", plots.beeswarm), ("importance", plots.importance)):
                    parts.append(plots.figure_html(plot(expl, o, max_features), name, fmt))
                data = expl.data
                if isinstance(data, np.ndarray) and data.shape == expl.values.shape[:2]:
                    top = int(np.argmax(np.abs(expl.values[:, :, o]).mean(axis=0)))
                    parts.append(
                        plots.figure_html(plots.dependence(expl, top, o), "dependence", fmt)
                    )
        # Many rows make a long table: folded (a plain <details>, no script) below the
        # figures; a few rows' tables stay open.
        unfolded = " open" if len(expl) <= max_rows else ""
        parts.append(
            f"<details class='bx-table'{unfolded}><summary>table of attributions ({len(expl)} "
            f"row{'s' if len(expl) != 1 else ''})</summary>"
            + explanation_html(expl, output=output, max_features=max_features)
            + "</details>"
        )
    budget, uncertainty = describe(expl)
    # Gradient methods differ in what their maps mean: each has its own paragraph.
    read = _HOW_TO_READ.get(expl.method) if family == "gradient" else None
    return Section(
        heading, expl.method, budget, uncertainty, read or _HOW_TO_READ[family], "\n".join(parts)
    )


def anchors_section(
    anchors: Sequence[AnchorExplanation],
    *,
    title: str = "Anchors",
    figures: bool | None = None,
    fmt: str = "svg",
) -> Section:
    """A report section of anchors: a rule card per anchor (text anchors also show the
    document with the anchor's words marked) and the table of rules."""
    from . import plots

    draw = _figures_available(figures)
    parts: list[str] = [] if draw else [_NO_FIGURES]
    rows = [a for a in anchors if not isinstance(a.data, str)]
    for anchor in anchors:
        if isinstance(anchor.data, str):
            parts.append(anchor.to_html())
        if draw:
            parts.append(plots.figure_html(plots.anchor_card(anchor), "anchor card", fmt))
    if rows:
        parts.append(anchors_html(rows))
    samples = sum(a.n_samples for a in anchors)
    lowest = min((a.precision_bounds[0] for a in anchors), default=float("nan"))
    reached = sum(a.success for a in anchors)
    return Section(
        title,
        "anchors",
        f"{samples} samples, {sum(a.n_model_rows for a in anchors)} model rows in all",
        f"precision lower bounds from {lowest:.3f}; {reached} of {len(anchors)} anchors "
        "reach the threshold",
        _HOW_TO_READ["anchors"],
        "\n".join(parts),
    )


def surrogate_section(
    surrogate: Any,
    fidelity: Any = None,
    *,
    title: str = "Global surrogate",
    figures: bool | None = None,
    fmt: str = "svg",
) -> Section:
    """A report section of a fitted global surrogate: the drawn tree and its rules, with
    its fidelity (held-out when ``fidelity = surrogate.fidelity(X_holdout)`` is given)."""
    from . import plots

    draw = _figures_available(figures)
    parts: list[str] = [] if draw else [_NO_FIGURES]
    if draw:
        parts.append(
            plots.figure_html(plots.surrogate_tree(surrogate, fidelity), "tree", fmt, wide=True)
        )
    parts.append(
        "<pre class='bx-facts'>" + html.escape(str(surrogate.rules(as_text=True))) + "</pre>"
    )
    if fidelity is not None:
        parts.append("<pre class='bx-facts'>" + html.escape(str(fidelity)) + "</pre>")
        quality = ", ".join(f"held-out {k} {v:.3f}" for k, v in fidelity.held_out.items())
    else:
        quality = "in-sample fidelity only (pass held-out rows for an honest number): " + ", ".join(
            f"{k} {v:.3f}" for k, v in surrogate.in_sample_.items()
        )
    return Section(
        title,
        f"{surrogate.kind} surrogate",
        f"fitted on {surrogate.n_fit_rows_} rows",
        quality,
        _HOW_TO_READ["surrogate"],
        "\n".join(parts),
    )


def report_page(
    title: str,
    sections: Iterable[Section | str],
    *,
    model: str | None = None,
    data: str | None = None,
) -> str:
    """One self-contained HTML page: a header (model, data and, per section, the method,
    its budget and its uncertainty), then the sections.

    Parameters
    ----------
    title : str
    sections : iterable of Section or str
        Sections (from :func:`explanation_section`, :func:`anchors_section`,
        :func:`surrogate_section`) or ready HTML fragments.
    model, data : str, optional
        What was explained, in words (the explanations never hold the model).

    Returns
    -------
    str
        A complete HTML document: no script, no external asset, every string escaped.
    """
    sections = list(sections)
    rows = [
        f"<tr><td>{html.escape(s.title)}</td><td>{html.escape(s.method)}</td>"
        f"<td>{html.escape(s.budget)}</td><td>{html.escape(s.uncertainty)}</td></tr>"
        for s in sections
        if isinstance(s, Section)
    ]
    header = ["<div class='bx-header'>"]
    if model:
        header.append(f"<p><b>Model:</b> {html.escape(model)}</p>")
    if data:
        header.append(f"<p><b>Data:</b> {html.escape(data)}</p>")
    if rows:
        header.append(
            "<table><tr><th>section</th><th>method</th><th>budget</th><th>uncertainty</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    header.append("</div>")
    body = "\n".join(header + [str(s) for s in sections])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}{_PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n"
        f"{body}\n</body></html>"
    )

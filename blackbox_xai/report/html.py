"""Self-contained HTML for explanations (no JavaScript, no external assets)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

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
        scale = max(float(abs(expl.values[row, ..., o]).max()), 1e-300)
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
    width = int(120 * abs(value) / scale)
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

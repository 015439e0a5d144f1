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
"""


def _num(value: float) -> str:
    # Sums of attributions carry rounding noise (1e-16): show it as zero.
    return f"{0.0 if abs(value) < 1e-12 else value:.4g}"


def explanation_html(
    expl: Explanation, output: int | str | None = None, max_features: int = 10
) -> str:
    """One table per explained row: feature, value, signed bar, attribution."""
    o = expl.output_index(output)
    parts = [
        f"<h3>{html.escape(expl.method)}: attributions to output "
        f"{html.escape(expl.output_names[o])!s}</h3>"
    ]
    finite = np.abs(expl.values[..., o])
    finite = finite[np.isfinite(finite)]
    scale = max(float(finite.max()) if finite.size else 0.0, 1e-300)
    stderr = expl.stderr
    for row in range(len(expl)):
        top = expl.top_features(row, o, max_features)
        base = expl.base_values[row, o]
        total = base + expl.values[row, ..., o].sum()
        parts.append(
            f"<table class='bx'><caption>row {row}: base value {_num(base)}, "
            f"base + attributions {_num(total)}</caption>"
            "<tr><th>feature</th><th class='num'>value</th><th></th><th class='num'>attribution</th>"
            + ("<th class='num'>std. error</th>" if stderr is not None else "")
            + "</tr>"
        )
        names = expl.feature_names or []
        # Data columns line up with features only without multi-column groups.
        show_data = getattr(expl.data, "shape", (0, -1))[-1] == len(names)
        for name, value in top:
            j = names.index(name) if name in names else -1
            data = _num(float(expl.data[row, j])) if show_data else ""
            width = int(120 * abs(value) / scale) if np.isfinite(value) else 0  # NaN: no bar
            cls = "pos" if value > 0 else "neg"
            se = ""
            if stderr is not None and j >= 0:
                se = f"<td class='num'>{_num(float(stderr[row, j, o]))}</td>"
            parts.append(
                f"<tr><td>{html.escape(name)}</td><td class='num'>{data}</td>"
                f"<td><span class='bar {cls}' style='width:{width}px'></span></td>"
                f"<td class='num'>{value:+.4g}</td>{se}</tr>"
            )
        parts.append("</table>")
    return "\n".join(parts)


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

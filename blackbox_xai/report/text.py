"""Token-highlighted HTML for text explanations and text anchors.

The fragments are self-contained (their own ``<style>``, no script, no external asset),
so the same string renders in a browser, in Jupyter (``_repr_html_``) and saved to a
file (wrap it in :func:`~blackbox_xai.report.html_page`). Every piece of the document is
escaped; the characters between tokens are written out as they are (``white-space:
pre-wrap`` keeps spaces, tabs and newlines), so the highlighted text reads exactly as
the original.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..results import AnchorExplanation, Explanation

#: Diverging colours (RGB) of positive and negative attributions, as in the bar tables.
_POSITIVE = (192, 57, 43)
_NEGATIVE = (36, 113, 163)

_STYLE = """
.bx-text{font-family:system-ui,sans-serif;max-width:60em;margin:.5em 0 1.5em}
.bx-doc{white-space:pre-wrap;line-height:1.9;font-size:15px;border:1px solid #ddd;
padding:.6em .8em;border-radius:4px}
.bx-tok{border-radius:3px;padding:1px 0}
.bx-anchor{background:#f5c542;font-weight:600;border-radius:3px;outline:1px solid #b8860b}
.bx-legend{display:flex;align-items:center;gap:.5em;font-size:13px;margin:.3em 0}
.bx-scale{width:14em;height:12px;border-radius:2px;border:1px solid #ccc;
background:linear-gradient(to right,rgb(36,113,163),#fff,rgb(192,57,43))}
.bx-meta{font-size:13px;color:#444;margin:.2em 0}
.bx-examples{font-size:13px;white-space:pre-wrap}
"""


def _style() -> str:
    return f"<style>{_STYLE}</style>"


def _number(value: float) -> str:
    return f"{0.0 if abs(value) < 1e-12 else value:.4g}"


def _colour(value: float, scale: float) -> str:
    """Background of a token: the sign's colour, opacity growing with ``|value| / scale``."""
    alpha = min(1.0, abs(value) / scale) * 0.85 if scale > 0 else 0.0
    r, g, b = _POSITIVE if value > 0 else _NEGATIVE
    return f"rgba({r},{g},{b},{alpha:.3f})"


def _pieces(text: str, offsets: list[list[int]]) -> list[tuple[str, int | None]]:
    """The document as ``(piece, token index or None)``: tokens and the text between."""
    out: list[tuple[str, int | None]] = []
    last = 0
    for t, (start, end) in enumerate(offsets):
        if start > last:
            out.append((text[last:start], None))
        out.append((text[start:end], t))
        last = end
    if last < len(text):
        out.append((text[last:], None))
    return out


def _document_html(text: str, offsets: list[list[int]], span: Any, extra_class: Any = None) -> str:
    """The document with every token wrapped by ``span(token index) -> (style, title)``."""
    parts = []
    for piece, t in _pieces(text, offsets):
        if t is None:
            parts.append(html.escape(piece))
            continue
        style, title = span(t)
        cls = "bx-tok" + (f" {extra_class(t)}" if extra_class and extra_class(t) else "")
        parts.append(
            f"<span class='{cls}' data-token='{t}' style='{style}' "
            f"title='{html.escape(title, quote=True)}'>{html.escape(piece)}</span>"
        )
    return "<div class='bx-doc'>" + "".join(parts) + "</div>"


def text_explanation_html(expl: Explanation, output: int | str | None = None) -> str:
    """Every explained document with its tokens coloured by their attribution to one output.

    Red tokens push the output up, blue ones down; the opacity grows with the size of the
    attribution relative to the largest of the document (shown in the legend). Hovering
    a token shows its player (the token, its word or its group), the value and, for
    sampling estimators, the standard error. Tokens of one player (every occurrence of a
    word with ``features="bag_of_words"``, the tokens of a group) share its colour.

    ``output`` None: each document's own (``Explanation.shown_outputs``: its target, or
    the predicted class for Shapley values), as ``print`` shows them.
    """
    per_row = expl.shown_outputs()[0] if output is None else [expl.output_index(output)] * len(expl)
    names_shown = {expl.output_names[o] for o in per_row}
    to = repr(names_shown.pop()) if len(names_shown) == 1 else "each document's own class"
    docs = expl.data if isinstance(expl.data, list) else [expl.data]
    parts = [
        _style(),
        f"<div class='bx-text'><h3>{html.escape(expl.method)}: attributions to "
        f"{html.escape(to)}</h3>",
        f"<p class='bx-meta'>outputs: {html.escape(', '.join(expl.output_names))}</p>",
    ]
    for row, o in enumerate(per_row):
        name = expl.output_names[o]
        text = str(docs[row])
        offsets = expl.meta["token_offsets"][row]
        players = expl.meta["token_players"][row]
        names = expl.player_names_of(row)
        values = expl.values[row, : len(names), o]
        stderr = None if expl.stderr is None else expl.stderr[row, : len(names), o]
        scale = float(np.nanmax(np.abs(values))) if len(values) else 0.0

        def span(t: int, values: Any = values, stderr: Any = stderr, names: Any = names,
                 players: Any = players, scale: float = scale) -> tuple[str, str]:  # fmt: skip
            j = players[t]
            value = float(values[j])
            title = f"{names[j]}: {value:+.4g}"
            if stderr is not None:
                title += f" \u00b1 {float(stderr[j]):.2g} (std. error)"
            return f"background:{_colour(value, scale)}", title

        base = float(expl.base_values[row, o])
        total = base + float(np.nansum(values))
        parts.append(
            f"<p class='bx-meta'>document {row}: base value {_number(base)}, base + "
            f"attributions {_number(total)} ({html.escape(name)})</p>"
            f"<div class='bx-legend'><span>{_number(-scale)}</span><span class='bx-scale'>"
            f"</span><span>{_number(scale)}</span><span>blue: against "
            f"{html.escape(repr(name))}, red: towards it</span></div>"
            + _document_html(text, offsets, span)
        )
    parts.append("</div>")
    return "\n".join(parts)


def text_anchor_html(anchor: AnchorExplanation) -> str:
    """A text anchor: the document with the anchor's tokens highlighted, its precision
    (with bounds), coverage, and example perturbations that keep or change the prediction."""
    text = str(anchor.data)
    offsets = anchor.meta["token_offsets"]
    players = anchor.meta["token_players"]
    kept = set(anchor.features)
    predicted = anchor.meta.get("predicted_name", anchor.predicted)

    def span(t: int) -> tuple[str, str]:
        in_anchor = players[t] in kept
        return "", "in the anchor" if in_anchor else "not in the anchor"

    lo, hi = anchor.precision_bounds
    words = ", ".join(repr(w) for w in anchor.rule) or "(no word needed)"
    status = "" if anchor.success else " — the threshold is not reached"
    on = anchor.meta.get("coverage_on", "perturbations")
    parts = [
        _style(),
        "<div class='bx-text'><h3>Anchor</h3>",
        f"<p class='bx-meta'>IF the text keeps {html.escape(words)} THEN the model predicts "
        f"{html.escape(str(predicted))}{html.escape(status)}</p>",
        f"<p class='bx-meta'>precision {anchor.precision:.3f} (bounds {lo:.3f} to {hi:.3f}, "
        f"{anchor.n_samples} samples), coverage {anchor.coverage:.3f} (on the "
        f"{html.escape(str(on))})</p>",
        _document_html(text, offsets, span, lambda t: "bx-anchor" if players[t] in kept else ""),
    ]
    for key, label in (("agree", "keep the prediction"), ("differ", "change the prediction")):
        items = anchor.examples.get(key, [])
        parts.append(f"<p class='bx-meta'>examples that {label}: {len(items)}</p>")
        if len(items):
            parts.append(
                "<ul class='bx-examples'>"
                + "".join(f"<li>{html.escape(str(e))}</li>" for e in items)
                + "</ul>"
            )
    parts.append("</div>")
    return "\n".join(parts)

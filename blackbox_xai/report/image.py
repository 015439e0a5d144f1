"""Image explanations: heat-map overlays, top superpixels, several methods side by side.

Figures are drawn with matplotlib's object API (no pyplot state) and embedded in the
HTML as PNG data URIs, so a page has no external asset; every string is escaped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..utils.optional import import_optional

if TYPE_CHECKING:
    from ..results import Explanation

#: Diverging colour map of the overlays: negative blue, positive red (as the bar tables).
CMAP = "RdBu_r"

_STYLE = """
.bx-images{font-family:system-ui,sans-serif;margin:.5em 0 1.5em}
.bx-images table{border-collapse:collapse}
.bx-images td{padding:4px 8px;vertical-align:top;text-align:center;font-size:13px}
.bx-images img{display:block;margin:auto}
"""


def display_image(expl: Explanation, row: int) -> np.ndarray:
    """The explained image of ``row`` as float RGB in [0, 1], ``(H, W, 3)``."""
    data = expl.data[row] if isinstance(expl.data, list) else np.asarray(expl.data)[row]
    image = np.asarray(data, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    shape = expl.meta.get("image_shape")
    if shape is not None and isinstance(shape, list) and image.shape != tuple(shape[row]):
        image = image.reshape(shape[row])
    lo, hi = float(image.min()), float(image.max())
    if lo >= 0 and hi > 1:
        image = image / (255.0 if hi <= 255 else hi)
    elif lo < 0 or hi > 1:
        image = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.clip(image[:, :, :3], 0.0, 1.0)


def _grey(image: np.ndarray) -> np.ndarray:
    return np.repeat(image @ np.array([[0.299], [0.587], [0.114]]), 3, axis=2)


def plot_image_explanation(
    expl: Explanation,
    row: int = 0,
    output: int | str | None = None,
    ax: Any = None,
    alpha: float = 0.6,
    colorbar: bool = True,
) -> Any:
    """The attribution map of one image overlaid on it (in grey), with a colour bar.

    The colour scale is symmetric about zero, ``[-max|v|, max|v|]``.

    Parameters
    ----------
    expl : Explanation
        An image explanation (see :meth:`Explanation.pixel_map`).
    row : int
    output : int or str, optional
        By default the row's own (``Explanation.shown_output``).
    ax : matplotlib Axes, optional
        Drawn into when given; a new figure otherwise.
    alpha : float
        Opacity of the heat map.
    colorbar : bool

    Returns
    -------
    matplotlib Axes
    """
    import_optional("matplotlib")
    from matplotlib.figure import Figure

    output = expl.shown_output(row, output)
    heat = expl.pixel_map(row, output)
    if ax is None:
        ax = Figure(figsize=(4, 3.4)).add_subplot()
    scale = float(np.abs(heat).max()) or 1.0
    ax.imshow(_grey(display_image(expl, row)))
    shown = ax.imshow(heat, cmap=CMAP, vmin=-scale, vmax=scale, alpha=alpha)
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(f"{expl.method}: {expl.output_names[expl.output_index(output)]}", fontsize=9)
    ax.set_axis_off()
    return ax


def top_segments(expl: Explanation, row: int, output: int | str | None, k: int) -> np.ndarray:
    """Indices of the ``k`` superpixels with the largest (positive) values."""
    o = expl.shown_output(row, output)
    n_players = expl.meta.get("n_players")
    d = n_players[row] if isinstance(n_players, list) else expl.values.shape[1]
    values = expl.values[row, :d, o]
    return np.argsort(-values, kind="stable")[:k]


def plot_top_segments(
    expl: Explanation, row: int = 0, output: int | str | None = None, k: int = 5, ax: Any = None
) -> Any:
    """The image with only its ``k`` most positive superpixels shown (others faded)."""
    import_optional("matplotlib")
    from matplotlib.figure import Figure

    segments = np.asarray(expl.meta["segments"][row])
    keep = np.isin(segments, top_segments(expl, row, output, k))
    image = display_image(expl, row)
    faded = np.where(keep[:, :, None], image, 0.25 * image + 0.75)
    if ax is None:
        ax = Figure(figsize=(3.2, 3.4)).add_subplot()
    ax.imshow(faded)
    ax.set_title(f"top {k} superpixels", fontsize=9)
    ax.set_axis_off()
    return ax


def figure_png(fig: Any) -> str:
    """A matplotlib figure as a ``data:image/png;base64`` URI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(fig: Any, alt: str) -> str:
    return f"<img src='{figure_png(fig)}' alt='{html.escape(alt, quote=True)}'>"


def image_explanation_html(
    explanations: Sequence[Explanation],
    output: int | str | None = None,
    rows: Sequence[int] | None = None,
    top_k: int = 5,
) -> str:
    """Several methods' explanations of the same images, side by side.

    One table row per image: the image, then for each explanation its heat-map overlay
    (with a colour bar) and, for values per superpixel, the top ``top_k`` superpixels.

    Parameters
    ----------
    explanations : sequence of Explanation
        Image explanations of the same images (one per method).
    output : int or str, optional
        The output shown: given by name or by its index in the first explanation, and
        shown by name in every explanation (each must have it). By default each
        image's own in the first explanation (its target, or the predicted class for
        Shapley values: ``Explanation.shown_output``), shown by name in the others
        where they have it (their own otherwise).
    rows : sequence of int, optional
        Images to show (all by default).
    top_k : int
        Superpixels shown in the top-superpixels panel.

    Returns
    -------
    str
        A self-contained HTML fragment (PNG images as data URIs).
    """
    import_optional("matplotlib")
    from matplotlib.figure import Figure

    if not explanations:
        raise ValueError("no explanations to show.")
    first = explanations[0]
    for e in explanations:
        if not e.is_image:
            raise ValueError(f"{e.method!r} is not an image explanation.")
        if len(e) != len(first):
            raise ValueError("the explanations must be of the same images (same number of rows).")
    shown_rows = range(len(first)) if rows is None else rows
    own = [e.shown_outputs()[0] for e in explanations]  # each one's default per row
    parts = [f"<div class='bx-images'><style>{_STYLE}</style><table>"]
    for row in shown_rows:
        fig = Figure(figsize=(3.2, 3.4))
        ax = fig.add_subplot()
        ax.imshow(display_image(first, row))
        ax.set_title(f"image {row}", fontsize=9)
        ax.set_axis_off()
        cells = [f"<td>{_img(fig, f'image {row}')}</td>"]
        # One class per image: the first explanation's (given, or its own for the
        # row), found by name in the others, which otherwise show their own.
        shown = first.output_names[own[0][row] if output is None else first.output_index(output)]
        for e, e_own in zip(explanations, own, strict=True):
            if output is not None and shown not in e.output_names:
                raise ValueError(
                    f"{e.method!r} has no output {shown!r}; its outputs are {e.output_names}."
                )
            o = e.output_names.index(shown) if shown in e.output_names else e_own[row]
            name = e.output_names[o]
            cells.append(
                f"<td>{_img(plot_image_explanation(e, row, o).figure, f'{e.method} map')}"
                f"{html.escape(e.method)} → {html.escape(name)}</td>"
            )
            if e.values.ndim == 3 and "segments" in e.meta:
                ax_top = plot_top_segments(e, row, o, top_k)
                cells.append(
                    f"<td>{_img(ax_top.figure, f'{e.method} top superpixels')}"
                    f"{html.escape(e.method)}: top {top_k}</td>"
                )
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table></div>")
    return "\n".join(parts)

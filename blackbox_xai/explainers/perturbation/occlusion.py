"""Occlusion (Zeiler & Fergus 2014): the output's drop when a window is hidden."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ...maskers import Masker
from ...maskers.image import BoundImage, Image, check_fill
from ...models import Model
from ...results import Explanation
from ...utils.parallel import map_row_chunks
from ...utils.validation import check_positive_int
from .._instances import splits_instances
from .._targets import output_indices, target_meta
from ..base import Explainer
from ._windows import coverage, window_starts

#: Default window of images, in pixels (per side).
IMAGE_WINDOW = 16


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}.")
        return check_positive_int(value[0], name), check_positive_int(value[1], name)
    size = check_positive_int(value, name)
    return size, size


def _fill_repr(fill: Any) -> Any:
    """A fill as the explanation's metadata keeps it (a name, None, or its repr)."""
    return fill if isinstance(fill, (str, type(None))) else repr(fill)


def _check_covered(window: int, stride: int, size: int, what: str) -> None:
    """Refuse windows that leave gaps (steps longer than the window, where the last,
    flush window does not close them): those features would never be hidden, and their
    values would be 0 / 0."""
    if np.diff(window_starts(size, window, stride)).max(initial=0) > window:
        raise _gaps_error(window, stride, f" ({what}): the features")


def _gaps_error(window: int, stride: int, what: str) -> ValueError:
    return ValueError(
        f"stride {stride} is larger than the window {window}{what} between windows would "
        "never be hidden. Use a stride of at most the window."
    )


def _player_rows(
    masker: Masker, X: Any, Z: np.ndarray, model: Model, start: int, stop: int
) -> np.ndarray:
    """Game values ``(rows, 1 + windows, k)`` of rows ``start:stop`` (module level so every
    joblib backend can pickle it)."""
    return masker.coalition_values(model, X[start:stop], Z)


class Occlusion(Explainer):
    """Occlusion: each feature's attribution is the drop of the output when a window
    holding it is hidden, averaged over the windows that hold it.

    For images (:class:`~blackbox_xai.maskers.Image`) the windows are rectangles of
    pixels slid over the image, hidden by the fill (the masker's, or ``fill``), and the
    values are a per-pixel map ``(n, H, W, k)``. For other maskers (tabular rows, text)
    the windows are runs of consecutive players made absent the masker's way; with
    ``window=1`` a token's value is ``f(x) - f(x without the token)``. Every window of a
    row is evaluated in calls as large as the masker's memory budget allows (captum
    evaluates ``perturbations_per_eval=1`` window per call by default).

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Masker, array-like or DataFrame
        An Image or Text masker, or background rows (``Tabular``).
    window : int or (int, int), optional
        Window size: pixels (height, width; an int for a square) for images, 16 by
        default; players otherwise, 1 by default.
    stride : int or (int, int), optional
        Step between windows, at most the window; the window by default (tiles). A last
        window flush with the far edge is added where the steps stop short, so every
        feature is covered.
    fill : {"mean", "blur", "inpaint"} or number(s), optional
        Images only: what a hidden window shows (the masker's fill by default; captum's
        baseline is ``fill=0``).
    n_jobs : int, optional
        joblib workers over rows (images).

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> f = lambda X: X.sum(axis=(1, 2))  # grayscale (H, W) images come as (m, H, W)
    >>> occ = bx.Occlusion(f, bx.maskers.Image("grid", fill=0.0), window=2)
    >>> occ.explain(np.ones((4, 4))).values[0, :, :, 0]
    array([[4., 4., 4., 4.],
           [4., 4., 4., 4.],
           [4., 4., 4., 4.],
           [4., 4., 4., 4.]])
    """

    method = "occlusion"

    def __init__(
        self,
        model: Any,
        masker: Any,
        window: int | tuple[int, int] | None = None,
        stride: int | tuple[int, int] | None = None,
        fill: Any = None,
        *,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(model, masker, seed=None, n_jobs=n_jobs)
        self.window, self.stride, self.fill = window, stride, fill
        self.window_: tuple[int, ...] = ()
        self.stride_: tuple[int, ...] = ()
        if fill is not None:
            if not isinstance(self.masker, (Image, BoundImage)):
                raise ValueError(
                    "fill applies to images only; other maskers hide features their own way "
                    "(Tabular: background rows, Text: mode)."
                )
            check_fill(fill)
        self._per_instance = self.masker.per_instance
        if self._per_instance and not isinstance(self.masker, (Image, BoundImage)):
            # Documents differ in length: windows spaced wider than they are leave gaps
            # in all but the shortest, so such a stride is refused before any is explained.
            window_, stride_ = 1 if window is None else window, stride
            if isinstance(window_, int) and isinstance(stride_, int) and stride_ > window_:
                raise _gaps_error(window_, stride_, ": the tokens")
        if not self.masker.per_instance:
            self._configure()

    def _configure(self) -> None:
        if isinstance(self.masker, BoundImage):
            h, w = self.masker.shape
            wh, ww = _pair(IMAGE_WINDOW if self.window is None else self.window, "window")
            self.window_ = (min(wh, h), min(ww, w))
            self.stride_ = _pair(self.window_ if self.stride is None else self.stride, "stride")
            _check_covered(self.window_[0], self.stride_[0], h, f"rows of a {h} x {w} image")
            _check_covered(self.window_[1], self.stride_[1], w, f"columns of a {h} x {w} image")
            return
        d = self.masker.n_players
        window = check_positive_int(1 if self.window is None else self.window, "window")
        stride = check_positive_int(window if self.stride is None else self.stride, "stride")
        if self._per_instance:
            # One window for every document: a short one is occluded whole, as images
            # clip the window to their size.
            window, stride = min(window, d), min(stride, d)
        elif window > d:
            raise ValueError(f"window={window} is more than the {d} players.")
        _check_covered(window, stride, d, f"{d} players")
        self.window_, self.stride_ = (window,), (stride,)

    @splits_instances
    def explain(
        self, X: Any, target: int | str | None = None, *, chunk_size: int | None = None
    ) -> Explanation:
        """Occlusion values of the outputs for the rows (images, documents) of ``X``.

        Parameters
        ----------
        X : array-like, DataFrame, or what the masker explains (images, texts)
        target : int or str, optional
            The output to explain (index or name); all outputs when None (an image map
            holds ``H x W`` values per output: name the class of a 1000-class model).
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.

        Returns
        -------
        Explanation
            ``values`` ``(n, H, W, k)`` for images, ``(n, d, k)`` otherwise;
            ``base_values (n, k) = f(x)``, the output without occlusion.
        """
        X = self.masker.validate(X)
        calls, rows = self.model.n_calls, self.model.n_rows
        if isinstance(self.masker, BoundImage):
            values, base, n_evals, targets = self._image_values(self.model, target)
            names = None
        else:
            values, base, n_evals, targets = self._player_values(X, target, chunk_size)
            names = self.masker.player_names
        return Explanation(
            values,
            base,
            data=X,
            feature_names=names,
            output_names=[(self.model.output_names or [])[t] for t in targets],
            method=self.method,
            meta={
                "seed": None,
                "n_evals": [n_evals] * len(X),
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": [True] * len(X),
                **target_meta(target, targets, len(X)),
                "parameters": {
                    "window": list(self.window_),
                    "stride": list(self.stride_),
                    "fill": _fill_repr(self._fill_used()),
                },
            },
        )

    def _fill_used(self) -> Any:
        """What hid the windows: the fill given, or the image masker's own (None for
        maskers that hide features their own way)."""
        if self.fill is not None:
            return self.fill
        if isinstance(self.masker, BoundImage):
            return self.masker.masker.fill
        return self.masker.fill if isinstance(self.masker, Image) else None

    def _player_values(
        self, X: Any, target: int | str | None, chunk_size: int | None
    ) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
        d = self.masker.n_players
        (window,), (stride,) = self.window_, self.stride_
        starts = window_starts(d, window, stride)
        A = coverage(d, starts, window)  # (d, W)
        Z = np.concatenate([np.ones((1, d), dtype=bool), A.T == 0])
        work = partial(_player_rows, self.masker, X, Z)
        parts = map_row_chunks(work, self.model, len(X), n_jobs=self.n_jobs, chunk_size=chunk_size)
        targets = output_indices(target, self.model.output_names or [])
        v = np.concatenate(parts)[:, :, targets]  # (n, 1 + W, k)
        drops = v[:, :1] - v[:, 1:]
        values = np.einsum("jw,nwk->njk", A, drops) / A.sum(axis=1)[None, :, None]
        return values, v[:, 0], len(Z), targets

    def _image_values(
        self, model: Model, target: int | str | None
    ) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
        bound = self.masker
        assert isinstance(bound, BoundImage)
        (H, W), (h, w), (sh, sw) = bound.shape, self.window_, self.stride_  # pairs for images
        ys, xs = window_starts(H, h, sh), window_starts(W, w, sw)
        rows_in = np.arange(H)[None, :]
        cols_in = np.arange(W)[None, :]

        def masks(a: int, b: int) -> np.ndarray:
            # Entry 0 is the image itself; entry i > 0 hides window i - 1 (row-major).
            idx = np.arange(a, b) - 1
            y0 = np.where(idx >= 0, ys[np.maximum(idx, 0) // len(xs)], H)
            x0 = xs[np.maximum(idx, 0) % len(xs)]
            hide_rows = (rows_in >= y0[:, None]) & (rows_in < y0[:, None] + h)
            hide_cols = (cols_in >= x0[:, None]) & (cols_in < x0[:, None] + w)
            return ~(hide_rows[:, :, None] & hide_cols[:, None, :])

        n = 1 + len(ys) * len(xs)
        targets: list[int] = []

        def columns() -> list[int]:
            # Known once the model has answered: its output names.
            targets.extend(output_indices(target, model.output_names or []))
            return targets

        out = bound.predict_masks(model, masks, n, fill=self.fill, columns=columns)
        drops = (out[:1] - out[1:]).reshape(len(ys), len(xs), -1)
        A, B = coverage(H, ys, h), coverage(W, xs, w)
        counts = A.sum(axis=1)[:, None] * B.sum(axis=1)[None, :]
        values = np.einsum("yi,ijk,xj->yxk", A, drops, B, optimize=True) / counts[:, :, None]
        return values[None], out[:1], n, targets

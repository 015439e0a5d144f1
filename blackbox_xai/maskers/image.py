"""Image masking: an image's superpixels are the players.

An image is segmented once (scikit-image's SLIC, quickshift or Felzenszwalb, a regular
grid, or any function), its segments relabelled ``0..s-1``; an absent segment's pixels
take the values of a fill image (each segment's mean colour, a blurred or inpainted copy
of the image, or a constant). A batch of coalitions becomes model inputs with one
vectorised gather, ``np.where(Z[:, segments], image, fill)``, in calls that stay within
a memory budget; pixel masks (occlusion windows, RISE's soft masks) use the same path.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..models.base import Model, rows_per_call
from ..utils.config import budget_mb, check_budget_mb
from ..utils.formatting import short_repr, signature_repr
from ..utils.optional import import_optional
from ..utils.validation import check_positive_int
from .base import InstanceMasker, Masker

SEGMENTERS = ("slic", "quickshift", "felzenszwalb", "grid")
FILLS = ("mean", "blur", "inpaint")
LAYOUTS = ("auto", "channels_last", "channels_first")

#: Channel counts recognised when the layout of an image is inferred.
CHANNELS = (1, 3, 4)

#: Images whose segments an Image masker keeps (least recently used dropped first):
#: explaining an image again with another explainer reuses them, memory stays bounded.
SEGMENT_CACHE = 8

#: Default parameters of each segmenter (scikit-image's names), chosen for ~50 segments
#: on a 224 x 224 image; quickshift's are lime_image's.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "slic": {"n_segments": 50, "compactness": 10.0, "start_label": 0},
    "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2},
    "felzenszwalb": {"scale": 100.0, "sigma": 0.5, "min_size": 50},
    "grid": {"n_rows": 8, "n_cols": 8},
}


def relabel(labels: Any) -> np.ndarray:
    """Segment labels as consecutive integers ``0..s-1`` (in the order of the labels)."""
    labels = np.asarray(labels)
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)


def _as_unit_float(image: np.ndarray) -> np.ndarray:
    """The image as float64 in [0, 1] for the segmenters (integers by their dtype's range,
    floats outside [0, 1] by their min and max); the masked images keep the original."""
    if image.dtype.kind in "ui":
        return image.astype(np.float64) / float(np.iinfo(image.dtype).max)
    out = image.astype(np.float64)
    lo, hi = float(out.min()), float(out.max())
    if lo < 0.0 or hi > 1.0:
        out = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
    return out


def _grid(shape: tuple[int, int], n_rows: int, n_cols: int) -> np.ndarray:
    rows = np.minimum(np.arange(shape[0]) * n_rows // shape[0], n_rows - 1)
    cols = np.minimum(np.arange(shape[1]) * n_cols // shape[1], n_cols - 1)
    return rows[:, None] * n_cols + cols[None, :]


class Image(Masker):
    """Masker for images: each image's superpixels are its players.

    A per-instance masker: every explainer explains each image with that image's
    segments as players (see :meth:`for_instance`); explanations keep the segmentation
    (``meta["segments"]``), from which :meth:`Explanation.pixel_map` paints the values
    back onto the pixels.

    Parameters
    ----------
    segmenter : {"slic", "quickshift", "felzenszwalb", "grid"} or callable
        scikit-image's ``segmentation.slic``, ``quickshift`` or ``felzenszwalb`` (run on
        the image scaled to [0, 1], channels last), a regular grid of ``n_rows x
        n_cols`` cells, or ``segmenter(image) -> labels (H, W)`` called with the image
        as given (channels last). Labels are relabelled ``0..s-1``.
    fill : {"mean", "blur", "inpaint"}, float or sequence of float
        What an absent segment shows: its mean colour (lime_image's default), a
        Gaussian blur of the image (``blur_sigma``), the segment inpainted from its
        surroundings (``skimage.restoration.inpaint_biharmonic``, one segment at a
        time, computed once per image), or a constant (one value, or one per channel).
        Integer images get the fill rounded to their dtype: a masked image is an image
        of the same kind.
    layout : {"auto", "channels_last", "channels_first"}
        How the given images are laid out. "auto" reads ``(H, W)``, ``(H, W, C)`` and
        ``(n, H, W, C)`` with ``C`` in 1, 3, 4 as channels last, and ``(C, H, W)``,
        ``(n, C, H, W)`` as channels first when only that reading fits.
    blur_sigma : float, optional
        Standard deviation of the blur in pixels; ``max(H, W) / 20`` by default.
    memory_budget_mb : float, optional
        Masked images are built and sent to the model in calls of at most this many
        megabytes, in whole runs of a model that pads its runs (an ONNX model's
        ``fixed_batch``), and never less than one run, which the model holds anyway.
        None: the ``"model_input"`` share of the package's budget (see
        :func:`blackbox_xai.set_config`).
    **segmenter_params
        Passed to the segmenter (e.g. ``n_segments=100`` for SLIC, ``n_rows=4,
        n_cols=4`` for the grid), over the defaults.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> masker = bx.maskers.Image("grid", fill=0.0, n_rows=1, n_cols=2)
    >>> bound = masker.for_instance(np.ones((2, 4)))
    >>> bound.n_players
    2
    >>> bound.images([[True, False]])[0, :, :, 0]
    array([[1., 1., 0., 0.],
           [1., 1., 0., 0.]])
    """

    per_instance = True

    def __init__(
        self,
        segmenter: str | Callable[[np.ndarray], Any] = "slic",
        fill: str | float | Sequence[float] = "mean",
        *,
        layout: str = "auto",
        blur_sigma: float | None = None,
        memory_budget_mb: float | None = None,
        **segmenter_params: Any,
    ) -> None:
        if isinstance(segmenter, str):
            if segmenter not in SEGMENTERS:
                raise ValueError(
                    f"segmenter must be one of {SEGMENTERS} or a callable image -> labels, "
                    f"got {segmenter!r}."
                )
            if segmenter != "grid":
                import_optional("skimage.segmentation")
            unknown = (
                set(segmenter_params) - set(_DEFAULTS[segmenter]) if segmenter == "grid" else ()
            )
            if unknown:
                raise ValueError(
                    f"the grid segmenter takes n_rows and n_cols, not {sorted(unknown)}."
                )
            if segmenter == "grid":
                for name in ("n_rows", "n_cols"):
                    if name in segmenter_params:
                        check_positive_int(segmenter_params[name], name)
        elif not callable(segmenter):
            raise TypeError(
                f"segmenter must be a name or a callable, got {type(segmenter).__name__}."
            )
        self.segmenter = segmenter
        self.segmenter_params = {
            **(_DEFAULTS.get(segmenter, {}) if isinstance(segmenter, str) else {}),
            **segmenter_params,
        }
        check_fill(fill)
        self.fill = fill
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
        self.layout = layout
        if blur_sigma is not None and not (
            isinstance(blur_sigma, (int, float)) and np.isfinite(blur_sigma) and blur_sigma > 0
        ):
            raise ValueError(f"blur_sigma must be a positive number, got {blur_sigma!r}.")
        self.blur_sigma = blur_sigma
        self.memory_budget_mb = (
            None if memory_budget_mb is None else check_budget_mb(memory_budget_mb)
        )
        # What the model takes, learned in bind(): layout, per-image shape, dtype.
        self.model_layout: str | None = None
        self.model_shape: tuple[int | None, ...] | None = None
        self.model_dtype: np.dtype | None = None
        self._segments: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- the Masker interface: a per-instance masker is used through for_instance ----------
    def validate(self, X: Any) -> Any:
        """Not used: explainers bind the masker to each image (:meth:`for_instance`)."""
        raise TypeError("an Image masker is bound to each image: use for_instance(image).")

    def coalition_values(self, model: Model, X: Any, Z: np.ndarray) -> np.ndarray:
        """Not used: explainers bind the masker to each image (:meth:`for_instance`)."""
        raise TypeError("an Image masker is bound to each image: use for_instance(image).")

    def bind(self, model: Model) -> None:
        """Learn the layout, image shape and dtype the model takes (ONNX models declare
        them; a callable receives the images laid out as given).

        Raises
        ------
        TypeError
            The model takes documents, not arrays.
        """
        self.model_layout, self.model_shape, self.model_dtype = _model_input(model)

    # -- images ---------------------------------------------------------------------------
    def instances(self, X: Any) -> list[np.ndarray]:
        """The images of ``X`` (one array each, as given), checked.

        ``X`` is one image or a batch: an ndarray (see ``layout``) or a list of images.

        Raises
        ------
        TypeError
            An image is not numeric.
        ValueError
            Images of different sizes, an image with NaN or inf, a channel count or size
            other than the model's.
        """
        items = self._split(X)
        if not items:
            raise ValueError("nothing to explain: the input has no images.")
        images = [self._one(item, f"image {i}")[0] for i, item in enumerate(items)]
        first = images[0].shape
        for i, image in enumerate(images):
            if image.shape != first:
                raise ValueError(
                    f"image {i} has shape {image.shape} (height, width, channels) but image 0 "
                    f"has {first}: images of one batch must have one size. Resize them "
                    "(skimage.transform.resize) or explain them in separate calls."
                )
            self._check_image(image, f"image {i}")
        return items

    def _split(self, X: Any) -> list[np.ndarray]:
        if isinstance(X, (list, tuple)):
            return [np.asarray(x) for x in X]
        arr = np.asarray(X)
        if arr.ndim == 4:
            return list(arr)
        if arr.ndim == 3 and self._layout_of(arr) is None:
            # Neither reading has a channel axis: a batch of grayscale images.
            return list(arr)
        return [arr]

    def _layout_of(self, arr: np.ndarray) -> str | None:
        if self.layout != "auto":
            return self.layout
        if arr.shape[-1] in CHANNELS:
            return "channels_last"
        if arr.shape[0] in CHANNELS:
            return "channels_first"
        return None

    def _one(self, arr: np.ndarray, where: str) -> tuple[np.ndarray, str]:
        """One image as (H, W, C) in its own dtype, and how it was given ("2d",
        "channels_last" or "channels_first")."""
        if arr.dtype.kind not in "uif" or arr.dtype == np.float16:
            if arr.dtype.kind == "b":
                arr = arr.astype(np.uint8)
            elif arr.dtype == np.float16:
                arr = arr.astype(np.float32)
            else:
                raise TypeError(f"{where} has dtype {arr.dtype}; images must be numeric.")
        if arr.ndim == 2:
            return arr[:, :, None], "2d"
        if arr.ndim != 3:
            raise ValueError(
                f"{where} has shape {arr.shape}; an image is (H, W), (H, W, C) or (C, H, W)."
            )
        layout = self._layout_of(arr)
        if layout is None:
            raise ValueError(
                f"{where} has shape {arr.shape}: no axis of 1, 3 or 4 channels. Pass "
                "layout='channels_last' or 'channels_first'."
            )
        return (np.moveaxis(arr, 0, -1) if layout == "channels_first" else arr), layout

    def _check_image(self, image: np.ndarray, where: str) -> None:
        if image.dtype.kind == "f" and not np.isfinite(image).all():
            bad = np.argwhere(~np.isfinite(image))[0].tolist()
            raise ValueError(
                f"{where} has NaN or inf values (first at row, column, channel {bad}); "
                "replace them (e.g. np.nan_to_num) before explaining."
            )
        h, w, c = image.shape
        if h < 1 or w < 1:
            raise ValueError(f"{where} is empty (shape {image.shape}).")
        shape = self.model_shape
        if shape is None or len(shape) != 3:
            return
        if self.model_layout == "channels_first":
            mc, mh, mw = shape
        else:
            mh, mw, mc = shape
        if mc is not None and mc != c:
            hint = (
                " Convert it with skimage.color.gray2rgb."
                if c == 1 and mc == 3
                else (" Drop the alpha channel (image[..., :3])." if c == 4 and mc == 3 else "")
            )
            raise ValueError(
                f"the model takes images with {mc} channels, but {where} has {c}.{hint}"
            )
        if (mh is not None and mh != h) or (mw is not None and mw != w):
            raise ValueError(
                f"the model takes images of {mh} x {mw} pixels, but {where} is {h} x {w}; "
                "resize it first (skimage.transform.resize)."
            )

    def segment(self, image: Any) -> np.ndarray:
        """The segments ``(H, W)`` of one image, labelled ``0..s-1``.

        Computed once per image (by content): explaining one of the last
        ``SEGMENT_CACHE`` (8) images again, with any explainer, reuses them.

        Raises
        ------
        ValueError
            The segmenter yields a single segment, or labels of the wrong shape.
        """
        return self.segments_of(self._one(np.asarray(image), "the image")[0])

    def segments_of(self, image: np.ndarray) -> np.ndarray:
        """:meth:`segment` of an image already laid out ``(H, W, C)``."""
        key = hashlib.sha1(
            image.tobytes() + str((image.shape, image.dtype.str)).encode()
        ).hexdigest()
        if key in self._segments:
            self._segments.move_to_end(key)
            return self._segments[key]
        segments = self._segments[key] = self._compute_segments(image)
        while len(self._segments) > SEGMENT_CACHE:
            self._segments.popitem(last=False)
        return segments

    def __getstate__(self) -> dict[str, Any]:
        # Parallel tasks pickle the masker: the cache would travel with every one.
        state = self.__dict__.copy()
        state["_segments"] = OrderedDict()
        return state

    def _compute_segments(self, image: np.ndarray) -> np.ndarray:
        h, w, c = image.shape
        params = self.segmenter_params
        if callable(self.segmenter):
            labels = np.asarray(self.segmenter(image))
            name = "the segmenter"
        elif self.segmenter == "grid":
            labels = _grid((h, w), int(params["n_rows"]), int(params["n_cols"]))
            name = "segmenter='grid'"
        else:
            seg = import_optional("skimage.segmentation")
            unit = _as_unit_float(image)
            if self.segmenter == "quickshift":
                rgb = np.repeat(unit, 3, axis=2) if c == 1 else unit[:, :, :3]
                labels = seg.quickshift(rgb, **params)
            elif self.segmenter == "slic":
                gray = c == 1
                labels = seg.slic(
                    unit[:, :, 0] if gray else unit,
                    channel_axis=None if gray else -1,
                    **params,
                )
            else:
                labels = seg.felzenszwalb(unit, channel_axis=-1, **params)
            name = f"segmenter={self.segmenter!r}"
        if labels.shape != (h, w):
            raise ValueError(
                f"{name} returned labels of shape {labels.shape} for an image of {h} x {w} "
                "pixels; it must return one label per pixel."
            )
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise ValueError(f"{name} returned NaN or inf labels; labels must be integers.")
        segments = relabel(labels)
        if int(segments.max()) == 0:
            raise ValueError(
                f"{name} yields a single segment for this {h} x {w} image: there is nothing "
                "to attribute between. Ask for more segments (e.g. n_segments for 'slic', "
                "a smaller scale for 'felzenszwalb', more n_rows/n_cols for 'grid')."
            )
        return segments

    def for_instance(self, instance: Any, where: str = "the image") -> BoundImage:
        """This masker bound to one image: its segments, fill and masked images."""
        image, given = self._one(np.asarray(instance), where)
        self._check_image(image, where)
        return BoundImage(self, image, given)

    def __repr__(self) -> str:
        seg = self.segmenter if isinstance(self.segmenter, str) else "callable"
        shown = signature_repr(self, {"segmenter": seg})
        defaults = _DEFAULTS.get(self.segmenter, {}) if isinstance(self.segmenter, str) else {}
        extra = [
            f"{key}={short_repr(value)}"
            for key, value in self.segmenter_params.items()
            if key not in defaults or defaults[key] != value
        ]
        if not extra:
            return shown
        return shown[:-1] + (", " if not shown.endswith("()") else "") + ", ".join(extra) + ")"


def _model_input(model: Model) -> tuple[str | None, tuple[int | None, ...] | None, Any]:
    """The layout, per-image shape and dtype a model declares (None where it does not)."""
    if getattr(model, "input_kind", "array") == "text":
        raise TypeError("this model takes documents (strings); an Image masker sends images.")
    shape = getattr(model, "input_shape", None)
    dtype = getattr(model, "input_dtype", None)
    return (
        getattr(model, "input_layout", None),
        None if shape is None else tuple(shape),
        None if dtype is None else np.dtype(dtype),
    )


def check_fill(fill: Any) -> None:
    """Refuse a fill that is neither a known name nor finite numbers."""
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS} or numbers, got {fill!r}.")
        return
    try:
        values = np.asarray(fill, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"fill must be one of {FILLS} or numbers, got {fill!r}.") from None
    if values.ndim > 1 or not np.isfinite(values).all():
        raise ValueError(f"fill must be a finite number or one per channel, got {fill!r}.")


class BoundImage(InstanceMasker):
    """An :class:`Image` masker bound to one image.

    Attributes
    ----------
    image : ndarray (H, W, C)
        The image, channels last, in its own dtype.
    segments : int ndarray (H, W)
        Its segments ``0..s-1`` (computed on first use, once per image).
    n_players, player_names
        The segments.
    """

    instance_name = "image"

    def __init__(self, masker: Image, image: np.ndarray, given: str = "channels_last") -> None:
        self.masker = masker
        self.image = image
        self.given = given
        # The model this instance is explained with (bind), as the masker last saw it.
        self.model_layout = masker.model_layout
        self.model_shape = masker.model_shape
        self.model_dtype = masker.model_dtype
        self._seg: np.ndarray | None = None
        self._n = 0
        self._fills: dict[str, np.ndarray] = {}
        self._model_arrays: dict[tuple[str, str, bool], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def segments(self) -> np.ndarray:
        """The image's segments (computed on first use)."""
        if self._seg is None:
            self._seg = self.masker.segments_of(self.image)
            self._n = int(self._seg.max()) + 1
        return self._seg

    @property
    def n_players(self) -> int:  # type: ignore[override]
        self.segments  # noqa: B018 (computes them, and their count, once)
        return self._n

    @property
    def player_names(self) -> list[str]:  # type: ignore[override]
        return [f"segment {j}" for j in range(self.n_players)]

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def bind(self, model: Model) -> None:
        """Build this image's model inputs in ``model``'s layout, size and dtype."""
        self.model_layout, self.model_shape, self.model_dtype = _model_input(model)
        self._model_arrays.clear()

    def rows(self) -> np.ndarray:
        """The image as the one-row input of :meth:`validate`: ``(1, H, W, C)``."""
        return self.image[None]

    def validate(self, X: Any) -> np.ndarray:
        """The bound image (``X`` must be it) as ``(1, H, W, C)``."""
        arr = np.asarray(X)
        if arr.shape != (1, *self.image.shape) or not np.array_equal(arr[0], self.image):
            raise ValueError("this masker is bound to another image; bind it to X first.")
        return self.image[None]

    def model_rows(self, X: Any) -> np.ndarray:
        """The validated image ``(1, H, W, C)`` in the model's layout and dtype."""
        return self.to_model(_as_dtype(np.asarray(X), self._output_dtype(False)))

    # -- fill -----------------------------------------------------------------------------
    def fill_image(self, fill: Any = None) -> np.ndarray:
        """The image an absent pixel is taken from, ``(H, W, C)`` float64 (the masker's
        ``fill`` by default; computed once per image and fill)."""
        fill = self.masker.fill if fill is None else fill
        check_fill(fill)
        key = fill if isinstance(fill, str) else repr(np.asarray(fill, dtype=np.float64).tolist())
        if key not in self._fills:
            self._fills[key] = self._compute_fill(fill)
        return self._fills[key]

    def _compute_fill(self, fill: Any) -> np.ndarray:
        image = self.image.astype(np.float64)
        h, w, c = image.shape
        if not isinstance(fill, str):
            values = np.asarray(fill, dtype=np.float64)
            if values.ndim == 1 and len(values) not in (1, c):
                raise ValueError(f"fill has {len(values)} values for an image of {c} channels.")
            return np.broadcast_to(values.reshape(-1)[None, None, :], image.shape).astype(
                np.float64
            )
        if fill == "mean":
            seg = self.segments.ravel()
            counts = np.bincount(seg, minlength=self.n_players).astype(np.float64)
            flat = image.reshape(-1, c)
            means = (
                np.stack(
                    [np.bincount(seg, flat[:, ch], minlength=self.n_players) for ch in range(c)],
                    axis=1,
                )
                / counts[:, None]
            )
            return means[self.segments]
        if fill == "blur":
            filters = import_optional("skimage.filters")
            sigma = self.masker.blur_sigma or max(h, w) / 20.0
            return np.asarray(
                filters.gaussian(image, sigma=sigma, channel_axis=-1, preserve_range=True),
                dtype=np.float64,
            )
        restoration = import_optional("skimage.restoration")
        out = image.copy()
        # One segment at a time, its surroundings known: what a segment's absence shows
        # then does not depend on which other segments are absent, so the fill is one
        # image computed once (inpainting per mask would cost a solve per sample).
        for j in range(self.n_players):
            mask = self.segments == j
            if mask.all():
                continue
            out[mask] = restoration.inpaint_biharmonic(image, mask, channel_axis=-1)[mask]
        return out

    # -- masked images ------------------------------------------------------------------
    def _output_dtype(self, soft: bool) -> np.dtype:
        if self.model_dtype is not None:
            return self.model_dtype
        if soft and self.image.dtype.kind in "ui":
            return np.dtype(np.float64)
        return self.image.dtype

    def compose(self, masks: np.ndarray, fill: Any = None) -> np.ndarray:
        """Images ``(m, H, W, C)`` showing the image where ``masks (m, H, W)`` is True
        (or by weight, for float masks in [0, 1]) and the fill elsewhere."""
        fill_image = self.fill_image(fill)
        masks = np.asarray(masks)
        soft = masks.dtype != np.bool_
        dtype = self._output_dtype(soft)
        if soft:
            m = masks[..., None]
            out = fill_image + m * (self.image.astype(np.float64) - fill_image)
        else:
            out = np.where(masks[..., None], self.image, _as_dtype(fill_image, self.image.dtype))
        return _as_dtype(out, dtype)

    def _model_layout(self) -> str:
        layout = self.model_layout
        shape = self.model_shape
        if layout is None:
            if shape is not None and len(shape) == 2:
                return "2d"
            if shape is None:
                return self.given
            return "channels_last"
        return layout

    def _in_model_layout(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, C)`` as one model item: ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)``."""
        layout = self._model_layout()
        if layout == "channels_first":
            return np.ascontiguousarray(np.moveaxis(image, -1, 0))
        return image[..., 0] if layout == "2d" else image

    def model_batch(self, masks: np.ndarray, fill: Any = None) -> np.ndarray:
        """The model's input for pixel masks ``(m, H, W)``: the masked images built
        directly in the model's layout and dtype (as :meth:`to_model` of
        :meth:`compose`, without the intermediate copies)."""
        # A gather Z[:, segments] comes out in Fortran-like order, and np.where would
        # follow it; C order keeps the masked images contiguous for the model.
        masks = np.ascontiguousarray(masks)
        soft = masks.dtype != np.bool_
        dtype = self._output_dtype(soft)
        key = (repr(fill), str(dtype), soft)
        cached = self._model_arrays.get(key)
        work = dtype if dtype.kind == "f" else np.dtype(np.float64)
        if cached is None:
            image = self._in_model_layout(self.image)
            fill_image = self._in_model_layout(self.fill_image(fill))
            if soft:  # the image's difference from the fill, and the fill
                cached = (image.astype(work) - fill_image.astype(work), fill_image.astype(work))
            else:
                cached = (
                    _as_dtype(image, dtype),
                    _as_dtype(_as_dtype(fill_image, self.image.dtype), dtype),
                )
            self._model_arrays[key] = cached
        image_m, fill_m = cached  # soft: (image - fill, fill)
        layout = self._model_layout()
        m = (
            masks[:, None]
            if layout == "channels_first"
            else (masks if layout == "2d" else masks[..., None])
        )
        if not soft:
            return np.where(m, image_m, fill_m)
        # fill + m (image - fill), the masks cast as they are multiplied and the sum made
        # in place: one array of images, no float copy of the masks.
        out = np.multiply(m, image_m, dtype=work)
        out += fill_m
        return _as_dtype(out, dtype)

    def images(self, Z: Any, fill: Any = None) -> np.ndarray:
        """The masked images ``(m, H, W, C)`` of coalitions ``Z (m, s)``: one gather."""
        Z = np.asarray(Z, dtype=bool)
        if Z.ndim != 2 or Z.shape[1] != self.n_players:
            raise ValueError(
                f"coalitions must have shape (m, {self.n_players}) for this image; got {Z.shape}."
            )
        return self.compose(Z[:, self.segments], fill)

    def to_model(self, images: np.ndarray) -> np.ndarray:
        """Images ``(m, H, W, C)`` in the layout the model takes: an ONNX model's declared
        layout, otherwise the layout the image was given in."""
        layout = self._model_layout()
        if layout == "channels_first":
            return np.ascontiguousarray(np.moveaxis(images, -1, 1))
        return images[..., 0] if layout == "2d" else images

    def images_per_call(self) -> int:
        """How many masked images one model call may hold within the memory budget (each
        costs its pixels in the model's dtype, plus the mask and the float blend)."""
        h, w, c = self.image.shape
        per_image = h * w * (c * (self._output_dtype(True).itemsize + 8) + 1)
        budget = budget_mb("model_input", self.masker.memory_budget_mb)
        return max(1, int(budget * 2**20) // per_image)

    def predict_masks(
        self,
        model: Model,
        masks: Callable[[int, int], np.ndarray],
        n_masks: int,
        fill: Any = None,
        columns: Callable[[], list[int]] | None = None,
    ) -> np.ndarray:
        """Model outputs ``(n_masks, k)`` on the images of pixel masks.

        Parameters
        ----------
        model : Model
        masks : callable ``(start, stop) -> (stop - start, H, W)`` bool or float array
            The masks, built a call at a time so they never all sit in memory.
        n_masks : int
        fill : optional
            Overrides the masker's fill.
        columns : callable () -> list of int, optional
            The output columns kept, asked for after the first call (when the model's
            outputs are known): each call's outputs are cut to them at once, so a model
            of many outputs (1000 classes) never has them all held for every mask.
        """
        # Whole model runs per call: an ONNX model pads a call's last run (a 128 x 128
        # RGB CNN runs 10 images at a time, and calls of 41 images cost 50).
        step = rows_per_call(model, self.model_rows(self.rows()), self.images_per_call())
        out: np.ndarray | None = None
        keep: list[int] | None = None
        for s in range(0, n_masks, step):
            y = model(self.model_batch(masks(s, min(n_masks, s + step)), fill))
            if out is None:
                keep = None if columns is None else columns()
                width = y.shape[1] if keep is None else len(keep)
                out = np.empty((n_masks, width), dtype=y.dtype)
            out[s : s + len(y)] = y if keep is None else y[:, keep]
        if out is None:
            return np.empty((0, model.n_outputs or 0))
        return out

    def predict(self, model: Model, Z: np.ndarray) -> np.ndarray:
        """Model outputs ``(m, k)`` on the masked images of coalitions ``Z (m, s)``."""
        Z = np.asarray(Z, dtype=bool)
        if Z.ndim != 2 or Z.shape[1] != self.n_players:
            raise ValueError(
                f"coalitions must have shape (m, {self.n_players}) for this image; got {Z.shape}."
            )
        segments = self.segments
        # np.take lays the pixel masks out in C order (Z[:, segments] would not, and
        # model_batch would copy them again).
        return self.predict_masks(model, lambda a, b: np.take(Z[a:b], segments, axis=1), len(Z))

    def instance_meta(self) -> dict[str, Any]:
        """The image's shape and, when they were used, its segments."""
        meta: dict[str, Any] = {"image_shape": list(self.image.shape)}
        if self._seg is not None:
            meta["segments"] = self._seg.tolist()
        return meta


def _as_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` in ``dtype``; integer dtypes get rounded, clipped values."""
    dtype = np.dtype(dtype)
    if values.dtype == dtype:
        return values
    if dtype.kind in "ui" and values.dtype.kind == "f":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)

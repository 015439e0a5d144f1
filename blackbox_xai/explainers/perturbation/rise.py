"""RISE (Petsiuk, Das & Saenko 2018): saliency from outputs on randomly masked images."""

from __future__ import annotations

from functools import partial
from math import ceil
from typing import Any

import numpy as np

from ...maskers.image import BoundImage, Image
from ...results import Explanation
from ...utils.seeding import SeedLike, resolve_seed, row_key
from ...utils.validation import check_positive_int, check_unit_interval
from .._instances import splits_instances
from .._sequential import check_tol
from .._targets import output_indices, target_meta
from ..base import Explainer

#: Grid cells along the longer side by default (Petsiuk et al. use a 7 x 7 grid on 224 px).
DEFAULT_CELLS = 7


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """``(size_out, size_in)`` weights of bilinear upsampling with pixel centres aligned
    and the grid mirrored at its edges: ``skimage.transform.resize(order=1,
    mode="reflect", anti_aliasing=False)``, as in RISE's reference implementation."""
    pos = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
    last = size_in - 1
    pos = np.abs(pos)  # mirror about the first cell (numpy's "reflect": d c b | a b c d)
    pos = np.where(pos > last, 2 * last - pos, pos) if last > 0 else np.zeros_like(pos)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, last)
    frac = pos - lo
    out = np.zeros((size_out, size_in))
    np.add.at(out, (np.arange(size_out), lo), 1 - frac)
    np.add.at(out, (np.arange(size_out), hi), frac)
    return out


#: Bytes of float64 masks summed into the map at a time: a size set by the image alone,
#: not by the memory budget, so the sums' rounding (and so the map) does not depend on it.
SUM_BYTES = 2**20

#: Masks drawn from one child stream: mask ``i`` comes from child ``i // MASK_CHUNK`` of
#: the image's stream, so it is the same whatever ``block`` is (where ``tol`` checks).
MASK_CHUNK = 100


class _MaskDraws:
    """Grids and shifts of masks ``start:stop`` of one image, drawn chunk by chunk."""

    def __init__(self, entropy: int, grid: tuple[int, int], cell: int, p: float) -> None:
        self.entropy, self.grid, self.cell, self.p = entropy, grid, cell, p
        self.key = row_key(0)

    def _chunk(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        seq = np.random.SeedSequence(self.entropy, spawn_key=(*self.key, j))
        rng = np.random.default_rng(seq)
        grids = (rng.random((MASK_CHUNK, *self.grid)) < self.p).astype(np.float64)
        return grids, rng.integers(0, self.cell, size=(MASK_CHUNK, 2))

    def __call__(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        first = start // MASK_CHUNK
        parts = [self._chunk(j) for j in range(first, ceil(stop / MASK_CHUNK))]
        lo, hi = start - first * MASK_CHUNK, stop - first * MASK_CHUNK
        grids = np.concatenate([g for g, _ in parts])[lo:hi]
        return grids, np.concatenate([s for _, s in parts])[lo:hi]


def _soft_masks(
    Ry: np.ndarray,
    Rx: np.ndarray,
    grids: np.ndarray,
    shifts: np.ndarray,
    shape: tuple[int, int],
    a: int,
    b: int,
) -> np.ndarray:
    """Masks ``a:b`` of a block: each grid upsampled (``Ry``, ``Rx``) and cropped at its
    shift, as one contraction over the selected rows of the upsampling matrices."""
    Ay = Ry[shifts[a:b, 0, None] + np.arange(shape[0])]
    Ax = Rx[shifts[a:b, 1, None] + np.arange(shape[1])]
    return np.einsum("cyi,cij,cxj->cyx", Ay, grids[a:b], Ax, optimize=True)


class Rise(Explainer):
    """RISE: each pixel's saliency is the mean output over random masks, weighted by how
    much the mask shows that pixel, ``S(x) = E[f(M * x) M(x)] / p``.

    Masks are random binary grids (each cell shown with probability ``p``) upsampled
    bilinearly to cells of ``cell_size`` pixels and shifted by a random offset of up to
    one cell (Petsiuk et al. 2018); a masked image is ``M * x + (1 - M) * fill`` with the
    masker's fill. Masks are drawn in blocks; all images of a block go to the model in
    calls as large as the masker's memory budget allows. The per-pixel standard error is
    that of the mean over masks, and with ``tol`` drawing stops once every output's map
    has ``max SE <= tol * (max S - min S)``.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Image
        The image masker (its fill hides pixels; segments are not used).
    n_masks : int
        Masks per image (the most, with ``tol``).
    cell_size : int, optional
        Pixels per grid cell; ``ceil(max(H, W) / 7)`` by default.
    p : float
        Probability that a cell is shown.
    seed : int, optional
        Seed of the masks; None draws one (recorded in ``meta["seed"]``).
    n_jobs : int, optional
        joblib workers over images.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> f = lambda X: X[:, :4, :4].mean(axis=(1, 2))
    >>> rise = bx.Rise(f, bx.maskers.Image(fill=0.0), n_masks=500, cell_size=4, seed=0)
    >>> S = rise.explain(np.ones((8, 8))).values[0, :, :, 0]
    >>> bool(S[:4, :4].mean() > S[4:, 4:].mean())
    True
    """

    method = "rise"

    def __init__(
        self,
        model: Any,
        masker: Any,
        n_masks: int = 4000,
        cell_size: int | None = None,
        p: float = 0.5,
        seed: SeedLike = None,
        *,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(model, masker, seed=seed, n_jobs=n_jobs)
        if not isinstance(self.masker, (Image, BoundImage)):
            raise TypeError(
                f"Rise masks images: pass a bx.maskers.Image masker, not "
                f"{type(self.masker).__name__}."
            )
        self.n_masks = check_positive_int(n_masks, "n_masks", minimum=2)
        self.cell_size = None if cell_size is None else check_positive_int(cell_size, "cell_size")
        self.p = check_unit_interval(p, "p")
        if isinstance(self.masker, BoundImage):
            self._configure()

    def _configure(self) -> None:
        H, W = self.masker.shape  # type: ignore[attr-defined]
        self.cell_ = self.cell_size or ceil(max(H, W) / DEFAULT_CELLS)
        self.grid_ = (ceil(H / self.cell_), ceil(W / self.cell_))

    @splits_instances
    def explain(
        self,
        X: Any,
        target: int | str | None = None,
        *,
        tol: float | None = None,
        block: int = 500,
        chunk_size: int | None = None,
    ) -> Explanation:
        """RISE maps of every output for the images of ``X``.

        Parameters
        ----------
        X : image or images (see :class:`~blackbox_xai.maskers.Image`)
        target : int or str, optional
            The output to explain (index or name); all outputs when None.
        tol : float, optional
            Stop drawing masks once ``max SE <= tol * (max S - min S)`` for every output
            (checked after each block); all ``n_masks`` when None.
        block : int
            Masks drawn between checks of ``tol``. Mask ``i`` is the same whatever the
            block, so the maps depend on it with ``tol`` (where drawing stops) and
            otherwise only by rounding (sums start anew each block, ~1e-16), never on
            ``n_jobs`` or the memory budget.
        chunk_size : int, optional
            Images per parallel task.

        Returns
        -------
        Explanation
            ``values (n, H, W, k)`` saliency, ``stderr`` like it, ``base_values (n, k)``
            the mean output over the masks; ``meta`` has ``n_evals`` (masks used),
            ``converged`` and ``relative_se`` (``max SE / (max S - min S)``) per image.
        """
        tol = check_tol(tol)
        block = check_positive_int(block, "block")
        X = self.masker.validate(X)
        bound = self.masker
        assert isinstance(bound, BoundImage)
        entropy = resolve_seed(self.seed)
        calls, rows = self.model.n_calls, self.model.n_rows
        (H, W), cell, (gh, gw) = bound.shape, self.cell_, self.grid_
        Ry = bilinear_matrix(gh + 1, (gh + 1) * cell)
        Rx = bilinear_matrix(gw + 1, (gw + 1) * cell)
        draw = _MaskDraws(entropy, (gh + 1, gw + 1), cell, self.p)
        total = sq = None
        targets: list[int] = []

        def columns() -> list[int]:
            # Known once the model has answered: its output names.
            if not targets:
                targets.extend(output_indices(target, self.model.output_names or []))
            return targets

        out_sum: np.ndarray | None = None
        done, rel, ok = 0, np.inf, False
        step = max(1, SUM_BYTES // (8 * H * W))
        while done < self.n_masks:
            c = min(block, self.n_masks - done)
            grids, shifts = draw(done, done + c)

            masks = partial(_soft_masks, Ry, Rx, grids, shifts, (H, W))
            outs = bound.predict_masks(self.model, masks, c, columns=columns)
            if total is None:
                k = outs.shape[1]
                total, sq, out_sum = np.zeros((H, W, k)), np.zeros((H, W, k)), np.zeros(k)
            assert sq is not None and out_sum is not None
            for a in range(0, c, step):
                M = masks(a, min(c, a + step))
                f = outs[a : a + len(M)]
                total += np.einsum("ck,cyx->yxk", f, M)
                sq += np.einsum("ck,cyx->yxk", f**2, M**2)
            out_sum += outs.sum(axis=0)
            done += c
            del grids, shifts, masks, outs, M, f  # the next block's replace, not join, them
            mean = total / (done * self.p)
            var = np.maximum(sq / self.p**2 - done * mean**2, 0.0) / (done - 1) if done > 1 else sq
            se = np.sqrt(var / done)
            spread = mean.max(axis=(0, 1)) - mean.min(axis=(0, 1))
            rel = float(np.max(se.max(axis=(0, 1)) / np.maximum(spread, 1e-300)))
            ok = tol is None or rel <= tol
            if tol is not None and ok and done > 1:
                break
        assert total is not None and out_sum is not None
        return Explanation(
            mean[None],
            (out_sum / done)[None],
            data=X,
            output_names=[(self.model.output_names or [])[t] for t in targets],
            stderr=se[None],
            method=self.method,
            meta={
                "seed": entropy,
                "n_evals": [done],
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": [bool(ok)],
                "relative_se": [rel],
                **target_meta(target, targets, 1),
                "parameters": {
                    "n_masks": self.n_masks,
                    "cell_size": cell,
                    "p": self.p,
                    "tol": tol,
                    "block": block,
                },
            },
        )

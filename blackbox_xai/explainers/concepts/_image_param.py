"""Image parameterisations and random transforms for feature visualisation, with adjoints.

The optimiser updates parameters ``t``; the model sees ``transform(image(t))``. Every
map here comes with its exact adjoint (the transpose of its Jacobian), so the input
gradient ONNX Runtime returns is pulled back to ``t`` without an autodiff framework.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse

#: Square root of the colour covariance of ImageNet photographs (Olah et al. 2017):
#: decorrelated parameters mixed by it give natural colour statistics.
_COLOUR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOUR = _COLOUR_SQRT / np.max(np.linalg.norm(_COLOUR_SQRT, axis=0))


class ImageParam:
    """``image(t) = low + (high - low) * sigmoid(colour(basis(t)))`` for ``(n, C, H, W)``.

    ``basis`` is the identity (``"pixel"``) or an inverse real FFT of a spectrum scaled
    by ``1 / frequency`` (``"fft"``): equal steps on every coefficient then change coarse
    structure as much as fine, which keeps the optimum from being high-frequency noise.
    ``colour`` mixes RGB channels by the decorrelation matrix (3 channels only).
    """

    def __init__(
        self, shape: tuple[int, int, int], kind: str, value_range: tuple[float, float]
    ) -> None:
        self.shape, self.kind = shape, kind
        self.low, self.high = float(value_range[0]), float(value_range[1])
        c, h, w = shape
        if kind == "fft":
            fy = np.fft.fftfreq(h)[:, None]
            fx = np.fft.rfftfreq(w)[None, :]
            freq = np.sqrt(fx**2 + fy**2)
            self.scale = 1.0 / np.maximum(freq, 1.0 / max(h, w))
            self.scale /= self.scale.max()
            # irfft2 counts the columns other than 0 and Nyquist twice (their conjugates)
            self.twice = np.full(w // 2 + 1, 2.0)
            self.twice[0] = 1.0
            if w % 2 == 0:
                self.twice[-1] = 1.0
        self.decorrelate = c == 3

    def param_shape(self, n: int) -> tuple[int, ...]:
        c, h, w = self.shape
        return (n, c, h, w) if self.kind == "pixel" else (n, c, h, w // 2 + 1, 2)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """One image's parameters, small noise (a grey-ish image)."""
        return rng.standard_normal(self.param_shape(1)[1:]) * 0.01

    def _basis(self, t: np.ndarray) -> np.ndarray:
        if self.kind == "pixel":
            return t
        spectrum = (t[..., 0] + 1j * t[..., 1]) * self.scale
        return np.fft.irfft2(spectrum, s=self.shape[1:], norm="ortho")

    def _basis_adjoint(self, g: np.ndarray) -> np.ndarray:
        if self.kind == "pixel":
            return g
        spec = np.fft.rfft2(g, norm="ortho") * self.twice * self.scale
        return np.stack([spec.real, spec.imag], axis=-1)

    def _mix(self, z: np.ndarray, transpose: bool = False) -> np.ndarray:
        if not self.decorrelate:
            return z
        matrix = _COLOUR.T if transpose else _COLOUR
        return np.einsum("dc,nc...->nd...", matrix, z)

    def image(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The image and the sigmoid's derivative factor (for :meth:`pullback`)."""
        s = 1.0 / (1.0 + np.exp(-self._mix(self._basis(t))))
        return self.low + (self.high - self.low) * s, (self.high - self.low) * s * (1 - s)

    def pullback(self, g_image: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Gradient with respect to ``t`` of a function whose image gradient is ``g_image``."""
        return self._basis_adjoint(self._mix(g_image * factor, transpose=True))


def affine_matrix(
    h: int, w: int, shift: tuple[float, float], scale: float, angle: float
) -> sparse.csr_matrix:
    """Bilinear resampling ``(h*w, h*w)`` of an image rotated by ``angle`` (degrees),
    scaled by ``scale`` about its centre and shifted by ``shift`` pixels.

    Sample points outside the image take the nearest edge pixel. The transpose of the
    matrix is the exact adjoint of the resampling.
    """
    yy, xx = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    cy, cx = (h - 1) / 2, (w - 1) / 2
    cos, sin = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    # output pixel p samples the input at centre + R^-1 (p - centre - shift) / scale
    dy, dx = yy - cy - shift[0], xx - cx - shift[1]
    sy = cy + (cos * dy + sin * dx) / scale
    sx = cx + (-sin * dy + cos * dx) / scale
    sy, sx = np.clip(sy, 0, h - 1).ravel(), np.clip(sx, 0, w - 1).ravel()
    y0, x0 = (
        np.minimum(np.floor(sy).astype(int), h - 2 if h > 1 else 0),
        np.minimum(np.floor(sx).astype(int), w - 2 if w > 1 else 0),
    )
    fy, fx = sy - y0, sx - x0
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    rows = np.tile(np.arange(h * w), 4)
    cols = np.concatenate([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1])
    vals = np.concatenate([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx])
    return sparse.csr_matrix((vals, (rows, cols)), shape=(h * w, h * w))


def apply(matrix: sparse.csr_matrix, images: np.ndarray) -> np.ndarray:
    """``matrix`` applied to every channel of ``images (C, H, W)``."""
    c, h, w = images.shape
    return np.asarray(matrix @ images.reshape(c, h * w).T).T.reshape(c, h, w)


def regulariser_gradient(
    x: np.ndarray, centre: float, l1: float, tv: float, blur: float
) -> np.ndarray:
    """Gradient of the summed penalties for images ``x (n, C, H, W)``.

    L1: mean absolute distance to the middle of the value range. Total variation:
    mean squared difference of neighbouring pixels. Blur: half the mean squared
    difference between the image and its Gaussian blur (sigma 0.5 px, periodic, so
    the blur is symmetric and the gradient is ``(I - G)^2 x``).
    """
    size = x[0].size
    grad = np.zeros_like(x)
    if l1:
        diff = x - centre
        grad += l1 * np.sign(diff) / size
    if tv:
        dy = np.diff(x, axis=2)
        dx = np.diff(x, axis=3)
        g = np.zeros_like(x)
        g[:, :, 1:] += 2 * dy
        g[:, :, :-1] -= 2 * dy
        g[:, :, :, 1:] += 2 * dx
        g[:, :, :, :-1] -= 2 * dx
        grad += tv * g / size
    if blur:
        sigma = (0, 0, 0.5, 0.5)
        r = x - ndimage.gaussian_filter(x, sigma, mode="wrap")
        grad += blur * (r - ndimage.gaussian_filter(r, sigma, mode="wrap")) / size
    return grad

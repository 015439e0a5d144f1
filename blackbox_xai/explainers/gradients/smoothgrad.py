"""``SmoothGrad`` (Smilkov et al. 2017): gradients averaged over noisy copies of the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...utils.config import budget_mb
from ...utils.seeding import SeedLike, resolve_seed, row_rng
from ._base import Attribution, GradientExplainer
from ._batching import accumulate, max_points, running_total
from ._space import Space
from ._targets import Targets

VARIANTS = ("smoothgrad", "smoothgrad_sq", "vargrad")


class _Moments:
    """Running power sums of one row's per-sample attributions, shifted by the first
    sample (fewer cancellations than raw sums).

    Samples are added in order by a cumulative sum that starts from the running total,
    so the sums are the same, bit for bit, however the samples were split into calls.
    """

    def __init__(self, orders: int) -> None:
        self.orders = orders
        self.shift: np.ndarray | None = None
        self.sums: list[np.ndarray] = []
        self.count = 0

    def add(self, samples: np.ndarray) -> None:
        if self.shift is None:
            self.shift = samples[0].copy()
            self.sums = [np.zeros_like(self.shift) for _ in range(self.orders)]
        d = samples - self.shift
        power = d
        for k in range(self.orders):
            self.sums[k] = running_total(self.sums[k], power)
            power = power * d
        self.count += len(samples)

    def raw(self, order: int) -> np.ndarray:
        """Mean of ``d**order`` (``d`` = sample - shift)."""
        return self.sums[order - 1] / self.count


class SmoothGrad(GradientExplainer):
    """Gradients averaged over ``n_samples`` noisy copies of each input.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.
    n_samples : int
        Noisy copies per row (all rows' copies go to the model in large batches).
    sigma : float
        Noise standard deviation relative to each row's range ``max(x) - min(x)``
        (Smilkov et al. recommend 0.1-0.2); for token-id models, relative to the
        range of the row's embeddings, the noise being added to the embeddings.
    variant : {"smoothgrad", "smoothgrad_sq", "vargrad"}
        The mean of the per-sample attributions, the mean of their squares, or their
        variance (Adebayo et al. 2018), as captum's NoiseTunnel.
    abs : bool
        Take ``|gradient|`` of each sample before averaging (captum's Saliency default).
    seed : int, numpy.random.SeedSequence or None
        Seed of the noise; each row draws from its own stream, so a row's values do not
        depend on the other rows or on the batching. None draws one (``meta["seed"]``).

    Notes
    -----
    ``stderr`` holds the standard error of each value over the noise: of the mean for
    ``smoothgrad`` and ``smoothgrad_sq``, and the large-sample standard error of the
    variance, ``sqrt((m4 - var**2) / n_samples)``, for ``vargrad``. For token-id models
    a sample's attribution is its gradient summed over the embedding dimension.

    Examples
    --------
    >>> sg = bx.SmoothGrad(model, output="logits", n_samples=50, sigma=0.15, seed=0)  # doctest: +SKIP
    >>> explanation = sg.explain(images)  # values (n, C, H, W, 1), stderr alike  # doctest: +SKIP
    """

    method = "smoothgrad"

    def __init__(
        self,
        model: Any,
        *,
        n_samples: int = 50,
        sigma: float = 0.15,
        variant: str = "smoothgrad",
        abs: bool = False,
        seed: SeedLike = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
            raise TypeError(f"n_samples must be an int, got {n_samples!r}.")
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
        if not isinstance(sigma, (int, float, np.floating)) or not 0 <= sigma < np.inf:
            raise ValueError(f"sigma must be a finite number >= 0 (e.g. 0.15), got {sigma!r}.")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}.")
        self.n_samples, self.sigma, self.variant = int(n_samples), float(sigma), variant
        self.abs = bool(abs)
        self.seed = seed

    def _parameters(self) -> dict[str, Any]:
        return {
            "n_samples": self.n_samples,
            "sigma": self.sigma,
            "variant": self.variant,
            "abs": self.abs,
        }

    @staticmethod
    def _noise(rng: np.random.Generator, count: int, shape: tuple[int, ...]) -> np.ndarray:
        """Standard normal draws of ``count`` samples (one row's stream, in order)."""
        return rng.standard_normal((count, *shape))

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        entropy = resolve_seed(self.seed)
        n = len(space.X)
        x = space.values(targets.seeds(np.arange(n)))
        flat = x.reshape(n, -1)
        scale = self.sigma * (flat.max(axis=1) - flat.min(axis=1))
        rngs = [row_rng(entropy, row) for row in range(n)]
        orders = 4 if self.variant == "vargrad" else 2
        moments = [_Moments(orders) for _ in range(n)]

        def points(row: int, start: int, stop: int) -> np.ndarray:
            noise = self._noise(rngs[row], stop - start, x.shape[1:])
            return x[row] + scale[row] * noise

        def fold(row: int, start: int, grads: np.ndarray) -> None:
            samples = space.features(np.abs(grads) if self.abs else grads)
            moments[row].add(samples**2 if self.variant == "smoothgrad_sq" else samples)

        accumulate(
            [self.n_samples] * n,
            max_points(budget_mb("gradient_points", self.memory_budget_mb), x.shape[1:]),
            points,
            lambda rows, pts: space.gradients(rows, pts, targets.seeds(rows), "standard"),
            fold,
        )
        values, stderr = [], []
        m = self.n_samples
        for row in moments:
            assert row.shift is not None
            mean_d, second = row.raw(1), row.raw(2)
            var = np.maximum(second - mean_d**2, 0.0)  # of the samples, about their mean
            if self.variant == "vargrad":
                third, fourth = row.raw(3), row.raw(4)
                m4 = fourth - 4 * mean_d * third + 6 * mean_d**2 * second - 3 * mean_d**4
                values.append(var)
                stderr.append(np.sqrt(np.maximum(m4 - var**2, 0.0) / m))
            else:
                values.append(row.shift + mean_d)
                stderr.append(np.sqrt(var * m / max(m - 1, 1) / m))
        return Attribution(
            np.stack(values),
            stderr=np.stack(stderr) if m > 1 else None,
            meta={"seed": entropy, "noise_sd": scale.tolist()},
        )

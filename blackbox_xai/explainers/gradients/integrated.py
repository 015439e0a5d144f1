"""``IntegratedGradients`` (Sundararajan et al. 2017), with its completeness check."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...utils.config import budget_mb
from ...utils.messages import warn_user
from ...utils.seeding import SeedLike, resolve_seed
from ._base import Attribution, GradientExplainer
from ._batching import accumulate, max_points, running_total
from ._integration import QUADRATURES, baseline_values, quadrature
from ._space import Space
from ._targets import Targets

#: n_steps="auto": Gauss-Legendre (or the chosen rule) with 16, 32, 64, ... points.
_AUTO_START = 16


class IntegratedGradients(GradientExplainer):
    """The gradient integrated along the straight path from a baseline to the input,
    times the difference: attributions that add up to ``f(x) - f(baseline)``.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.
    baseline : float, array, "blur", "uniform" or callable
        The reference input: a number (0, a black image), an array shaped like one row
        or like ``X``, ``"blur"`` (the image Gaussian-blurred, Sturmfels et al. 2020),
        ``"uniform"`` (uniform noise over each row's range, seeded) or a callable
        ``baseline(X)``. For token-id models: the id of the padding token (0 by
        default) or ids shaped like ``X``; the path then runs between the embeddings,
        as captum's LayerIntegratedGradients with padding-token baselines.
    n_steps : int or "auto"
        Points of the quadrature rule. ``"auto"`` doubles them from 16 until each row's
        completeness error is below ``tol`` (relative to ``|f(x) - f(baseline)|``), up
        to ``max_steps``.
    method : {"gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"}
        The quadrature rule (captum's names and definitions).
    tol : float
        Relative completeness error that ``n_steps="auto"`` aims for.
    max_steps : int
        Most points per row for ``n_steps="auto"``.
    blur_sigma : float, optional
        Standard deviation (pixels) of the ``"blur"`` baseline; 10% of the larger
        spatial size by default.
    seed : int, optional
        Seed of the ``"uniform"`` baseline (one stream per row).

    Notes
    -----
    ``meta["completeness_delta"]`` holds, per row, ``sum(values) - (f(x) - f(baseline))``
    of the explained output (zero for the exact integral); ``base_values`` hold
    ``f(baseline)``. The steps of many rows are batched together under
    ``memory_budget_mb``; a row's values do not depend on the batching.

    Examples
    --------
    >>> ig = bx.IntegratedGradients(model, output="logits", n_steps=64)  # doctest: +SKIP
    >>> explanation = ig.explain(images, target=3)  # doctest: +SKIP
    >>> explanation.meta["completeness_delta"]  # doctest: +SKIP
    """

    method = "integrated_gradients"

    def __init__(
        self,
        model: Any,
        *,
        baseline: Any = 0,
        n_steps: int | str = 50,
        method: str = "gausslegendre",
        tol: float = 1e-3,
        max_steps: int = 1024,
        blur_sigma: float | None = None,
        seed: SeedLike = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        if method not in QUADRATURES:
            raise ValueError(f"method must be one of {QUADRATURES}, got {method!r}.")
        if n_steps != "auto":
            if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
                raise TypeError(f"n_steps must be an int or 'auto', got {n_steps!r}.")
            if n_steps < 1:
                raise ValueError(f"n_steps must be at least 1, got {n_steps}.")
        if not isinstance(tol, (int, float)) or not 0 < tol < np.inf:
            raise ValueError(f"tol must be a positive number (e.g. 1e-3), got {tol!r}.")
        if not isinstance(max_steps, (int, np.integer)) or max_steps < _AUTO_START:
            raise ValueError(f"max_steps must be an int >= {_AUTO_START}, got {max_steps!r}.")
        self.baseline, self.n_steps, self.quadrature = baseline, n_steps, method
        self.tol, self.max_steps, self.blur_sigma = float(tol), int(max_steps), blur_sigma
        self.seed = seed

    def _parameters(self) -> dict[str, Any]:
        baseline = self.baseline
        described = baseline if isinstance(baseline, (int, float, str)) else type(baseline).__name__
        return {
            "baseline": described,
            "n_steps": self.n_steps if isinstance(self.n_steps, str) else int(self.n_steps),
            "method": self.quadrature,
            "tol": self.tol if self.n_steps == "auto" else None,
        }

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        n = len(space.X)
        rows = np.arange(n)
        x = space.values(targets.seeds(rows))
        entropy = resolve_seed(self.seed) if isinstance(self.baseline, str) else None
        base = baseline_values(self.baseline, space, x, entropy, self.blur_sigma)
        f_x = targets.pick(space.outputs(rows, x))
        f_base = targets.pick(space.outputs(rows, base))
        change = f_x - f_base
        integral = _PathIntegral(
            space, targets, x, base, budget_mb("gradient_points", self.memory_budget_mb)
        )
        if self.n_steps != "auto":
            steps = np.full(n, int(self.n_steps))
            values = integral(rows, int(self.n_steps), self.quadrature)
            delta = values.reshape(n, -1).sum(axis=1) - change
            converged = None
        else:
            values, delta, steps, converged = self._auto(integral, change)
        meta: dict[str, Any] = {
            "completeness_delta": delta.tolist(),
            "n_steps": steps.tolist(),
            "output_change": change.tolist(),
        }
        if entropy is not None:
            meta["seed"] = entropy
        if converged is not None:
            meta["converged"] = converged.tolist()
        return Attribution(values, base=f_base, meta=meta)

    def _auto(
        self, integral: _PathIntegral, change: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Double the steps of the rows whose completeness error exceeds ``tol``."""
        n = len(change)
        scale = np.maximum(np.abs(change), np.finfo(np.float64).tiny)
        pending = np.arange(n)
        values: np.ndarray | None = None
        delta, steps = np.zeros(n), np.zeros(n, dtype=np.int64)
        count = _AUTO_START
        while pending.size:
            part = integral(pending, count, self.quadrature)
            if values is None:
                values = np.zeros((n, *part.shape[1:]))
            values[pending] = part
            delta[pending] = part.reshape(len(pending), -1).sum(axis=1) - change[pending]
            steps[pending] = count
            pending = pending[np.abs(delta[pending]) > self.tol * scale[pending]]
            if count * 2 > self.max_steps:
                break
            count *= 2
        converged = np.abs(delta) <= self.tol * scale
        if not converged.all():
            warn_user(
                f"integrated gradients did not reach tol={self.tol} for rows "
                f"{np.flatnonzero(~converged).tolist()} within max_steps={self.max_steps} "
                "(see meta['completeness_delta']); raise max_steps, or accept the error."
            )
        assert values is not None
        return values, delta, steps, converged


class _PathIntegral:
    """``(x - baseline) * integral of the gradient`` for some rows at ``count`` points."""

    def __init__(
        self, space: Space, targets: Targets, x: np.ndarray, base: np.ndarray, budget_mb: float
    ) -> None:
        self.space, self.targets, self.x, self.base = space, targets, x, base
        self.diff = x - base
        self.limit = max_points(budget_mb, x.shape[1:])

    def __call__(self, rows: np.ndarray, count: int, method: str) -> np.ndarray:
        alphas, weights = quadrature(method, count)
        shape = self.x.shape[1:]
        sums = np.zeros((len(rows), *shape))
        expand = (slice(None), *([None] * len(shape)))

        def points(i: int, start: int, stop: int) -> np.ndarray:
            row = rows[i]
            return self.base[row] + alphas[start:stop][expand] * self.diff[row]

        def fold(i: int, start: int, grads: np.ndarray) -> None:
            step = weights[start : start + len(grads)][expand]
            sums[i] = running_total(sums[i], step * grads)

        def gradients(local: np.ndarray, pts: np.ndarray) -> np.ndarray:
            return self.space.gradients(
                rows[local], pts, self.targets.seeds(rows[local]), "standard"
            )

        accumulate([count] * len(rows), self.limit, points, gradients, fold)
        return self.space.features(self.diff[rows] * sums)

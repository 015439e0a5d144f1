"""Feature visualisation by optimisation (Olah et al. 2017) on ONNX models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...results.concepts import FeatureVisualizationResult
from ...utils.seeding import SeedLike, resolve_seed, row_rng
from ._image_param import ImageParam, affine_matrix, apply, regulariser_gradient
from ._network import Network

_TRANSFORMS = ("jitter", "scale", "rotate")
_KINDS = {"class": 2, "channel": 3, "neuron": 5}


class FeatureVisualization:
    """The input that maximises a class, a channel or a neuron, by gradient ascent.

    Each step draws a random jitter, scale and rotation per image (robustness to them
    keeps the optimum from being adversarial noise), runs the model and its input
    gradient on ONNX Runtime, pulls the gradient back through the transform and the
    parameterisation (exact adjoints) and takes an Adam step. Several images are
    optimised together, each with its own seeded stream.

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network; for ``("class", k)`` explain its logits (``output="logits"``).
    objective : tuple
        ``("class", k)``: output ``k``; ``("channel", layer, c)``: the mean of channel
        ``c`` of ``layer`` over its positions; ``("neuron", layer, c, y, x)``: one unit
        (for a layer of rank 2, ``("channel", layer, j)`` is unit ``j``).
    param : {"fft", "pixel"}
        Fourier parameterisation with 1/f scaling (and colour decorrelation for 3
        channels), or raw pixels; both pass a sigmoid onto ``value_range``.
    transforms : sequence of {"jitter", "scale", "rotate"}
        Random transforms per step (any subset; ``()`` for none).
    n_steps : int
        Optimisation steps.
    lr : float
        Adam's learning rate.
    l1, tv, blur : float
        Weights of the regularisers (distance to mid-grey, total variation, and
        difference to a blurred copy), each normalised per pixel.
    value_range : (float, float)
        The range of the model's inputs (e.g. ``(0, 1)``).
    image_shape : (C, H, W) or (H, W), optional
        For models that take flat rows (an MLP on 8x8 digits): the image the row is;
        for inputs of symbolic size (fully convolutional exports): the size to optimise
        (e.g. ``(3, 48, 192)`` crops). By default the input's static row shape.
    jitter : int, optional
        Largest shift in pixels (default ``max(1, min(H, W) // 16)``).
    scales : (float, float)
        Range of the random scale factors.
    max_angle : float
        Largest rotation, degrees.
    output : str, optional
        The tensor differentiated for ``("class", k)``.
    seed : int, optional
        Initial images and transforms.

    Examples
    --------
    >>> fv = bx.FeatureVisualization("cnn.onnx", ("class", 3), output="logits", seed=0)  # doctest: +SKIP
    >>> result = fv.visualize(n=4)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        objective: tuple[Any, ...],
        *,
        param: str = "fft",
        transforms: Sequence[str] = _TRANSFORMS,
        n_steps: int = 512,
        lr: float = 0.05,
        l1: float = 0.0,
        tv: float = 0.0,
        blur: float = 0.0,
        value_range: tuple[float, float] = (0.0, 1.0),
        image_shape: Sequence[int] | None = None,
        jitter: int | None = None,
        scales: tuple[float, float] = (0.9, 1.1),
        max_angle: float = 10.0,
        output: str | None = None,
        seed: SeedLike = None,
    ) -> None:
        if param not in ("fft", "pixel"):
            raise ValueError(f"param must be 'fft' or 'pixel', got {param!r}.")
        unknown = [t for t in transforms if t not in _TRANSFORMS]
        if unknown or isinstance(transforms, str):
            raise ValueError(f"transforms must be a subset of {_TRANSFORMS}, got {transforms!r}.")
        if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}.")
        if min(l1, tv, blur) < 0:
            raise ValueError("the regulariser weights l1, tv and blur must be >= 0.")
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}.")
        self.param, self.transforms = param, tuple(transforms)
        self.n_steps, self.lr = int(n_steps), float(lr)
        self.l1, self.tv, self.blur = float(l1), float(tv), float(blur)
        self.value_range = (low, high)
        self.scales, self.max_angle = (float(scales[0]), float(scales[1])), float(max_angle)
        self.seed = resolve_seed(seed)
        network = Network(model, output)
        row = network.row_shape()
        if row is None:  # sizes left free by the export: the image fixes them
            if image_shape is None:
                raise ValueError(
                    "the model's input has symbolic sizes; pass image_shape=(C, H, W) of the "
                    "image to optimise."
                )
            row = tuple(int(d) for d in image_shape)
        self.row_shape = row
        self.image_shape = self._image_shape(row, image_shape)
        self.objective, self.network, self._seed_of = self._objective(network, objective)
        self.jitter = max(1, min(self.image_shape[1:]) // 16) if jitter is None else int(jitter)

    # -- public API ---------------------------------------------------------------------
    def visualize(self, n: int = 1) -> FeatureVisualizationResult:
        """Optimise ``n`` images (one seeded stream each) and return them.

        Returns
        -------
        FeatureVisualizationResult
            ``images (n, *row_shape)``, the objective at each (untransformed) image, and
            the objective per step.
        """
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        param = ImageParam(self.image_shape, self.param, self.value_range)
        rngs = [row_rng(self.seed, i) for i in range(n)]
        t = np.stack([param.init(rng) for rng in rngs])
        m, v = np.zeros_like(t), np.zeros_like(t)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        trace = np.empty((self.n_steps, n))
        _, h, w = self.image_shape
        centre = 0.5 * (self.value_range[0] + self.value_range[1])
        for step in range(self.n_steps):
            images, factor = param.image(t)
            matrices = [self._transform(rng, h, w) for rng in rngs]
            seen = np.stack(
                [
                    img if mat is None else apply(mat, img)
                    for img, mat in zip(images, matrices, strict=True)
                ]
            )
            value, grad_seen = self._value_and_gradient(seen)
            grad = np.stack(
                [
                    g if mat is None else apply(mat.T.tocsr(), g)
                    for g, mat in zip(grad_seen, matrices, strict=True)
                ]
            )
            grad_penalty = regulariser_gradient(images, centre, self.l1, self.tv, self.blur)
            trace[step] = value
            ascent = param.pullback(grad - grad_penalty, factor)
            m = beta1 * m + (1 - beta1) * ascent
            v = beta2 * v + (1 - beta2) * ascent**2
            m_hat = m / (1 - beta1 ** (step + 1))
            v_hat = v / (1 - beta2 ** (step + 1))
            t = t + self.lr * m_hat / (np.sqrt(v_hat) + eps)
        images, _ = param.image(t)
        final, _ = self._value_and_gradient(images)
        return FeatureVisualizationResult(
            images=images.reshape(n, *self.row_shape),
            objective=self.objective,
            values=final,
            trace=trace,
            meta={
                "param": self.param,
                "transforms": list(self.transforms),
                "n_steps": self.n_steps,
                "lr": self.lr,
                "l1": self.l1,
                "tv": self.tv,
                "blur": self.blur,
                "value_range": list(self.value_range),
                "seed": self.seed,
            },
        )

    def objective_values(self, X: Any) -> np.ndarray:
        """The objective for model inputs ``X`` (e.g. a dataset, to compare with)."""
        arr = np.asarray(X, dtype=np.float64)
        images = arr.reshape(len(arr), *self.image_shape)
        values = [self._value_and_gradient(batch)[0] for batch in self.network.batches(images)]
        return np.concatenate(values)

    # -- internals ----------------------------------------------------------------------
    def _objective(self, network: Network, objective: Any) -> tuple[tuple[Any, ...], Network, Any]:
        """The checked objective, the network differentiated, and its seed maker."""
        if not isinstance(objective, tuple) or not objective or objective[0] not in _KINDS:
            raise ValueError(
                "objective must be ('class', k), ('channel', layer, c) or "
                f"('neuron', layer, c, y, x), got {objective!r}."
            )
        kind = objective[0]
        if len(objective) != _KINDS[kind]:
            raise ValueError(f"a {kind!r} objective has {_KINDS[kind]} items, got {objective!r}.")
        if kind == "class":
            k = objective[1]
            if not isinstance(k, (int, np.integer)):
                raise TypeError(f"the class of the objective must be an int, got {k!r}.")
            return ("class", int(k)), network, int(k)
        layer = network.resolve(objective[1], min_rank=2)
        index = tuple(int(i) for i in objective[2:])
        inner = Network(network.model, output=layer, batch_size=network.batch_size)
        static = inner.index.info(layer).shape
        if static is not None and all(isinstance(d, int) for d in static[1:]):
            tail = tuple(int(d) for d in static[1:])  # type: ignore[arg-type]
        else:  # sizes from one run on a blank input
            probe = np.zeros((1, *self.row_shape), np.float32)
            tail = tuple(network.activations(probe, layer).shape[1:])
        if kind == "neuron" and len(tail) != len(index):
            raise ValueError(
                f"layer {layer!r} has shape {tail} per row; a neuron objective needs one index "
                f"per axis, got {index}."
            )
        if not 0 <= index[0] < tail[0] or any(
            not 0 <= i < d for i, d in zip(index[1:], tail[1 : len(index)], strict=True)
        ):
            raise ValueError(f"index {index} is outside layer {layer!r} of shape {tail}.")
        weights = np.zeros(tail)
        if kind == "channel":
            weights[index[0]] = 1.0 / max(1, int(np.prod(tail[1:])))
        else:
            weights[index] = 1.0
        return (kind, layer, *index), inner, weights

    def _image_shape(
        self, row: tuple[int, ...], image_shape: Sequence[int] | None
    ) -> tuple[int, int, int]:
        shape = tuple(int(d) for d in (image_shape if image_shape is not None else row))
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or int(np.prod(shape)) != int(np.prod(row)):
            raise ValueError(
                f"the model's rows have shape {row}; pass image_shape=(C, H, W) or (H, W) "
                f"with as many values, got {image_shape!r}."
            )
        return (shape[0], shape[1], shape[2])

    def _transform(self, rng: np.random.Generator, h: int, w: int) -> Any:
        if not self.transforms:
            return None
        shift = (0.0, 0.0)
        if "jitter" in self.transforms:
            dy, dx = rng.integers(-self.jitter, self.jitter + 1, size=2)
            shift = (float(dy), float(dx))
        scale = float(rng.uniform(*self.scales)) if "scale" in self.transforms else 1.0
        angle = (
            float(rng.uniform(-self.max_angle, self.max_angle))
            if "rotate" in self.transforms
            else 0.0
        )
        return affine_matrix(h, w, shift, scale, angle)

    def _value_and_gradient(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective per image and its gradient w.r.t. the images ``(n, C, H, W)``."""
        n = len(images)
        X = images.reshape(n, *self.row_shape)
        model = self.network.model
        name = self.network.input_name()
        if self.objective[0] == "class":
            out, grad = model.layer_gradient(X, self._seed_of, name, X)
            value = out[:, self._seed_of]
        else:
            seeds = np.broadcast_to(self._seed_of, (n, *self._seed_of.shape)).astype(np.float64)
            out, grad = model.layer_gradient(X, seeds, name, X)
            value = (out.reshape(n, -1) * seeds.reshape(n, -1)).sum(axis=1)
        return np.asarray(value, np.float64), np.asarray(grad, np.float64).reshape(images.shape)

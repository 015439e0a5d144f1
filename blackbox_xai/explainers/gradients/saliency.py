"""Vanilla gradients: ``Saliency`` (Simonyan et al. 2014) and ``GradientXInput``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Attribution, GradientExplainer
from ._space import ArraySpace, Space
from ._targets import Targets

_REDUCTIONS = ("max", "abs_sum", None)


def channel_axis_of(space: Space, channel_axis: int) -> int | None:
    """The channel axis of a row (0-based, without the batch axis) of an image input
    ``(C, H, W, ...)``, None for inputs without channels (tabular rows, tokens)."""
    if not isinstance(space, ArraySpace) or len(space.shape) < 3:
        return None
    if channel_axis not in (1, -1):
        raise ValueError(f"channel_axis must be 1 (NCHW) or -1 (NHWC), got {channel_axis!r}.")
    return 0 if channel_axis == 1 else len(space.shape) - 1


class Saliency(GradientExplainer):
    """The gradient of the target output with respect to the input (Simonyan et al. 2014).

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer` (also for
        ``output=``, e.g. ``"logits"``, ``embedding=`` and ``memory_budget_mb=``).
    abs : bool
        Take ``|gradient|`` (the saliency map of the paper) instead of the signed gradient.
    reduce_channels : {"max", "abs_sum", None}
        For images ``(n, C, H, W)``: one value per pixel, the maximum over channels
        (of ``|gradient|`` when ``abs``, as in the paper) or the sum of absolute values;
        None keeps the channels. Inputs without channels are never reduced.
    channel_axis : {1, -1}
        Where the channels of image inputs are (1 for NCHW, -1 for NHWC exports).

    Notes
    -----
    ``values`` have the input's shape without the channel axis when reduced; for
    token-id models one value per token, the (absolute) gradients with respect to the
    token's embedding summed over the embedding dimension. ``base_values`` are zeros (a
    gradient has no reference output).

    Examples
    --------
    >>> model = bx.DifferentiableOnnxModel("cnn.onnx", output="logits")  # doctest: +SKIP
    >>> saliency = bx.Saliency(model).explain(images)  # (n, H, W, 1)  # doctest: +SKIP
    """

    method = "saliency"

    def __init__(
        self,
        model: Any,
        *,
        abs: bool = True,
        reduce_channels: str | None = "max",
        channel_axis: int = 1,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        if reduce_channels not in _REDUCTIONS:
            raise ValueError(
                f"reduce_channels must be one of {_REDUCTIONS}, got {reduce_channels!r}."
            )
        self.abs = bool(abs)
        self.reduce_channels = reduce_channels
        self.channel_axis = channel_axis

    def _parameters(self) -> dict[str, Any]:
        return {
            "abs": self.abs,
            "reduce_channels": self.reduce_channels,
            "channel_axis": self.channel_axis,
        }

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        rows = np.arange(len(space.X))
        _, grads = space.at_inputs(rows, targets.seeds(rows), "standard")
        if self.abs:
            grads = np.abs(grads)
        values = space.features(grads)
        axis = channel_axis_of(space, self.channel_axis)
        if axis is not None and self.reduce_channels == "max":
            values = values.max(axis=axis + 1)
        elif axis is not None and self.reduce_channels == "abs_sum":
            values = np.abs(values).sum(axis=axis + 1)
        return Attribution(values)


class GradientXInput(GradientExplainer):
    """The gradient times the input (Shrikumar et al. 2016): a first-order estimate of
    each feature's contribution, exact for linear models with a zero baseline.

    For token-id models, the gradient with respect to each token's embedding times the
    embedding, summed over the embedding dimension. ``base_values`` are zeros.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.

    Examples
    --------
    >>> bx.GradientXInput(model, output="logits").explain(X, target=2)  # doctest: +SKIP
    """

    method = "gradient_x_input"

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        rows = np.arange(len(space.X))
        values, grads = space.at_inputs(rows, targets.seeds(rows), "standard")
        return Attribution(space.features(grads * values))

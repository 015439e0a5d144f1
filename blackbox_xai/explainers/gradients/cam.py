"""Class activation maps: ``Cam`` (Zhou et al. 2016), ``GradCam`` and ``GuidedGradCam``
(Selvaraju et al. 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Attribution, GradientExplainer
from ._space import ArraySpace, Space
from ._structure import check_cam_structure, default_layer
from ._targets import Targets
from ._upsample import MODES, resize_maps


class _CamBase(GradientExplainer):
    """A layer's activations weighted per channel, summed over channels, resized."""

    def __init__(
        self,
        model: Any,
        *,
        layer: str | None = None,
        upsample: bool = True,
        interpolation: str = "bilinear",
        channel_axis: int = 1,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        if interpolation not in MODES:
            raise ValueError(f"interpolation must be one of {MODES}, got {interpolation!r}.")
        if channel_axis not in (1, -1):
            raise ValueError(f"channel_axis must be 1 (NCHW) or -1 (NHWC), got {channel_axis!r}.")
        self.layer, self.upsample = layer, bool(upsample)
        self.interpolation, self.channel_axis = interpolation, channel_axis

    def _parameters(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "upsample": self.upsample,
            "interpolation": self.interpolation,
        }

    def _layer_name(self) -> str:
        graph, output = self.graph, getattr(self.model, "output", None)
        if graph is None or output is None:
            if self.layer is None:
                raise ValueError("pass layer= the activation to map (this model is not ONNX).")
            return self.layer
        if self.layer is None:
            return default_layer(graph, output, min_rank=3).name
        return graph.resolve(self.layer, min_rank=3).name

    def _spatial_size(self, space: Space) -> tuple[int, ...]:
        """The input's spatial size, which maps are resized to."""
        if not isinstance(space, ArraySpace):
            return tuple(space.X.shape[1:])  # one position per token
        shape = space.shape
        if len(shape) < 2:
            raise ValueError(
                f"the input rows have shape {shape}, without spatial axes to map onto; "
                "pass upsample=False to get the layer's map."
            )
        return tuple(shape[1:] if self.channel_axis == 1 else shape[:-1])

    def _maps(self, space: Space, targets: Targets, relu: bool, cam: bool) -> Attribution:
        layer = self._layer_name()
        rows = np.arange(len(space.X))
        acts, grads = self.model.activations_and_gradients(space.X, targets.seeds(rows), layer)
        acts, grads = np.asarray(acts, np.float64), np.asarray(grads, np.float64)
        if acts.ndim < 3:
            raise ValueError(
                f"layer {layer!r} has shape {acts.shape[1:]} per row; a class activation map "
                "needs (channels, *spatial) activations (e.g. a convolution's output)."
            )
        spatial = tuple(range(2, acts.ndim))
        # CAM: the head's weight of each channel is the summed gradient (the head is
        # linear after the average pooling); Grad-CAM: the mean gradient.
        weights = grads.sum(axis=spatial) if cam else grads.mean(axis=spatial)
        maps = np.einsum("nc,nc...->n...", weights, acts)
        if relu:
            maps = np.maximum(maps, 0.0)
        meta = {"layer": layer, "layer_shape": list(acts.shape[1:])}
        if self.upsample:
            maps = resize_maps(maps, self._spatial_size(space), self.interpolation)
        return Attribution(maps, meta=meta)


class GradCam(_CamBase):
    """Grad-CAM (Selvaraju et al. 2017): a layer's channels weighted by their mean
    gradient, summed, passed through a ReLU and resized to the input.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.
    layer : str, optional
        The activation ``(n, C, *spatial)`` to map, by tensor or node name
        (:func:`blackbox_xai.autodiff.list_layers` lists them); by default the tensor
        the last global average pooling reads, else the last 4-D tensor before the
        output. A name that does not exist gets an error listing the candidates.
    relu : bool
        Keep only positive evidence (the paper's ReLU).
    upsample : bool
        Resize the map to the input's spatial size (``False``: the layer's size).
    interpolation : {"bilinear", "nearest"}
        The resize (half-pixel centres, as ``torch.nn.functional.interpolate``).
    channel_axis : {1, -1}
        Where the channels of image inputs are (1 for NCHW, -1 for NHWC exports).

    Notes
    -----
    ``values`` are ``(n, H, W, 1)`` for images, one value per token for token-id
    models, ``(n, *layer spatial, 1)`` without upsampling; ``meta["layer"]`` and
    ``meta["layer_shape"]`` name the layer used. ``base_values`` are zeros.

    Examples
    --------
    >>> cam = bx.GradCam("squeezenet.onnx", output="logits").explain(images)  # doctest: +SKIP
    """

    method = "grad_cam"

    def __init__(self, model: Any, *, relu: bool = True, **options: Any) -> None:
        super().__init__(model, **options)
        self.relu = bool(relu)

    def _parameters(self) -> dict[str, Any]:
        return {**super()._parameters(), "relu": self.relu}

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        return self._maps(space, targets, relu=self.relu, cam=False)


class Cam(_CamBase):
    """CAM (Zhou et al. 2016): the class weights of a linear head applied to the feature
    maps it globally average-pools.

    The model must pool the layer globally (GlobalAveragePool, or a mean over every
    spatial axis) and be linear from the pooled features to the explained output (a
    fully connected or 1x1-convolution head, no Softmax: explain ``output="logits"``);
    a ValueError names the missing piece otherwise. The head's weights are read as the
    gradient of the output with respect to the pooled features, so any linear head
    works, whatever its ops.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.
    layer : str, optional
        The pooled activation; by default the tensor the last global pooling reads.
    upsample, interpolation, channel_axis
        As in :class:`GradCam`.

    Notes
    -----
    On such a model, Grad-CAM without its ReLU is CAM divided by the number of
    positions of the map.
    """

    method = "cam"

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        graph, output = self.graph, getattr(self.model, "output", None)
        if graph is None or output is None:
            raise ValueError("Cam checks the model's structure: it needs an ONNX model.")
        layer = self._layer_name()
        pool = check_cam_structure(graph, layer, output)
        result = self._maps(space, targets, relu=False, cam=True)
        result.meta["pooling"] = pool.name or pool.op_type
        return result


class GuidedGradCam(_CamBase):
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation times the
    upsampled Grad-CAM map, high-resolution and class-discriminative.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`.
    layer, interpolation, channel_axis
        As in :class:`GradCam` (the map is always resized to the input).

    Notes
    -----
    ``values`` have the input's shape (the map multiplies every channel), one value
    per token for token-id models. See :class:`GuidedBackprop` for the activations
    guided backpropagation changes.
    """

    method = "guided_grad_cam"

    def __init__(self, model: Any, **options: Any) -> None:
        if "upsample" in options:
            raise TypeError("GuidedGradCam always resizes the map to the input.")
        super().__init__(model, **options)

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        result = self._maps(space, targets, relu=True, cam=False)
        rows = np.arange(len(space.X))
        _, guided = space.at_inputs(rows, targets.seeds(rows), "guided")
        guided = space.features(guided)
        maps = result.values
        if guided.ndim > maps.ndim:  # images: the map multiplies every channel
            maps = np.expand_dims(maps, 1 if self.channel_axis == 1 else -1)
        result.values = guided * maps
        return result

"""Gradient explainers on differentiable ONNX models (no deep-learning framework).

``Saliency``, ``GradientXInput``, ``SmoothGrad``, ``IntegratedGradients``,
``GuidedBackprop``, ``Deconvolution``, ``Cam``, ``GradCam`` and ``GuidedGradCam`` take a
:class:`~blackbox_xai.DifferentiableOnnxModel` (or an ONNX model, or any object with
``gradient`` and ``activations_and_gradients``) and return an
:class:`~blackbox_xai.Explanation`. Token-id models are attributed through their
embeddings, one value per token.
"""

from ._base import GradientExplainer
from .cam import Cam, GradCam, GuidedGradCam
from .guided import Deconvolution, GuidedBackprop
from .integrated import IntegratedGradients
from .saliency import GradientXInput, Saliency
from .smoothgrad import SmoothGrad

__all__ = [
    "Cam",
    "Deconvolution",
    "GradCam",
    "GradientExplainer",
    "GradientXInput",
    "GuidedBackprop",
    "GuidedGradCam",
    "IntegratedGradients",
    "Saliency",
    "SmoothGrad",
]

"""Estimators on masker games and gradient methods, one sub-package per family."""

from .anchors import Anchors
from .base import Explainer
from .concepts import FeatureSpace, FeatureVisualization, LayerActivations, Tcav, TopActivations
from .gradients import (
    Cam,
    Deconvolution,
    GradCam,
    GradientXInput,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
)
from .lime import Lime
from .perturbation import Occlusion, Rise
from .shapley import ExactShapley, KernelShap, SamplingShapley
from .surrogate import GlobalSurrogate, SurrogateFidelity

__all__ = [
    "Anchors",
    "Cam",
    "Deconvolution",
    "ExactShapley",
    "Explainer",
    "FeatureSpace",
    "FeatureVisualization",
    "GlobalSurrogate",
    "GradCam",
    "GradientXInput",
    "GuidedBackprop",
    "GuidedGradCam",
    "IntegratedGradients",
    "KernelShap",
    "LayerActivations",
    "Lime",
    "Occlusion",
    "Rise",
    "Saliency",
    "SamplingShapley",
    "SmoothGrad",
    "SurrogateFidelity",
    "Tcav",
    "TopActivations",
]

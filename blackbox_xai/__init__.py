"""blackbox_xai: explain the predictions of any model.

Models (scikit-learn, ONNX Runtime, callables) are wrapped behind one prediction
protocol; maskers say how absent features are represented; explainers estimate
attributions on the resulting games and return an :class:`Explanation`.
"""

from . import autodiff, datasets, distributed, maskers, metrics, models, results, sampling
from .autodiff import DifferentiableOnnxModel
from .distributed import AttributionSummary, explain_dask, summarize_dask
from .explainers import (
    Anchors,
    Cam,
    Deconvolution,
    ExactShapley,
    FeatureSpace,
    FeatureVisualization,
    GlobalSurrogate,
    GradCam,
    GradientXInput,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    KernelShap,
    LayerActivations,
    Lime,
    Occlusion,
    Rise,
    Saliency,
    SamplingShapley,
    SmoothGrad,
    SurrogateFidelity,
    Tcav,
    TopActivations,
)
from .maskers import Tabular
from .maskers.lime_tabular import LimeTabular
from .metrics import compare
from .models import CachedModel, CallableModel, Model, ModelCallError, OnnxModel, SklearnModel, wrap
from .results import AnchorExplanation, Explanation
from .utils.config import config_context, get_config, set_config

__version__ = "0.1.0"

__all__ = [
    "AnchorExplanation",
    "Anchors",
    "AttributionSummary",
    "CachedModel",
    "CallableModel",
    "Cam",
    "Deconvolution",
    "DifferentiableOnnxModel",
    "ExactShapley",
    "Explanation",
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
    "LimeTabular",
    "Model",
    "ModelCallError",
    "Occlusion",
    "OnnxModel",
    "Rise",
    "Saliency",
    "SamplingShapley",
    "SklearnModel",
    "SmoothGrad",
    "SurrogateFidelity",
    "Tabular",
    "Tcav",
    "TopActivations",
    "__version__",
    "autodiff",
    "compare",
    "config_context",
    "datasets",
    "distributed",
    "explain_dask",
    "get_config",
    "maskers",
    "metrics",
    "models",
    "results",
    "sampling",
    "set_config",
    "summarize_dask",
    "wrap",
]

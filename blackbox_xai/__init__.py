"""blackbox_xai: explain the predictions of any model.

Models (scikit-learn, ONNX Runtime, callables) are wrapped behind one prediction
protocol; maskers say how absent features are represented; explainers estimate
attributions on the resulting games and return an :class:`Explanation`.
"""

from . import autodiff, datasets, maskers, models, results, sampling
from .autodiff import DifferentiableOnnxModel
from .explainers import (
    Anchors,
    ExactShapley,
    GlobalSurrogate,
    KernelShap,
    Lime,
    SamplingShapley,
    SurrogateFidelity,
)
from .maskers import Tabular
from .maskers.lime_tabular import LimeTabular
from .models import CallableModel, Model, ModelCallError, OnnxModel, SklearnModel, wrap
from .results import AnchorExplanation, Explanation

__version__ = "0.1.0"

__all__ = [
    "AnchorExplanation",
    "Anchors",
    "CallableModel",
    "DifferentiableOnnxModel",
    "ExactShapley",
    "Explanation",
    "GlobalSurrogate",
    "KernelShap",
    "Lime",
    "LimeTabular",
    "Model",
    "ModelCallError",
    "OnnxModel",
    "SamplingShapley",
    "SklearnModel",
    "SurrogateFidelity",
    "Tabular",
    "__version__",
    "autodiff",
    "datasets",
    "maskers",
    "models",
    "results",
    "sampling",
    "wrap",
]

"""blackbox_xai: explain the predictions of any model.

Models (scikit-learn, ONNX Runtime, callables) are wrapped behind one prediction
protocol; maskers say how absent features are represented; explainers estimate
attributions on the resulting games and return an :class:`Explanation`.
"""

from . import maskers, models
from .anchor_explanation import AnchorExplanation
from .explainers import Anchors, ExactShapley
from .explanation import Explanation
from .maskers import Tabular
from .models import CallableModel, Model, ModelCallError, OnnxModel, SklearnModel, wrap

__version__ = "0.1.0"

__all__ = [
    "AnchorExplanation",
    "Anchors",
    "CallableModel",
    "ExactShapley",
    "Explanation",
    "Model",
    "ModelCallError",
    "OnnxModel",
    "SklearnModel",
    "Tabular",
    "__version__",
    "maskers",
    "models",
    "wrap",
]

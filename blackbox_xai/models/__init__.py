"""Models behind one protocol: ``model(X) -> (n, k)`` float64 array."""

from .base import Model, ModelCallError
from .cache import CachedModel
from .callable import CallableModel
from .onnx import OnnxModel
from .sklearn import SklearnModel
from .tokenized import TokenIdOnnxModel
from .wrap import wrap

__all__ = [
    "CachedModel",
    "CallableModel",
    "Model",
    "ModelCallError",
    "OnnxModel",
    "SklearnModel",
    "TokenIdOnnxModel",
    "wrap",
]

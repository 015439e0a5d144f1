"""Reverse-mode automatic differentiation of ONNX graphs, run by plain ONNX Runtime.

:func:`gradient_model` turns an ONNX model into one that also returns vector-Jacobian
products, built from one VJP rule per op type (:func:`register`, :func:`registered_ops`);
:class:`DifferentiableOnnxModel` runs a model and its gradients; :func:`list_layers` and
:func:`resolve_layer` name the tensors that layer methods (Grad-CAM, TCAV...) read.
Importing this package needs only numpy; onnx is imported when a graph is transformed.
"""

from . import rules
from .context import StaticShapeError, UnsupportedOperatorError, VjpContext
from .layers import Layer, list_layers, resolve_layer
from .model import DifferentiableOnnxModel
from .registry import register, registered_ops
from .transform import GRAD_SUFFIX, MIN_OPSET, RELU_RULES, SEED_SUFFIX, gradient_model

__all__ = [
    "GRAD_SUFFIX",
    "MIN_OPSET",
    "RELU_RULES",
    "SEED_SUFFIX",
    "DifferentiableOnnxModel",
    "Layer",
    "StaticShapeError",
    "UnsupportedOperatorError",
    "VjpContext",
    "gradient_model",
    "list_layers",
    "register",
    "registered_ops",
    "resolve_layer",
    "rules",
]

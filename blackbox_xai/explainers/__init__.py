"""Estimators on masker games, one sub-package per family of methods."""

from .anchors import Anchors
from .base import Explainer
from .lime import Lime
from .shapley import ExactShapley, KernelShap, SamplingShapley
from .surrogate import GlobalSurrogate, SurrogateFidelity

__all__ = [
    "Anchors",
    "ExactShapley",
    "Explainer",
    "GlobalSurrogate",
    "KernelShap",
    "Lime",
    "SamplingShapley",
    "SurrogateFidelity",
]

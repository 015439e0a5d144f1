"""Estimators on masker games, one class per method."""

from .anchors import Anchors
from .base import Explainer
from .exact import ExactShapley
from .kernel import KernelShap
from .lime import Lime
from .sampling import SamplingShapley
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

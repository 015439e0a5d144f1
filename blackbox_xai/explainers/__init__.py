"""Estimators on masker games, one class per method."""

from .base import Explainer
from .exact import ExactShapley
from .kernel import KernelShap
from .sampling import SamplingShapley

__all__ = ["ExactShapley", "Explainer", "KernelShap", "SamplingShapley"]

"""Shapley values: exact enumeration, Kernel SHAP regression and permutation sampling."""

from .exact import ExactShapley
from .kernel import KernelShap
from .sampling import SamplingShapley

__all__ = ["ExactShapley", "KernelShap", "SamplingShapley"]

"""Estimators on masker games, one class per method."""

from .base import Explainer
from .exact import ExactShapley
from .lime import Lime
from .surrogate import GlobalSurrogate

__all__ = ["ExactShapley", "Explainer", "GlobalSurrogate", "Lime"]

"""Estimators on masker games, one class per method."""

from .base import Explainer
from .exact import ExactShapley

__all__ = ["ExactShapley", "Explainer"]

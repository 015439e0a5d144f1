"""Estimators on masker games, one class per method."""

from .anchors import Anchors
from .base import Explainer
from .exact import ExactShapley

__all__ = ["Anchors", "ExactShapley", "Explainer"]

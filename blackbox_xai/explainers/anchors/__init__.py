"""Anchors: high-precision if-then rules found by a KL-LUCB beam search."""

from .anchors import Anchors

__all__ = ["Anchors"]

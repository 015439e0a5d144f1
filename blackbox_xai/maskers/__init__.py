"""Maskers: how "feature j is absent" becomes a model input."""

from typing import Any

from .base import InstanceMasker, Masker
from .image import BoundImage, Image
from .tabular import Tabular
from .text import BoundText, Text


def as_masker(obj: Any) -> Masker:
    """A masker as is; rows (ndarray or DataFrame) become ``Tabular(rows)``."""
    if isinstance(obj, Masker):
        return obj
    return Tabular(obj)


__all__ = [
    "BoundImage",
    "BoundText",
    "Image",
    "InstanceMasker",
    "Masker",
    "Tabular",
    "Text",
    "as_masker",
]

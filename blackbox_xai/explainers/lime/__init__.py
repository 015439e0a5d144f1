"""LIME: local weighted-ridge surrogates on interpretable features."""

from .lime import Lime

__all__ = ["Lime"]

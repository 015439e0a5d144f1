"""Global surrogates: a tree, rule list or linear model fitted to the model's outputs."""

from .surrogate import GlobalSurrogate, SurrogateFidelity

__all__ = ["GlobalSurrogate", "SurrogateFidelity"]

"""Designs shared by several estimators and maskers: enumerations and quasi-random sets.

Nothing here knows about models, maskers or explainers, so both maskers (``LimeTabular``)
and explainers (``Lime``, ``ExactShapley``) may use it.
"""

from .enumeration import all_coalitions
from .sobol import scramble_labels, scramble_sizes, scrambled_sobol, shifted_uniforms

__all__ = [
    "all_coalitions",
    "scramble_labels",
    "scramble_sizes",
    "scrambled_sobol",
    "shifted_uniforms",
]

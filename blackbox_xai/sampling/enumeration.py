"""Enumerated designs: every coalition of a few players, in bitmask order.

Used by exact Shapley values and by LIME's exact mode (all masks enumerated).
"""

from __future__ import annotations

import numpy as np


def all_coalitions(d: int) -> np.ndarray:
    """Every coalition of ``d`` players as a bool matrix; row ``i`` is the bitmask ``i``."""
    codes = np.arange(2**d, dtype=np.int64)
    return ((codes[:, None] >> np.arange(d)) & 1).astype(bool)

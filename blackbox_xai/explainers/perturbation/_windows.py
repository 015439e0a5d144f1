"""Sliding windows along one axis, shared by occlusion over pixels and over players."""

from __future__ import annotations

import numpy as np


def window_starts(size: int, window: int, stride: int) -> np.ndarray:
    """Starts of windows of ``window`` cells every ``stride`` cells along an axis of
    ``size`` cells, with a last window flush with the end so every cell is covered."""
    starts = np.arange(0, size - window + 1, stride)
    if starts[-1] + window < size:
        starts = np.append(starts, size - window)
    return starts


def coverage(size: int, starts: np.ndarray, window: int) -> np.ndarray:
    """``(size, n_windows)`` float indicator: cell ``i`` lies in window ``j``."""
    cells = np.arange(size)[:, None]
    return ((cells >= starts[None, :]) & (cells < starts[None, :] + window)).astype(np.float64)

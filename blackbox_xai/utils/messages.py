"""Warnings that point at the user's line, however deep inside the package they are raised."""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

#: The package's folder: frames from files under it are ours.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outside_package_stacklevel() -> int:
    """``stacklevel`` of the first caller outside blackbox_xai, for :func:`warnings.warn`
    called from the function calling this one (the depth varies with chunking and with
    the joblib backend)."""
    frame: FrameType | None = sys._getframe(2)
    level = 2  # the caller of the function that warns
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with the location of the user's call into the package."""
    warnings.warn(message, category, stacklevel=outside_package_stacklevel())

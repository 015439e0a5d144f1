"""Perturbation maps: occlusion (sliding windows) and RISE (random soft masks)."""

from .occlusion import Occlusion
from .rise import Rise

__all__ = ["Occlusion", "Rise"]

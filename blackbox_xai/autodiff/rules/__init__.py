"""VJP rules, one module per op family; importing this package registers them all."""

from . import (
    activations,
    conv,
    elementwise,
    matmul,
    ml,
    normalization,
    recurrent,
    reductions,
    resize,
    shape,
    softmax,
)

__all__ = [
    "activations",
    "conv",
    "elementwise",
    "matmul",
    "ml",
    "normalization",
    "recurrent",
    "reductions",
    "resize",
    "shape",
    "softmax",
]

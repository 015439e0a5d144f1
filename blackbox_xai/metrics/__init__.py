"""Explanation quality on the prediction-function protocol, for any model.

Faithfulness (deletion and insertion curves, faithfulness correlation, infidelity,
completeness), robustness (max-sensitivity, stability across seeds), sanity checks
(ONNX weight randomisation, label permutation) and :func:`compare`, one table of
explainers against metrics. Each metric function carries ``.info``, a
:class:`MetricInfo` saying what it applies to and which direction is better.
"""

from ._declare import METRICS, MetricInfo
from ._perturb import ImagePerturbation
from .compare import Comparison, compare
from .faithfulness import (
    Curve,
    completeness,
    deletion_curve,
    faithfulness_correlation,
    infidelity,
    insertion_curve,
)
from .robustness import max_sensitivity, stability
from .sanity import (
    SanityResult,
    label_randomization_test,
    model_randomization_test,
    randomize_onnx_weights,
)

__all__ = [
    "METRICS",
    "Comparison",
    "Curve",
    "ImagePerturbation",
    "MetricInfo",
    "SanityResult",
    "compare",
    "completeness",
    "deletion_curve",
    "faithfulness_correlation",
    "infidelity",
    "insertion_curve",
    "label_randomization_test",
    "max_sensitivity",
    "model_randomization_test",
    "randomize_onnx_weights",
    "stability",
]

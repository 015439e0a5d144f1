"""Result types: attributions (``Explanation``), anchors, and their JSON form.

Results never import the report at module level: ``to_html`` imports it when called.
"""

from .anchor_explanation import AnchorExplanation
from .concepts import FeatureVisualizationResult, TcavResult, TopActivationsResult
from .explanation import Explanation
from .json_io import JsonRoundTrip

__all__ = [
    "AnchorExplanation",
    "Explanation",
    "FeatureVisualizationResult",
    "JsonRoundTrip",
    "TcavResult",
    "TopActivationsResult",
]

"""Looking inside a network without a framework: concept tools on ONNX models.

``Tcav`` (concept activation vectors with a significance test), ``FeatureVisualization``
(inputs that maximise a class, channel or neuron), ``TopActivations`` (the dataset inputs
and patches that most activate each unit), ``LayerActivations`` and ``FeatureSpace``
(a layer's maps; nearest neighbours and a t-SNE map in its space). Gradients and
activations come from :class:`~blackbox_xai.DifferentiableOnnxModel` on ONNX Runtime.
"""

from .embeddings import FeatureSpace, LayerActivations
from .feature_visualization import FeatureVisualization
from .tcav import Tcav
from .top_activations import TopActivations

__all__ = ["FeatureSpace", "FeatureVisualization", "LayerActivations", "Tcav", "TopActivations"]

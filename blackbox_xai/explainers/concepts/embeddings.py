"""A layer's activations as images (``LayerActivations``) and as a feature space with
nearest neighbours and a 2-D map (``FeatureSpace``, as in Krizhevsky et al. 2012)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from ...utils.seeding import SeedLike, resolve_seed
from ._network import Network


class LayerActivations:
    """The values of one layer for some inputs: feature maps to look at.

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network.
    layer : str
        Tensor or node name (an error lists the candidates when it does not exist).
    batch_size : int, optional
        Rows per ONNX Runtime call; None: up to 256, fewer for large rows (the
        "model_input" share of the memory budget).
    """

    def __init__(self, model: Any, layer: str, *, batch_size: int | None = None) -> None:
        self.network = Network(model, None, batch_size)
        self.layer = self.network.resolve(layer)

    def compute(self, X: Any) -> np.ndarray:
        """Activations ``(n, *layer shape)`` as float64 (``(n, C, H, W)`` maps for a
        convolution; :func:`blackbox_xai.report.concepts.plot_layer_activations` draws
        them)."""
        return self.network.activations(X, self.layer)


class FeatureSpace:
    """Inputs as points in a layer's space: nearest neighbours and a t-SNE map.

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network.
    layer : str
        Tensor or node name, e.g. the last hidden layer.
    metric : str
        Distance of :class:`sklearn.neighbors.NearestNeighbors` (``"euclidean"``,
        ``"cosine"``...).
    batch_size : int, optional
        Rows per ONNX Runtime call; None: up to 256, fewer for large rows (the
        "model_input" share of the memory budget).

    Attributes
    ----------
    features_ : ndarray (n, d)
        Flattened activations of the inputs given to :meth:`fit`.
    """

    def __init__(
        self, model: Any, layer: str, *, metric: str = "euclidean", batch_size: int | None = None
    ) -> None:
        self.network = Network(model, None, batch_size)
        self.layer = self.network.resolve(layer)
        self.metric = metric
        self.features_: np.ndarray | None = None
        self._nn: NearestNeighbors | None = None

    def fit(self, X: Any) -> FeatureSpace:
        """Compute the features of ``X`` (an array or an iterable of arrays) and index them."""
        acts = self.network.activations(X, self.layer)
        self.features_ = acts.reshape(len(acts), -1)
        self._nn = NearestNeighbors(metric=self.metric).fit(self.features_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Flattened features ``(n, d)`` of new inputs."""
        acts = self.network.activations(X, self.layer)
        return acts.reshape(len(acts), -1)

    def neighbors(self, X: Any, n_neighbors: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices ``(n, n_neighbors)`` of the fitted inputs nearest to ``X``
        in the layer's space (closest first)."""
        if self._nn is None or self.features_ is None:
            raise ValueError("call fit(X) before neighbors().")
        if not 1 <= n_neighbors <= len(self.features_):
            raise ValueError(
                f"n_neighbors must lie in [1, {len(self.features_)}], got {n_neighbors!r}."
            )
        distances, indices = self._nn.kneighbors(self.transform(X), n_neighbors)
        return distances, indices

    def embed(
        self, perplexity: float = 30.0, max_iter: int = 1000, seed: SeedLike = None
    ) -> np.ndarray:
        """A 2-D t-SNE map ``(n, 2)`` of the fitted inputs (``sklearn.manifold.TSNE``,
        ``max_iter`` >= 250 iterations, the first 250 with early exaggeration; PCA start; the exact method up to 300 inputs,
        Barnes-Hut above)."""
        if self.features_ is None:
            raise ValueError("call fit(X) before embed().")
        n = len(self.features_)
        if n < 3:
            raise ValueError(f"a t-SNE map needs at least 3 inputs, got {n}.")
        tsne = TSNE(
            n_components=2,
            perplexity=min(float(perplexity), n - 1.0),
            init="pca",
            random_state=resolve_seed(seed) % (2**32),
            metric=self.metric,
            max_iter=int(max_iter),
            # the exact gradient beats Barnes-Hut's tree below a few hundred points
            method="exact" if n <= 300 else "barnes_hut",
        )
        return np.asarray(tsne.fit_transform(self.features_), dtype=np.float64)

"""Results of the concept tools: TCAV scores, feature visualisations, top activations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TcavResult:
    """TCAV scores of concepts for one class at one layer (Kim et al. 2018).

    Attributes
    ----------
    concepts : list of str
        Concept names (``"a vs b"`` for relative TCAV).
    layer : str
        The tensor the CAVs live in.
    target : int
        The class whose gradient was projected.
    scores : ndarray (n_concepts, n_random)
        Sign-count TCAV scores: the share of target inputs whose class gradient has a
        positive dot product with the CAV, one per random set (or run).
    magnitudes : ndarray (n_concepts, n_random)
        Magnitude scores: the positive directional derivatives' share of their summed
        absolute values.
    random_scores, random_magnitudes : ndarray (n_random,)
        The same scores for CAVs trained between two random sets (the null).
    p_values : ndarray (n_concepts,)
        Two-sided t-test of ``scores`` against ``random_scores``.
    alpha : float
        Significance level.
    cavs : ndarray (n_concepts, n_random, d)
        Unit CAVs (flattened layer activations), pointing towards the concept.
    meta : dict
        Classifier, sizes and seed.
    """

    concepts: list[str]
    layer: str
    target: int
    scores: np.ndarray
    magnitudes: np.ndarray
    random_scores: np.ndarray
    random_magnitudes: np.ndarray
    p_values: np.ndarray
    alpha: float
    cavs: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> np.ndarray:
        """Whether each concept's scores differ from the random ones (``p < alpha``)."""
        return np.asarray(self.p_values < self.alpha)

    @property
    def mean(self) -> np.ndarray:
        """Mean sign-count score per concept."""
        return np.asarray(self.scores.mean(axis=1))

    @property
    def std(self) -> np.ndarray:
        """Standard deviation of the sign-count scores over random sets, per concept."""
        return np.asarray(self.scores.std(axis=1, ddof=1))

    def summary(self) -> list[dict[str, Any]]:
        """One row per concept: mean, std, p-value and ``"significant"`` / ``"not significant"``."""
        return [
            {
                "concept": name,
                "score": float(self.mean[i]),
                "std": float(self.std[i]),
                "magnitude": float(self.magnitudes[i].mean()),
                "p_value": float(self.p_values[i]),
                "verdict": "significant" if self.significant[i] else "not significant",
            }
            for i, name in enumerate(self.concepts)
        ]

    def plot(self, ax: Any = None) -> Any:
        """Scores with error bars, the random null and significance (needs matplotlib);
        see :func:`blackbox_xai.report.concepts.plot_tcav`."""
        from ..report.concepts import plot_tcav

        return plot_tcav(self, ax=ax)

    def __repr__(self) -> str:
        rows = ", ".join(
            f"{r['concept']}: {r['score']:.3f}±{r['std']:.3f} (p={r['p_value']:.3g}, {r['verdict']})"
            for r in self.summary()
        )
        return f"TcavResult(class {self.target} at {self.layer!r}: {rows})"


@dataclass
class FeatureVisualizationResult:
    """Inputs optimised to maximise an objective (Olah et al. 2017).

    Attributes
    ----------
    images : ndarray (n, *row_shape)
        The optimised model inputs.
    objective : tuple
        The objective (``("class", k)``, ``("channel", layer, c)``...).
    values : ndarray (n,)
        The objective at each final image (no transform).
    trace : ndarray (n_steps, n)
        The objective per step (on the transformed input the model saw).
    meta : dict
        Parameterisation, transforms, regularisers, seed.
    """

    images: np.ndarray
    objective: tuple[Any, ...]
    values: np.ndarray
    trace: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def plot(self, image_shape: Any = None) -> Any:
        """The images in a grid, titled with their objective values (needs matplotlib);
        see :func:`blackbox_xai.report.concepts.plot_feature_visualization`."""
        from ..report.concepts import plot_feature_visualization

        return plot_feature_visualization(self, image_shape=image_shape)


@dataclass
class TopActivationsResult:
    """The inputs (and receptive-field patches) that most activate each unit of a layer.

    Attributes
    ----------
    layer : str
        The tensor read.
    indices : ndarray (n_units, k)
        Positions in the dataset of each unit's top inputs, highest first.
    values : ndarray (n_units, k)
        Their activations (for convolutional layers the maximum over positions).
    positions : ndarray (n_units, k, n_spatial) or None
        Where in the layer's map the maximum is.
    boxes : ndarray (n_units, k, n_spatial, 2) or None
        The receptive field of each position in input coordinates, ``[start, stop)``
        per spatial axis, clipped to the input.
    patches : list of list of ndarray, or None
        The input crops of ``boxes`` (``patches[unit][rank]``).
    meta : dict
        Receptive-field size and stride, number of rows read.
    """

    layer: str
    indices: np.ndarray
    values: np.ndarray
    positions: np.ndarray | None = None
    boxes: np.ndarray | None = None
    patches: list[list[np.ndarray]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def plot(self, units: Any = None) -> Any:
        """One row of top patches per unit (needs matplotlib); see
        :func:`blackbox_xai.report.concepts.plot_top_activations`."""
        from ..report.concepts import plot_top_activations

        return plot_top_activations(self, units=units)

"""LIME on any masker: a mask's model output is the masker's game value."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..maskers.base import Masker
from ..models import Model
from ._lime_design import merge_duplicates


class MaskerGame:
    """LIME on any masker's game: a mask's output is the masker's value ``v(z)``.

    Each feature is present with probability 1/2; identical masks of a row are merged
    into one model evaluation with a count, as the game is deterministic. It offers
    ``Lime`` the same methods as ``LimeTabular`` (probe, presence, instance_features,
    draw, expected_values), so ``Lime`` treats every masker alike.
    """

    binary = True
    merges = True

    def __init__(self, masker: Masker) -> None:
        self.masker = masker

    def probe(self, model: Model, X: Any) -> None:
        if model.n_outputs is None:
            calls, rows = model.n_calls, model.n_rows
            self.masker.coalition_values(model, X[:1], np.ones((1, self.masker.n_players), bool))
            model.n_calls, model.n_rows = calls, rows

    def presence(self, X: Any) -> np.ndarray:
        return np.full((len(X), self.masker.n_players), 0.5)

    def instance_features(self, X: Any) -> np.ndarray:
        return np.ones((len(X), self.masker.n_players))

    def draw(
        self, model: Model, X: Any, U: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        Z, counts = merge_duplicates(U < 0.5)
        Y = self.masker.coalition_values(model, X, Z)
        return Z.astype(np.float64), (~Z).sum(axis=-1).astype(np.float64), counts, Y

    def expected_values(self, model: Model, X: Any, Z: np.ndarray, n_replicates: int) -> np.ndarray:
        return self.masker.coalition_values(model, X, Z)

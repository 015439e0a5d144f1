"""LIME on any masker: a mask's model output is the masker's game value."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..maskers.base import Masker
from ..models import Model
from ._lime_design import merge_duplicates


class MaskerGame:
    """LIME on any masker's game: a mask's output is the masker's value ``v(z)``.

    Each feature is present with probability 1/2. The game is deterministic, so
    enumerating all masks is exact and identical masks of a row are merged into one
    model evaluation. It offers ``Lime`` the methods of ``LimeTabular`` that ``Lime``
    uses (``presence``, ``instance_features``, ``draw``), so ``Lime`` treats every
    masker alike.

    Parameters
    ----------
    masker : Masker
        Any masker: its players are LIME's interpretable features.
    """

    binary = True
    deterministic = True

    def __init__(self, masker: Masker) -> None:
        self.masker = masker

    def presence(self, X: Any) -> np.ndarray:
        """Probability ``(n, d)`` that a draw keeps each player: 1/2."""
        return np.full((len(X), self.masker.n_players), 0.5)

    def instance_features(self, X: Any) -> np.ndarray:
        """Interpretable features ``(n, d)`` of the rows themselves: all present."""
        return np.ones((len(X), self.masker.n_players))

    def draw(
        self, model: Model, X: Any, U: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Masks ``U < 1/2`` of each row, merged, and their game values.

        Parameters
        ----------
        model : Model
        X : rows validated by the masker (``n`` of them)
        U : ndarray (n, m, d)
            Uniforms of the draws.

        Returns
        -------
        F : ndarray (n, M, d)
            Distinct masks of each row (padded with copies of its first one).
        dist2 : ndarray (n, M)
            Squared distance of each mask to the row: its number of absent players.
        index : int ndarray (n, m)
            Which of the ``M`` masks each draw is.
        Y : ndarray (n, M, k)
            Game values of the masks.
        """
        Z, index = merge_duplicates(U < 0.5)
        Y = self.masker.coalition_values(model, X, Z)
        return Z.astype(np.float64), (~Z).sum(axis=-1).astype(np.float64), index, Y

"""LIME on any masker: a mask's model output is the masker's game value."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...maskers.base import Masker
from ...models import Model


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


def merge_duplicates(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique masks of each row, padded to a common length, and where each draw went.

    Parameters
    ----------
    Z : bool ndarray (n, m, d)

    Returns
    -------
    unique : bool ndarray (n, M, d)
        Row ``i``'s distinct masks, then copies of its first one as padding.
    index : int ndarray (n, m)
        Position in ``unique[i]`` of each draw ``Z[i, t]``; padding is never pointed to.
    """
    parts = [np.unique(Zi, axis=0, return_inverse=True) for Zi in Z]
    M = max(len(u) for u, _ in parts)
    unique = np.empty((Z.shape[0], M, Z.shape[2]), dtype=bool)
    index = np.empty(Z.shape[:2], dtype=np.int64)
    for i, (u, inverse) in enumerate(parts):
        unique[i, : len(u)] = u
        unique[i, len(u) :] = u[0]
        index[i] = inverse.ravel()
    return unique, index

"""What every masker provides: players, and the game values of coalitions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..models.base import Model


class Masker(ABC):
    """Turns an instance and coalitions ``Z (m, d)`` into game values ``v(Z) (m, k)``.

    Attributes
    ----------
    n_players : int
        ``d``, the number of interpretable features (players).
    player_names : list of str
        Name of each player.
    """

    n_players: int
    player_names: list[str]

    @abstractmethod
    def validate(self, X: Any) -> Any:
        """Check the rows to explain and return them in the masker's working form."""

    @abstractmethod
    def coalition_values(self, model: Model, X: Any, Z: np.ndarray) -> np.ndarray:
        """Game values of coalitions for each row.

        Parameters
        ----------
        model : Model
            The wrapped model.
        X : validated rows (``n`` of them)
        Z : bool array of shape (m, d) shared by every row, or (n, m, d) per row.

        Returns
        -------
        numpy.ndarray of shape (n, m, k).
        """

    def bind(self, model: Model) -> None:
        """Give the model what it needs to read this masker's inputs (no-op by default)."""
        return None

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

    #: Whether the players depend on the instance (a document's tokens, an image's
    #: superpixels). Such a masker is not used directly: explainers split the input with
    #: :meth:`instances` and explain each one through :meth:`for_instance`.
    per_instance: bool = False

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

    def model_rows(self, X: Any) -> Any:
        """Validated rows as the model takes them (as they are by default; images are
        laid out as the model expects)."""
        return X

    # -- maskers whose players depend on the instance ---------------------------------
    def instances(self, X: Any) -> list[Any]:
        """Check the input of a per-instance masker and split it into instances.

        Only maskers with ``per_instance = True`` implement it.
        """
        raise TypeError(f"{type(self).__name__} does not split its input into instances.")

    def for_instance(self, instance: Any) -> InstanceMasker:
        """A masker whose players are those of one instance (per-instance maskers only)."""
        raise TypeError(f"{type(self).__name__} has the same players for every row.")


class InstanceMasker(Masker):
    """A masker bound to one instance of a per-instance masker (one document, one image).

    Its ``n_players`` and ``player_names`` are that instance's; :meth:`rows` is the input
    an explainer passes to :meth:`validate`, and :meth:`instance_meta` what the
    explanation records about the instance (token offsets, segments, ...).
    """

    #: What one instance is, for messages ("document", "image").
    instance_name = "instance"

    @abstractmethod
    def rows(self) -> Any:
        """The bound instance as the one-row input of :meth:`validate`."""

    def predict(self, model: Model, Z: np.ndarray) -> np.ndarray:
        """Model outputs ``(m, k)`` on the instance masked by coalitions ``Z (m, d)``.

        The default :meth:`coalition_values` is built on it; a subclass defines one of
        the two.
        """
        raise NotImplementedError(
            f"{type(self).__name__} defines neither predict nor coalition_values."
        )

    def coalition_values(self, model: Model, X: Any, Z: np.ndarray) -> np.ndarray:
        """Model outputs on the masked instance: ``(1, m, k)``.

        Parameters
        ----------
        model : Model
        X : the bound instance, as validated
        Z : bool array (m, d) or (1, m, d)
        """
        Z = np.asarray(Z, dtype=bool)
        if Z.ndim == 3:
            if Z.shape[0] != 1:
                raise ValueError(
                    f"a bound masker explains one {self.instance_name}; Z has {Z.shape}."
                )
            Z = Z[0]
        return self.predict(model, Z)[None]

    def instance_meta(self) -> dict[str, Any]:
        """Per-instance entries of ``Explanation.meta`` (none by default)."""
        return {}

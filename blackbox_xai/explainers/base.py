"""Shared base of the explainers: model, masker, seed, parallel rows."""

from __future__ import annotations

from typing import Any

from ..maskers import Masker, as_masker
from ..models import Model, wrap
from ..utils.formatting import signature_repr
from ..utils.seeding import SeedLike


class Explainer:
    """Base class: holds the wrapped model, the masker, the seed and ``n_jobs``.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Masker, array-like or DataFrame
        How absent features are represented; rows mean ``Tabular(rows)``.
    seed : int, optional
        Seed of every random draw; None draws one (recorded in ``meta["seed"]``).
    n_jobs : int, optional
        joblib workers over row chunks; None defers to ``joblib.parallel_config``.
    """

    method = "explainer"

    def __init__(
        self, model: Any, masker: Any, *, seed: SeedLike = None, n_jobs: int | None = None
    ) -> None:
        self.model: Model = wrap(model)
        self.masker: Masker = as_masker(masker)
        self.masker.bind(self.model)
        self.seed = seed
        self.n_jobs = n_jobs

    def _configure(self) -> None:
        """Derive what depends on the masker's players (checks, default widths).

        Called by subclasses at the end of ``__init__`` when the masker's players are
        known, and again for each instance of a per-instance masker (text, images),
        bound to that instance. Nothing to derive by default.
        """

    def __repr__(self) -> str:
        # As scikit-learn prints estimators: the parameters that differ from the defaults.
        return signature_repr(
            self, {"masker": self.masker, "masker_or_data": self.masker, "model": self.model}
        )

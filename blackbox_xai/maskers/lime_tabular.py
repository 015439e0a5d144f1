"""LIME's tabular representation: bins of the training data, values drawn from it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from ..models.base import Model
from ..sampling import scrambled_sobol, shifted_uniforms
from ..utils.formatting import Shown, signature_repr
from ..utils.optional import is_dataframe
from ..utils.validation import check_array, feature_names_of
from ._columns import ColumnSchema
from .base import Masker
from .discretize import QuantileBins

#: Stand-ins for 0 and 1 when uniforms go through the normal quantile function.
_TINY = 2.0**-53


class LimeTabular(Masker):
    """Interpretable features of tabular rows as LIME defines them, and draws that realise them.

    With a ``discretizer`` (the default), interpretable feature ``j`` of row ``x`` is
    "``x_j`` is in its bin" (quantile or entropy bins of ``QuantileBins``); a categorical
    feature is "equals ``x_j``". Present feature ``j`` takes a training value from ``x``'s
    bin, absent feature ``j`` a training value from another bin, and each feature is present
    with the training frequency of ``x``'s bin, features independent, as in lime. Without a
    discretizer, numeric features are standardised continuous values drawn around ``x``
    (``x_j + sd_j * N(0, 1)``); categoricals stay binary.

    Every draw is the training value at sorted position ``floor(u * n)`` for a uniform
    ``u``, so a stratified design of uniforms (see ``Lime``) gives stratified values. As
    a ``Masker`` its game ``v(z)`` averages the model over a fixed quasi-random design of
    ``n_replicates`` draws, so it is deterministic.

    Parameters
    ----------
    data : array-like or DataFrame (n, p)
        Training rows (at least two); values are drawn from them.
    discretizer : {"quartile", "decile", "entropy"} or None
        Bins of numeric features; None for standardised continuous features.
    categorical : sequence of int, optional
        Columns compared by equality.
    labels : array-like (n,), optional
        Class labels of ``data``, for ``discretizer="entropy"``.
    feature_names : sequence of str, optional
    n_replicates : int
        Draws averaged per coalition by ``coalition_values``.

    Attributes
    ----------
    bins : QuantileBins
    binary : bool
        True when every interpretable feature is a present/absent indicator.
    deterministic : bool
        False: a mask's output depends on the values drawn for it.
    """

    def __init__(
        self,
        data: Any,
        discretizer: str | None = "quartile",
        categorical: Sequence[int] | None = None,
        labels: Any = None,
        feature_names: Sequence[str] | None = None,
        n_replicates: int = 32,
    ) -> None:
        self.columns = [str(c) for c in data.columns] if is_dataframe(data) else None
        self.dtypes = list(data.dtypes) if is_dataframe(data) else None
        X = check_array(data, name="data")
        if X.shape[0] < 2:
            raise ValueError(
                "LIME draws the values of perturbed features from the training data, which "
                f"has {X.shape[0]} row; pass at least two rows (ideally the training set)."
            )
        names = feature_names_of(data, X.shape[1], feature_names)
        constant = [names[j] for j in np.flatnonzero(np.ptp(X, axis=0) == 0)]
        if constant:
            raise ValueError(
                f"feature(s) {constant} are constant in the training data, so LIME cannot "
                "perturb them and their weight is undefined; drop those columns (or pass "
                "training data in which they vary)."
            )
        self.bins = QuantileBins(
            X, discretizer or "quartile", categorical, feature_names=names, labels=labels
        )
        self.binary = discretizer is not None
        single = [names[j] for j in np.flatnonzero(self.bins.n_bins_ == 1)]
        if single and self.binary:
            # Quantile bins give every varying feature two bins at least; an entropy tree
            # finds no split where the labels do not change along the feature.
            warnings.warn(
                f"feature(s) {single} vary but have a single bin (the entropy tree found no "
                "split), so LIME never perturbs them and gives them weight 0; use "
                "discretizer='quartile' to weigh them.",
                UserWarning,
                stacklevel=3,
            )
        self.player_names = names
        self.feature_names = names
        self.schema = ColumnSchema(
            names, known=self.columns is not None or feature_names is not None
        )
        self.n_players = X.shape[1]
        self.n_replicates = int(n_replicates)
        # Kept for repr only: the parameters as given.
        self._given = {
            "data": Shown(f"<{X.shape[0]} rows x {X.shape[1]} columns>"),
            "discretizer": discretizer,
            "categorical": categorical,
            "labels": None if labels is None else Shown(f"<{len(labels)} labels>"),
            "feature_names": feature_names,
        }
        #: A mask's output depends on the values drawn: masks are not merged, and
        #: enumerating them still averages random draws.
        self.deterministic = False
        self.continuous = np.array(
            [not self.binary and j not in self.bins.categories_ for j in range(X.shape[1])]
        )
        self.sorted_ = np.sort(X, axis=0)
        # Bins are contiguous runs of sorted values: bin b of feature j is sorted positions
        # starts_[j][b] .. starts_[j][b+1] - 1. Draws pick positions, so a draw's bin is
        # known exactly, with no float comparisons at bin edges.
        sorted_bins = self.bins.transform(self.sorted_)
        self.starts_ = [
            np.searchsorted(sorted_bins[:, j], np.arange(self.bins.n_bins_[j] + 1))
            for j in range(X.shape[1])
        ]
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)

    @property
    def n_features(self) -> int:
        """Number of input columns."""
        return self.n_players

    def validate(self, X: Any) -> np.ndarray:
        """Rows to explain as float64 ``(n, p)``; a DataFrame's columns (a Series'
        index) are matched to the feature names by name when those are known, as in
        :meth:`Tabular.validate`."""
        return check_array(self.schema.align(X), name="X", n_features=self.n_features)

    def __repr__(self) -> str:
        return signature_repr(self, self._given)

    def bind(self, model: Model) -> None:
        """Pass a DataFrame's schema to the model; take the model's feature names when
        the training data has none."""
        if self.columns is not None and self.dtypes is not None:
            model.bind_frame_schema(self.columns, self.dtypes)
        if not self.schema.known:
            self.schema.adopt(model.feature_names)
            if self.schema.known:
                self.player_names = self.feature_names = list(self.schema.names)

    def _bin_positions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions ``[start, stop)`` of each row's own bin, per feature: two ``(n, p)``."""
        B = self.bins.transform(X)
        start = np.stack([self.starts_[j][B[:, j]] for j in range(self.n_players)], axis=1)
        stop = np.stack([self.starts_[j][B[:, j] + 1] for j in range(self.n_players)], axis=1)
        return start, stop

    def presence(self, X: np.ndarray) -> np.ndarray:
        """Probability ``(n, p)`` that a draw keeps feature ``j`` in row ``i``'s bin."""
        start, stop = self._bin_positions(X)
        return (stop - start) / self.sorted_.shape[0]

    def instance_features(self, X: np.ndarray) -> np.ndarray:
        """Interpretable features ``(n, p)`` of the rows themselves."""
        return np.where(self.continuous, (X - self.mean_) / self.scale_, 1.0)

    def _values(self, positions: np.ndarray) -> np.ndarray:
        """Sorted training values at ``positions (..., p)``, per column."""
        flat = positions.reshape(-1, self.n_players)
        return np.take_along_axis(self.sorted_, flat, axis=0).reshape(positions.shape)

    @staticmethod
    def _position(u: np.ndarray, count: Any) -> np.ndarray:
        """Position ``floor(u * count)`` in ``[0, count)`` for uniforms ``u`` in ``[0, 1)``."""
        pos = (u * count).astype(np.int64)  # truncation is floor: u * count >= 0
        # u * count can round up to count itself when u is the largest float below 1.
        return np.minimum(pos, np.asarray(count) - 1, out=pos)

    def draw(
        self, model: Model, X: np.ndarray, U: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Perturbed samples of each row from uniforms ``U (n, m, p)``, and the model's outputs.

        Returns
        -------
        F : ndarray (n, m, p)
            Interpretable features (masks, or standardised values).
        dist2 : ndarray (n, m)
            Squared distance of each sample to its row in the interpretable space.
        index : None
            Every sample is its own draw (no merging).
        Y : ndarray (n, m, k)
            Model outputs.
        """
        pos = self._position(U, self.sorted_.shape[0])
        inputs = self._values(pos)
        F, dist2 = self.masks_at(X, pos)
        cont = self.continuous
        if cont.any():
            eps = ndtri(np.clip(U[..., cont], _TINY, 1.0 - _TINY))
            inputs[..., cont] = X[:, None, cont] + self.scale_[cont] * eps
            dist2 = (1.0 - F[..., ~cont]).sum(axis=-1) + (eps**2).sum(axis=-1)
            F[..., cont] = eps + ((X[:, cont] - self.mean_[cont]) / self.scale_[cont])[:, None]
        Y = self._predict(model, inputs)
        return F, dist2, None, Y

    def shared_draw(self, model: Model, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draws from uniforms ``U (m, p)`` that serve every row: positions ``(m, p)``, outputs ``(m, k)``.

        With bins, a draw's values do not depend on the explained row, only its mask
        does (``masks_at``), so one set of draws and model outputs serves all rows.
        """
        if not self.binary:
            raise ValueError(
                "standardised continuous features are drawn around each row, so draws "
                "cannot be shared between rows; use a discretizer to share them."
            )
        pos = self._position(U, self.sorted_.shape[0])
        return pos, self._predict(model, self._values(pos)[None])[0]

    def masks_at(self, X: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks ``(n, m, p)`` of draws at sorted ``positions`` ((m, p) or (n, m, p)) for each row,
        and their squared distances ``(n, m)`` to the row (the number of absent features)."""
        start, stop = self._bin_positions(X)
        present = (start[:, None, :] <= positions) & (positions < stop[:, None, :])
        return present.astype(np.float64), (~present).sum(axis=-1).astype(np.float64)

    def expected_values(
        self, model: Model, X: np.ndarray, Z: np.ndarray, U: np.ndarray
    ) -> np.ndarray:
        """Model outputs ``(n, M, T, k)`` of masks ``Z (M, p)`` at each of ``T`` draws.

        Draw ``t`` of row ``i`` takes, for feature ``j``, the ``U[i, t, j]`` quantile of
        the training values in the row's bin when ``j`` is present and of those in the
        other bins when it is absent. The uniforms ``U (n, T, p)`` (or ``(T, p)`` for all
        rows) are shared by every mask, so masks differ only where they differ.
        """
        if not self.binary:
            raise ValueError(
                "masks have no meaning for standardised continuous features; use a "
                "discretizer to enumerate masks."
            )
        U = np.broadcast_to(U, (len(X), *np.shape(U)[-2:]))
        start, stop = self._bin_positions(X)
        start, stop = start[:, None, None, :], stop[:, None, None, :]
        L = U[:, None]  # (n, 1, T, p)
        inside = start + self._position(L, stop - start)
        outside = self._position(L, self.sorted_.shape[0] - (stop - start))
        outside = np.where(outside >= start, outside + (stop - start), outside)
        positions = np.where(Z[None, :, None, :], inside, outside)  # (n, M, T, p)
        Y = self._predict(model, self._values(positions).reshape(len(X), -1, self.n_players))
        return Y.reshape(len(X), Z.shape[0], U.shape[1], -1)

    def coalition_values(self, model: Model, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Deterministic game values ``(n, m, k)``: means over ``n_replicates`` fixed draws.

        The draws are one scrambled Sobol' set with a fixed seed, the same for every
        call, so the game does not depend on any seed.
        """
        Z = np.asarray(Z, dtype=bool)
        if Z.ndim != 2:
            raise ValueError(f"LimeTabular needs masks shared by all rows, (m, p); got {Z.shape}.")
        rng, sizes = np.random.default_rng(0), np.array([self.n_replicates])
        U = shifted_uniforms(scrambled_sobol(rng, sizes, Z.shape[1]), sizes, rng)
        values = self.expected_values(model, np.asarray(X, dtype=np.float64), Z, U)
        return values.mean(axis=2)

    def _predict(self, model: Model, inputs: np.ndarray) -> np.ndarray:
        n, m, p = inputs.shape
        return model(inputs.reshape(n * m, p)).reshape(n, m, -1)

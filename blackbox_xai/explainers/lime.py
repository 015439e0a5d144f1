"""LIME: local weighted-ridge surrogates on interpretable features, with lower variance."""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite, sqrt
from typing import Any

import numpy as np

from ..explanation import Explanation
from ..maskers.base import Masker
from ..maskers.lime_tabular import LimeTabular
from ..models import Model, wrap
from ..utils.parallel import map_row_chunks
from ..utils.seeding import SeedLike, resolve_seed, row_rng
from ..utils.validation import check_positive_int
from ._lime_design import kernel_weights, mask_probabilities, stratified_uniforms
from ._lime_game import MaskerGame
from ._lime_select import SELECTIONS, select_features
from ._ridge import RidgeFit, weighted_r2, weighted_ridge
from ._targets import output_indices
from .base import Explainer
from .exact import all_coalitions

#: Most masks enumerated per row (2**16): beyond that, sampling at the same budget is cheaper.
MAX_ENUMERATED = 2**16

#: Fewest fixed draws averaged per enumerated tabular mask; with fewer, sample instead.
MIN_REPLICATES = 8

#: Model-input cells (samples x columns) built at once per block of rows (~32 MiB).
_BLOCK_CELLS = 2**20


class Lime(Explainer):
    """LIME with enumerated or stratified samples, a weighted ridge and standard errors.

    For each explained row, samples of the interpretable features ``z`` are turned into
    model inputs, weighted by the kernel ``exp(-D(z)^2 / (2 w^2))`` of their distance to the
    row (lime's weighting; ``w = 0.75 sqrt(d)`` by default, lime's width), and a weighted
    ridge regression of the model outputs on ``z`` gives the attributions.

    Compared with lime: when ``2**d <= n_samples`` every mask is enumerated and weighted
    by its probability (exact, no seed involved); otherwise the uniforms behind the draws
    are a Latin hypercube in antithetic pairs; identical masks of deterministic games are
    evaluated once; every output is fitted at once; the coefficients come with standard
    errors, and the fit with its weighted R^2 on the samples and on fresh held-out samples.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker_or_data : array-like, DataFrame or Masker
        Training rows (for :class:`LimeTabular`, lime's tabular representation), a
        ``LimeTabular``, or any other masker (then a mask's output is the masker's game
        value, each feature present with probability 1/2: words, superpixels, or for
        ``Tabular`` interventional replacement by background rows).
    kernel_width : float, optional
        ``w`` of the kernel; ``0.75 * sqrt(d)`` by default.
    seed : int, optional
        Seed of every random draw; None draws one (recorded in ``meta["seed"]``).
    n_jobs : int, optional
        joblib workers over row chunks; results do not depend on it.
    discretizer : {"quartile", "decile", "entropy"} or None
        Bins of numeric features when ``masker_or_data`` is data; None for standardised
        continuous features.
    categorical : sequence of int, optional
        Categorical columns of the data (binned by equality).
    labels : array-like, optional
        Class labels of the data for ``discretizer="entropy"``; by default the model's
        most probable class.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> f = lambda A: A @ np.array([2.0, 0.0, -1.0])
    >>> expl = bx.Lime(f, X, seed=0).explain(X[:1])  # 2**3 masks: enumerated, exact
    >>> expl.values.shape, bool(abs(expl.values[0, 1, 0]) < 1e-12)  # x1 is unused
    ((1, 3, 1), True)
    """

    method = "lime"

    def __init__(
        self,
        model: Any,
        masker_or_data: Any,
        kernel_width: float | None = None,
        seed: SeedLike = None,
        n_jobs: int | None = None,
        *,
        discretizer: str | None = "quartile",
        categorical: Any = None,
        labels: Any = None,
    ) -> None:
        model = wrap(model)
        rep = masker_or_data
        if not isinstance(rep, Masker):
            if discretizer == "entropy" and labels is None:
                labels = _predicted_classes(model, rep)
            rep = LimeTabular(rep, discretizer, categorical, labels)
        super().__init__(model, rep, seed=seed, n_jobs=n_jobs)
        self.game = rep if isinstance(rep, LimeTabular) else MaskerGame(rep)
        d = self.masker.n_players
        if kernel_width is not None and not (isfinite(kernel_width) and kernel_width > 0):
            raise ValueError(f"kernel_width must be a positive number, got {kernel_width!r}.")
        self.kernel_width = float(kernel_width) if kernel_width is not None else 0.75 * sqrt(d)

    def explain(
        self,
        X: Any,
        n_samples: int = 5000,
        n_features: int | None = None,
        target: int | str | None = None,
        *,
        feature_selection: str = "auto",
        alpha: float = 1.0,
        exact: bool | None = None,
        n_holdout: int | None = None,
        chunk_size: int | None = None,
    ) -> Explanation:
        """Local surrogate coefficients of the rows of ``X``.

        Parameters
        ----------
        X : rows to explain (validated by the masker).
        n_samples : int
            Model evaluations per row for the fit (masks x draws when enumerating).
        n_features : int, optional
            Features kept in each surrogate (per output); all when None.
        target : int or str, optional
            The output to explain (index or name); all outputs when None.
        feature_selection : {"auto", "forward", "highest_weights", "lasso_path", "none"}
            How ``n_features`` are chosen (see ``_lime_select.select_features``).
        alpha : float
            Ridge penalty (lime's default 1, on kernel weights that are at most 1 each).
        exact : bool, optional
            Enumerate all ``2**d`` masks, or always sample. By default masks are
            enumerated when every interpretable feature is binary and they fit the budget:
            ``2**d <= n_samples``, or for ``LimeTabular`` ``2**d * MIN_REPLICATES <=
            n_samples`` (each mask then averages ``n_samples // 2**d`` fixed draws).
        n_holdout : int, optional
            Fresh samples per row for the held-out fidelity; ``n_samples // 10`` by default.
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.

        Returns
        -------
        Explanation
            ``values (n, d, k)`` coefficients (0 for features not selected),
            ``base_values (n, k)`` intercepts, ``stderr``, and in ``meta``: ``r2`` (weighted
            R^2 on the samples), ``holdout_r2`` (on fresh samples), ``selected`` features,
            ``local_prediction`` (the surrogate at the row itself).
        """
        X = self.masker.validate(X)
        setup = self._setup(
            X, n_samples, n_features, target, feature_selection, alpha, exact, n_holdout
        )
        calls, rows = self.model.n_calls, self.model.n_rows
        parts = map_row_chunks(
            lambda model, start, stop: self._explain_rows(model, X, start, stop, setup),
            self.model,
            len(X),
            n_jobs=self.n_jobs,
            chunk_size=chunk_size,
        )
        fits = [fit for part in parts for fit in part]
        names = self.masker.player_names
        per_mask = 2**self.masker.n_players * setup.n_replicates
        n_evals = (per_mask if setup.exact else setup.n_samples) + setup.n_holdout
        return Explanation(
            np.stack([f.fit.coef for f in fits]),
            np.stack([f.fit.intercept for f in fits]),
            stderr=np.stack([f.fit.stderr for f in fits]),
            data=X,
            feature_names=names,
            output_names=[(self.model.output_names or [])[t] for t in setup.targets],
            method=self.method,
            meta={
                "seed": setup.entropy,
                "n_evals": [n_evals] * len(X),
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": [True] * len(X),
                "r2": np.stack([f.fit.r2 for f in fits]).tolist(),
                "holdout_r2": np.stack([f.holdout_r2 for f in fits]).tolist(),
                "local_prediction": np.stack([f.local_prediction for f in fits]).tolist(),
                "selected": [[[names[j] for j in s] for s in f.selected] for f in fits],
                "parameters": {
                    "n_samples": setup.n_samples,
                    "n_features": setup.n_features,
                    "feature_selection": setup.selection,
                    "alpha": setup.alpha,
                    "kernel_width": self.kernel_width,
                    "exact": setup.exact,
                    "n_replicates": setup.n_replicates,
                    "n_holdout": setup.n_holdout,
                    "target": target,
                },
            },
        )

    def _setup(
        self,
        X: Any,
        n_samples: int,
        n_features: int | None,
        target: int | str | None,
        selection: str,
        alpha: float,
        exact: bool | None,
        n_holdout: int | None,
    ) -> _Setup:
        """Check the arguments of ``explain`` and settle the sampling plan."""
        d = self.masker.n_players
        n_samples = check_positive_int(n_samples, "n_samples")
        if n_samples < d + 2:
            raise ValueError(
                f"n_samples={n_samples} is too small for {d} interpretable features: the "
                f"surrogate has {d + 1} parameters (coefficients and intercept); use "
                f"n_samples >= {d + 2} (the default is 5000)."
            )
        if n_features is not None:
            n_features = check_positive_int(n_features, "n_features")
            if n_features > d:
                raise ValueError(
                    f"n_features={n_features} is more than the {d} interpretable features; "
                    f"pass at most {d} (or None for all)."
                )
        if selection not in SELECTIONS:
            raise ValueError(f"feature_selection must be one of {SELECTIONS}, got {selection!r}.")
        if not (isinstance(alpha, (int, float)) and isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
        if exact and not self.game.binary:
            raise ValueError(
                "exact=True enumerates masks, but standardised continuous features are not "
                "masks; pass a discretizer or exact=None."
            )
        if exact and 2**d > MAX_ENUMERATED:
            raise ValueError(
                f"exact=True would enumerate 2**{d} masks per row, more than "
                f"{MAX_ENUMERATED}; use exact=None to sample."
            )
        replicates = isinstance(self.game, LimeTabular)
        if exact is None:
            # A tabular mask's value averages draws: enumerate only with enough of them.
            exact = self.game.binary and 2**d * (MIN_REPLICATES if replicates else 1) <= n_samples
        self.game.probe(self.model, X)
        return _Setup(
            exact=bool(exact),
            n_samples=n_samples,
            n_holdout=max(1, n_samples // 10)
            if n_holdout is None
            else check_positive_int(n_holdout, "n_holdout"),
            n_replicates=max(1, n_samples // 2**d) if exact and replicates else 1,
            n_features=n_features,
            selection=selection,
            alpha=float(alpha),
            targets=output_indices(target, self.model.output_names or []),
            entropy=resolve_seed(self.seed),
        )

    def _explain_rows(
        self, model: Model, X: Any, start: int, stop: int, setup: _Setup
    ) -> list[_RowFit]:
        """Fit rows ``start:stop`` in blocks; one model call (or two) per block."""
        d = self.masker.n_players
        per_row = (2**d * setup.n_replicates if setup.exact else setup.n_samples) + setup.n_holdout
        block = max(1, _BLOCK_CELLS // (per_row * getattr(self.masker, "n_features", d)))
        out = []
        for s in range(start, stop, block):
            e = min(stop, s + block)
            rngs = [row_rng(setup.entropy, i) for i in range(s, e)]
            draw = self._enumerated if setup.exact else self._sampled
            fit_set, hold_set = draw(model, X[s:e], rngs, setup)
            f_inst = self.game.instance_features(X[s:e])
            for i in range(e - s):
                out.append(
                    self._fit_row(fit_set.row(i, setup), hold_set.row(i, setup), f_inst[i], setup)
                )
        return out

    def _enumerated(
        self, model: Model, Xb: Any, rngs: list[np.random.Generator], setup: _Setup
    ) -> tuple[_Samples, _Samples]:
        """Every mask, weighted by its probability times its kernel weight; fresh hold-out."""
        d = self.masker.n_players
        Z = all_coalitions(d)
        Y = self.game.expected_values(model, Xb, Z, setup.n_replicates)
        prob = mask_probabilities(Z, self.game.presence(Xb))
        pi = kernel_weights((~Z).sum(axis=1).astype(np.float64), self.kernel_width)
        w = setup.n_samples * prob * pi
        F = np.broadcast_to(Z.astype(np.float64), (len(w), *Z.shape))
        # Enumerated, not drawn: no sampling error, so zero squared draw weights.
        fit_set = _Samples(F, Y, w, np.zeros_like(w))
        U_hold = np.stack([r.random((setup.n_holdout, d)) for r in rngs])
        return fit_set, self._weighted(*self.game.draw(model, Xb, U_hold))

    def _sampled(
        self, model: Model, Xb: Any, rngs: list[np.random.Generator], setup: _Setup
    ) -> tuple[_Samples, _Samples]:
        """Quasi-random draws for the fit, independent ones for the hold-out."""
        d, m = self.masker.n_players, setup.n_samples
        U = np.stack(
            [
                np.concatenate([stratified_uniforms(r, m, d), r.random((setup.n_holdout, d))])
                for r in rngs
            ]
        )
        if self.game.merges:  # merge the fit's and the hold-out's duplicate masks apart
            return (
                self._weighted(*self.game.draw(model, Xb, U[:, :m])),
                self._weighted(*self.game.draw(model, Xb, U[:, m:])),
            )
        F, dist2, _, Y = self.game.draw(model, Xb, U)  # one model call, split by position
        return (
            self._weighted(F[:, :m], dist2[:, :m], None, Y[:, :m]),
            self._weighted(F[:, m:], dist2[:, m:], None, Y[:, m:]),
        )

    def _weighted(
        self, F: np.ndarray, dist2: np.ndarray, counts: np.ndarray | None, Y: np.ndarray
    ) -> _Samples:
        """Draws with kernel weights (times their multiplicity when merged)."""
        pi = kernel_weights(dist2, self.kernel_width)
        if counts is None:
            return _Samples(F, Y, pi, pi**2)
        return _Samples(F, Y, counts * pi, counts * pi**2)

    @staticmethod
    def _fit_row(
        fit_set: _Samples, hold_set: _Samples, f_inst: np.ndarray, setup: _Setup
    ) -> _RowFit:
        """The surrogate of one row, its held-out fidelity and its selected features."""
        F, Y, w, w2 = fit_set.F, fit_set.Y, fit_set.w, fit_set.w2
        d, k = F.shape[1], Y.shape[1]
        n_obs = None if setup.exact else setup.n_samples
        nf = setup.n_features
        if nf is None or nf >= d or setup.selection == "none":
            fit = weighted_ridge(F, Y, w, setup.alpha, w2, n_obs)
            selected = [np.arange(d)] * k
        else:
            coef, se = np.zeros((d, k)), np.zeros((d, k))
            intercept, r2 = np.zeros(k), np.zeros(k)
            selected = []
            for o in range(k):
                sel = select_features(F, Y[:, o], w, nf, setup.selection, setup.alpha, f_inst)
                part = weighted_ridge(F[:, sel], Y[:, [o]], w, setup.alpha, w2, n_obs)
                coef[sel, o], se[sel, o] = part.coef[:, 0], part.stderr[:, 0]
                intercept[o], r2[o] = part.intercept[0], part.r2[0]
                selected.append(sel)
            fit = RidgeFit(coef=coef, intercept=intercept, stderr=se, r2=r2)
        return _RowFit(
            fit=fit,
            holdout_r2=weighted_r2(hold_set.Y, fit.predict(hold_set.F), hold_set.w),
            local_prediction=fit.predict(f_inst[None])[0],
            selected=selected,
        )


@dataclass(frozen=True)
class _Samples:
    """A block's samples: features ``F (n, m, d)``, outputs ``Y (n, m, k)``, weights ``(n, m)``.

    ``w`` weights the regression; ``w2`` sums the squared weights of the draws behind each
    sample (for the standard errors).
    """

    F: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    w2: np.ndarray

    def row(self, i: int, setup: _Setup) -> _Samples:
        """Row ``i``'s samples, with only the explained outputs."""
        return _Samples(self.F[i], self.Y[i][:, setup.targets], self.w[i], self.w2[i])


@dataclass(frozen=True)
class _RowFit:
    """One explained row: its surrogate, held-out R^2 (k,), prediction at the row (k,)."""

    fit: RidgeFit
    holdout_r2: np.ndarray
    local_prediction: np.ndarray
    selected: list[np.ndarray]


@dataclass(frozen=True)
class _Setup:
    """The per-call settings ``Lime.explain`` hands to its row workers."""

    exact: bool
    n_samples: int
    n_holdout: int
    n_replicates: int
    n_features: int | None
    selection: str
    alpha: float
    targets: list[int]
    entropy: int


def _predicted_classes(model: Model, data: Any) -> np.ndarray:
    """The model's most probable class of each training row (labels for entropy bins)."""
    out = model(data)
    if out.shape[1] < 2:
        raise ValueError(
            "discretizer='entropy' needs class labels and the model has a single output; "
            "pass labels= (the training labels) or use 'quartile'/'decile'."
        )
    return out.argmax(axis=1)

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
from ._lime_design import (
    kernel_weights,
    mask_probabilities,
    merge_duplicates,
    stratified_uniforms,
)
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


class _MaskerGame:
    """LIME on any masker's game: a mask's output is the masker's value ``v(z)``.

    Each feature is present with probability 1/2; identical masks of a row are merged
    into one model evaluation with a count, as the game is deterministic.
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
        self.game = rep if isinstance(rep, LimeTabular) else _MaskerGame(rep)
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
            Enumerate all ``2**d`` masks (default: when ``2**d <= n_samples`` and every
            interpretable feature is binary) or always sample.
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
        if feature_selection not in SELECTIONS:
            raise ValueError(
                f"feature_selection must be one of {SELECTIONS}, got {feature_selection!r}."
            )
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
        n_holdout = (
            max(1, n_samples // 10)
            if n_holdout is None
            else check_positive_int(n_holdout, "n_holdout")
        )
        self.game.probe(self.model, X)
        targets = output_indices(target, self.model.output_names or [])
        entropy = resolve_seed(self.seed)
        n_replicates = max(1, n_samples // 2**d) if exact and replicates else 1
        setup = _Setup(
            exact=bool(exact),
            n_samples=n_samples,
            n_holdout=n_holdout,
            n_replicates=n_replicates,
            n_features=n_features,
            selection=feature_selection,
            alpha=float(alpha),
            targets=targets,
            entropy=entropy,
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
        coef = np.stack([f[0].coef for f in fits])
        names = self.masker.player_names
        n_evals = 2**d * setup.n_replicates + n_holdout if exact else n_samples + n_holdout
        return Explanation(
            coef,
            np.stack([f[0].intercept for f in fits]),
            stderr=np.stack([f[0].stderr for f in fits]),
            data=X,
            feature_names=names,
            output_names=[(self.model.output_names or [])[t] for t in targets],
            method=self.method,
            meta={
                "seed": entropy,
                "n_evals": [n_evals] * len(X),
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": [True] * len(X),
                "r2": np.stack([f[0].r2 for f in fits]).tolist(),
                "holdout_r2": np.stack([f[1] for f in fits]).tolist(),
                "local_prediction": np.stack([f[2] for f in fits]).tolist(),
                "selected": [[[names[j] for j in s] for s in f[3]] for f in fits],
                "parameters": {
                    "n_samples": n_samples,
                    "n_features": n_features,
                    "feature_selection": feature_selection,
                    "alpha": float(alpha),
                    "kernel_width": self.kernel_width,
                    "exact": bool(exact),
                    "n_replicates": setup.n_replicates,
                    "n_holdout": n_holdout,
                    "target": target,
                },
            },
        )

    def _explain_rows(
        self, model: Model, X: Any, start: int, stop: int, setup: _Setup
    ) -> list[tuple[RidgeFit, np.ndarray, np.ndarray, list[np.ndarray]]]:
        """Fit rows ``start:stop`` in blocks; one model call (or two) per block."""
        d = self.masker.n_players
        game = self.game
        per_row = (
            2**d * setup.n_replicates + setup.n_holdout
            if setup.exact
            else setup.n_samples + setup.n_holdout
        )
        block = max(1, _BLOCK_CELLS // (per_row * getattr(self.masker, "n_features", d)))
        Z_all = all_coalitions(d) if setup.exact else None
        out = []
        for s in range(start, stop, block):
            e = min(stop, s + block)
            Xb = X[s:e]
            rngs = [row_rng(setup.entropy, i) for i in range(s, e)]
            if setup.exact:
                assert Z_all is not None
                U_hold = np.stack([r.random((setup.n_holdout, d)) for r in rngs])
                Y = game.expected_values(model, Xb, Z_all, setup.n_replicates)
                F = np.broadcast_to(Z_all.astype(np.float64), (e - s, *Z_all.shape))
                prob = mask_probabilities(Z_all, game.presence(Xb))
                pi = kernel_weights((~Z_all).sum(axis=1).astype(np.float64), self.kernel_width)
                w = setup.n_samples * prob * pi
                w2 = np.zeros_like(w)  # enumerated, not drawn: no sampling error
                Fh, dh, ch, Yh = game.draw(model, Xb, U_hold)
            else:
                U = np.stack(
                    [
                        np.concatenate(
                            [
                                stratified_uniforms(r, setup.n_samples, d),
                                r.random((setup.n_holdout, d)),
                            ]
                        )
                        for r in rngs
                    ]
                )
                m = setup.n_samples
                if game.merges:  # merge the fit's and the hold-out's duplicates apart
                    F, dist2, c, Y = game.draw(model, Xb, U[:, :m])
                    Fh, dh, ch, Yh = game.draw(model, Xb, U[:, m:])
                else:  # one model call for both, split by position
                    Fa, da, _, Ya = game.draw(model, Xb, U)
                    F, dist2, c, Y = Fa[:, :m], da[:, :m], None, Ya[:, :m]
                    Fh, dh, ch, Yh = Fa[:, m:], da[:, m:], None, Ya[:, m:]
                pi = kernel_weights(dist2, self.kernel_width)
                w, w2 = (pi, pi**2) if c is None else (c * pi, c * pi**2)
            wh = kernel_weights(dh, self.kernel_width) * (1.0 if ch is None else ch)
            f_inst = game.instance_features(Xb)
            for i in range(e - s):
                out.append(
                    self._fit_row(
                        F[i],
                        Y[i][:, setup.targets],
                        w[i],
                        w2[i],
                        f_inst[i],
                        setup,
                        holdout=(Fh[i], Yh[i][:, setup.targets], wh[i]),
                    )
                )
        return out

    @staticmethod
    def _fit_row(
        F: np.ndarray,
        Y: np.ndarray,
        w: np.ndarray,
        w2: np.ndarray,
        f_inst: np.ndarray,
        setup: _Setup,
        holdout: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[RidgeFit, np.ndarray, np.ndarray, list[np.ndarray]]:
        """The surrogate of one row: (fit, held-out R^2, local prediction, selections)."""
        d, k = F.shape[1], Y.shape[1]
        n_obs = 0 if setup.exact else setup.n_samples
        nf = setup.n_features
        if nf is None or nf >= d or setup.selection == "none":
            fit = weighted_ridge(F, Y, w, setup.alpha, w2, n_obs or None)
            selected = [np.arange(d)] * k
        else:
            coef, se = np.zeros((d, k)), np.zeros((d, k))
            intercept, r2 = np.zeros(k), np.zeros(k)
            selected = []
            for o in range(k):
                sel = select_features(F, Y[:, o], w, nf, setup.selection, setup.alpha, f_inst)
                part = weighted_ridge(F[:, sel], Y[:, [o]], w, setup.alpha, w2, n_obs or None)
                coef[sel, o], se[sel, o] = part.coef[:, 0], part.stderr[:, 0]
                intercept[o], r2[o] = part.intercept[0], part.r2[0]
                selected.append(sel)
            fit = RidgeFit(coef=coef, intercept=intercept, stderr=se, r2=r2)
        Fh, Yh, wh = holdout
        holdout_r2 = weighted_r2(Yh, fit.predict(Fh), wh)
        return fit, holdout_r2, fit.predict(f_inst[None])[0], selected


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

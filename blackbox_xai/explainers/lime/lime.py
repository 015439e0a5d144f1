"""LIME: local weighted-ridge surrogates on interpretable features, with lower variance."""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite, sqrt
from typing import Any

import numpy as np

from ...maskers.base import Masker
from ...maskers.lime_tabular import LimeTabular
from ...models import Model, wrap
from ...results import Explanation
from ...sampling import (
    all_coalitions,
    scramble_labels,
    scramble_sizes,
    scrambled_sobol,
    shifted_uniforms,
)
from ...utils import progress
from ...utils.config import budget_mb
from ...utils.parallel import map_row_chunks
from ...utils.seeding import SeedLike, resolve_seed, row_rng
from ...utils.validation import check_positive_int
from .._instances import splits_instances
from .._sequential import check_tol, converged
from .._targets import output_indices, target_meta
from ..base import Explainer
from ._game import MaskerGame
from ._ridge import RidgeFit, weighted_r2, weighted_ridge
from ._select import SELECTIONS, select_features
from ._weights import kernel_weights, mask_probabilities

#: Most masks enumerated per row (2**16): beyond that, sampling at the same budget is cheaper.
MAX_ENUMERATED = 2**16

#: Model-input cells (samples x columns) built at once per block of rows take this
#: fraction of the "game_values" share of the memory budget (2**20 cells, ~32 MiB with
#: their temporaries, by default).
_BLOCK_DIVISOR = 8

#: Bytes one sample of a row's design takes per interpretable feature (plus one), at the
#: peak of its fit (measured with tracemalloc: 58-64 for d = 10 and 40), and per model
#: column of the inputs it is drawn as (float64, and one copy).
_BYTES_PER_SAMPLE_PER_PLAYER = 64
_BYTES_PER_SAMPLE_PER_COLUMN = 16

#: Spawn key of the stream behind draws shared by all rows: two words, so it is never a
#: row's key ``(row,)``, and it depends on the seed alone, not on the rows explained.
_SHARED_KEY = (2**32 - 1, 0)


class Lime(Explainer):
    """LIME with enumerated or quasi-random samples, a weighted ridge and standard errors.

    For each explained row, samples of the interpretable features ``z`` are turned into
    model inputs, weighted by the kernel ``exp(-D(z)^2 / (2 w^2))`` of their distance to the
    row (the weight lime applies, which it writes ``sqrt(exp(-D^2 / w^2))``; ``w = 0.75
    sqrt(d)`` by default, lime's width), and a weighted ridge regression of the model
    outputs on ``z`` gives the attributions.

    Compared with lime: the samples come from independently scrambled Sobol' sets
    (quasi-random, so the coefficients vary less from seed to seed), and the spread
    between the sets gives standard errors that match the real seed-to-seed variation;
    a masker's deterministic game has all ``2**d`` masks enumerated when the budget
    covers them, weighted by their probability, which makes the result exact; identical
    masks of such games are evaluated once; with tabular bins one set of draws and model
    evaluations serves every row (``share_samples``); every output is fitted at once; the fit
    reports its weighted R^2 on the samples and on fresh held-out samples.

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
    >>> expl = bx.Lime(f, X, seed=0).explain(X[:1])
    >>> expl.values.shape
    (1, 3, 1)
    >>> # x1 is unused: its weight is zero within its standard error.
    >>> bool(abs(expl.values[0, 1, 0]) < 3 * expl.stderr[0, 1, 0])
    True
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
        if kernel_width is not None and not (isfinite(kernel_width) and kernel_width > 0):
            raise ValueError(f"kernel_width must be a positive number, got {kernel_width!r}.")
        self._kernel_width = None if kernel_width is None else float(kernel_width)
        if not self.masker.per_instance:
            self._configure()

    def _configure(self) -> None:
        self.game = self.masker if isinstance(self.masker, LimeTabular) else MaskerGame(self.masker)
        # lime's default width, 0.75 sqrt(d), for the players of this masker (instance).
        d = self.masker.n_players
        self.kernel_width = self._kernel_width if self._kernel_width is not None else 0.75 * sqrt(d)

    @splits_instances
    def explain(
        self,
        X: Any,
        n_samples: int = 5000,
        n_features: int | None = None,
        target: int | str | None = None,
        *,
        feature_selection: str = "auto",
        alpha: float = 1.0,
        enumerate_masks: bool | None = None,
        n_holdout: int | None = None,
        tol: float | None = 0.05,
        chunk_size: int | None = None,
        progress: bool = False,
        share_samples: bool | None = None,
    ) -> Explanation:
        """Local surrogate coefficients of the rows of ``X``.

        Parameters
        ----------
        X : array-like, DataFrame, or what the masker explains (texts, images)
            Rows to explain; validated by the masker (for tabular data ``(n, p)``
            numeric, with the training data's columns).
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
        enumerate_masks : bool, optional
            Enumerate all ``2**d`` masks, or always sample. By default a masker's game
            (deterministic) is enumerated when ``2**d <= n_samples``, which makes the
            result exact, and ``LimeTabular`` is sampled. With ``True``, each
            ``LimeTabular`` mask averages ``n_samples // 2**d`` draws of the values, so
            the result keeps a sampling error (reported; larger than sampling's).
        n_holdout : int, optional
            Fresh samples per row for the held-out fidelity (drawn after, and apart
            from, the fit's samples); ``n_samples // 10`` by default, 0 for none.
        tol : float, optional
            A row has converged when, for every output, ``max_j SE_j <= tol *
            (max_j coef_j - min_j coef_j)``: its standard errors are small next to the
            spread of its coefficients. It only judges; no samples are added. None
            marks every row converged.
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.
        progress : bool
            Show a progress bar over the rows on stderr (needs tqdm); the values do
            not depend on it.
        share_samples : bool, optional
            Use one set of draws (and one set of model evaluations) for every row. With
            ``LimeTabular`` bins a draw's values come from the training data whatever the
            row; only its mask ("in the row's bin") depends on the row. Each row's draws
            are then distributed exactly as its own would be (the same scrambled Sobol'
            design with one random shift that depends on the seed alone), so a row's
            result does not depend on the other rows, and its accuracy and standard
            errors are those of per-row draws; only the rows' errors become correlated.
            The model evaluates ``n_samples + n_holdout`` rows in all instead of as many
            per row. By default on for sampled ``LimeTabular`` bins, where it applies.

        Returns
        -------
        Explanation
            ``values (n, d, k)`` coefficients (0 for features not selected),
            ``base_values (n, k)`` intercepts, ``stderr`` (standard errors over the
            random draws; 0 when ``meta["exact"]``), and in ``meta``: ``exact``
            (enumerated masks of a deterministic game: no sampling error),
            ``converged`` (per row, see ``tol``), ``r2`` (weighted R^2 on the samples),
            ``holdout_r2`` (on fresh samples; None without them), ``selected``
            features, ``local_prediction`` (the surrogate at the row itself),
            ``shared_samples`` (the rows shared one set of draws: ``n_evals`` counts each
            row's samples, ``n_model_rows`` the model rows actually evaluated, once).
        """
        # A private copy: validation may return the caller's array itself, and neither a
        # model that writes to its input nor a later edit of X may change this explanation.
        X = np.array(self.masker.validate(X), copy=True)
        setup = self._setup(
            X,
            n_samples,
            n_features,
            target,
            feature_selection,
            alpha,
            enumerate_masks,
            n_holdout,
            tol,
            share_samples,
        )
        calls, rows = self.model.n_calls, self.model.n_rows
        # Evaluated once, here, so that no chunk or worker repeats the model's work.
        shared = self._shared_sample(setup) if setup.shared else None
        parts = map_row_chunks(
            lambda model, start, stop: self._explain_rows(model, X, start, stop, setup, shared),
            self.model,
            len(X),
            n_jobs=self.n_jobs,
            chunk_size=chunk_size,
        )
        fits = [fit for part in parts for fit in part]
        names = self.masker.player_names
        values = np.stack([f.fit.coef for f in fits])
        stderr = np.stack([f.fit.stderr for f in fits])
        done = np.ones(len(X), bool) if setup.tol is None else converged(values, stderr, setup.tol)
        return Explanation(
            values,
            np.stack([f.fit.intercept for f in fits]),
            stderr=stderr,
            data=X,
            feature_names=names,
            output_names=[(self.model.output_names or [])[t] for t in setup.targets],
            method=self.method,
            meta={
                "seed": setup.entropy,
                "n_evals": [setup.fit_evals + setup.n_holdout] * len(X),
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": done.tolist(),
                **target_meta(target, setup.targets, len(X)),
                "exact": setup.exact,
                "shared_samples": setup.shared,
                "r2": np.stack([f.fit.r2 for f in fits]).tolist(),
                "holdout_r2": [
                    None if f.holdout_r2 is None else f.holdout_r2.tolist() for f in fits
                ],
                "local_prediction": np.stack([f.local_prediction for f in fits]).tolist(),
                "selected": [[[names[j] for j in s] for s in f.selected] for f in fits],
                "parameters": {
                    "n_samples": setup.n_samples,
                    "n_features": setup.n_features,
                    "feature_selection": setup.selection,
                    "alpha": setup.alpha,
                    "kernel_width": self.kernel_width,
                    "enumerated": setup.enumerated,
                    "share_samples": setup.shared,
                    "draws_per_mask": setup.draws_per_mask,
                    "n_scrambles": len(setup.scrambles),
                    "n_holdout": setup.n_holdout,
                    "target": target,
                    "tol": setup.tol,
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
        enumerate_masks: bool | None,
        n_holdout: int | None,
        tol: float | None,
        share_samples: bool | None,
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
        deterministic = self.game.deterministic
        if enumerate_masks and not self.game.binary:
            raise ValueError(
                "enumerate_masks=True needs masks, but standardised continuous features are "
                "not masks; pass a discretizer or enumerate_masks=None."
            )
        if enumerate_masks and 2**d > MAX_ENUMERATED:
            raise ValueError(
                f"enumerate_masks=True would enumerate 2**{d} masks per row, more than "
                f"{MAX_ENUMERATED}; use enumerate_masks=None to sample."
            )
        if enumerate_masks and not deterministic and n_samples < 2 * 2**d:
            raise ValueError(
                f"enumerate_masks=True averages n_samples // 2**{d} draws per mask, and "
                "their spread gives the standard errors: at least 2 are needed; use "
                f"n_samples >= {2 * 2**d} or enumerate_masks=None."
            )
        if enumerate_masks is None:
            # Only a deterministic game gains from enumeration (it is then exact). For
            # LimeTabular, scrambled Sobol' draws of masks and values together vary 3-4
            # times less from seed to seed than enumerated masks at the same budget.
            enumerate_masks = deterministic and 2**d <= min(n_samples, MAX_ENUMERATED)
        # Only LimeTabular's bins draw values independently of the row (masker games and
        # standardised features draw around it), and only when sampling.
        shareable = self.game.binary and not deterministic and not enumerate_masks
        if share_samples and not shareable:
            raise ValueError(
                "share_samples=True needs draws whose values do not depend on the row: "
                "LimeTabular with a discretizer, sampled (enumerate_masks not True); pass "
                "share_samples=None or False."
            )
        draws = n_samples // 2**d if enumerate_masks and not deterministic else None
        scrambles = scramble_sizes(n_samples if draws is None else draws)
        entropy = resolve_seed(self.seed)
        # The scrambled sets take milliseconds to build: build them once, from the root of
        # the seed (rows use its children), and shift them per row.
        design = (
            np.empty((0, d), dtype=np.int64)
            if enumerate_masks and deterministic
            else scrambled_sobol(
                np.random.default_rng(np.random.SeedSequence(entropy)), scrambles, d
            )
        )
        rows = self.masker.model_rows(X)
        # The model may write to its input: the probe gets a copy.
        self.model.probe(rows.copy() if isinstance(rows, np.ndarray) else rows)
        setup = _Setup(
            enumerated=bool(enumerate_masks),
            shared=bool(shareable if share_samples is None else share_samples),
            exact=bool(enumerate_masks and deterministic),
            n_samples=n_samples,
            draws_per_mask=draws,
            scrambles=scrambles,
            design=design,
            fit_evals=(2**d * (draws or 1)) if enumerate_masks else n_samples,
            n_holdout=max(1, n_samples // 10)
            if n_holdout is None
            else check_positive_int(n_holdout, "n_holdout", minimum=0),
            n_features=n_features,
            selection=selection,
            alpha=float(alpha),
            targets=output_indices(target, self.model.output_names or []),
            entropy=entropy,
            tol=check_tol(tol),
        )
        self._check_design_memory(setup, default_holdout=n_holdout is None)
        return setup

    def _shared_sample(self, setup: _Setup) -> _SharedSample:
        """The draws of every row, from the seed alone: fit's, then hold-out's; one model call."""
        assert isinstance(self.game, LimeTabular)  # the only game whose draws can be shared
        rng = np.random.default_rng(np.random.SeedSequence(setup.entropy, spawn_key=_SHARED_KEY))
        U = np.concatenate(
            [
                shifted_uniforms(setup.design, setup.scrambles, rng),
                rng.random((setup.n_holdout, self.masker.n_players)),
            ]
        )
        positions, Y = self.game.shared_draw(self.model, U)
        return _SharedSample(positions, Y)

    def _check_design_memory(self, setup: _Setup, default_holdout: bool) -> None:
        """Refuse a sampling plan whose design for one row would not fit the budget.

        Rows are fitted in blocks within the budget, but one row's surrogate needs all
        its samples at once: their interpretable features, weights and outputs and the
        regression's centred copies (about ``64 (d + 1)`` bytes per sample for ``d``
        players, measured), and the model inputs they are drawn as (``16`` bytes per
        column), which no blocking can shrink.
        """
        d = self.masker.n_players
        columns = getattr(self.masker, "n_features", d)
        per_sample = _BYTES_PER_SAMPLE_PER_PLAYER * (d + 1) + _BYTES_PER_SAMPLE_PER_COLUMN * columns
        samples = setup.fit_evals + setup.n_holdout
        limit = int(budget_mb("coalition_designs") * 2**20)
        if samples * per_sample <= limit:
            return
        room = limit // per_sample  # samples that fit, hold-out included
        if setup.enumerated:
            hint = (
                f"its 2**{d} enumerated masks alone take {setup.fit_evals} samples: pass "
                "enumerate_masks=False, fewer features (groups)"
            )
        else:
            # the largest n with n + holdout(n) <= room
            fits = room * 10 // 11 if default_holdout else room - setup.n_holdout
            while default_holdout and fits + max(1, fits // 10) > room:
                fits -= 1
            hint = (
                f"the largest n_samples that fits is {fits}; pass a smaller n_samples"
                if fits >= d + 2
                else f"not even n_samples={d + 2} fits; pass fewer features (groups)"
            )
            if not default_holdout:
                hint += f", a smaller n_holdout (now {setup.n_holdout})"
        raise ValueError(
            f"n_samples={setup.n_samples} needs about {samples * per_sample / 2**20:.0f} MiB "
            f"per row for the surrogate's design ({samples} samples of {d} features and "
            f"{columns} model columns, hold-out included), more than the "
            f"{limit / 2**20:g} MiB the memory budget allows it: {hint} or a larger "
            "budget (bx.set_config(memory_budget_mb=...))."
        )

    def _explain_rows(
        self,
        model: Model,
        X: Any,
        start: int,
        stop: int,
        setup: _Setup,
        shared: _SharedSample | None = None,
    ) -> list[_RowFit]:
        """Fit rows ``start:stop`` in blocks; one model call (or two, or none) per block."""
        per_row = setup.fit_evals + setup.n_holdout
        width = getattr(self.masker, "n_features", self.masker.n_players)
        cells = int(budget_mb("game_values") * 2**20) // (8 * _BLOCK_DIVISOR)
        block = max(1, cells // (per_row * width))
        out = []
        for s in range(start, stop, block):
            e = min(stop, s + block)
            if shared is not None:
                fit_set, hold_set = self._from_shared(X[s:e], shared, setup)
            else:
                rngs = [row_rng(setup.entropy, i) for i in range(s, e)]
                draw = self._enumerated if setup.enumerated else self._sampled
                fit_set, hold_set = draw(model, X[s:e], rngs, setup)
            f_inst = self.game.instance_features(X[s:e])
            for i in range(e - s):
                hold = None if hold_set is None else hold_set.row(i, setup.targets)
                out.append(self._fit_row(fit_set.row(i, setup.targets), hold, f_inst[i], setup))
            progress.advance(e - s)
        return out

    def _enumerated(
        self, model: Model, Xb: Any, rngs: list[np.random.Generator], setup: _Setup
    ) -> tuple[_Samples, _Samples | None]:
        """Every mask, weighted by its probability times its kernel weight; fresh hold-out.

        For ``LimeTabular`` a mask's value is random (it depends on the values drawn):
        each scramble's draws give one sample per mask, weighted by the scramble's share
        of the draws, and the scrambles' spread gives the standard errors.
        """
        d = self.masker.n_players
        Z = all_coalitions(d)
        prob = mask_probabilities(Z, self.game.presence(Xb))
        w = (
            setup.n_samples
            * prob
            * kernel_weights((~Z).sum(axis=1).astype(np.float64), self.kernel_width)
        )
        F = np.broadcast_to(Z.astype(np.float64), (len(Xb), *Z.shape))
        if self.game.deterministic:
            Y = self.masker.coalition_values(model, Xb, Z)
            return _Samples(F, Y, w), self._holdout(model, Xb, rngs, setup)
        assert isinstance(self.game, LimeTabular)  # the only game that is not deterministic
        sizes = setup.scrambles
        U = np.stack([shifted_uniforms(setup.design, sizes, r) for r in rngs])
        Y = self.game.expected_values(model, Xb, Z, U)  # (n, M, draws, k)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        means = np.add.reduceat(Y, starts, axis=2) / sizes[:, None]  # (n, M, R, k)
        R, M = len(sizes), len(Z)
        share = sizes / sizes.sum()
        fit_set = _Samples(
            np.tile(F, (1, R, 1)),  # scramble-major: sample g * M + mask
            means.transpose(0, 2, 1, 3).reshape(len(Xb), R * M, -1),
            (share[:, None, None] * w[None]).transpose(1, 0, 2).reshape(len(Xb), R * M),
            labels=np.repeat(np.arange(R), M),
        )
        return fit_set, self._holdout(model, Xb, rngs, setup)

    def _sampled(
        self, model: Model, Xb: Any, rngs: list[np.random.Generator], setup: _Setup
    ) -> tuple[_Samples, _Samples | None]:
        """Scrambled Sobol' draws for the fit, independent ones for the hold-out."""
        d, m = self.masker.n_players, setup.n_samples
        U = np.stack(
            [
                np.concatenate(
                    [
                        shifted_uniforms(setup.design, setup.scrambles, r),
                        r.random((setup.n_holdout, d)),
                    ]
                )
                for r in rngs
            ]
        )
        if self.game.deterministic:  # merge the fit's and the hold-out's duplicate masks apart
            F, dist2, index, Y = self.game.draw(model, Xb, U[:, :m])
            fit_set = self._weighted(F, dist2, Y, index, scramble_labels(setup.scrambles))
            return fit_set, self._holdout(model, Xb, rngs, setup, U[:, m:])
        F, dist2, _, Y = self.game.draw(model, Xb, U)  # one model call, split by position
        return self._split(F, dist2, Y, setup)

    def _from_shared(
        self, Xb: np.ndarray, shared: _SharedSample, setup: _Setup
    ) -> tuple[_Samples, _Samples | None]:
        """The shared draws as each row of the block sees them: its masks, the same outputs."""
        assert isinstance(self.game, LimeTabular)
        F, dist2 = self.game.masks_at(Xb, shared.positions)
        return self._split(F, dist2, np.broadcast_to(shared.Y, (len(Xb), *shared.Y.shape)), setup)

    def _split(
        self, F: np.ndarray, dist2: np.ndarray, Y: np.ndarray, setup: _Setup
    ) -> tuple[_Samples, _Samples | None]:
        """Draws laid out as the fit's ``n_samples`` then the hold-out's, as two sets."""
        m = setup.n_samples
        fit_set = self._weighted(
            F[:, :m], dist2[:, :m], Y[:, :m], None, scramble_labels(setup.scrambles)
        )
        if not setup.n_holdout:
            return fit_set, None
        return fit_set, self._weighted(F[:, m:], dist2[:, m:], Y[:, m:], None, None)

    def _holdout(
        self,
        model: Model,
        Xb: Any,
        rngs: list[np.random.Generator],
        setup: _Setup,
        U: np.ndarray | None = None,
    ) -> _Samples | None:
        """Fresh independent draws for the held-out fidelity (None without any)."""
        if not setup.n_holdout:
            return None
        if U is None:
            U = np.stack([r.random((setup.n_holdout, self.masker.n_players)) for r in rngs])
        F, dist2, index, Y = self.game.draw(model, Xb, U)
        return self._weighted(F, dist2, Y, index, None)

    def _weighted(
        self,
        F: np.ndarray,
        dist2: np.ndarray,
        Y: np.ndarray,
        index: np.ndarray | None,
        labels: np.ndarray | None,
    ) -> _Samples:
        """Draws with their kernel weights."""
        return _Samples(F, Y, kernel_weights(dist2, self.kernel_width), index, labels)

    @staticmethod
    def _fit_row(
        fit_set: _RowSamples, hold_set: _RowSamples | None, f_inst: np.ndarray, setup: _Setup
    ) -> _RowFit:
        """The surrogate of one row, its held-out fidelity and its selected features."""
        F, Y, w, parts = fit_set.F, fit_set.Y, fit_set.w, fit_set.parts
        d, k = F.shape[1], Y.shape[1]
        nf = setup.n_features
        if nf is None or nf >= d or setup.selection == "none":
            fit = weighted_ridge(F, Y, w, setup.alpha, parts)
            selected = [np.arange(d)] * k
        else:
            coef, se = np.zeros((d, k)), np.zeros((d, k))
            intercept, r2 = np.zeros(k), np.zeros(k)
            selected = []
            for o in range(k):
                sel = select_features(F, Y[:, o], w, nf, setup.selection, setup.alpha, f_inst)
                part = weighted_ridge(F[:, sel], Y[:, [o]], w, setup.alpha, parts)
                coef[sel, o], se[sel, o] = part.coef[:, 0], part.stderr[:, 0]
                intercept[o], r2[o] = part.intercept[0], part.r2[0]
                selected.append(sel)
            fit = RidgeFit(coef=coef, intercept=intercept, stderr=se, r2=r2)
        holdout_r2 = (
            None
            if hold_set is None
            else weighted_r2(hold_set.Y, fit.predict(hold_set.F), hold_set.w)
        )
        return _RowFit(
            fit=fit,
            holdout_r2=holdout_r2,
            local_prediction=fit.predict(f_inst[None])[0],
            selected=selected,
        )


@dataclass(frozen=True)
class _Samples:
    """A block's samples: features ``F (n, M, d)``, outputs ``Y (n, M, k)``, weights ``(n, M)``.

    ``index (n, m)`` says which sample each draw is (None: one draw per sample, or
    samples that were not drawn); ``labels (m,)`` is the independent scramble of each
    draw (None when no standard errors come from these samples).
    """

    F: np.ndarray
    Y: np.ndarray
    weight: np.ndarray
    index: np.ndarray | None = None
    labels: np.ndarray | None = None

    def row(self, i: int, targets: list[int]) -> _RowSamples:
        """Row ``i``'s samples, with only the explained outputs and the weights split by scramble."""
        M = self.weight.shape[1]
        index = np.arange(M) if self.index is None else self.index[i]
        scramble = np.zeros(len(index), np.int64) if self.labels is None else self.labels
        counts = np.zeros((M, int(scramble.max()) + 1))
        np.add.at(counts, (index, scramble), 1.0)
        parts = counts * self.weight[i][:, None]
        return _RowSamples(
            self.F[i],
            self.Y[i][:, targets],
            parts.sum(axis=1),
            None if self.labels is None else parts,
        )


@dataclass(frozen=True)
class _SharedSample:
    """Draws shared by every row: sorted ``positions (m, p)`` of their values, outputs ``Y (m, k)``."""

    positions: np.ndarray
    Y: np.ndarray


@dataclass(frozen=True)
class _RowSamples:
    """One row's samples: ``F (M, d)``, ``Y (M, k)``, weights ``w (M,)`` and their split
    ``parts (M, R)`` by independent scramble (None: no sampling error)."""

    F: np.ndarray
    Y: np.ndarray
    w: np.ndarray
    parts: np.ndarray | None


@dataclass(frozen=True)
class _RowFit:
    """One explained row: its surrogate, held-out R^2 (k,) or None, prediction at the row (k,)."""

    fit: RidgeFit
    holdout_r2: np.ndarray | None
    local_prediction: np.ndarray
    selected: list[np.ndarray]


@dataclass(frozen=True)
class _Setup:
    """The per-call settings ``Lime.explain`` hands to its row workers.

    ``scrambles`` are the sizes of the independent scrambled sets behind the fit: of the
    ``n_samples`` samples, or of the ``draws_per_mask`` values averaged per enumerated
    mask; ``design`` are their Sobol' integers, shifted per row (or once, for all rows,
    when ``shared``). ``fit_evals`` counts the fit's samples per row.
    """

    enumerated: bool
    shared: bool
    exact: bool
    n_samples: int
    draws_per_mask: int | None
    scrambles: np.ndarray
    design: np.ndarray
    fit_evals: int
    n_holdout: int
    n_features: int | None
    selection: str
    alpha: float
    targets: list[int]
    entropy: int
    tol: float | None


def _predicted_classes(model: Model, data: Any) -> np.ndarray:
    """The model's most probable class of each training row (labels for entropy bins)."""
    out = model(data)
    if out.shape[1] < 2:
        raise ValueError(
            "discretizer='entropy' needs class labels and the model has a single output; "
            "pass labels= (the training labels) or use 'quartile'/'decile'."
        )
    return out.argmax(axis=1)

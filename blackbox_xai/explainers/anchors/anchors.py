"""Anchors: high-precision rules that keep a tabular model's prediction (Ribeiro et al., 2018)."""

from __future__ import annotations

import warnings
from collections.abc import Generator, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from ...maskers import Masker, Tabular, Text
from ...maskers.discretize import QuantileBins, exact_labels
from ...models import Model, wrap
from ...results import AnchorExplanation
from ...utils.config import budget_mb
from ...utils.optional import is_dataframe
from ...utils.parallel import map_row_chunks
from ...utils.progress import progress_bar
from ...utils.seeding import SeedLike, resolve_seed, row_key, row_rng
from ...utils.validation import check_positive_int, check_unit_interval
from ..base import Explainer
from ._categories import CategoryCodes, DecodedModel
from ._predicates import RowPredicates
from ._search import (
    AnchorSearch,
    Arm,
    CallBudget,
    ReferenceOutcomes,
    SearchSettings,
    bounds,
    lockstep_blocks,
)
from ._targets import Target
from ._text import TEXT_FIRST_BATCH, TextAnchors, TextSampling, explain_documents

#: One row's search: yields model inputs, receives outputs, returns its explanation.
RowSearch = Generator[np.ndarray, np.ndarray, AnchorExplanation]


class Anchors(Explainer):
    """Anchors: if-then rules under which the model keeps its prediction.

    An anchor for row ``x`` is a conjunction of predicates ``A`` that ``x`` satisfies
    (quantile bins of the training data, equality for categorical features) such
    that samples drawn under ``A`` get the prediction of ``x`` with probability (the
    *precision*) at least ``threshold``; among such rules the search keeps the one
    satisfied by most training rows (the *coverage*).

    Samples under an anchor are reference (training) rows that satisfy it, drawn
    without replacement. The reference rows being a sample of the data, the
    precision and its KL confidence bounds are those of new rows satisfying the
    anchor (the data distribution conditioned on it), not only of the reference
    rows: drawing an anchor's whole pool never makes its precision exact, and an
    anchor covering too few reference rows to be shown precise is not searched.
    Coverage is counted on the reference rows, without model calls. The beam search
    of Ribeiro et al. (2018, Algorithm 2) picks the ``beam_size`` most precise
    candidates of each size with KL-LUCB (Kaufmann & Kalyanakrishnan, 2013), using
    exact KL confidence bounds; every bandit round, for all candidate arms at once,
    is a single model call.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker_or_data : Tabular or array-like / DataFrame (n, p)
        Training rows (a :class:`~blackbox_xai.Tabular` masker's background is used
        as they are). A DataFrame's text and categorical columns are categorical
        features: coded internally, printed as their labels (``"color = red"``),
        and passed to the model as labels. A :class:`~blackbox_xai.maskers.Text` masker
        explains documents: an anchor is a set of its players (tokens or words) that
        must stay, the others being absent independently with probability
        ``p_absent``; see the text parameters below.
    threshold : float in (0, 1]
        Precision an anchor must reach (its lower confidence bound must).
    delta : float in (0, 1)
        Confidence: bounds hold with probability ``1 - delta``.
    tau : float in (0, 1)
        Tolerance of the best-arm identification: arms whose precisions differ by
        less than ``tau`` may be exchanged.
    beam_size : int
        Candidates kept at each anchor size.
    seed : int, optional
        Seed of every draw (the reference subsample and the searches); None draws
        one here, kept for every call and recorded in ``meta["seed"]``.
    categorical : sequence of int or str, optional
        Numeric columns compared by equality instead of quantile bins (codes are
        printed exactly).
    output_kind : {"auto", "proba", "label", "regression"}
        How to read the model output: ``"proba"`` (probability per class, the class
        is the argmax), ``"label"`` (one column of class labels), ``"regression"``
        (one column of values). ``"auto"``: several columns are class scores, one
        column is a regression value.
    tolerance : float, optional
        Regression only: a sample keeps the prediction when it lies within
        ``tolerance`` of ``f(x)``. Required for regression outputs.
    bins : {"quartile", "decile"} or sequence of float
        Quantile levels of the numeric predicates.
    n_reference : int
        Training rows kept for sampling and coverage (a seeded subsample when there
        are more).
    n_jobs : int, optional
        joblib workers over row chunks in :meth:`explain_many`.
    p_absent : float in (0, 1)
        Text: probability that a player outside the anchor is absent from a sample
        (removed or masked as the masker says); 0.5, the Anchors paper's default.
    similar_words : mapping of str -> list of str, optional
        Text: an absent token with entries is replaced by one of them, drawn uniformly
        (e.g. words of similar meaning), instead of being removed or masked.
    corpus : sequence of str, optional
        Text: coverage is the share of these documents containing every anchor word;
        without it, the probability that a perturbation keeps the anchor,
        ``(1 - p_absent) ** len(anchor)``.

    Attributes
    ----------
    bins_ : QuantileBins
        Bins of the training rows, from which predicates are made.
    reference_ : ndarray (n_ref, p)
        Training rows that samples are drawn from and coverage is counted on.
    reference_bins_ : int ndarray (n_ref, p)
        Their bins.
    codes_ : CategoryCodes or None
        Codes of a DataFrame's text columns (``reference_``, ``data`` and
        ``examples`` of the explanations hold codes; ``meta["categories"]`` lists
        their labels).

    Notes
    -----
    The model is taken to be a deterministic function: each reference row is sent to
    it at most once per explained row, however often it is drawn.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> median = np.median(X[:, 0])  # a quartile edge, so a predicate can express it
    >>> f = lambda Z: np.stack([Z[:, 0] <= median, Z[:, 0] > median], axis=1).astype(float)
    >>> anchor = bx.Anchors(f, X, seed=0).explain(X[0])
    >>> anchor.rule, anchor.precision, anchor.coverage
    (['x0 > -0.1295'], 1.0, 0.5)
    """

    method = "anchors"

    def __init__(
        self,
        model: Any,
        masker_or_data: Any,
        threshold: float = 0.95,
        delta: float = 0.1,
        tau: float = 0.15,
        beam_size: int = 2,
        seed: SeedLike = None,
        categorical: Sequence[int | str] | None = None,
        *,
        output_kind: str = "auto",
        tolerance: float | None = None,
        bins: str | Sequence[float] = "quartile",
        n_reference: int = 10_000,
        n_jobs: int | None = None,
        p_absent: float = 0.5,
        similar_words: Mapping[str, Sequence[str]] | None = None,
        corpus: Sequence[str] | None = None,
    ) -> None:
        self.threshold = check_unit_interval(threshold, "threshold", closed=True)
        self.delta = check_unit_interval(delta, "delta")
        self.tau = check_unit_interval(tau, "tau")
        self.beam_size = check_positive_int(beam_size, "beam_size")
        self.target = Target(output_kind, tolerance)
        n_reference = check_positive_int(n_reference, "n_reference")
        self.text_: TextAnchors | None = None
        if isinstance(masker_or_data, Text):
            super().__init__(model, masker_or_data, seed=resolve_seed(seed), n_jobs=n_jobs)
            sampling, token_sets = TextSampling.checked(
                masker_or_data, p_absent, similar_words, corpus
            )
            # Perturbations are fresh and cheap next to a model call's fixed cost (and short
            # documents repeat them, which costs no model row): larger first pulls mean
            # fewer bandit rounds, so fewer calls (5.5 instead of 8 per review, the same rows).
            self.settings_ = SearchSettings(
                self.threshold, self.delta, self.tau, self.beam_size, first_batch=TEXT_FIRST_BATCH
            )
            self.text_ = TextAnchors(
                masker_or_data,
                self.target,
                self.settings_,
                sampling,
                token_sets,
                {"threshold": self.threshold, "delta": self.delta, "tau": self.tau,
                 "beam_size": self.beam_size, "p_absent": sampling.p_absent,
                 "similar_words": similar_words is not None, "corpus_size": len(corpus or [])},
            )  # fmt: skip
            return
        if p_absent != 0.5 or similar_words is not None or corpus is not None:
            raise ValueError(
                "p_absent, similar_words and corpus apply to text (a bx.maskers.Text masker "
                "in the place of the training data)."
            )
        if isinstance(masker_or_data, Masker) and not isinstance(masker_or_data, Tabular):
            raise TypeError(
                f"Anchors explains tabular data or text; got a {type(masker_or_data).__name__} "
                "masker. Pass training rows, a Tabular masker or a bx.maskers.Text masker."
            )
        model = wrap(model)
        self.codes_ = CategoryCodes.of(masker_or_data)
        if self.codes_ is not None:
            # Text columns become codes for the search; the model still sees labels.
            model = DecodedModel(model, self.codes_)
            masker_or_data = type(masker_or_data)(
                self.codes_.encode(masker_or_data).astype(np.float64),
                columns=masker_or_data.columns,
            )
        if not isinstance(masker_or_data, Tabular):
            # Anchors draws single training rows, never one model row per background row,
            # so Tabular's warning about large backgrounds does not apply here.
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="the background has", category=UserWarning
                )
                names = None if is_dataframe(masker_or_data) else model.feature_names
                masker_or_data = Tabular(masker_or_data, feature_names=names)
        # One seed for the explainer's life: the reference subsample and every search
        # draw from it, so meta["seed"] replays both, even when seed is None.
        super().__init__(model, masker_or_data, seed=resolve_seed(seed), n_jobs=n_jobs)
        masker: Tabular = self.masker  # type: ignore[assignment]
        names = masker.feature_names
        unknown = [c for c in categorical or [] if isinstance(c, str) and c not in names]
        if unknown:
            raise ValueError(
                f"categorical names {unknown} are not feature names; names are {names}."
            )
        self.categorical = sorted(
            {names.index(c) if isinstance(c, str) else c for c in categorical or []}
            | set(self.codes_.labels if self.codes_ is not None else ())
        )
        data = masker.data
        self.bins_ = QuantileBins(data, bins, self.categorical, names)
        self._value_names = {
            j: (
                [self.codes_.label_names(j)[int(v)] for v in values]
                if self.codes_ is not None and j in self.codes_.labels
                else exact_labels(values)
            )
            for j, values in self.bins_.categories_.items()
        }
        if len(data) > n_reference:
            pick = np.random.default_rng(self.seed).choice(len(data), n_reference, False)
            data = data[np.sort(pick)]
        self.reference_ = data
        self.reference_bins_ = self.bins_.transform(data)
        self.settings_ = SearchSettings(self.threshold, self.delta, self.tau, self.beam_size)
        self._memory_budget_mb = masker.memory_budget_mb

    def _max_rows(self) -> int:
        """Reference rows per model call within the masker's share of the budget."""
        budget = budget_mb("model_input", self._memory_budget_mb)
        return max(1, int(budget * 2**20) // (8 * self.reference_.shape[1]))

    # -- public -------------------------------------------------------------------------
    def explain(self, x: Any, max_model_calls: int | None = None) -> AnchorExplanation:
        """The anchor of one row.

        Parameters
        ----------
        x : array-like (p,) or (1, p)
        max_model_calls : int, optional
            Budget of model calls (``f(x)`` included); when it runs out the best rule
            found so far is returned, with ``success`` False unless it already
            reaches the threshold.

        Returns
        -------
        AnchorExplanation
        """
        if self.text_ is not None:
            if not isinstance(x, str):
                raise TypeError(
                    f"explain takes one document (a str), got {type(x).__name__}; use "
                    "explain_many for several."
                )
            return self.explain_many([x], max_model_calls)[0]
        X = self._check_rows(x)
        if len(X) != 1:
            raise ValueError(f"explain takes one row, got {len(X)}; use explain_many for several.")
        return self._explain_checked(X, max_model_calls, None)[0]

    def explain_many(
        self,
        X: Any,
        max_model_calls: int | None = None,
        *,
        chunk_size: int | None = None,
        progress: bool = False,
    ) -> list[AnchorExplanation]:
        """Anchors of several rows; the rows' bandit rounds share model calls.

        Parameters
        ----------
        X : array-like or DataFrame (n, p)
        max_model_calls : int, optional
            Budget of model calls per row (see :meth:`explain`).
        chunk_size : int, optional
            Rows per parallel task (``n_jobs``); results do not depend on it.
        progress : bool
            Show a progress bar over the rows on stderr (needs tqdm); the anchors do
            not depend on it.

        Returns
        -------
        list of AnchorExplanation
            Row ``i`` draws from its own stream (``row_rng(seed, i)``), so results do
            not depend on ``n_jobs`` or ``chunk_size``; its ``n_model_calls`` counts
            the (shared) calls it took part in.
        """
        if self.text_ is not None:
            limit = (
                None
                if max_model_calls is None
                else check_positive_int(max_model_calls, "max_model_calls")
            )
            documents = self.text_.masker.instances(X)
            with progress_bar(progress, len(documents), self.method):
                return explain_documents(self, documents, limit, chunk_size)
        rows = self._check_rows(X)
        with progress_bar(progress, len(rows), self.method):
            return self._explain_checked(rows, max_model_calls, chunk_size)

    def _explain_checked(
        self, X: np.ndarray, max_model_calls: int | None, chunk_size: int | None
    ) -> list[AnchorExplanation]:
        limit = (
            None
            if max_model_calls is None
            else check_positive_int(max_model_calls, "max_model_calls")
        )
        entropy = resolve_seed(self.seed)

        work = partial(_explain_rows, self, X, entropy, limit)
        parts = map_row_chunks(work, self.model, len(X), n_jobs=self.n_jobs, chunk_size=chunk_size)
        return [e for part in parts for e in part]

    def score_anchor(
        self,
        x: Any,
        rule: Sequence[str | int],
        data: Any = None,
        n_samples: int = 10_000,
        seed: SeedLike = None,
    ) -> AnchorExplanation:
        """Precision and coverage of a given rule for row ``x``, on given or reference rows.

        Parameters
        ----------
        x : array-like (p,) or (1, p)
        rule : sequence of str or int
            Predicates as :meth:`explain` writes them (``"worst radius <= 13.2"``),
            feature names or column indices (these pin the feature to the bin of ``x``).
        data : array-like or DataFrame (m, p), optional
            Rows to score the rule on, e.g. held-out rows the explainer has not seen:
            their precision is that of new data. Default: the reference rows, the
            ones the search draws from.
        n_samples : int
            At most this many of the rows satisfying the rule are drawn, without
            replacement (all of them when there are fewer), in one model call.
        seed : int, optional
            Seed of the draw; None draws one (recorded in ``meta["seed"]``).

        Returns
        -------
        AnchorExplanation
            ``coverage`` is the share of ``data`` (or of the reference rows)
            satisfying the rule; ``precision_bounds`` are two-sided KL bounds at
            confidence ``1 - delta``; ``success`` tells whether the lower bound
            reaches the threshold.

        Notes
        -----
        Text: ``x`` is the document, ``rule`` its anchor words (every player with that
        text) or player indices, and ``data`` is not used: the rule is scored on
        ``n_samples`` fresh perturbations keeping it.
        """
        if self.text_ is not None:
            if not isinstance(x, str):
                raise TypeError(f"score_anchor takes one document (a str), got {type(x).__name__}.")
            n_samples = check_positive_int(n_samples, "n_samples")
            entropy = resolve_seed(seed)
            return self.text_.search(
                self.model,
                x,
                np.random.default_rng(entropy),
                None,
                {"seed": entropy, "scored_on": "perturbations"},
                anchor=self.text_.parse(x, rule),
                n_samples=n_samples,
            )
        X = self._check_rows(x)
        if len(X) != 1:
            raise ValueError(f"score_anchor takes one row, got {len(X)}.")
        rows = self.reference_ if data is None else self._check_rows(data)
        n_samples = check_positive_int(n_samples, "n_samples")
        entropy = resolve_seed(seed)
        search = self._score_row(self.model, X[0], rule, rows, data is None, n_samples, entropy)
        return _drive(self.model, [search], self._max_rows())[0]

    def covers(self, x: Any, rule: Sequence[str | int], X: Any) -> np.ndarray:
        """Which rows of ``X`` satisfy ``rule``, a rule of row ``x``.

        Parameters
        ----------
        x : array-like (p,) or (1, p)
            The row the rule was written for (feature names and column indices in
            ``rule`` stand for its bins).
        rule : sequence of str or int
            As in :meth:`score_anchor`.
        X : array-like or DataFrame (m, p)

        Returns
        -------
        bool ndarray (m,)
        """
        row = self._check_rows(x)
        if len(row) != 1:
            raise ValueError(f"covers takes one row x, got {len(row)}.")
        predicates = self._predicates(row[0], self._check_rows(X))
        return predicates.mask(predicates.parse(rule))

    # -- rows ---------------------------------------------------------------------------
    def _check_rows(self, X: Any) -> np.ndarray:
        if self.codes_ is not None:
            X = self.codes_.encode(X)
        # A private copy: validation may return the caller's array itself, which the
        # explanations (their ``data``) must not share.
        X = np.array(self.masker.validate(X), copy=True)
        self.bins_.transform(X)  # unseen categorical values fail here, before any model call
        return np.asarray(X)

    def _predicates(self, x: np.ndarray, rows: np.ndarray | None = None) -> RowPredicates:
        """Predicates of ``x`` with the rows (default: reference) each one covers."""
        bins = self.reference_bins_ if rows is None else self.bins_.transform(rows)
        return RowPredicates(self.bins_, bins, x, self._value_names)

    def _start(
        self,
        x: np.ndarray,
        predicates: RowPredicates,
        rows: np.ndarray,
        rng: np.random.Generator,
        budget: CallBudget,
    ) -> Generator[np.ndarray, np.ndarray, tuple[AnchorSearch, float, str]]:
        """Predict ``x`` and set up a search around that prediction, sampling ``rows``."""
        out = yield from budget.ask(x[None])
        kind = self.target.resolve(out)
        value = self.target.predictions(out)[0]
        predicted = float(value) if kind == "regression" else int(value)
        search = AnchorSearch(
            predicates,
            ReferenceOutcomes(rows, lambda o: self.target.agree(o, predicted), budget),
            self.settings_,
            rng,
        )
        return search, predicted, kind

    def _search_row(
        self, model: Model, x: np.ndarray, row: int, entropy: int, limit: int | None
    ) -> RowSearch:
        budget = CallBudget(limit)
        predicates = self._predicates(x)
        search, predicted, kind = yield from self._start(
            x, predicates, self.reference_, row_rng(entropy, row), budget
        )
        arm, finished = yield from search.run()
        meta = {"seed": entropy, "row": row_key(row)[0], "stopped_by_budget": not finished}
        return self._result(model, x, arm, search, predicted, kind, budget, meta)

    def _score_row(
        self,
        model: Model,
        x: np.ndarray,
        rule: Sequence[str | int],
        rows: np.ndarray,
        reference: bool,
        n: int,
        entropy: int,
    ) -> RowSearch:
        predicates = self._predicates(x, None if reference else rows)
        anchor = predicates.parse(rule)
        if not predicates.mask(anchor).any():
            raise ValueError(
                f"no {'reference (training)' if reference else 'given'} row satisfies the "
                f"rule {rule!r}, so there is nothing to score it on."
            )
        budget = CallBudget(None)
        rng = np.random.default_rng(entropy)
        search, predicted, kind = yield from self._start(x, predicates, rows, rng, budget)
        arm = search.arm(anchor)
        yield from search.pull([arm], [min(n, arm.pool_size)])
        # A fixed number of samples: two-sided KL bounds at confidence 1 - delta.
        lower, upper = bounds(arm.k, arm.n, float(np.log(2 / self.delta)))
        arm.lower, arm.upper = float(lower), float(upper)
        arm.valid = arm.lower >= self.threshold
        meta = {"seed": entropy, "scored_on": "reference" if reference else "data"}
        return self._result(model, x, arm, search, predicted, kind, budget, meta)

    def _result(
        self,
        model: Model,
        x: np.ndarray,
        arm: Arm,
        search: AnchorSearch,
        predicted: float,
        kind: str,
        budget: CallBudget,
        meta: dict[str, Any],
    ) -> AnchorExplanation:
        rule, features = search.predicates.describe(arm.anchor)
        names = model.output_names or []
        if kind in ("scores", "proba") and predicted < len(names):
            meta["predicted_name"] = names[int(predicted)]
        if self.codes_ is not None:  # data and examples hold codes of these labels
            meta["categories"] = {
                self.masker.player_names[j]: self.codes_.label_names(j) for j in self.codes_.labels
            }
        return AnchorExplanation(
            rule,
            features,
            arm.precision,
            (arm.lower, arm.upper),
            arm.coverage,
            predicted,
            arm.valid,
            budget.calls,
            budget.rows,
            arm.n,
            search.examples(arm),
            x,
            self.masker.player_names,
            {
                **meta,
                "output_kind": kind,
                "parameters": {
                    "threshold": self.threshold,
                    "delta": self.delta,
                    "tau": self.tau,
                    "beam_size": self.beam_size,
                    "tolerance": self.target.tolerance,
                    "n_reference": len(self.reference_),
                },
            },
        )


def _explain_rows(
    explainer: Anchors,
    X: np.ndarray,
    entropy: int,
    limit: int | None,
    model: Model,
    start: int,
    stop: int,
) -> list[AnchorExplanation]:
    """Anchors of rows ``start:stop``, their rounds sharing model calls (a module-level
    function so every joblib backend can pickle it)."""
    out: list[AnchorExplanation] = []
    width = X.shape[1]
    for a, b in lockstep_blocks([width] * (stop - start), explainer._memory_budget_mb):
        # a generator holds nothing until started: build each block's searches with it
        rows = range(start + a, start + b)
        searches = [explainer._search_row(model, X[i], i, entropy, limit) for i in rows]
        out.extend(_drive(model, searches, explainer._max_rows()))
    return out


def _drive(model: Model, searches: list[RowSearch], max_rows: int) -> list[AnchorExplanation]:
    """Run row searches in lockstep: each round's requests of all rows go in one model
    call (several only when they exceed ``max_rows`` rows together)."""
    results: list[AnchorExplanation | None] = [None] * len(searches)
    requests: dict[int, np.ndarray] = {}

    def advance(i: int, outputs: np.ndarray | None) -> None:
        try:
            requests[i] = searches[i].send(outputs)  # type: ignore[arg-type]
        except StopIteration as stop:
            results[i] = stop.value

    for i in range(len(searches)):
        advance(i, None)
    while requests:
        batch = dict(requests)
        requests.clear()
        groups: list[list[int]] = [[]]
        size = 0
        for i, inputs in batch.items():
            if groups[-1] and size + len(inputs) > max_rows:
                groups.append([])
                size = 0
            groups[-1].append(i)
            size += len(inputs)
        for group in groups:
            out = model(np.concatenate([batch[i] for i in group]))
            ends = np.cumsum([len(batch[i]) for i in group])[:-1]
            for i, part in zip(group, np.split(out, ends), strict=True):
                advance(i, part)
    return [r for r in results if r is not None]

"""Global surrogates: an interpretable model fitted to the black box's outputs, with its fidelity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...models import Model, wrap
from ...utils.formatting import signature_repr
from ...utils.optional import is_dataframe
from ...utils.seeding import SeedLike, resolve_seed
from ...utils.validation import check_array, check_positive_int, feature_names_of
from .._targets import output_indices
from ._rules import Condition, Rule, simplify

KINDS = ("tree", "linear", "rules")
FITS = ("output", "logit", "label")

#: Default clipping of probabilities before the logit: logit(1e-6) is about -13.8.
LOGIT_CLIP = 1e-6


@dataclass(frozen=True)
class SurrogateFidelity:
    """How well the surrogate reproduces the model, on the fitting rows and on held-out rows.

    ``metrics`` are ``r2`` and ``mae`` for outputs and logits (averaged over outputs),
    ``agreement`` and ``macro_f1`` for labels.
    """

    target: str
    in_sample: dict[str, float]
    held_out: dict[str, float]
    n_in_sample: int
    n_held_out: int

    def __str__(self) -> str:
        lines = [
            f"surrogate fidelity ({self.target})",
            f"  {'':<12}{'in-sample':>12}{'held-out':>12}",
        ]
        for key, value in self.in_sample.items():
            lines.append(f"  {key:<12}{value:>12.4f}{self.held_out[key]:>12.4f}")
        lines.append(f"  {'rows':<12}{self.n_in_sample:>12}{self.n_held_out:>12}")
        return "\n".join(lines)


class GlobalSurrogate:
    """An interpretable model of the black box: a shallow tree, a rule list or a linear model.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    kind : {"tree", "linear", "rules"}
        ``"tree"``: a CART tree of depth ``max_depth``; ``"rules"``: the same grown best
        first to at most ``max_rules`` leaves (8 by default), read as a flat rule list;
        ``"linear"``: least squares (outputs, logits) or logistic regression (labels).
    max_depth : int
        Depth of the tree (and of each rule).
    max_rules : int, optional
        Most leaves (rules) of a tree; None: no limit for ``"tree"``, 8 for ``"rules"``.
    seed : int, optional
        Seed of the tree's tie-breaking and of the augmentation draws.
    fit_to : {"output", "logit", "label"}
        What the surrogate reproduces: the model's outputs as they are, their logits
        (probabilities clipped to ``[logit_clip, 1 - logit_clip]``), or the predicted
        class (argmax of the outputs). There is no automatic choice.
    target : int, str or sequence of them, optional
        Outputs fitted by ``"output"`` and ``"logit"``; all when None.
    logit_clip : float
        Clipping of probabilities before the logit.

    Attributes
    ----------
    estimator_ : scikit-learn estimator
        The fitted surrogate.
    feature_importances_ : ndarray (p,)
        Impurity importances (trees) or ``|coef| * sd(x)`` (linear), summing to one.
    in_sample_ : dict
        Fidelity metrics on the fitting rows (the real ones, not augmented rows).

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> X = np.random.default_rng(0).integers(0, 4, size=(400, 2)).astype(float)
    >>> s = bx.GlobalSurrogate(lambda A: 3.0 * (A[:, 0] > 1), max_depth=1).fit(X)
    >>> print(s.rules(as_text=True))
    if x0 > 1.5 then output = 3  (support 52.5%, 210 rows)
    if x0 <= 1.5 then output = 0  (support 47.5%, 190 rows)
    """

    def __init__(
        self,
        model: Any,
        kind: str = "tree",
        max_depth: int = 4,
        max_rules: int | None = None,
        seed: SeedLike = None,
        *,
        fit_to: str = "output",
        target: int | str | list[int | str] | tuple[int | str, ...] | None = None,
        logit_clip: float = LOGIT_CLIP,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        if fit_to not in FITS:
            raise ValueError(f"fit_to must be one of {FITS}, got {fit_to!r}.")
        if not 0 < logit_clip < 0.5:
            raise ValueError(f"logit_clip must be in (0, 0.5), got {logit_clip!r}.")
        self.model: Model = wrap(model)
        self.kind = kind
        self.max_depth = check_positive_int(max_depth, "max_depth")
        self.max_rules = (
            None if max_rules is None else check_positive_int(max_rules, "max_rules", 2)
        )
        self.seed = seed
        self.fit_to = fit_to
        self.target = target
        self.logit_clip = float(logit_clip)

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, augment: int = 0) -> GlobalSurrogate:
        """Fit the surrogate to the model's outputs on ``X``.

        Parameters
        ----------
        X : array-like or DataFrame (n, p)
            Rows the surrogate should mimic the model on (at least two).
        augment : int
            Extra synthetic rows, for small ``X``: each mixes two random rows of ``X``
            feature by feature (a random coalition of features from the first, the rest
            from the second, as the Tabular masker builds inputs), so the surrogate sees
            more of the space between the rows. Fidelity is still measured on ``X``.

        Returns
        -------
        self
        """
        if is_dataframe(X):
            self.model.bind_frame_schema([str(c) for c in X.columns], list(X.dtypes))
        A = check_array(X, name="X")
        if A.shape[0] < 2:
            raise ValueError(
                f"X has {A.shape[0]} row; a surrogate needs at least two rows to fit "
                "(ideally hundreds; pass augment= to add synthetic rows)."
            )
        if (
            isinstance(augment, (bool, np.bool_))
            or not isinstance(augment, (int, np.integer))
            or augment < 0
        ):
            raise ValueError(
                f"augment must be a non-negative integer (rows to add), got {augment!r}."
            )
        self.feature_names_ = feature_names_of(X, A.shape[1], None)
        self.n_features_in_ = A.shape[1]
        self.seed_ = resolve_seed(self.seed)
        rng = np.random.default_rng(self.seed_)
        fit_rows = A
        if augment:
            first, second = rng.integers(0, A.shape[0], size=(2, int(augment)))
            keep = rng.random((int(augment), A.shape[1])) < 0.5
            fit_rows = np.concatenate([A, np.where(keep, A[first], A[second])])
        outputs = self.model(fit_rows)
        self._select_outputs(outputs)
        y = self._transform(outputs)
        self.estimator_ = self._make_estimator(int(rng.integers(2**31 - 1)))
        self.estimator_.fit(fit_rows, y)
        self.feature_importances_ = self._importances(fit_rows)
        self.n_fit_rows_ = fit_rows.shape[0]
        self.in_sample_ = self._metrics(y[: A.shape[0]], self.estimator_.predict(A))
        self.n_in_sample_ = A.shape[0]
        return self

    def _select_outputs(self, outputs: np.ndarray) -> None:
        names = self.model.output_names or [str(i) for i in range(outputs.shape[1])]
        k = outputs.shape[1]
        if self.fit_to == "label":
            if k < 2:
                raise ValueError(
                    "fit_to='label' fits the predicted class (argmax of the outputs), but the model "
                    "has a single output; use fit_to='output' (regression) instead."
                )
            self.classes_ = list(names)
            self.outputs_ = list(range(k))
            return
        if self.fit_to == "logit" and (outputs.min() < 0 or outputs.max() > 1):
            raise ValueError(
                "fit_to='logit' needs probabilities in [0, 1], but the model returned values in "
                f"[{outputs.min():.4g}, {outputs.max():.4g}]; use fit_to='output'."
            )
        targets = list(self.target) if isinstance(self.target, (list, tuple)) else [self.target]
        self.outputs_ = [o for t in targets for o in output_indices(t, names)]
        self.output_names_ = [names[o] for o in self.outputs_]

    def _transform(self, outputs: np.ndarray) -> np.ndarray:
        """The fitted target: chosen outputs, their clipped logits, or the argmax class."""
        if self.fit_to == "label":
            return outputs.argmax(axis=1)
        y = outputs[:, self.outputs_]
        if self.fit_to == "logit":
            p = np.clip(y, self.logit_clip, 1.0 - self.logit_clip)
            y = np.log(p) - np.log1p(-p)
        return y[:, 0] if y.shape[1] == 1 else y

    def _make_estimator(self, random_state: int) -> Any:
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        classify = self.fit_to == "label"
        if self.kind == "linear":
            return LogisticRegression(max_iter=1000) if classify else LinearRegression()
        leaves = self.max_rules if self.kind == "tree" else (self.max_rules or 8)
        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        return cls(max_depth=self.max_depth, max_leaf_nodes=leaves, random_state=random_state)

    def _importances(self, rows: np.ndarray) -> np.ndarray:
        if self.kind != "linear":
            return np.asarray(self.estimator_.feature_importances_, dtype=np.float64)
        coef = np.abs(np.atleast_2d(self.estimator_.coef_)).sum(axis=0) * rows.std(axis=0)
        return coef / coef.sum() if coef.sum() > 0 else coef

    # -- fidelity -----------------------------------------------------------------------
    def _metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

        if self.fit_to == "label":
            return {
                "agreement": float(accuracy_score(y, pred)),
                "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0.0)),
            }
        return {"r2": float(r2_score(y, pred)), "mae": float(mean_absolute_error(y, pred))}

    def fidelity(self, X_holdout: Any) -> SurrogateFidelity:
        """Fidelity on the fitting rows and on ``X_holdout`` (rows not used to fit).

        Parameters
        ----------
        X_holdout : array-like (m, p)
            Held-out rows; at least two (an R^2 needs some spread).

        Returns
        -------
        SurrogateFidelity
            ``r2``/``mae`` (outputs or logits) or ``agreement``/``macro_f1`` (labels),
            in-sample and held-out.
        """
        self._check_fitted()
        A = check_array(X_holdout, name="X_holdout", n_features=self.n_features_in_)
        if A.shape[0] < 2:
            raise ValueError(f"X_holdout has {A.shape[0]} row; pass at least two held-out rows.")
        y = self._transform(self.model(A))
        return SurrogateFidelity(
            target=self.fit_to,
            in_sample=dict(self.in_sample_),
            held_out=self._metrics(y, self.estimator_.predict(A)),
            n_in_sample=self.n_in_sample_,
            n_held_out=A.shape[0],
        )

    def predict(self, X: Any) -> np.ndarray:
        """Surrogate predictions of the rows of ``X``.

        Parameters
        ----------
        X : array-like (n, p)
            Rows with the fitted columns.

        Returns
        -------
        ndarray
            ``(n,)`` or ``(n, k)`` outputs or logits, or ``(n,)`` class indices, as fitted.
        """
        self._check_fitted()
        return np.asarray(
            self.estimator_.predict(check_array(X, name="X", n_features=self.n_features_in_))
        )

    # -- reading ------------------------------------------------------------------------
    def rules(self, as_text: bool = False) -> list[Rule] | str:
        """The leaves as if-then rules, most supported first (trees and rule lists).

        Parameters
        ----------
        as_text : bool
            Return one readable line per rule instead of the rules.

        Returns
        -------
        list of Rule or str
            One rule per leaf, its conditions simplified to one interval per feature;
            the rules partition the input space, so each row matches exactly one.

        Raises
        ------
        ValueError
            For a linear surrogate (it has no rules).
        """
        self._check_fitted()
        if self.kind == "linear":
            raise ValueError(
                "a linear surrogate has no rules; read estimator_.coef_ or use kind='tree' or 'rules'."
            )
        out = [self._rule(leaf, simplify(path)) for leaf, path in self._leaf_paths().items()]
        out.sort(key=lambda r: -r.n_samples)
        return "\n".join(str(r) for r in out) if as_text else out

    def export_text(self, decimals: int = 4) -> str:
        """The surrogate as text: the tree as ``sklearn.tree.export_text`` prints it.

        Parameters
        ----------
        decimals : int
            Digits of thresholds and values (significant digits of linear coefficients).

        Returns
        -------
        str
            The tree with feature names, or ``intercept +coef*name ...`` for a linear
            surrogate (its first fitted output).
        """
        self._check_fitted()
        if self.kind == "linear":
            terms = " ".join(
                f"{c:+.{decimals}g}*{n}"
                for c, n in zip(
                    np.atleast_2d(self.estimator_.coef_)[0], self.feature_names_, strict=True
                )
            )
            return f"{np.atleast_1d(self.estimator_.intercept_)[0]:.{decimals}g} {terms}"
        from sklearn.tree import export_text

        return str(
            export_text(self.estimator_, feature_names=self.feature_names_, decimals=decimals)
        )

    def explain(self, X: Any) -> list[Rule]:
        """The decision path of each row of ``X``: its tests in order, and its leaf.

        Parameters
        ----------
        X : array-like (n, p)
            Rows with the fitted columns.

        Returns
        -------
        list of Rule
            One per row: the tests from the root to its leaf (not simplified), the
            leaf's value and its support.

        Raises
        ------
        ValueError
            For a linear surrogate (it has no decision paths).
        """
        self._check_fitted()
        if self.kind == "linear":
            raise ValueError(
                "a linear surrogate has no decision paths; use kind='tree' or 'rules'."
            )
        A = check_array(X, name="X", n_features=self.n_features_in_)
        paths = self._leaf_paths()
        return [self._rule(int(leaf), paths[int(leaf)]) for leaf in self.estimator_.apply(A)]

    def _leaf_paths(self) -> dict[int, list[Condition]]:
        """Conditions from the root to every leaf, in path order."""
        tree = self.estimator_.tree_
        paths: dict[int, list[Condition]] = {}
        stack: list[tuple[int, list[Condition]]] = [(0, [])]
        while stack:
            node, conds = stack.pop()
            left, right = tree.children_left[node], tree.children_right[node]
            if left < 0:
                paths[node] = conds
                continue
            name, thr = self.feature_names_[tree.feature[node]], float(tree.threshold[node])
            stack.append((right, [*conds, Condition(name, ">", thr)]))
            stack.append((left, [*conds, Condition(name, "<=", thr)]))
        return paths

    def _rule(self, leaf: int, conditions: list[Condition]) -> Rule:
        tree = self.estimator_.tree_
        value = np.asarray(tree.value[leaf], dtype=np.float64)
        n = int(tree.n_node_samples[leaf])
        if self.fit_to == "label":
            prediction: float | str = self.classes_[
                int(self.estimator_.classes_[value[0].argmax()])
            ]
            value = value[0]
        else:
            value = value[:, 0]
            prediction = float(value[0])
        return Rule(
            conditions=tuple(conditions),
            value=value,
            prediction=prediction,
            support=n / self.n_fit_rows_,
            n_samples=n,
            feature_index={name: j for j, name in enumerate(self.feature_names_)},
            output_names=() if self.fit_to == "label" else tuple(self.output_names_),
            fit_to=self.fit_to,
        )

    def __repr__(self) -> str:
        # As scikit-learn prints estimators: the parameters that differ from the defaults.
        return signature_repr(self)

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ValueError("this GlobalSurrogate is not fitted yet; call fit(X) first.")

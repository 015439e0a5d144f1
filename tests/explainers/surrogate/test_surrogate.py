"""GlobalSurrogate: exact recovery of trees, rules that reproduce predictions, fidelity."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import blackbox_xai as bx


def grid_rows(seed: int, n: int) -> np.ndarray:
    # Integer features: any threshold between two neighbouring values splits alike, so a
    # recovered tree agrees with the original on every row, not just the fitted ones.
    return np.random.default_rng(seed).integers(0, 5, size=(n, 4)).astype(float)


@pytest.fixture
def depth3_tree() -> DecisionTreeRegressor:
    X = grid_rows(0, 2000)
    y = 4.0 * (X[:, 0] > 1) + 2.0 * (X[:, 1] > 2) + 1.0 * (X[:, 2] > 0)
    return DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)


def test_depth3_surrogate_of_a_depth3_tree_has_heldout_fidelity_one(depth3_tree) -> None:  # type: ignore[no-untyped-def]
    surrogate = bx.GlobalSurrogate(depth3_tree, max_depth=3, seed=0).fit(grid_rows(1, 500))
    fid = surrogate.fidelity(grid_rows(2, 500))
    assert fid.held_out["r2"] == 1.0 and fid.held_out["mae"] == 0.0
    assert fid.in_sample["r2"] == 1.0
    assert (fid.n_in_sample, fid.n_held_out) == (500, 500)
    assert "held-out" in str(fid)
    # The model only uses x0, x1, x2.
    assert surrogate.feature_importances_[3] == 0.0
    np.testing.assert_allclose(surrogate.feature_importances_.sum(), 1.0)


@pytest.mark.parametrize("kind", ["tree", "rules"])
def test_rules_round_trip_to_predictions(depth3_tree, kind: str) -> None:  # type: ignore[no-untyped-def]
    X = grid_rows(3, 400)
    surrogate = bx.GlobalSurrogate(depth3_tree, kind=kind, max_depth=2, seed=0).fit(X)
    rules = surrogate.rules()
    assert isinstance(rules, list)
    covered = np.zeros(len(X), dtype=int)
    pred = surrogate.predict(X)
    for rule in rules:
        hit = rule.matches(X)
        covered += hit
        np.testing.assert_array_equal(pred[hit], rule.prediction)
        assert rule.n_samples == hit.sum()
        assert rule.support == pytest.approx(hit.mean())
    np.testing.assert_array_equal(covered, 1)  # the rules partition the rows
    assert [r.n_samples for r in rules] == sorted((r.n_samples for r in rules), reverse=True)
    text = surrogate.rules(as_text=True)
    assert isinstance(text, str) and text.count("\n") == len(rules) - 1
    assert text.startswith("if x0 ") and "support" in text
    assert "|--- x0 <= 1.5" in surrogate.export_text()


def test_rule_list_respects_max_rules(depth3_tree) -> None:  # type: ignore[no-untyped-def]
    surrogate = bx.GlobalSurrogate(depth3_tree, kind="rules", max_depth=3, max_rules=3).fit(
        grid_rows(1, 300)
    )
    rules = surrogate.rules()
    assert len(rules) == 3
    # One interval per feature: repeated tests on a feature are merged.
    for rule in rules:
        tests = [(c.feature, c.op) for c in rule.conditions]
        assert len(tests) == len(set(tests))


def test_explain_gives_each_rows_decision_path(depth3_tree) -> None:  # type: ignore[no-untyped-def]
    surrogate = bx.GlobalSurrogate(depth3_tree, max_depth=3, seed=0).fit(grid_rows(1, 500))
    X = np.array([[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, 4.0, 0.0]])
    paths = surrogate.explain(X)
    assert [str(c) for c in paths[0].conditions] == ["x0 <= 1.5", "x1 <= 2.5", "x2 <= 0.5"]
    assert [p.prediction for p in paths] == [0.0, 7.0]
    assert all(p.matches(X[i : i + 1])[0] for i, p in enumerate(paths))


def classifier() -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    # Noisy labels keep the probabilities inside the logit clipping [1e-6, 1 - 1e-6].
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.logistic(size=600) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_label_fit_reports_agreement_and_macro_f1() -> None:
    model, X = classifier()
    surrogate = bx.GlobalSurrogate(model, max_depth=4, fit_to="label", seed=0).fit(X[:400])
    fid = surrogate.fidelity(X[400:])
    assert set(fid.held_out) == {"agreement", "macro_f1"}
    assert fid.held_out["agreement"] > 0.85
    expected = (model.predict(X[400:]) == surrogate.predict(X[400:])).mean()
    assert fid.held_out["agreement"] == pytest.approx(expected)
    rule = surrogate.rules()[0]
    assert rule.prediction in ("0", "1") and "then class '" in str(rule)


def test_logit_fit_is_exact_for_a_logistic_model_with_a_linear_surrogate() -> None:
    # logit(p) of a logistic regression is linear in x: the linear surrogate is exact.
    model, X = classifier()
    surrogate = bx.GlobalSurrogate(model, kind="linear", fit_to="logit", target=1).fit(X[:300])
    fid = surrogate.fidelity(X[300:])
    assert fid.held_out["r2"] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(surrogate.estimator_.coef_, model.coef_[0], rtol=1e-6)
    assert surrogate.feature_importances_.argmax() == 0
    assert surrogate.export_text().count("*x") == 3


def test_augmentation_adds_mixed_rows_but_fidelity_uses_real_rows(depth3_tree) -> None:  # type: ignore[no-untyped-def]
    X = grid_rows(5, 20)
    surrogate = bx.GlobalSurrogate(depth3_tree, max_depth=3, seed=0).fit(X, augment=300)
    assert surrogate.n_fit_rows_ == 320 and surrogate.n_in_sample_ == 20
    assert sum(r.n_samples for r in surrogate.rules()) == 320  # type: ignore[union-attr]
    same = bx.GlobalSurrogate(depth3_tree, max_depth=3, seed=0).fit(X, augment=300)
    assert surrogate.export_text() == same.export_text()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda m: bx.GlobalSurrogate(m, kind="forest"),
            r"kind must be one of \('tree', 'linear', 'rules'\)",
        ),
        (
            lambda m: bx.GlobalSurrogate(m, fit_to="proba"),
            r"fit_to must be one of \('output', 'logit', 'label'\)",
        ),
        (
            lambda m: bx.GlobalSurrogate(m).fit(grid_rows(0, 1)),
            r"X has 1 row; a surrogate needs at least two rows",
        ),
        (
            lambda m: bx.GlobalSurrogate(m, fit_to="label").fit(grid_rows(0, 50)),
            r"fit_to='label' fits the predicted class.*single output",
        ),
        (
            lambda m: bx.GlobalSurrogate(m, fit_to="logit").fit(grid_rows(0, 50)),
            r"fit_to='logit' needs probabilities in \[0, 1\]",
        ),
        (
            lambda m: bx.GlobalSurrogate(m, target=3).fit(grid_rows(0, 50)),
            r"target=3 is out of range: the model has 1 output",
        ),
        (
            lambda m: bx.GlobalSurrogate(m).fit(grid_rows(0, 50), augment=-1),
            r"augment must be a non-negative integer",
        ),
        (
            lambda m: bx.GlobalSurrogate(m).fidelity(grid_rows(0, 5)),
            r"not fitted yet; call fit\(X\) first",
        ),
        (
            lambda m: bx.GlobalSurrogate(m).fit(grid_rows(0, 50)).fidelity(grid_rows(1, 1)),
            r"X_holdout has 1 row",
        ),
        (
            lambda m: bx.GlobalSurrogate(m, kind="linear").fit(grid_rows(0, 50)).rules(),
            r"a linear surrogate has no rules",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(depth3_tree, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make(depth3_tree)


def test_a_classifier_tree_of_a_tree_classifier_is_exact() -> None:
    X = grid_rows(0, 1000)
    y = ((X[:, 0] > 2) & (X[:, 3] <= 1)).astype(int)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    fid = (
        bx.GlobalSurrogate(model, max_depth=2, fit_to="label", seed=0)
        .fit(X[:500])
        .fidelity(X[500:])
    )
    assert fid.held_out == {"agreement": 1.0, "macro_f1": 1.0}


def test_rules_round_trip_for_rows_at_the_float32_thresholds() -> None:
    # scikit-learn splits float32(x) at float64 thresholds; rows on a threshold or within
    # float32 rounding of it must take the same side in matches(), predict() and explain().
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, X[:, 0] + 2 * X[:, 1])
    surrogate = bx.GlobalSurrogate(model, max_depth=3, seed=0).fit(X)
    tree = surrogate.estimator_.tree_
    rows = []
    split = tree.feature >= 0
    for f, t in zip(tree.feature[split], tree.threshold[split], strict=True):
        t32 = np.float32(t)
        for v in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), t32, np.nextafter(t32, 9)):
            row = X[rng.integers(len(X))].copy()
            row[f] = v
            rows.append(row)
    A = np.array(rows)
    rules = surrogate.rules()
    hits = np.array([r.matches(A) for r in rules])  # type: ignore[union-attr]
    np.testing.assert_array_equal(hits.sum(axis=0), 1)
    prediction = np.array([r.prediction for r in rules])[hits.argmax(axis=0)]  # type: ignore[union-attr]
    np.testing.assert_array_equal(prediction, surrogate.predict(A))
    assert all(p.matches(A[i : i + 1])[0] for i, p in enumerate(surrogate.explain(A)))

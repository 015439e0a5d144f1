"""Anchors: rules with exact answers, reproducibility, honest precision, clear errors."""

from __future__ import annotations

import warnings
from typing import Any

import joblib
import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.anchors._search import AnchorSearch, CallBudget, ReferenceOutcomes
from blackbox_xai.explainers.anchors.anchors import _drive
from blackbox_xai.maskers import Masker


def _two_classes(score: np.ndarray) -> np.ndarray:
    return np.stack([score <= 0, score > 0], axis=1).astype(float)


@pytest.fixture(scope="module")
def one_feature() -> tuple[np.ndarray, Any]:
    """1000 rows; the model looks at x2 only, split at its median (a quartile edge)."""
    X = np.random.default_rng(0).normal(size=(1000, 4))
    median = float(np.median(X[:, 2]))
    return X, lambda Z: _two_classes(Z[:, 2] - median)


def _noisy(Z: np.ndarray) -> np.ndarray:
    """Mostly x0 + x1/2, with a fast-varying part that makes precision < 1."""
    return _two_classes(Z[:, 0] + 0.5 * Z[:, 1] + 0.3 * np.sin(37 * Z[:, 2] * Z[:, 3]))


@pytest.fixture(scope="module")
def noisy_data() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(20000, 4))


# -- exact answers -----------------------------------------------------------------------
def test_a_model_of_one_feature_is_anchored_on_that_feature(one_feature: Any) -> None:
    X, f = one_feature
    median = np.median(X[:, 2])
    explainer = bx.Anchors(f, X, seed=0)
    for x in X[:6]:
        e = explainer.explain(x)
        side = "<=" if x[2] <= median else ">"
        assert e.rule == [f"x2 {side} {median:.4g}"]
        assert e.features == [2]
        assert e.predicted == int(x[2] > median)
        # Every training row on that side of the median keeps the prediction.
        assert (e.precision, e.coverage, e.success) == (1.0, 0.5, True)
        assert e.precision_bounds[0] >= explainer.threshold


def test_a_constant_model_gets_the_empty_anchor_with_precision_one() -> None:
    X = np.random.default_rng(2).normal(size=(300, 3))
    e = bx.Anchors(lambda Z: np.tile([0.3, 0.7], (len(Z), 1)), X, seed=0).explain(X[0])
    assert e.rule == [] and e.features == []
    assert (e.precision, e.coverage, e.success, e.predicted) == (1.0, 1.0, True, 1)
    assert e.precision_bounds[0] >= 0.95
    assert len(e.examples["differ"]) == 0 and len(e.examples["agree"]) == 10


def test_regression_precision_is_a_band_around_the_prediction() -> None:
    X = np.random.default_rng(3).normal(size=(1000, 3))
    median = np.median(X[:, 0])

    def f(Z: np.ndarray) -> np.ndarray:
        return 3.0 * (Z[:, 0] > median) + 0.1 * Z[:, 1]

    x = X[np.argmax(X[:, 0])]
    e = bx.Anchors(f, X, tolerance=1.0, seed=0).explain(x)
    assert e.rule == [f"x0 > {median:.4g}"] and e.precision == 1.0
    assert e.predicted == pytest.approx(f(x[None])[0])
    assert np.all(np.abs(f(e.examples["agree"]) - e.predicted) <= 1.0)
    assert e.meta["output_kind"] == "regression"


def test_label_outputs_are_compared_as_classes() -> None:
    X = np.random.default_rng(4).normal(size=(1000, 3))
    edges = np.quantile(X[:, 1], [0.25, 0.75])

    def labels(Z: np.ndarray) -> np.ndarray:
        return np.searchsorted(edges, Z[:, 1]).astype(float)  # classes 0, 1, 2

    x = X[np.argmin(X[:, 1])]
    e = bx.Anchors(labels, X, output_kind="label", seed=0).explain(x)
    assert e.predicted == 0 and isinstance(e.predicted, int)
    assert e.rule == [f"x1 <= {edges[0]:.4g}"] and e.precision == 1.0


def test_the_beam_keeps_the_beam_size_most_precise_predicates() -> None:
    # x0 is the label; x_j copies it with probability q_j, so "x_j = 1" has precision
    # 1, 0.95, 0.75 and 0.5: gaps above tau between each of the first three.
    rng = np.random.default_rng(5)
    x0 = rng.integers(0, 2, 4000)
    copies = [np.where(rng.random(4000) < q, x0, rng.integers(0, 2, 4000)) for q in (0.9, 0.5, 0)]
    X = np.column_stack([x0, *copies]).astype(float)

    def f(Z: np.ndarray) -> np.ndarray:
        return _two_classes(Z[:, 0] - 0.5)

    for beam_size in (1, 2, 3):
        ex = bx.Anchors(f, X, beam_size=beam_size, categorical=[0, 1, 2, 3], seed=0)
        x = np.ones(4)
        target = ex.target
        outcomes = ReferenceOutcomes(
            ex.reference_, lambda o, t=target: t.agree(o, 1), CallBudget(None)
        )
        predicates = ex._predicates(x)
        search = AnchorSearch(predicates, outcomes, ex.settings_, np.random.default_rng(0))
        arms = search.extend([search.arm(())], 0.0)
        assert len(arms) == 4
        top = _drive(ex.model, [search.best_arms(arms)], 10**6)[0]  # type: ignore[list-item]
        assert sorted(int(predicates.feature[a.anchor[0]]) for a in top) == list(range(beam_size))
        assert predicates.describe(top[0].anchor) == (["x0 = 1"], [0])


def test_a_wider_beam_finds_the_anchor_a_greedy_search_misses() -> None:
    # Binary features a, b, c; the model predicts 1 iff c and (a or b); x = (1, 1, 1).
    # Alone, "a = 1" is the most precise predicate (0.83 > 0.64 > 0.44), but only
    # "b = 1 AND c = 1" (coverage 700/3400) beats "a = 1 AND c = 1" (500/3400).
    counts = {(1, 1, 1): 100, (1, 1, 0): 100, (1, 0, 1): 400, (0, 1, 1): 600,
              (0, 1, 0): 300, (0, 0, 1): 1400, (0, 0, 0): 500}  # fmt: skip
    X = np.repeat(np.array(list(counts), dtype=float), list(counts.values()), axis=0)

    def f(Z: np.ndarray) -> np.ndarray:
        return _two_classes(Z[:, 2] * np.maximum(Z[:, 0], Z[:, 1]) - 0.5)

    model = bx.wrap(f, feature_names=["a", "b", "c"])
    found = {}
    for beam_size in (1, 2):
        explainer = bx.Anchors(model, X, beam_size=beam_size, categorical=[0, 1, 2], seed=0)
        e = explainer.explain(np.ones(3))
        found[beam_size] = (e.rule, e.coverage, e.precision, e.success)
    assert found[1] == (["a = 1", "c = 1"], 500 / 3400, 1.0, True)
    assert found[2] == (["b = 1", "c = 1"], 700 / 3400, 1.0, True)


def test_an_anchor_needs_enough_reference_rows_to_be_shown_precise() -> None:
    # "x0 = 1" holds on m reference rows, all predicted like x. With every sampled row
    # agreeing, the lower bound of the one arm verified (beam_size 1) is exp(-beta / m),
    # beta = log(looks / delta) with two looks (32 rows, then m): 59 rows reach 0.95 at
    # delta 0.1, 58 do not.
    rng = np.random.default_rng(10)
    for m in (59, 58):
        X = np.column_stack([np.r_[np.ones(m), np.zeros(400)], rng.normal(size=m + 400)])
        e = bx.Anchors(_probabilities, X, beam_size=1, categorical=[0], seed=0).explain(X[0])
        if m == 59:
            assert e.rule == ["x0 = 1"] and e.success and e.precision == 1.0
            assert e.precision_bounds[0] == pytest.approx(np.exp(-np.log(2 / 0.1) / 59))
        else:
            assert not e.success and e.precision_bounds[0] < 0.95


# -- reproducibility and honesty ---------------------------------------------------------
def test_a_fixed_seed_reproduces_the_anchors(noisy_data: np.ndarray) -> None:
    X = noisy_data[:3000]
    first = [e.to_dict() for e in bx.Anchors(_noisy, X, seed=3).explain_many(X[:4])]
    again = [e.to_dict() for e in bx.Anchors(_noisy, X, seed=3).explain_many(X[:4])]
    assert first == again
    with joblib.parallel_config(backend="threading"):
        parallel = bx.Anchors(_noisy, X, seed=3, n_jobs=2).explain_many(X[:4], chunk_size=1)
    assert [e.to_dict() for e in parallel] == first
    assert bx.Anchors(_noisy, X, seed=3).explain(X[0]).to_dict() == first[0]
    assert all(e["meta"]["seed"] == 3 for e in first)


def test_reported_precision_agrees_with_10000_fresh_samples(noisy_data: np.ndarray) -> None:
    # The explainer sees 10,000 rows; precision is then measured on 10,000 rows of
    # the unused ones satisfying the rule: new data, never sent to the model during
    # the search.
    seen = noisy_data[:10_000]
    fresh_rows = np.random.default_rng(11).normal(size=(50_000, 4))  # same distribution
    explainer = bx.Anchors(_noisy, seen, seed=0)
    assert len(explainer.reference_) == len(seen)
    for e in explainer.explain_many(noisy_data[10_000:10_004]):
        fresh = explainer.score_anchor(e.data, e.rule, data=fresh_rows, n_samples=10_000, seed=7)
        assert fresh.n_samples == 10_000 and fresh.meta["scored_on"] == "data"
        assert abs(fresh.coverage - e.coverage) < 0.02  # both estimate one coverage
        se = np.sqrt(fresh.precision * (1 - fresh.precision) / 10_000)
        lower, upper = e.precision_bounds
        assert lower - 3 * se <= fresh.precision <= upper + 3 * se
        assert e.success and fresh.precision >= explainer.threshold - 3 * se
        assert lower < e.precision < upper  # a bound from samples, never "exact"


def test_scoring_on_the_reference_rows_draws_without_replacement(one_feature: Any) -> None:
    X, f = one_feature
    explainer = bx.Anchors(f, X, seed=0)
    model = explainer.model
    calls, rows = model.n_calls, model.n_rows
    # "x2" pins x2 to the quartile bin of X[0]: 250 of the 1000 reference rows.
    scored = explainer.score_anchor(X[0], ["x2"], n_samples=10_000, seed=0)
    assert scored.n_samples == 250 and scored.meta["scored_on"] == "reference"
    assert (model.n_calls - calls, model.n_rows - rows) == (2, 251)  # f(x), then the pool
    assert scored.n_samples == scored.n_model_rows - 1


def test_seed_none_is_drawn_once_and_replays_the_reference_subsample(
    noisy_data: np.ndarray,
) -> None:
    X = noisy_data[:3000]
    first = bx.Anchors(_noisy, X, n_reference=500)
    e = first.explain(X[0])
    assert first.explain(X[0]).to_dict() == e.to_dict()  # one seed per explainer
    replay = bx.Anchors(_noisy, X, n_reference=500, seed=e.meta["seed"])
    assert np.array_equal(replay.reference_, first.reference_)
    assert replay.explain(X[0]).to_dict() == e.to_dict()
    other = bx.Anchors(_noisy, X, n_reference=500, seed=e.meta["seed"] + 1)
    assert not np.array_equal(other.reference_, first.reference_)


def test_coverage_is_the_share_of_training_rows_satisfying_the_rule(one_feature: Any) -> None:
    X, f = one_feature
    explainer = bx.Anchors(f, X, seed=0)
    x = X[0]
    edges = np.quantile(X[:, 2], [0.25, 0.5, 0.75])
    b = int(np.searchsorted(edges, x[2]))
    in_bin = np.searchsorted(edges, X[:, 2]) == b
    for rule in (["x2"], [2]):
        scored = explainer.score_anchor(x, rule, n_samples=500, seed=0)
        assert scored.coverage == in_bin.mean() == 0.25
        assert scored.features == [2] and scored.precision == 1.0
    by_text = explainer.score_anchor(x, explainer.explain(x).rule, n_samples=500, seed=0)
    assert by_text.coverage == 0.5 and by_text.success
    assert np.array_equal(explainer.covers(x, ["x2"], X), in_bin)
    assert np.array_equal(explainer.covers(x, [], X[:5]), np.ones(5, dtype=bool))


def test_a_budget_stops_the_search_with_the_best_rule_so_far(noisy_data: np.ndarray) -> None:
    explainer = bx.Anchors(_noisy, noisy_data, seed=0)
    x = noisy_data[4]
    cut = explainer.explain(x, max_model_calls=2)
    assert cut.n_model_calls == 2 and cut.meta["stopped_by_budget"]
    assert cut.rule == [] and not cut.success
    full = explainer.explain(x)
    assert full.n_model_calls > 2 and not full.meta["stopped_by_budget"]
    assert explainer.explain(x, max_model_calls=full.n_model_calls).to_dict() == full.to_dict()


def test_model_calls_and_rows_are_counted(noisy_data: np.ndarray) -> None:
    model = bx.wrap(_noisy)
    explainer = bx.Anchors(model, noisy_data[:2000], seed=0)
    e = explainer.explain(noisy_data[0])
    assert (model.n_calls, model.n_rows) == (e.n_model_calls, e.n_model_rows)
    # Each reference row goes to the model at most once, plus the explained row.
    assert e.n_model_rows <= 2001


def test_rows_explained_together_share_each_round_s_model_call(noisy_data: np.ndarray) -> None:
    X = noisy_data[:3000]
    model = bx.wrap(_noisy)
    together = bx.Anchors(model, X, seed=0).explain_many(X[:5])
    # Every row asks at most once per round, and each round is one call for all rows.
    assert model.n_calls == max(e.n_model_calls for e in together)
    assert model.n_rows == sum(e.n_model_rows for e in together)
    # A memory budget smaller than a round splits the call, never the results.
    small = bx.wrap(_noisy)
    with pytest.warns(UserWarning, match="the background has 3000 rows"):
        tabular = bx.Tabular(X, memory_budget_mb=0.01)
    split = bx.Anchors(small, tabular, seed=0).explain_many(X[:5])
    assert [e.to_dict() for e in split] == [e.to_dict() for e in together]
    assert small.n_calls > model.n_calls


def test_json_round_trip(one_feature: Any, tmp_path: Any) -> None:
    X, f = one_feature
    e = bx.Anchors(f, X, seed=0).explain(X[1])
    assert bx.AnchorExplanation.from_json(e.to_json()).to_dict() == e.to_dict()
    e.to_json(tmp_path / "a.json")
    back = bx.AnchorExplanation.from_json(tmp_path / "a.json")
    assert back.rule == e.rule and np.array_equal(back.examples["agree"], e.examples["agree"])
    assert "IF x2 " in repr(e) and "precision 1.000" in repr(e)


def test_dataframe_columns_name_the_predicates() -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.tree import DecisionTreeClassifier

    X = np.random.default_rng(6).normal(size=(400, 3))
    frame = pd.DataFrame(X, columns=["age", "income", "height"])
    tree = DecisionTreeClassifier(max_depth=1, random_state=0).fit(frame, X[:, 1] > 0)
    e = bx.Anchors(tree, frame, seed=0).explain(frame.iloc[[0]])
    assert e.rule and all(r.startswith("income") for r in e.rule)


def test_text_columns_of_a_dataframe_are_categorical_and_printed_as_labels() -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(12)
    n = 600
    color = rng.choice(["red", "green", "blue"], n)
    size = pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L", "XL"])
    frame = pd.DataFrame({"color": color, "size": size, "weight": rng.normal(size=n)})
    y = color == "red"  # the model looks at the text column only
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["color", "size"]), remainder="passthrough"),
        DecisionTreeClassifier(random_state=0),
    ).fit(frame, y)
    explainer = bx.Anchors(pipe, frame, seed=0)
    assert explainer.categorical == [0, 1]
    red = frame[color == "red"].iloc[[0]]
    e = explainer.explain(red)
    assert e.rule == ["color = red"] and e.precision == 1.0 and e.success
    assert e.coverage == pytest.approx(np.mean(color == "red"))
    assert e.meta["categories"] == {"color": ["blue", "green", "red"], "size": ["S", "M", "L"]}
    assert explainer.score_anchor(red, ["color = red", "size"]).rule[1].startswith("size = ")
    # Rows may also come as a Series or positionally as a list.
    assert explainer.explain(red.iloc[0]).rule == e.rule
    assert explainer.explain(["red", "M", 0.0]).rule == e.rule
    with pytest.raises(ValueError, match=r"'color' has value 'purple', not seen in the training"):
        explainer.explain(["purple", "M", 0.0])
    with pytest.raises(ValueError, match=r"'size' has value 'XL', not seen in the training"):
        explainer.explain(["red", "XL", 0.0])  # declared, but no training row has it
    with pytest.raises(ValueError, match="column 'color' has missing values"):
        bx.Anchors(pipe, frame.assign(color=frame["color"].where(y, None)))


def test_categorical_codes_are_printed_exactly() -> None:
    codes = np.array([12346.0, 7.0, 2.5])
    X = np.column_stack([np.repeat(codes, 200), np.random.default_rng(13).normal(size=600)])

    def f(Z: np.ndarray) -> np.ndarray:
        return _two_classes(Z[:, 0] - 10_000)

    explainer = bx.Anchors(f, X, categorical=[0], seed=0)
    assert explainer.explain(X[0]).rule == ["x0 = 12346"]
    assert explainer.score_anchor(X[-1], [0]).rule == ["x0 = 2.5"]
    assert explainer.score_anchor(X[-1], ["x0 = 2.5"]).coverage == pytest.approx(1 / 3)


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"threshold": 0.0}, ValueError, r"threshold must be in \(0, 1\], got 0.0"),
        ({"threshold": 1.5}, ValueError, r"threshold must be in \(0, 1\], got 1.5"),
        ({"threshold": True}, TypeError, "threshold must be a number"),
        ({"delta": 1.0}, ValueError, r"delta must be in \(0, 1\), got 1.0"),
        ({"tau": 0}, ValueError, r"tau must be in \(0, 1\), got 0"),
        ({"beam_size": 0}, ValueError, "beam_size must be >= 1"),
        ({"output_kind": "probability"}, ValueError, "output_kind must be one of"),
        ({"tolerance": -1.0}, ValueError, "tolerance must be a finite number >= 0"),
        ({"output_kind": "regression"}, ValueError, "pass tolerance="),
        ({"categorical": ["colour"]}, ValueError, r"categorical names \['colour'\] are not"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, Any], error: type, match: str) -> None:
    X = np.zeros((10, 2))
    with pytest.raises(error, match=match):
        bx.Anchors(lambda Z: Z, X, **kwargs)


def test_a_feature_mostly_at_its_maximum_keeps_its_predicates() -> None:
    # x1 is 1 in 80% of the rows: every quartile sits at the maximum, yet QuantileBins
    # keeps two bins (x1 <= 0, x1 > 0), so no feature is lost and nothing needs a warning.
    rng = np.random.default_rng(14)
    X = np.column_stack([rng.normal(size=400), rng.random(400) < 0.8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = bx.Anchors(_probabilities, X, seed=0)
        by_value = bx.Anchors(_probabilities, X, categorical=["x1"], seed=0)
    x = X[np.flatnonzero(X[:, 1] == 1)[0]]
    assert plain.score_anchor(x, ["x1"]).rule == ["x1 > 0"]
    assert by_value.score_anchor(x, ["x1"]).rule == ["x1 = 1"]


def test_threshold_one_is_allowed(one_feature: Any) -> None:
    X, f = one_feature
    e = bx.Anchors(f, X, threshold=1.0, seed=0).explain(X[0])
    assert e.success and e.precision == 1.0 and e.features == [2]


def _probabilities(Z: np.ndarray) -> np.ndarray:
    return _two_classes(Z[:, 0])


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        (_probabilities, {"output_kind": "label"}, "expects one column of class labels, but"),
        (
            lambda Z: 1 / (1 + np.exp(-Z[:, 0])),
            {"output_kind": "label"},
            "expects whole-number class labels",
        ),
        (
            lambda Z: (Z[:, 0] > 0).astype(float),
            {"output_kind": "proba"},
            "expects one probability column per class, but the model returned a single column",
        ),
        (
            lambda Z: np.stack([Z[:, 0], -Z[:, 0]], axis=1),
            {"output_kind": "proba"},
            "expects rows of class probabilities",
        ),
        (lambda Z: Z[:, 0], {}, r"pass tolerance=\.\.\. .* or output_kind='label'"),
        (
            _probabilities,
            {"output_kind": "regression", "tolerance": 0.1},
            "expects one output column, but the model returned 2",
        ),
    ],
)
def test_outputs_of_the_wrong_kind_are_explained(
    model: Any, kwargs: dict[str, Any], match: str
) -> None:
    X = np.random.default_rng(7).normal(size=(50, 2))
    with pytest.raises(ValueError, match=match):
        bx.Anchors(model, X, seed=0, **kwargs).explain(X[0])


def test_unseen_categorical_values_are_refused() -> None:
    X = np.column_stack([np.random.default_rng(8).normal(size=30), np.arange(30) % 3])
    explainer = bx.Anchors(_probabilities, X, categorical=["x1"], seed=0)
    with pytest.raises(ValueError, match=r"feature 'x1' has value 7\.0, not seen in the training"):
        explainer.explain([0.0, 7.0])
    with pytest.raises(ValueError, match="not seen in the training data"):
        explainer.score_anchor([0.0, 7.0], ["x1"])


def test_bad_rows_and_rules_are_named(one_feature: Any) -> None:
    X, f = one_feature
    explainer = bx.Anchors(f, X, seed=0)
    with pytest.raises(ValueError, match="explain takes one row, got 2; use explain_many"):
        explainer.explain(X[:2])
    with pytest.raises(ValueError, match="X has 3 features, but 4 were expected"):
        explainer.explain(X[0, :3])
    with pytest.raises(ValueError, match="max_model_calls must be >= 1"):
        explainer.explain(X[0], max_model_calls=0)
    with pytest.raises(ValueError, match=r"rule item 'x2 < 3' is not a predicate of this row"):
        explainer.score_anchor(X[0], ["x2 < 3"])
    with pytest.raises(ValueError, match="covers takes one row x, got 2"):
        explainer.covers(X[:2], ["x2"], X)


def test_a_rule_no_training_row_satisfies_cannot_be_scored() -> None:
    a = np.random.default_rng(9).normal(size=200)
    X = np.column_stack([a, -a])  # x0 high means x1 low
    explainer = bx.Anchors(_probabilities, X, seed=0)
    with pytest.raises(ValueError, match=r"no reference \(training\) row satisfies the rule"):
        explainer.score_anchor([a.max(), a.max()], ["x0", "x1"])


def test_non_tabular_maskers_are_refused() -> None:
    class Tokens(Masker):
        def __init__(self) -> None:
            self.n_players, self.player_names = 1, ["t"]

        def validate(self, X: Any) -> Any:
            return X

        def coalition_values(self, model: Any, X: Any, Z: np.ndarray) -> np.ndarray:
            return np.zeros((1, 1, 1))

    with pytest.raises(
        TypeError, match="Anchors explains tabular data or text; got a Tokens masker"
    ):
        bx.Anchors(_probabilities, Tokens())

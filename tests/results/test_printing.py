"""What ``print`` and ``repr`` show: which output and why, bounds, counts, parameters."""

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.surrogate._rules import Condition, Rule
from blackbox_xai.maskers.lime_tabular import LimeTabular
from blackbox_xai.utils.formatting import fmt_number, plural


def _shapley(values: np.ndarray, base: np.ndarray) -> bx.Explanation:
    return bx.Explanation(
        values, base, feature_names=["a", "b"], output_names=["neg", "pos", "other"],
        method="kernel_shap",
    )  # fmt: skip


def test_print_shows_the_predicted_class_of_each_row():
    # base + sum(values) is f(x): row 0 predicts 'neg', row 1 'pos'; the last output
    # ('other', what print showed before) is predicted by neither.
    values = np.array([[[0.5, -0.2, -0.3], [0.1, 0.0, -0.1]], [[-0.2, 0.4, -0.2], [0, 0.1, -0.1]]])
    text = str(_shapley(values, np.full((2, 3), 1 / 3)))
    lines = text.splitlines()
    assert lines[1] == "  row 0: predicted 'neg' (f = 0.9333, base 0.3333)"
    assert lines[2] == "    a                            +0.5"
    assert lines[4] == "  row 1: predicted 'pos' (f = 0.8333, base 0.3333)"
    assert lines[5] == "    a                            +0.4"
    assert "'other'" not in text.split("\n", 1)[1]


def test_print_says_which_output_without_a_prediction():
    lime = bx.Explanation(
        np.ones((1, 2, 2)), np.zeros((1, 2)), output_names=["x", "y"], method="lime"
    )
    assert str(lime).splitlines()[1] == (
        "  output 'y' shown (the last of 2; lime records no prediction to pick one): "
        "top_features(row, output=...) gives the others"
    )
    grads = bx.Explanation(
        np.ones((2, 2, 3)), np.zeros((2, 3)), method="saliency", meta={"target": [2, 0]}
    )
    lines = str(grads).splitlines()
    assert lines[1] == "  row 0: target '2' (base 0)" and lines[4] == "  row 1: target '0' (base 0)"


def test_print_counts_the_rows_it_leaves_out():
    many = _shapley(np.zeros((6, 2, 3)), np.zeros((6, 3)))
    assert str(many).splitlines()[-1] == "  ... 1 more row"
    assert str(_shapley(np.zeros((8, 2, 3)), np.zeros((8, 3)))).endswith("  ... 3 more rows")


def test_numbers_that_round_to_zero_have_no_sign():
    assert fmt_number(-1e-17, ".3f") == "0.000" and fmt_number(-1e-17, "+.3f") == "+0.000"
    assert fmt_number(-0.0, ".4g") == "0" and fmt_number(-0.0004, ".3f") == "0.000"
    assert fmt_number(float("-inf")) == "-inf" and fmt_number(float("-inf"), "+.3f") == "-inf"
    assert fmt_number(-0.0006, ".3f") == "-0.001" and fmt_number(-2e-20, ".2e") == "-2.00e-20"
    assert plural(1, "row") == "1 row" and plural(0, "row") == "0 rows"


def test_anchor_repr_gives_the_lower_bound_the_threshold_applies_to():
    anchor = bx.AnchorExplanation(
        ["a > 1"], [0], 0.966, (0.876, 0.99), 0.331, 0, False, 3, 300, 250, {}, np.zeros(1),
        ["a"], meta={"parameters": {"threshold": 0.95, "delta": 0.1}},
    )  # fmt: skip
    assert repr(anchor) == (
        "AnchorExplanation(IF a > 1 THEN predict 0; precision 0.966 (lower bound 0.876 at "
        "90% confidence < threshold 0.95), coverage 0.331)"
    )
    anchor.success, anchor.precision_bounds = True, (0.951, 0.99)
    assert "(lower bound 0.951 at 90% confidence >= threshold 0.95)" in repr(anchor)


def test_surrogate_rules_name_their_outputs():
    rule = Rule((Condition("a", ">", 1.0),), np.array([0.25, -0.0]), 0.25, 1.0, 1,
                output_names=("0", "1"))  # fmt: skip
    assert str(rule) == "if a > 1 then '0' = 0.25, '1' = 0  (support 100.0%, 1 row)"
    logit = Rule((), np.array([2.0]), 2.0, 0.5, 2, output_names=("yes",), fit_to="logit")
    assert str(logit) == "if always then logit 'yes' = 2  (support 50.0%, 2 rows)"
    X = np.random.default_rng(0).integers(0, 4, size=(400, 2)).astype(float)
    fit = bx.GlobalSurrogate(lambda A: A[:, :2] > 1, max_depth=1, seed=0).fit(X)
    assert fit.rules(as_text=True).splitlines()[0].startswith("if x0 > 1.5 then '0' = 1, '1' = ")


def test_reprs_list_the_parameters_that_differ_from_the_defaults():
    X = np.random.default_rng(0).normal(size=(40, 3))
    masker = bx.Tabular(X, summarize="kmeans", n_summary=5)
    assert repr(masker) == (
        "Tabular(background=<40 rows x 3 columns>, summarize='kmeans', n_summary=5; "
        "5 background rows kept)"
    )
    assert repr(bx.Tabular(X[:4], feature_names="abc")) == (
        "Tabular(background=<4 rows x 3 columns>, feature_names='abc')"
    )

    def f(A):
        return A.sum(axis=1)

    kernel = bx.KernelShap(f, X[:4], seed=1)
    assert repr(kernel) == (
        "KernelShap(model=CallableModel(test_reprs_list_the_parameters_that_differ_from_the_"
        "defaults.<locals>.f, n_outputs=None, n_calls=0, n_rows=0), "
        "masker=Tabular(background=<4 rows x 3 columns>), seed=1)"
    )
    surrogate = bx.GlobalSurrogate(f, kind="rules", max_depth=2, seed=0)
    assert repr(surrogate).endswith(", kind='rules', max_depth=2, seed=0)")
    assert repr(LimeTabular(X, discretizer=None)) == (
        "LimeTabular(data=<40 rows x 3 columns>, discretizer=None)"
    )


def test_callable_models_name_outputs_as_sklearn_does():
    model = bx.wrap(lambda A: np.c_[A[:, 0], -A[:, 0]])
    model(np.zeros((1, 2)))
    assert model.output_names == ["0", "1"]
    assert bx.Explanation(np.zeros((1, 2, 3)), np.zeros((1, 3))).output_names == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"outputs are \['0', '1', '2'\]"):
        bx.Explanation(np.zeros((1, 2, 3)), np.zeros((1, 3))).output_index("output 0")


def test_print_of_rows_with_their_own_players_skips_the_padding():
    # Two documents, 3 and 2 players: the second row is NaN-padded.
    values = np.array(
        [[[0.1, 0.5], [0.1, 0.0], [0.0, 0.1]], [[0.4, 0.0], [0.3, 0.1], [np.nan] * 2]]
    )
    expl = bx.Explanation(
        values, np.full((2, 2), 0.5), output_names=["neg", "pos"], method="kernel_shap",
        meta={"n_players": [3, 2], "player_names": [["a", "b", "c"], ["d", "e"]]},
    )  # fmt: skip
    lines = str(expl).splitlines()
    assert "  row 0: predicted 'pos' (f = 1.1, base 0.5)" in lines
    assert "  row 1: predicted 'neg' (f = 1.2, base 0.5)" in lines

"""Explanation: shape checks, JSON and npz round trips, frames, repr, slicing, views."""

import json

import numpy as np
import pytest

import blackbox_xai as bx


@pytest.fixture
def expl(rng):
    return bx.Explanation(
        rng.normal(size=(3, 4, 2)),
        rng.normal(size=(3, 2)),
        data=rng.normal(size=(3, 4)),
        feature_names=["a", "b", "c", "d"],
        output_names=["no", "yes"],
        stderr=rng.random((3, 4, 2)),
        method="test",
        meta={"seed": 7, "n_evals": np.array([1, 2, 3]), "converged": [True, False, True]},
    )


def _assert_same(a, b):
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.base_values, b.base_values)
    np.testing.assert_array_equal(a.stderr, b.stderr)
    np.testing.assert_array_equal(a.data, b.data)
    assert (a.feature_names, a.output_names, a.method) == (
        b.feature_names,
        b.output_names,
        b.method,
    )
    assert a.meta["seed"] == b.meta["seed"] and list(a.meta["n_evals"]) == list(b.meta["n_evals"])


def test_json_round_trip_is_exact(expl, tmp_path):
    text = expl.to_json(tmp_path / "e.json")
    assert json.loads(text)["format"] == "blackbox_xai.Explanation"
    _assert_same(bx.Explanation.from_json(text), expl)
    _assert_same(bx.Explanation.from_json(tmp_path / "e.json"), expl)


def test_npz_round_trip_is_exact(expl, tmp_path):
    expl.save(tmp_path / "e.npz")
    _assert_same(bx.Explanation.load(tmp_path / "e.npz"), expl)


def test_to_frame_is_long_and_complete(expl):
    frame = expl.to_frame()
    assert len(frame) == 3 * 4 * 2
    row = frame[(frame.row == 1) & (frame.feature == "c") & (frame.output == "yes")].iloc[0]
    assert (
        row.value == expl.values[1, 2, 1]
        and row.stderr == expl.stderr[1, 2, 1]
        and row.data == expl.data[1, 2]
    )


def test_repr_lists_top_features(expl):
    text = repr(expl)
    top = expl.top_features(0, "yes", 1)[0][0]
    assert "method='test'" in text and f"    {top}" in text


def test_slicing_keeps_rows(expl):
    part = expl[1:]
    assert part.shape == (2, 4, 2)
    np.testing.assert_array_equal(part.values, expl.values[1:])
    assert expl[2].shape == (1, 4, 2)


def test_html_and_plot(expl):
    html = expl.to_html(output="yes")
    assert html.count("<table") == 3 and "attributions to output yes" in html
    import matplotlib

    matplotlib.use("Agg")
    ax = expl.plot(row=0, output=1, max_features=3)
    assert len(ax.patches) == 3


def test_bad_construction_messages(rng):
    with pytest.raises(ValueError, match=r"values must have shape \(n, \*feature_shape, k\)"):
        bx.Explanation(np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="2 feature names for 3 features"):
        bx.Explanation(np.zeros((1, 3, 1)), np.zeros((1, 1)), feature_names=["a", "b"])
    with pytest.raises(ValueError, match=r"stderr has shape \(1, 3\)"):
        bx.Explanation(np.zeros((1, 3, 1)), np.zeros((1, 1)), stderr=np.zeros((1, 3)))
    e = bx.Explanation(np.zeros((1, 3, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"unknown output 'maybe'; outputs are \['0', '1'\]"):
        e.output_index("maybe")
    with pytest.raises(ValueError, match="not a blackbox_xai Explanation"):
        bx.Explanation.from_dict({"values": []})


def test_explanation_never_holds_the_model(cancer12, cancer_forest):
    X, _ = cancer12
    expl = bx.ExactShapley(cancer_forest, X[:5]).explain(X[:1])
    assert not any(isinstance(v, (bx.Model,)) or hasattr(v, "predict") for v in vars(expl).values())


def test_slicing_follows_per_row_meta(expl):
    part = expl[[0, 2]]
    assert part.meta["converged"] == [True, True] and list(part.meta["n_evals"]) == [1, 3]
    assert part.meta["seed"] == 7


def test_more_bad_input_messages(expl):
    with pytest.raises(
        ValueError, match=r"base_values must have shape \(n, k\) = \(1, 2\); got \(2, 1\)"
    ):
        bx.Explanation(np.zeros((1, 3, 2)), np.zeros((2, 1)))
    with pytest.raises(TypeError, match="output must be a name or an integer index, got 1.5"):
        expl.output_index(1.5)
    newer = expl.to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="format version 99, newer than 1; upgrade blackbox_xai"):
        bx.Explanation.from_dict(newer)


def test_html_leaves_data_out_when_groups_merge_columns(rng):
    expl = bx.ExactShapley(
        lambda Z: Z.sum(axis=1), bx.Tabular(np.zeros((1, 3)), groups=[[0, 1]])
    ).explain(np.array([[10.0, 20.0, 30.0]]))
    html = expl.to_html()
    assert "<td class='num'>30</td>" not in html and "<td class='num'></td>" in html
    single = bx.ExactShapley(lambda Z: Z.sum(axis=1), np.zeros((1, 3))).explain(
        np.array([[10.0, 20.0, 30.0]])
    )
    assert "<td class='num'>30</td>" in single.to_html()


def test_html_shows_standard_errors_and_rounds_noise_to_zero():
    expl = bx.Explanation(
        np.array([[[0.5], [-0.5 + 1e-16]]]),
        np.zeros((1, 1)),
        data=np.array([[1.0, 2.0]]),
        stderr=np.array([[[0.01], [0.02]]]),
    )
    html = expl.to_html()
    assert "std. error" in html and "<td class='num'>0.02</td>" in html
    assert "base + attributions 0<" in html

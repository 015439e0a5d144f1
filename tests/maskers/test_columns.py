"""Pandas rows are read by column name wherever names are known, never by position."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import blackbox_xai as bx

pd = pytest.importorskip("pandas")


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])


def _linear(frame):
    """The model 10 * a, fitted on the DataFrame (it has feature_names_in_)."""
    return LinearRegression().fit(frame, 10 * frame["a"])


def _truth(frame, i):
    return 10 * (frame["a"].iloc[i] - frame["a"].mean())


def test_exact_shapley_reads_permuted_frames_and_series_by_name(frame):
    explainer = bx.ExactShapley(_linear(frame), frame)
    permuted = frame[["c", "b", "a"]]
    expected = _truth(frame, 3)
    for X in (permuted.iloc[[3]], permuted.iloc[3], frame.iloc[3]):
        e = explainer.explain(X)
        assert e.feature_names == ["a", "b", "c"]
        np.testing.assert_allclose(e.values[0, :, 0], [expected, 0, 0], atol=1e-9)
        np.testing.assert_array_equal(e.data[0], frame.iloc[3].to_numpy())


def test_numpy_background_takes_the_names_of_a_dataframe_model(frame):
    # The background has the model's columns in the model's order (as the model reads
    # arrays), so a DataFrame X is matched to the model's feature_names_in_.
    explainer = bx.ExactShapley(_linear(frame), frame.to_numpy())
    e = explainer.explain(frame[["c", "b", "a"]].iloc[[5]])
    assert e.feature_names == ["a", "b", "c"]
    np.testing.assert_allclose(e.values[0, :, 0], [_truth(frame, 5), 0, 0], atol=1e-9)


def test_given_feature_names_align_a_dataframe(frame):
    model = LinearRegression().fit(frame.to_numpy(), 10 * frame["a"])
    masker = bx.Tabular(frame.to_numpy(), feature_names=["a", "b", "c"])
    e = bx.ExactShapley(model, masker).explain(frame[["b", "c", "a"]].iloc[[2]])
    np.testing.assert_allclose(e.values[0, :, 0], [_truth(frame, 2), 0, 0], atol=1e-9)


def test_mismatched_names_are_refused_with_missing_and_extra(frame):
    explainer = bx.ExactShapley(_linear(frame), frame)
    wrong = frame.rename(columns={"b": "B"})
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['B'\]"):
        explainer.explain(wrong.iloc[[0]])
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['B'\]"):
        explainer.explain(wrong.iloc[0])


def test_without_known_names_frames_are_read_by_position(frame):
    # Nothing names the background's columns: position is the only reading.
    f = bx.wrap(lambda X: 10 * X[:, :1])
    e = bx.ExactShapley(f, frame.to_numpy()).explain(frame[["c", "b", "a"]].iloc[[0]])
    assert e.feature_names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(e.data[0], frame[["c", "b", "a"]].iloc[0].to_numpy())


def test_lime_reads_a_permuted_frame_by_name(frame):
    model = _linear(frame)
    lime = bx.Lime(model, frame, seed=0)
    i = int(np.argmax(frame["a"].to_numpy()))  # 'a' and 'c' in different bins
    straight = lime.explain(frame.iloc[[i]], n_samples=256)
    for X in (frame[["c", "b", "a"]].iloc[[i]], frame[["b", "a", "c"]].iloc[i]):
        e = lime.explain(X, n_samples=256)
        np.testing.assert_array_equal(e.values, straight.values)
        np.testing.assert_array_equal(e.data, frame.iloc[[i]].to_numpy())
    assert straight.values[0, 0, 0] > 1.0  # 'a' is its top feature, and positive


def test_anchors_read_a_series_by_name():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    data = frame.to_numpy()
    labels = (data[:, 0] > 0).astype(int)
    clf = LogisticRegression().fit(frame, labels)
    anchors = bx.Anchors(clf, frame, seed=0)
    i = int(np.argmax(data[:, 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = anchors.explain(frame.iloc[i])
        permuted = anchors.explain(frame[["c", "a", "b"]].iloc[i])
    assert straight.rule == permuted.rule
    np.testing.assert_array_equal(permuted.data, data[i])
    assert straight.rule == ["a > 0.534"]

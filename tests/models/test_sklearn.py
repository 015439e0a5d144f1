"""scikit-learn backend: methods, output names, pipelines, DataFrame schemas."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

import blackbox_xai as bx


def test_classifier_explains_proba_with_class_names(wine):
    X, y = wine
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    model = bx.wrap(clf)
    np.testing.assert_array_equal(model(X[:5]), clf.predict_proba(X[:5]))
    assert model.output_names == ["0", "1", "2"] and model.n_outputs == 3


def test_decision_and_log_proba_outputs(wine):
    X, y = wine
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y == 1)
    dec = bx.wrap(clf, output="decision")
    np.testing.assert_allclose(dec(X[:3])[:, 0], clf.decision_function(X[:3]))
    assert dec.output_names == ["True"]
    logp = bx.wrap(clf, output="log_proba")
    np.testing.assert_allclose(np.exp(logp(X[:3])), clf.predict_proba(X[:3]))


def test_regressor_is_probed_at_wrap():
    X = np.arange(12.0).reshape(6, 2)
    reg = LinearRegression().fit(X, X @ [1.0, 2.0])
    model = bx.wrap(reg)
    assert model.n_outputs == 1 and model.n_calls == 0
    np.testing.assert_allclose(model(X)[:, 0], X @ [1.0, 2.0])


def test_bad_output_choice_messages(wine):
    X, y = wine
    with pytest.raises(ValueError, match="output must be one of"):
        bx.wrap(LogisticRegression().fit(X[:, :2], y), output="probs")
    with pytest.raises(ValueError, match=r"needs LinearSVC.predict_proba"):
        bx.wrap(LinearSVC().fit(X, y), output="proba")


def test_dataframe_model_gets_columns_and_dtypes():
    frame = pd.DataFrame(
        {
            "age": [20, 30, 40, 50, 60, 70],
            "colour": [0, 1, 2, 0, 1, 2],
            "income": [1.0, 2, 3, 4, 5, 6],
        }
    )
    frame["colour"] = frame["colour"].astype("int8")
    y = np.array([0, 0, 1, 1, 0, 1])
    seen = {}

    class Recorder(LogisticRegression):
        def predict_proba(self, X):
            seen["columns"] = list(X.columns)
            seen["dtypes"] = [str(t) for t in X.dtypes]
            return super().predict_proba(X)

    clf = Recorder().fit(frame, y)
    explainer = bx.ExactShapley(clf, frame)
    expl = explainer.explain(frame.iloc[:2])
    assert seen == {"columns": ["age", "colour", "income"], "dtypes": ["int64", "int8", "float64"]}
    assert expl.feature_names == ["age", "colour", "income"]


def test_pipeline_with_categorical_encoder_on_dataframe():
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "kind": [0, 1, 0, 1, 0, 1]})
    pipe = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(), ["kind"])], remainder="passthrough"),
        LinearRegression(),
    ).fit(frame, frame["size"] * 2 + frame["kind"])
    expl = bx.ExactShapley(pipe, frame).explain(frame.iloc[:1])
    # Efficiency holds through the pipeline.
    np.testing.assert_allclose(
        expl.values[0].sum() + expl.base_values[0, 0], pipe.predict(frame.iloc[:1])[0]
    )


def test_text_pipeline_takes_list_of_strings():
    docs = ["good movie", "bad movie", "good plot", "bad plot"]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, [1, 0, 1, 0])
    model = bx.wrap(pipe)
    out = model(["good", "bad"])
    assert out.shape == (2, 2) and out[0, 1] > out[1, 1]


def test_non_numeric_dataframe_background_is_refused():
    frame = pd.DataFrame({"a": [1.0, 2.0], "colour": ["red", "blue"]})
    with pytest.raises(
        TypeError, match=r"background has non-numeric columns \['colour'\]; encode them"
    ):
        bx.Tabular(frame)


def test_data_columns_in_another_order_than_the_model_are_realigned():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, -1.0, 2.0, 0.0]})
    reg = LinearRegression().fit(frame, 3 * frame["a"] - frame["b"])
    swapped = frame[["b", "a"]]
    expl = bx.ExactShapley(reg, swapped).explain(swapped.iloc[:1])
    assert expl.feature_names == ["b", "a"]
    expected = [-(0.5 - frame["b"].mean()), 3 * (1.0 - frame["a"].mean())]
    np.testing.assert_allclose(expl.values[0, :, 0], expected, atol=1e-10)
    # Rows given as a frame in the model's order are matched to the background by name.
    again = bx.ExactShapley(reg, swapped).explain(frame.iloc[:1])
    np.testing.assert_allclose(again.values, expl.values, atol=1e-12)


def test_data_with_other_columns_than_the_model_is_refused():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, -1.0, 2.0]})
    reg = LinearRegression().fit(frame, frame["a"])
    with pytest.raises(
        ValueError,
        match=r"do not match the model's feature_names_in_: missing \['b'\], unexpected \['c'\]",
    ):
        bx.ExactShapley(reg, frame.rename(columns={"b": "c"}))
    explainer = bx.ExactShapley(reg, frame)
    with pytest.raises(
        ValueError, match=r"X's columns do not match .* missing \['b'\], unexpected \['z'\]"
    ):
        explainer.explain(frame.rename(columns={"b": "z"}))


def test_numeric_extension_dtypes_are_read_and_text_columns_named():
    frame = pd.DataFrame(
        {"n": pd.array([1, 2, 3], dtype="Int64"), "c": pd.Categorical([1.0, 2.0, 1.0])}
    )
    np.testing.assert_array_equal(bx.Tabular(frame).data, [[1, 1], [2, 2], [3, 1]])
    text = pd.DataFrame({"n": [1.0, 2.0], "colour": pd.Categorical(["red", "blue"])})
    with pytest.raises(TypeError, match=r"background has non-numeric columns \['colour'\]"):
        bx.Tabular(text)

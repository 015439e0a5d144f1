"""The prediction protocol: shapes, counting, batching and every bad output."""

import numpy as np
import pytest

import blackbox_xai as bx


def linear(X):
    return X @ np.array([1.0, -2.0, 0.5])


def test_callable_returns_float64_column_and_counts_calls():
    model = bx.wrap(linear, batch_size=4)
    out = model(np.ones((10, 3), dtype=np.float32))
    assert out.dtype == np.float64 and out.shape == (10, 1)
    np.testing.assert_allclose(out[:, 0], -0.5)
    assert (model.n_calls, model.n_rows) == (3, 10)
    model.reset_counts()
    assert (model.n_calls, model.n_rows) == (0, 0)


def test_batches_are_contiguous_and_in_order():
    seen = []

    def record(X):
        seen.append(X[:, 0].copy())
        return X[:, :1] * 2

    out = bx.wrap(record, batch_size=3)(np.arange(8.0).reshape(8, 1))
    assert [len(s) for s in seen] == [3, 3, 2]
    np.testing.assert_array_equal(out[:, 0], np.arange(8.0) * 2)


def test_model_that_raises_names_batch_and_rows():
    def broken(X):
        if X[0, 0] >= 4:
            raise KeyError("boom")
        return X[:, 0]

    with pytest.raises(
        bx.ModelCallError,
        match=r"KeyError on rows 4:6 of an input of shape \(6, 1\) \(batch shape \(2, 1\)\)",
    ):
        bx.wrap(broken, batch_size=2)(np.arange(6.0).reshape(6, 1))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_output_is_refused(bad):
    def f(X):
        out = X[:, 0].copy()
        out[2] = bad
        return out

    with pytest.raises(
        ValueError, match=r"non-finite values \(NaN or inf\) for input row 2, output 0"
    ):
        bx.wrap(f)(np.zeros((4, 1)))


def test_wrong_number_of_rows_is_refused():
    with pytest.raises(ValueError, match="returned 3 rows for an input of 4 rows"):
        bx.wrap(lambda X: X[:3, 0])(np.zeros((4, 1)))


def test_changing_number_of_outputs_is_refused():
    model = bx.wrap(lambda X: np.zeros((len(X), 1 + int(X[0, 0]))))
    model(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="returned 2 outputs, but earlier calls returned 1"):
        model(np.ones((2, 1)))


def test_non_numeric_and_high_rank_outputs_are_refused():
    with pytest.raises(ValueError, match="not numeric"):
        bx.wrap(lambda X: np.array(["a"] * len(X)))(np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, k\); got shape \(2, 1, 1\)"):
        bx.wrap(lambda X: np.zeros((len(X), 1, 1)))(np.zeros((2, 1)))


def test_probe_learns_outputs_without_counting():
    model = bx.wrap(lambda X: np.c_[X[:, 0], X[:, 0]])
    model.probe(np.zeros((5, 1)))
    assert model.n_outputs == 2 and model.output_names == ["0", "1"]
    assert model.n_calls == 0


def test_text_callable_and_single_string_message():
    model = bx.CallableModel(lambda docs: [len(d) for d in docs], input_kind="text")
    np.testing.assert_array_equal(model(["ab", "abc"])[:, 0], [2.0, 3.0])
    with pytest.raises(TypeError, match="list of strings, not a single string"):
        model("abc")


def test_wrap_rejects_unknown_objects():
    with pytest.raises(TypeError, match="cannot wrap a int"):
        bx.wrap(3)
    with pytest.raises(ValueError, match=r"only '.onnx' files"):
        bx.wrap("model.pkl")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        bx.wrap(linear, batch_size=0)
    with pytest.raises(ValueError, match="no meaning for a plain callable"):
        bx.wrap(linear, output="proba")
    model = bx.wrap(linear)
    assert bx.wrap(model) is model

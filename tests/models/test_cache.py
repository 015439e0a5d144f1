"""CachedModel: outputs cached by model bytes and input hash, for repeated audits."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import blackbox_xai as bx
from blackbox_xai.models.cache import model_key


def _square(X):
    return (X**2).sum(axis=1)


@pytest.fixture
def fitted():
    X = np.arange(20.0).reshape(10, 2)
    return X, LinearRegression().fit(X, X @ [1.0, -2.0])


def test_repeated_inputs_hit_the_cache(tmp_path, fitted):
    X, est = fitted
    cached = bx.CachedModel(est, tmp_path)
    first = cached(X)
    np.testing.assert_allclose(first[:, 0], X @ [1.0, -2.0], atol=1e-9)
    np.testing.assert_array_equal(cached(X), first)
    assert (cached.n_calls, cached.model.n_calls) == (2, 1)
    cached(X[:3])  # another input: a miss
    assert cached.model.n_calls == 2
    # A new wrapper over the same fitted model finds the same entries.
    again = bx.CachedModel(est, joblib.Memory(str(tmp_path), verbose=0))
    assert again.key == cached.key
    np.testing.assert_array_equal(again(X), first)
    assert again.model.n_calls == 0


def test_a_refitted_model_gets_another_key(tmp_path, fitted):
    X, est = fitted
    other = LinearRegression().fit(X, X @ [1.0, 2.0])
    assert model_key(bx.wrap(est)) != model_key(bx.wrap(other))
    assert model_key(bx.wrap(_square)) == model_key(bx.wrap(_square))


def test_onnx_models_are_keyed_by_their_bytes(tmp_path, fitted):
    pytest.importorskip("skl2onnx")
    from blackbox_xai.models.convert import sklearn_to_onnx

    X, est = fitted
    data = sklearn_to_onnx(est, X[:1])
    a, b = bx.OnnxModel(data), bx.OnnxModel(data)
    assert model_key(a) == model_key(b)
    cached = pickle.loads(pickle.dumps(bx.CachedModel(a, tmp_path)))
    np.testing.assert_allclose(cached(X)[:, 0], X @ [1.0, -2.0], rtol=1e-5)


def test_an_audit_run_twice_calls_the_model_once(tmp_path, fitted):
    X, est = fitted
    cached = bx.CachedModel(est, tmp_path)
    first = bx.KernelShap(cached, X[:4], seed=0).explain(X[4:], n_evals=4)
    calls = cached.model.n_calls
    second = bx.KernelShap(cached, X[:4], seed=0).explain(X[4:], n_evals=4)
    np.testing.assert_array_equal(first.values, second.values)
    assert calls > 0 and cached.model.n_calls == calls


def test_unhashable_models_and_bad_stores_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot hash the model to key its cache"):
        bx.CachedModel(lambda X: X[:, 0], tmp_path)
    keyed = bx.CachedModel(lambda X: X[:, 0], tmp_path, key="first column v1")
    assert keyed.key == "first column v1"
    with pytest.raises(TypeError, match="memory must be a joblib.Memory or a folder path"):
        bx.CachedModel(_square, 3)

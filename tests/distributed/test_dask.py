"""explain_dask and the joblib dask backend on a real 2-process LocalCluster.

One cluster serves the whole module (starting worker processes is the slow part); the
worker-kill test runs last because it replaces a worker.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import blackbox_xai as bx

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, RandomForestRegressor]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = X[:, 0] + X[:, 1] * X[:, 2]
    return X, RandomForestRegressor(n_estimators=15, max_depth=5, random_state=0).fit(X, y)


def _array(X: np.ndarray, rows: int) -> Any:
    return da.from_array(X, chunks=(rows, X.shape[1]))


@pytest.mark.parametrize("rows", [23, 7, 4])
def test_kernel_shap_and_lime_match_n_jobs_1_whatever_the_partitioning(
    client: Any, data: Any, rows: int
) -> None:
    X, est = data
    kernel = bx.KernelShap(est, X[:10], seed=3)
    lime = bx.Lime(est, X[:40], seed=3)
    for explainer, kwargs in ((kernel, {"n_evals": 64}), (lime, {"n_samples": 200})):
        expected = explainer.explain(X[:23], **kwargs).values
        out = bx.explain_dask(explainer, _array(X[:23], rows), **kwargs)
        assert out.chunks[0] == _array(X[:23], rows).chunks[0]
        np.testing.assert_array_equal(out.compute(), expected)


def test_dataframe_input_keeps_the_index_and_names_the_columns(client: Any, data: Any) -> None:
    X, est = data
    columns = ["a", "b", "c", "d", "e"]
    frame = pd.DataFrame(X[:23], columns=columns, index=np.arange(100, 123))
    explainer = bx.KernelShap(est, pd.DataFrame(X[:10], columns=columns), seed=3)
    expected = explainer.explain(frame, n_evals=64).values[..., 0]
    out = bx.explain_dask(explainer, dd.from_pandas(frame, npartitions=3), n_evals=64)
    result = out.compute()
    assert list(result.columns) == columns
    assert list(result.index) == list(range(100, 123))
    np.testing.assert_array_equal(result.to_numpy(), expected)


def test_anchors_match_explain_many(client: Any, data: Any) -> None:
    X, _ = data
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    anchors = bx.Anchors(forest, X, seed=5)
    expected = anchors.explain_many(X[:6])
    bag = bx.explain_dask(anchors, _array(X[:6], 4), returns="explanations")
    result = bag.compute()
    assert [e.rule for e in result] == [e.rule for e in expected]
    assert [e.precision for e in result] == [e.precision for e in expected]
    assert [e.meta["row"] for e in result] == list(range(6))


def test_onnx_models_survive_being_shipped(client: Any, data: Any) -> None:
    pytest.importorskip("skl2onnx")
    from blackbox_xai.models.convert import sklearn_to_onnx

    X, est = data
    model = bx.OnnxModel(sklearn_to_onnx(est, X[:1]))
    explainer = bx.KernelShap(model, X[:10], seed=1)
    expected = explainer.explain(X[:12], n_evals=64)
    bag = bx.explain_dask(explainer, _array(X[:12], 5), returns="explanations", n_evals=64)
    parts = bag.compute()
    assert len(parts) == 3
    np.testing.assert_array_equal(np.concatenate([p.values for p in parts]), expected.values)
    np.testing.assert_array_equal(
        np.concatenate([p.base_values for p in parts]), expected.base_values
    )


def test_joblib_dask_backend_matches_and_carries_the_memory_budget(client: Any, data: Any) -> None:
    X, est = data
    explainer = bx.KernelShap(est, X[:10], seed=2)
    expected = explainer.explain(X[:20], n_evals=64)
    explainer.n_jobs = 2
    with joblib.parallel_config(backend="dask"):
        same = explainer.explain(X[:20], n_evals=64, chunk_size=5)
        # 6.4 KiB of model input (80 pairs a call) reaches the workers: 80 calls, not 4.
        with bx.config_context(memory_budget_mb=0.05):
            tight = explainer.explain(X[:20], n_evals=64, chunk_size=5)
    lime = bx.Lime(est, X[:40], seed=3, n_jobs=2)
    with joblib.parallel_config(backend="dask"):
        lime_dask = lime.explain(X[:9], n_samples=200, chunk_size=4).values
    lime.n_jobs = 1
    np.testing.assert_array_equal(lime_dask, lime.explain(X[:9], n_samples=200).values)
    np.testing.assert_array_equal(same.values, expected.values)
    np.testing.assert_array_equal(tight.values, expected.values)
    assert same.meta["n_model_calls"] == 4  # one call per chunk
    assert tight.meta["n_model_calls"] == 80


def test_summary_streams_without_collecting_and_agrees_with_numpy(client: Any, data: Any) -> None:
    X, est = data
    explainer = bx.KernelShap(est, X[:10], seed=3)
    values = bx.explain_dask(explainer, _array(X, 9), n_evals=64)
    summary = bx.summarize_dask(values, levels=(0.0, 0.1, 0.5, 0.9, 1.0))
    exact = explainer.explain(X, n_evals=64).values
    assert summary.n_rows == len(X)
    np.testing.assert_allclose(summary.mean_abs, np.abs(exact).mean(axis=0), rtol=1e-12)
    truth = np.quantile(exact, summary.levels, axis=0, method="lower")
    assert np.all(np.abs(summary.quantiles - truth) <= 0.01 * np.abs(truth) * (1 + 1e-9))
    frame = bx.summarize_dask(dd.from_pandas(pd.DataFrame(exact[..., 0]), npartitions=4))
    np.testing.assert_array_equal(
        frame.quantiles[..., 0], bx.summarize_dask(exact).quantiles[..., 0]
    )


def test_a_killed_worker_still_gives_complete_identical_results(client: Any, data: Any) -> None:
    X, est = data
    explainer = bx.KernelShap(est, X[:20], seed=4)
    expected = explainer.explain(X, n_evals=256).values
    pids = client.run(os.getpid)
    future = client.compute(bx.explain_dask(explainer, _array(X, 4), n_evals=256))
    deadline = time.monotonic() + 30
    victim = None
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if keys]
        victim = busy[0] if busy else None
        time.sleep(0.01)
    assert victim is not None and not future.done()
    os.kill(pids[victim], signal.SIGKILL)
    result = future.result(timeout=120)
    np.testing.assert_array_equal(result, expected)
    # The worker really died: the nanny replaced it with a new process.
    client.wait_for_workers(2, timeout=60)
    assert pids[victim] not in client.run(os.getpid).values()

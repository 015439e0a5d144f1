"""Both sampling Shapley estimators run under joblib's multiprocessing backend (their
chunk work must pickle) and give the values of a single process."""

import numpy as np
import pytest
from joblib import parallel_config

import blackbox_xai as bx


@pytest.mark.parametrize(
    ("estimator", "budget"),
    [(bx.KernelShap, {"n_evals": 60}), (bx.SamplingShapley, {"n_permutations": 24})],
)
@pytest.mark.parametrize("background", ["mean", "sample"])
def test_multiprocessing_backend_gives_the_same_values(
    data, rough, estimator, budget, background
) -> None:
    bg, X = data
    ref = estimator(rough, bg, seed=0).explain(X, background=background, **budget)
    with parallel_config(backend="multiprocessing", n_jobs=2):
        other = estimator(rough, bg, seed=0).explain(
            X, background=background, chunk_size=2, **budget
        )
    np.testing.assert_array_equal(other.values, ref.values)

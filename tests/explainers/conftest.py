"""Games shared by the Shapley estimator tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


def _rough(X: np.ndarray) -> np.ndarray:
    """Higher-order interactions, two outputs."""
    return np.stack(
        [np.sin(X[:, 0] * X[:, 1] * X[:, 2]) + X[:, 3] * X[:, 4] * X[:, 5], np.tanh(X.sum(1))], 1
    )


@pytest.fixture
def rough() -> Callable[[np.ndarray], np.ndarray]:
    return _rough


@pytest.fixture
def data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Six background rows and five rows to explain, eight features."""
    return rng.normal(size=(6, 8)), rng.normal(size=(5, 8))


def _check_reproducible(one: Any, again: Any, two: Any, other: Any) -> None:
    """Same seed: identical results (also with other ``n_jobs``/chunks); other seed: not."""
    assert np.array_equal(one.values, again.values)
    assert np.array_equal(one.values, two.values) and np.array_equal(one.stderr, two.stderr)
    assert one.meta["n_evals"] == two.meta["n_evals"]
    assert not np.allclose(one.values, other.values)


@pytest.fixture
def check_reproducible() -> Callable[[Any, Any, Any, Any], None]:
    return _check_reproducible

"""Games shared by the Shapley estimator tests."""

from __future__ import annotations

from collections.abc import Callable

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

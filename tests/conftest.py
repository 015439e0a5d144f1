"""Shared fixtures: small seeded data sets and fitted models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import RandomForestClassifier


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def wine() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def cancer12() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :12], y


@pytest.fixture(scope="session")
def cancer_forest(cancer12: tuple[np.ndarray, np.ndarray]) -> RandomForestClassifier:
    X, y = cancer12
    return RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)

"""Models for the concept tools: a planted concept direction, and the digits CNN."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import blackbox_xai as bx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planted import planted_mlp

GRADIENT_FIXTURES = Path(__file__).resolve().parents[1] / "gradients" / "fixtures"


@pytest.fixture(scope="session")
def planted():
    """The planted MLP, its direction v, the input shift u, and seeded input sets."""
    model, v, u = planted_mlp()
    rng = np.random.default_rng(5)

    def draw(n):
        return (rng.standard_normal((n, 8)) * 0.3).astype(np.float32)

    sets = {
        "targets": draw(40),
        "concept": (draw(30) + 2.5 * u).astype(np.float32),
        "random_concept": draw(30),
        "pool": draw(200),
    }
    return bx.DifferentiableOnnxModel(model, output="logits"), v, u, sets


@pytest.fixture(scope="session")
def digits_cnn():
    """The torch-exported digits CNN of the gradient fixtures (explaining its logits)."""
    return bx.DifferentiableOnnxModel(GRADIENT_FIXTURES / "gap_cnn.onnx", output="logits")


@pytest.fixture(scope="session")
def digits_images():
    """All 1797 digits as (n, 1, 8, 8) float32 in [0, 1], and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32)[:, None], data.target

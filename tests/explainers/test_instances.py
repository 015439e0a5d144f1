"""Per-instance maskers (players that depend on the instance): every explainer, unchanged.

A toy masker stands in for texts and images: an instance is a 1-D array of any length,
its players are its elements, and an absent element is replaced by 0. A linear model on
such sequences has Shapley values ``w_j x_j`` and LIME coefficients (all masks enumerated)
``w_j x_j`` too, whatever the length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.maskers import InstanceMasker, Masker

WEIGHTS = np.array([1.0, -2.0, 3.0, 0.5, 4.0, -1.5, 2.5])


class Sequences(Masker):
    per_instance = True

    def validate(self, X: Any) -> Any:
        raise AssertionError("explainers must split a per-instance masker's input")

    def coalition_values(self, model: Any, X: Any, Z: np.ndarray) -> np.ndarray:
        raise AssertionError("explainers must use the bound maskers")

    def instances(self, X: Any) -> list[np.ndarray]:
        return [np.asarray(x, dtype=np.float64) for x in X]

    def for_instance(self, instance: np.ndarray) -> InstanceMasker:
        return BoundSequence(instance)


class BoundSequence(InstanceMasker):
    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.n_players = len(x)
        self.player_names = [f"e{j}" for j in range(len(x))]

    def rows(self) -> np.ndarray:
        return self.x[None]

    def validate(self, X: Any) -> np.ndarray:
        assert np.array_equal(X, self.x[None])
        return np.asarray(X)

    def coalition_values(self, model: Any, X: Any, Z: np.ndarray) -> np.ndarray:
        Z = np.asarray(Z, dtype=bool)
        Z = Z if Z.ndim == 3 else Z[None]
        inputs = [self.x * z for z in Z[0]]  # a list of sequences, as a text model gets strings
        return model(inputs)[None]

    def instance_meta(self) -> dict[str, Any]:
        return {"length": len(self.x)}


def linear(batch: list[np.ndarray]) -> np.ndarray:
    return np.array([[WEIGHTS[: len(a)] @ a, -(WEIGHTS[: len(a)] @ a)] for a in batch])


@pytest.fixture
def sequences() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.normal(size=n) for n in (3, 7, 5)]


def _closed_form(x: np.ndarray) -> np.ndarray:
    phi = WEIGHTS[: len(x)] * x
    return np.stack([phi, -phi], axis=1)


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (lambda: bx.ExactShapley(linear, Sequences()), {}),
        (lambda: bx.KernelShap(linear, Sequences(), seed=0), {"n_evals": 64}),
        (lambda: bx.SamplingShapley(linear, Sequences(), seed=0), {"n_permutations": 8}),
        (lambda: bx.Lime(linear, Sequences(), seed=0), {"n_samples": 256, "alpha": 0.0}),
    ],
    ids=["exact", "kernel", "sampling", "lime"],
)
def test_every_explainer_gives_each_instance_its_own_players(
    make: Any, kwargs: dict[str, Any], sequences: list[np.ndarray]
) -> None:
    expl = make().explain(sequences, **kwargs)
    assert expl.values.shape == (3, 7, 2)
    assert expl.meta["n_players"] == [3, 7, 5]
    assert expl.meta["length"] == [3, 7, 5]
    for i, x in enumerate(sequences):
        d = len(x)
        np.testing.assert_allclose(expl.values[i, :d], _closed_form(x), atol=1e-10)
        assert np.isnan(expl.values[i, d:]).all()  # padding, never a value
        row = expl[i]
        assert row.values.shape == (1, d, 2) and row.feature_names == [f"e{j}" for j in range(d)]
        assert "n_players" not in row.meta
    top = expl.top_features(0, output=0, n=5)  # row 0's three players, no padding
    order = np.argsort(-np.abs(_closed_form(sequences[0])[:, 0]))
    assert [name for name, _ in top] == [f"e{j}" for j in order]


def test_results_do_not_depend_on_n_jobs_chunks_or_the_other_instances(
    sequences: list[np.ndarray],
) -> None:
    def rough(batch: list[np.ndarray]) -> np.ndarray:
        # Interactions of every order: paired Kernel SHAP is not exact, so seeds matter.
        return np.array([[np.sin(3 * np.sum(a)) + a[0] * a[1] * a[-1]] for a in batch])

    explainer = bx.KernelShap(rough, Sequences(), seed=3)
    one = explainer.explain(sequences, n_evals=20)
    two = bx.KernelShap(rough, Sequences(), seed=3, n_jobs=2).explain(
        sequences, n_evals=20, chunk_size=1
    )
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(one.stderr, two.stderr)
    assert one.meta["n_model_rows"] == two.meta["n_model_rows"] > 0
    # An instance's values depend on its position only, not on the other instances.
    swapped = explainer.explain([sequences[0], sequences[1], sequences[0]], n_evals=20)
    np.testing.assert_array_equal(swapped.values[:2], one.values[:2])
    other = bx.KernelShap(rough, Sequences(), seed=4).explain(sequences, n_evals=20)
    assert not np.allclose(other.values[1, :7], one.values[1, :7])
    assert one.meta["seed"] == 3


def test_stacked_explanations_round_trip_and_tabulate(sequences: list[np.ndarray]) -> None:
    expl = bx.ExactShapley(linear, Sequences()).explain(sequences)
    again = bx.Explanation.from_json(expl.to_json())
    np.testing.assert_array_equal(again.values, expl.values)  # NaN padding included
    assert again[1].feature_names == expl[1].feature_names
    frame = expl.to_frame()
    assert len(frame) == 2 * (3 + 7 + 5)  # no padded rows
    assert not frame["value"].isna().any()
    assert repr(bx.ExactShapley(linear, Sequences())).startswith(
        "ExactShapley(model=CallableModel(linear"
    )

"""Per-row seeds, chunked parallel map, validation helpers."""

import itertools

import numpy as np
import pytest
from joblib import parallel_config

import blackbox_xai as bx
from blackbox_xai.utils.parallel import map_row_chunks, row_chunks
from blackbox_xai.utils.seeding import resolve_seed, row_rng
from blackbox_xai.utils.validation import check_positive_int, check_texts, feature_names_of


def test_row_streams_do_not_depend_on_how_many_rows():
    a = [row_rng(5, i).random() for i in range(3)]
    b = np.random.SeedSequence(5).spawn(10)
    assert a == [np.random.default_rng(s).random() for s in b[:3]]
    assert len(set(a)) == 3


def test_resolve_seed():
    assert resolve_seed(3) == 3
    assert isinstance(resolve_seed(None), int)
    with pytest.raises(
        TypeError, match="seed must be an int, a numpy SeedSequence or None, got Generator"
    ):
        resolve_seed(np.random.default_rng(0))
    with pytest.raises(ValueError, match="seed must be non-negative"):
        resolve_seed(-1)


def test_row_chunks_cover_rows_in_order():
    assert row_chunks(10, 1) == [(0, 10)]
    chunks = row_chunks(10, 2)
    assert (
        chunks[0][0] == 0
        and chunks[-1][1] == 10
        and all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    )
    assert row_chunks(5, 2, chunk_size=2) == [(0, 2), (2, 4), (4, 5)]
    assert row_chunks(0, 2) == []


def _sum_rows(model, start, stop):
    return model(np.arange(start, stop, dtype=float).reshape(-1, 1))[:, 0]


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_map_row_chunks_counts_model_use_for_every_backend(backend):
    model = bx.wrap(lambda X: X[:, 0] * 2)
    with parallel_config(backend=backend, n_jobs=2):
        parts = map_row_chunks(_sum_rows, model, 9, chunk_size=4)
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(9) * 2.0)
    assert (model.n_calls, model.n_rows) == (3, 9)


def test_validation_helpers():
    assert check_texts("a") == ["a"]
    with pytest.raises(TypeError, match=r"X\[0\] is a int, not a string"):
        check_texts([1, 2])
    with pytest.raises(TypeError, match="must be a string or a sequence of strings"):
        check_texts(3)
    with pytest.raises(ValueError, match=r"feature_names must be unique; repeated: \['a'\]"):
        feature_names_of(None, 2, ["a", "a"])
    with pytest.raises(ValueError, match="feature_names has 1 names for 2 features"):
        feature_names_of(None, 2, ["a"])
    with pytest.raises(ValueError, match="n_samples must be >= 2, got 1"):
        check_positive_int(1, "n_samples", minimum=2)
    with pytest.raises(TypeError, match="n_samples must be an integer, got float"):
        check_positive_int(2.0, "n_samples")

"""One random stream per explained row, so results never depend on chunking or n_jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

SeedLike = int | np.random.SeedSequence | None

#: Global index of the first row an ``explain`` call sees (see :func:`row_offset`).
_ROW_OFFSET: ContextVar[int] = ContextVar("blackbox_xai_row_offset", default=0)


def resolve_seed(seed: SeedLike) -> int:
    """Turn ``seed`` into the integer entropy recorded in ``Explanation.meta``.

    ``None`` draws fresh OS entropy once; recording it makes every run replayable.
    A ``numpy.random.Generator`` is refused because its state cannot be split per
    row reproducibly.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.entropy)  # type: ignore[arg-type]
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int, a numpy SeedSequence or None, got {type(seed).__name__}."
        )
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}.")
    return int(seed)


@contextmanager
def row_offset(offset: int) -> Iterator[int]:
    """Inside the block, row ``i`` of an explained batch is global row ``offset + i``.

    A table explained in pieces (dask partitions, a loop over files) then gets, in each
    piece, the random streams its rows would get if the whole table were explained at
    once: results do not depend on the partitioning. The innermost block holds (offsets
    do not add up; ``row_offset(0)`` restores local indices).

    Parameters
    ----------
    offset : int
        Global index of the batch's first row (non-negative).
    """
    if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"row offset must be an int, got {type(offset).__name__}.")
    if offset < 0:
        raise ValueError(f"row offset must be non-negative, got {offset}.")
    token = _ROW_OFFSET.set(int(offset))
    try:
        yield _ROW_OFFSET.get()
    finally:
        _ROW_OFFSET.reset(token)


def current_row_offset() -> int:
    """The global index of row 0 of the batch being explained (0 outside :func:`row_offset`)."""
    return _ROW_OFFSET.get()


def row_key(row: int) -> tuple[int]:
    """The ``spawn_key`` of local row ``row``: its global index, ``(offset + row,)``."""
    return (_ROW_OFFSET.get() + int(row),)


def row_rng(entropy: int, row: int) -> np.random.Generator:
    """Generator for explained row ``row``: a child of ``SeedSequence(entropy)``.

    The child is the one of the row's *global* index (``row`` plus the current
    :func:`row_offset`). ``SeedSequence(entropy).spawn(n)[i]`` has ``spawn_key=(i,)``
    whatever ``n`` is, so building it directly keeps a row's stream independent of how
    rows are chunked or partitioned.
    """
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=row_key(row)))

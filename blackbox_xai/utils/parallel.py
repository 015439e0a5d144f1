"""Row-chunked parallel map that honours ``joblib.parallel_config`` and keeps model counters.

Work is split over *rows* only; each row draws from its own seed (see ``seeding``), so
the chunk size and the number of workers never change a result. Each task carries the
caller's settings (``config``: the memory budget) and row offset (``seeding``), because
neither a thread nor a process that joblib or dask runs the task in inherits them, and
runs with one BLAS thread: ``n`` workers on ``n`` cores otherwise start ``n x cores``
BLAS threads, which slowed the 2-worker dask run of benchmarks/scale.py below 1 process.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from joblib import Parallel, delayed, effective_n_jobs, parallel_config
from threadpoolctl import threadpool_limits  # a scikit-learn dependency, always there

from . import progress
from .config import config_context, get_config
from .seeding import current_row_offset, row_offset

if TYPE_CHECKING:
    from ..models.base import Model

T = TypeVar("T")
ChunkFn = Callable[["Model", int, int], T]


def row_chunks(n_rows: int, n_workers: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Split ``range(n_rows)`` into contiguous ``(start, stop)`` chunks.

    Without ``chunk_size`` each worker gets about four chunks, which balances uneven
    rows (early stopping) without paying for many tiny tasks.
    """
    if n_rows <= 0:
        return []
    if chunk_size is None:
        chunk_size = max(1, -(-n_rows // (4 * n_workers))) if n_workers > 1 else n_rows
    return [(s, min(n_rows, s + chunk_size)) for s in range(0, n_rows, chunk_size)]


def in_worker(
    settings: dict[str, Any], offset: int, caller: int, fn: Callable[..., T], *args: Any
) -> T:
    """``fn(*args)`` with the caller's ``settings`` and row ``offset``.

    joblib calls inside the task (a random forest's ``predict``) run sequentially: under
    the dask backend they would otherwise spread over the cluster, and a forest summing
    its trees in whatever order threads finish changes the last bits of its output.
    In a process other than the caller's (pid ``caller``) BLAS gets one thread. Threads
    of the caller's process are left alone: BLAS limits are process-wide, and threads
    setting and restoring them concurrently would leave the caller with the wrong one.
    """
    with config_context(**settings), row_offset(offset), parallel_config(backend="sequential"):
        if os.getpid() == caller:
            return fn(*args)
        with threadpool_limits(1, user_api="blas"):
            return fn(*args)


def _run_counted(fn: ChunkFn[T], model: Model, start: int, stop: int) -> tuple[T, int, int]:
    # The worker gets its own shallow copy with zeroed counters: exact counts whatever
    # the backend (threads share the original object, processes get a pickled copy).
    local = copy.copy(model)
    local.reset_counts()
    result = fn(local, start, stop)
    return result, local.n_calls, local.n_rows


def map_row_chunks(
    fn: ChunkFn[T],
    model: Model,
    n_rows: int,
    *,
    n_jobs: int | None = None,
    chunk_size: int | None = None,
) -> list[T]:
    """Apply ``fn(model, start, stop)`` to row chunks, in row order.

    Parameters
    ----------
    fn : callable
        Explains rows ``start:stop`` using the model it is given.
    model : Model
        The wrapped model; its ``n_calls``/``n_rows`` grow by what the chunks used.
    n_rows : int
        Number of rows to explain.
    n_jobs : int, optional
        joblib ``n_jobs``; None defers to ``joblib.parallel_config`` (1 by default).
    chunk_size : int, optional
        Rows per task; results do not depend on it.
    """
    n_workers = effective_n_jobs(n_jobs)
    counts = progress.counts_chunks()
    chunks = row_chunks(n_rows, n_workers, chunk_size)
    if n_workers == 1:
        return [
            progress.run_chunk(functools.partial(fn, model, start, stop), stop - start, counts)
            for start, stop in chunks
        ]
    settings, offset, caller = get_config(), current_row_offset(), os.getpid()
    # A generator hands chunks back as they finish (in order), so an open bar moves.
    outputs = Parallel(n_jobs=n_jobs, return_as="generator" if counts else "list")(
        delayed(in_worker)(settings, offset, caller, _run_counted, fn, model, start, stop)
        for start, stop in chunks
    )
    results = []
    for (result, calls, rows), (start, stop) in zip(outputs, chunks, strict=True):
        model.n_calls += calls
        model.n_rows += rows
        results.append(result)
        if counts:
            progress.advance(stop - start)
    return results

"""Gradient calls that span many rows' points (integration steps, noise samples) under a
memory budget, with sums that do not depend on how the points were split."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ...utils import progress

#: (row, first point, end point) of one row's share of a call.
Segment = tuple[int, int, int]


def max_points(budget_mb: float, point_shape: tuple[int, ...]) -> int:
    """How many points one call may hold: a point, its gradient and its weighted copy
    (float64) per point within ``budget_mb`` (the model splits calls further into its
    own ``batch_size``)."""
    size = int(np.prod(point_shape, dtype=np.int64)) or 1
    return max(1, int(budget_mb * 2**20) // (3 * 8 * size))


def point_chunks(points_per_row: list[int], limit: int) -> Iterator[list[Segment]]:
    """Consecutive segments of all rows' points, at most ``limit`` points per chunk,
    rows in order, a row split over chunks when it alone exceeds the limit."""
    chunk: list[Segment] = []
    room = limit
    for row, count in enumerate(points_per_row):
        start = 0
        while start < count:
            take = min(room, count - start)
            chunk.append((row, start, start + take))
            start += take
            room -= take
            if room == 0:
                yield chunk
                chunk, room = [], limit
    if chunk:
        yield chunk


def accumulate(
    points_per_row: list[int],
    limit: int,
    make_points: Callable[[int, int, int], np.ndarray],
    gradients: Callable[[np.ndarray, np.ndarray], np.ndarray],
    fold: Callable[[int, int, np.ndarray], None],
) -> None:
    """Run every row's points through ``gradients`` in chunks and ``fold`` the results.

    ``make_points(row, start, stop)`` gives the points ``start:stop`` of a row (called
    in order for each row, so per-row random streams stay aligned);
    ``gradients(rows, points)`` takes the points of a chunk with the row of each;
    ``fold(row, start, grads)`` receives one row's gradients of a segment; summing them
    with :func:`running_total` keeps sums bit-identical whatever the chunking.
    """
    for chunk in point_chunks(points_per_row, limit):
        points = np.concatenate([make_points(r, a, b) for r, a, b in chunk])
        rows = np.concatenate([np.full(b - a, r, dtype=np.int64) for r, a, b in chunk])
        grads = gradients(rows, points)
        offset = 0
        for row, start, stop in chunk:
            fold(row, start, grads[offset : offset + stop - start])
            offset += stop - start
        progress.advance(sum(stop == points_per_row[row] for row, _, stop in chunk))


def running_total(total: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """``total + terms[0] + terms[1] + ...``, added one term at a time, in order.

    ``np.cumsum`` accumulates strictly in sequence (``sum`` may pair terms up), so a
    total built over several calls equals the one built in a single call, bit for bit.
    """
    stacked = np.concatenate([total[None], terms])
    return np.asarray(np.cumsum(stacked, axis=0)[-1])

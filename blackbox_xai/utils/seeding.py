"""One random stream per explained row, so results never depend on chunking or n_jobs."""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.SeedSequence | None


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


def row_rng(entropy: int, row: int) -> np.random.Generator:
    """Generator for explained row ``row``: the ``row``-th child of ``SeedSequence(entropy)``.

    ``SeedSequence(entropy).spawn(n)[row]`` has ``spawn_key=(row,)`` whatever ``n`` is,
    so building it directly keeps a row's stream independent of how rows are chunked.
    """
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(row,)))

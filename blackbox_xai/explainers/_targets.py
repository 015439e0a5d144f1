"""Which model outputs an explainer explains: ``target`` as an index, a name or None."""

from __future__ import annotations

import numpy as np


def output_indices(target: int | str | None, names: list[str]) -> list[int]:
    """Indices of the outputs named by ``target``: all for None, else the one given.

    Raises
    ------
    ValueError
        For an unknown name or an index outside ``[-k, k)``.
    TypeError
        For anything but an int, a str or None.
    """
    k = len(names)
    if target is None:
        return list(range(k))
    if isinstance(target, str):
        if target not in names:
            raise ValueError(f"target={target!r} is not an output name; the outputs are {names}.")
        return [names.index(target)]
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an int, an output name or None, got {target!r}.")
    if not -k <= target < k:
        raise ValueError(
            f"target={target} is out of range: the model has {k} output(s) {names}; pass an "
            f"index in [0, {k}), an output name, or None for all outputs."
        )
    return [int(target) % k]


def target_meta(target: int | str | None, targets: list[int], n: int) -> dict[str, list[int]]:
    """``meta`` entry of an explanation of one selected output: its model column for each
    of the ``n`` rows (as gradient explainers record theirs), which metrics score; empty
    when all outputs are explained (the explanation's columns are the model's)."""
    return {} if target is None else {"target": [targets[0]] * n}

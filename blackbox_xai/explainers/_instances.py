"""Explaining per-instance maskers (texts, images): one game per instance, results stacked.

A document's tokens or an image's superpixels are its players, so two rows seldom have the
same players. Every masker-based explainer handles such a masker the same way: it binds the
masker to each instance (:meth:`Masker.for_instance`), explains that one-row problem with
its usual algorithm, and stacks the per-instance explanations, padding the player axis
with NaN where instances have fewer players than the largest. Each instance draws from its
own child of the explainer's seed (by its position in the input), so the result does not
depend on ``n_jobs`` or on which other instances are explained with it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..results import Explanation
from ..utils import progress
from ..utils.parallel import map_row_chunks
from ..utils.progress import progress_bar
from ..utils.seeding import resolve_seed, row_key, row_offset

if TYPE_CHECKING:
    from ..maskers.base import InstanceMasker
    from ..models import Model
    from .base import Explainer

E = TypeVar("E", bound=Callable[..., Any])

#: Meta entries that count work: the stacked explanation reports their sums.
_COUNTS = ("n_model_calls", "n_model_rows")


def instance_seed(entropy: int, index: int) -> int:
    """The seed of instance ``index``: a 63-bit integer from the child of
    ``SeedSequence(entropy)`` of the instance's global index (``index`` plus the current
    ``row_offset``), whatever the chunking."""
    child = np.random.SeedSequence(entropy, spawn_key=row_key(index))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def splits_instances(explain: E) -> E:
    """Decorate an explainer's ``explain(X, ...)`` so that per-instance maskers work.

    With an ordinary masker the method runs as written. With a per-instance masker the
    input is split into instances, each explained by a copy of the explainer bound to
    that instance (same arguments), and the results are stacked.

    The wrapper also takes the method's ``progress`` argument: it opens the progress bar
    over the rows (or instances), so the method itself never sees it set.
    """

    @functools.wraps(explain)
    def wrapper(self: Explainer, X: Any, *args: Any, **kwargs: Any) -> Explanation:
        show = kwargs.pop("progress", False)
        if not self.masker.per_instance:
            with progress_bar(show, _n_rows(X), self.method):
                result: Explanation = explain(self, X, *args, **kwargs)
            return result
        return explain_instances(self, X, args, kwargs, progress=show)

    return wrapper  # type: ignore[return-value]


def _explain_chunk(
    explainer: Explainer,
    instances: list[Any],
    entropy: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    model: Model,
    start: int,
    stop: int,
) -> list[tuple[Explanation, dict[str, Any]]]:
    out = []
    for i in range(start, stop):
        bound: InstanceMasker = explainer.masker.for_instance(instances[i])
        sub = copy_bound(explainer, bound, model, instance_seed(entropy, i))
        # The instance's seed already carries its global index; its one-row problem is
        # row 0 of its own stream.
        with row_offset(0):
            # One chunk holds all documents or images when there is one worker: each
            # finished instance moves the bar.
            done = progress.run_row(functools.partial(sub.explain, bound.rows(), *args, **kwargs))
        out.append((done, bound.instance_meta()))
    return out


def _n_rows(X: Any) -> int:
    """Rows in ``X`` for the progress bar: one for a single row or document."""
    if isinstance(X, str) or getattr(X, "ndim", 2) == 1:
        return 1
    return len(X)


def explain_instances(
    explainer: Explainer,
    X: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    progress: bool = False,
) -> Explanation:
    """Explain every instance of ``X`` with ``explainer`` bound to it, then stack."""
    # The masker may serve several explainers: check the input against this one's model.
    explainer.masker.bind(explainer.model)
    instances = explainer.masker.instances(X)
    entropy = resolve_seed(explainer.seed)
    inner = dict(kwargs)
    chunk_size = inner.pop("chunk_size", None)
    work = functools.partial(_explain_chunk, explainer, instances, entropy, args, inner)
    with progress_bar(progress, len(instances), explainer.method):
        parts = map_row_chunks(
            work, explainer.model, len(instances), n_jobs=explainer.n_jobs, chunk_size=chunk_size
        )
    done = [item for part in parts for item in part]
    return stack_explanations([e for e, _ in done], [m for _, m in done], entropy)


def _merge(values: list[Any]) -> Any:
    """One meta entry from the per-instance ones: per-row lists are concatenated, equal
    entries kept once, dicts merged key by key, anything else listed per row."""
    if all(isinstance(v, list) and len(v) == 1 for v in values):
        return [v[0] for v in values]
    if all(isinstance(v, dict) for v in values):
        keys = list(dict.fromkeys(k for v in values for k in v))
        return {k: _merge_scalars([v.get(k) for v in values]) for k in keys}
    return _merge_scalars(values)


def _merge_scalars(values: list[Any]) -> Any:
    first = values[0]
    same = all(
        (np.array_equal(v, first) if isinstance(v, np.ndarray) else v == first) for v in values
    )
    return first if same else list(values)


def stack_explanations(
    parts: list[Explanation], instance_meta: list[dict[str, Any]], entropy: int | None
) -> Explanation:
    """One explanation of all instances from the one-row explanations ``parts``.

    Player axes of different lengths are padded with NaN (``meta["n_players"]`` has each
    row's count and ``meta["player_names"]`` its names; ``explanation[i]`` drops row
    ``i``'s padding). ``instance_meta`` entries become per-row lists.
    """
    if not parts:
        raise ValueError("nothing to explain: the input has no instances.")
    shapes = {e.values.shape[1:] for e in parts}
    counts = [e.values.shape[1] for e in parts]
    if len(shapes) == 1:
        values = np.concatenate([e.values for e in parts])
        stderr = (
            None
            if any(e.stderr is None for e in parts)
            else np.concatenate([e.stderr for e in parts])
        )
    else:
        if any(e.values.ndim != 3 for e in parts):
            raise ValueError(f"cannot stack explanations of shapes {sorted(shapes)}.")
        values = _padded([e.values for e in parts], max(counts))
        stderr = (
            None
            if any(e.stderr is None for e in parts)
            else _padded([e.stderr for e in parts], max(counts))  # type: ignore[misc]
        )
    keys = list(dict.fromkeys(k for e in parts for k in e.meta))
    meta: dict[str, Any] = {}
    for key in keys:
        entries = [e.meta.get(key) for e in parts]
        meta[key] = sum(entries) if key in _COUNTS else _merge(entries)
    meta["seed"] = entropy
    for key in dict.fromkeys(k for m in instance_meta for k in m):
        meta[key] = [m.get(key) for m in instance_meta]
    names = [e.feature_names for e in parts]
    ragged = len(shapes) > 1 or any(n != names[0] for n in names)
    if ragged and values.ndim == 3:
        meta["n_players"] = counts
        meta["player_names"] = names
    rows = [e.data[0] if e.data is not None else None for e in parts]
    arrays = [x for x in rows if isinstance(x, np.ndarray)]
    # Instances of one shape (images of one size) are one array; others stay a list.
    same_shape = len(arrays) == len(rows) and len({x.shape for x in arrays}) == 1
    data: Any = np.stack(arrays) if same_shape else rows
    return Explanation(
        values,
        np.concatenate([e.base_values for e in parts]),
        data=data,
        feature_names=None if ragged else names[0],
        output_names=parts[0].output_names,
        stderr=stderr,
        method=parts[0].method,
        meta=meta,
    )


def _padded(arrays: list[np.ndarray], width: int) -> np.ndarray:
    out = np.full((len(arrays), width, arrays[0].shape[-1]), np.nan)
    for i, a in enumerate(arrays):
        out[i, : a.shape[1]] = a[0]
    return out


def copy_bound(explainer: Explainer, masker: InstanceMasker, model: Model, seed: int) -> Any:
    """A shallow copy of ``explainer`` that explains ``masker``'s instance with ``model``."""
    sub = copy.copy(explainer)
    sub.masker, sub.model, sub.seed, sub.n_jobs = masker, model, seed, 1
    masker.bind(model)
    sub._configure()
    return sub

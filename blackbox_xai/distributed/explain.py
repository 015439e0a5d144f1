"""Explain every row of a Dask Array or DataFrame, partition by partition, on the cluster."""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np

from ..explainers.base import Explainer
from ..results import Explanation
from ..utils.config import get_config
from ..utils.optional import import_optional
from ..utils.parallel import in_worker
from ..utils.seeding import resolve_seed, row_offset

RETURNS = ("values", "explanations")


def _explain_part(
    explainer: Explainer,
    part: Any,
    offset: int,
    settings: dict[str, Any],
    caller: int,
    kwargs: dict[str, Any],
) -> Any:
    """The explanation of one partition whose first row is global row ``offset``."""
    return in_worker(settings, offset, caller, _call_explain, explainer, part, kwargs)


def _call_explain(explainer: Explainer, part: Any, kwargs: dict[str, Any]) -> Any:
    # Anchors explains one row with ``explain`` and a table with ``explain_many``.
    method = getattr(explainer, "explain_many", None) or getattr(explainer, "explain", None)
    if method is None:
        raise TypeError(f"{type(explainer).__name__} has no explain method to run on rows.")
    return method(part, **kwargs)


def _block_values(
    block: np.ndarray,
    explainer: Explainer,
    settings: dict[str, Any],
    caller: int,
    kwargs: dict[str, Any],
    block_info: dict[Any, Any] | None = None,
) -> np.ndarray:
    assert block_info is not None  # dask passes it to functions that name it
    start = int(block_info[0]["array-location"][0][0])
    expl = _explain_part(explainer, block, start, settings, caller, kwargs)
    return _values_of(expl)


def _frame_values(
    part: Any,
    explainer: Explainer,
    offsets: list[int],
    columns: list[str],
    settings: dict[str, Any],
    caller: int,
    kwargs: dict[str, Any],
    partition_info: dict[str, Any] | None = None,
) -> Any:
    pd = import_optional("pandas")
    # dask builds ``meta`` by calling this on an empty frame, without partition_info.
    offset = 0 if partition_info is None else offsets[partition_info["number"]]
    if len(part) == 0:
        return pd.DataFrame(np.zeros((0, len(columns))), columns=columns, index=part.index)
    expl = _explain_part(explainer, part, offset, settings, caller, kwargs)
    values = _values_of(expl)
    return pd.DataFrame(values.reshape(len(part), -1), columns=columns, index=part.index)


def _values_of(expl: Any) -> np.ndarray:
    if not isinstance(expl, Explanation):
        raise TypeError(
            f"returns='values' needs an explainer that returns an Explanation; "
            f"{type(expl).__name__} has no values. Use returns='explanations'."
        )
    return expl.values


def _ship(explainer: Explainer) -> Any:
    """The explainer as the workers get it: scattered once to every worker when a
    ``distributed`` client is active (tasks then hold a reference, not a pickled
    model and background each), else the object itself (local schedulers share it)."""
    local = copy.copy(explainer)
    # Each partition is one task; nested parallelism inside a task would oversubscribe.
    local.n_jobs = 1
    if hasattr(local, "seed"):
        # seed=None draws fresh entropy once here, not once per partition: the run can be
        # replayed from the one seed every partition records.
        local.seed = resolve_seed(local.seed)
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return local
    return client.scatter(local, broadcast=True, hash=False)


def explain_dask(
    explainer: Explainer, collection: Any, *, returns: str = "values", **explain_kwargs: Any
) -> Any:
    """Explain every row of a Dask collection, one task per partition.

    Each partition is explained by ``explainer.explain`` (``explain_many`` for Anchors)
    on a worker, with the explainer's model and background scattered to every worker
    once (with a ``distributed`` client; local schedulers share the object), the
    caller's :func:`~blackbox_xai.get_config` settings, one BLAS thread per worker
    process, and per-row seeds from the *global* row index (:func:`row_offset`): the
    result is bit-identical to ``explainer.explain(whole table)`` whatever the
    partitioning (for Kernel SHAP, Lime, Anchors, Sampling Shapley; ``n_model_rows``
    aside). Nothing is computed until the result is.

    Parameters
    ----------
    explainer : Explainer
        A tabular explainer (its masker has a fixed number of players).
    collection : dask.array.Array (n, p) or dask.dataframe.DataFrame
        The rows. Array columns are put into one chunk. The partition lengths of a
        DataFrame are computed once (a pass over its graph) to know where each starts.
    returns : {"values", "explanations"}
        ``"values"``: a Dask collection of the attributions: for an Array, an Array
        ``(n, d, k)`` chunked like the rows; for a DataFrame, a DataFrame with the
        input's index and one column per feature (``"feature"``, or
        ``"feature[output]"`` when there are several outputs). ``"explanations"``: a
        ``dask.bag.Bag`` with one :class:`Explanation` per partition (or, for Anchors,
        one ``AnchorExplanation`` per row), in row order.
    **explain_kwargs
        Passed to ``explain`` (``n_evals=``, ``n_samples=``...).

    Returns
    -------
    dask.array.Array, dask.dataframe.DataFrame or dask.bag.Bag

    Notes
    -----
    To learn the output's shape and names, ``returns="values"`` explains the first row
    on the client once. Use :func:`summarize_dask` for a global summary that never
    brings the rows back to the client.
    """
    if returns not in RETURNS:
        raise ValueError(f"returns must be one of {RETURNS}, got {returns!r}.")
    if not isinstance(explainer, Explainer):
        raise TypeError(
            f"explainer must be a blackbox_xai explainer, got {type(explainer).__name__}."
        )
    if explainer.masker.per_instance:
        raise TypeError(
            "explain_dask explains tables; a per-instance masker (texts, images) has no "
            "rows. Use joblib.parallel_config(backend='dask') with explain(X, ...) instead."
        )
    dask_array = import_optional("dask.array")
    kind = _kind(collection, dask_array)
    settings, caller = get_config(), os.getpid()
    if kind == "array":
        collection = _as_row_blocks(collection)
    if returns == "explanations":
        return _explanations_bag(explainer, collection, kind, settings, caller, explain_kwargs)
    first = _first_row(collection, kind)
    with row_offset(0):
        probe = _call_explain(explainer, first, explain_kwargs)
    sample = _values_of(probe)
    shipped = _ship(explainer)
    if kind == "array":
        d, k = sample.shape[1:]
        return collection.map_blocks(
            _block_values,
            shipped,
            settings,
            caller,
            explain_kwargs,
            chunks=(collection.chunks[0], (d,), (k,)),
            new_axis=2,
            dtype=np.float64,
            meta=np.empty((0, 0, 0), dtype=np.float64),
        )
    pd = import_optional("pandas")
    columns = _columns(sample, probe)
    offsets = _partition_offsets(collection)
    meta = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
    return collection.map_partitions(
        _frame_values,
        shipped,
        offsets,
        columns,
        settings,
        caller,
        explain_kwargs,
        meta=meta,
        align_dataframes=False,
    )


def _kind(collection: Any, dask_array: Any) -> str:
    if isinstance(collection, dask_array.Array):
        if collection.ndim != 2:
            raise ValueError(
                f"a Dask Array of rows must be 2-D (n, p), got {collection.ndim}-D of shape "
                f"{collection.shape}."
            )
        return "array"
    if type(collection).__name__ == "DataFrame" and hasattr(collection, "map_partitions"):
        return "frame"
    raise TypeError(
        f"collection must be a dask.array.Array or a dask.dataframe.DataFrame, got "
        f"{type(collection).__name__}; for in-memory rows call explainer.explain(X)."
    )


def _as_row_blocks(array: Any) -> Any:
    """The array with all columns in one chunk and known row chunk sizes."""
    if len(array.chunks[1]) > 1:
        array = array.rechunk({1: -1})
    if any(np.isnan(c) for c in array.chunks[0]):
        array = array.compute_chunk_sizes()
    return array


def _first_row(collection: Any, kind: str) -> Any:
    first = collection[:1].compute() if kind == "array" else collection.head(1, npartitions=-1)
    if len(first) == 0:
        raise ValueError("the collection has no rows to explain.")
    return first


def _columns(sample: np.ndarray, probe: Explanation) -> list[str]:
    # The probe's names: an explainer may explain some outputs only (Lime's target).
    d, k = sample.shape[1:]
    features = list(probe.feature_names or [f"x{j}" for j in range(d)])
    outputs = list(probe.output_names or [str(i) for i in range(k)])
    if k == 1:
        return features
    return [f"{f}[{o}]" for f in features for o in outputs]


def _partition_offsets(frame: Any) -> list[int]:
    lengths = frame.map_partitions(len).compute()
    return [0, *np.cumsum(np.asarray(lengths, dtype=np.int64)).tolist()[:-1]]


def _explanations_bag(
    explainer: Explainer,
    collection: Any,
    kind: str,
    settings: dict[str, Any],
    caller: int,
    kwargs: dict[str, Any],
) -> Any:
    dask = import_optional("dask")
    bag = import_optional("dask.bag")
    if kind == "array":
        parts = list(collection.to_delayed()[:, 0])
        offsets = [0, *np.cumsum(collection.chunks[0]).tolist()[:-1]]
    else:
        parts = list(collection.to_delayed())
        offsets = _partition_offsets(collection)
    shipped = _ship(explainer)
    explain_part = dask.delayed(_listed, pure=True)
    return bag.from_delayed(
        [
            explain_part(shipped, part, int(offset), settings, caller, kwargs)
            for part, offset in zip(parts, offsets, strict=True)
        ]
    )


def _listed(
    explainer: Explainer,
    part: Any,
    offset: int,
    settings: dict[str, Any],
    caller: int,
    kwargs: dict[str, Any],
) -> list[Any]:
    out = _explain_part(explainer, part, offset, settings, caller, kwargs)
    return list(out) if isinstance(out, list) else [out]

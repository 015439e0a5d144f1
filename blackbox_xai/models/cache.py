"""Model outputs cached on disk with ``joblib.Memory``, for audits that repeat."""

from __future__ import annotations

import copy
import hashlib
import os
from typing import Any

import joblib
import numpy as np

from .base import Model
from .wrap import wrap


def _outputs(model_key: str, X: Any, model: Model) -> np.ndarray:
    # Cached on (model_key, X): ``model`` is ignored by the cache, its key stands for it.
    return model(X)


def model_key(model: Model) -> str:
    """A hex digest that changes whenever the model's predictions may change.

    ONNX models are keyed by their serialized bytes and the output explained; any other
    model by ``joblib.hash`` of the wrapper (the pickled estimator or function, with its
    fitted parameters).

    Raises
    ------
    TypeError
        The model cannot be pickled (a lambda or a closure); pass ``key=`` instead.
    """
    model_bytes = getattr(model, "model_bytes", None)
    if isinstance(model_bytes, bytes):
        digest = hashlib.sha256(model_bytes)
        digest.update(repr((type(model).__name__, getattr(model, "output", None))).encode())
        return digest.hexdigest()
    # Counters and what the first call teaches the wrapper are not the model.
    learned = ("n_calls", "n_rows", "n_outputs", "output_names")
    state = {k: v for k, v in vars(model).items() if k not in learned}
    try:
        return f"{type(model).__name__}-{joblib.hash(state)}"
    except Exception as exc:
        raise TypeError(
            f"cannot hash the model to key its cache ({type(exc).__name__}); wrap a "
            "picklable model (a fitted estimator, a module-level function) or pass "
            "CachedModel(model, memory, key='a name that changes with the model')."
        ) from exc


class CachedModel(Model):
    """Cache a model's outputs on disk, keyed by the model and a hash of the input.

    Every call (each batch of at most ``batch_size`` rows) is looked up in a
    ``joblib.Memory`` store by ``(model key, hash of the batch)``; only misses reach
    the model. An audit that explains the same rows again (another explainer, another
    report) with the same seed sends the same batches, so it costs no model calls.
    Nothing is cached across different inputs: the key is the whole batch.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    memory : joblib.Memory, str or os.PathLike
        The store, or the folder of one.
    key : str, optional
        Stands for the model in the cache key; by default :func:`model_key` (the ONNX
        bytes, or ``joblib.hash`` of the wrapped model).
    batch_size : int, optional
        Rows per cached call; by default the wrapped model's.

    Attributes
    ----------
    model : Model
        The wrapped model; its ``n_calls``/``n_rows`` count the cache misses.
    key : str

    Examples
    --------
    >>> import tempfile, numpy as np, blackbox_xai as bx
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(8.0).reshape(4, 2); est = LinearRegression().fit(X, X @ [1.0, 2.0])
    >>> cached = bx.CachedModel(est, tempfile.mkdtemp())
    >>> _ = cached(X); _ = cached(X)
    >>> cached.n_calls, cached.model.n_calls
    (2, 1)
    """

    def __init__(
        self,
        model: Any,
        memory: joblib.Memory | str | os.PathLike[str],
        *,
        key: str | None = None,
        batch_size: int | None = None,
    ) -> None:
        inner = wrap(model)
        if isinstance(memory, (str, os.PathLike)):
            memory = joblib.Memory(os.fspath(memory), verbose=0)
        if not isinstance(memory, joblib.Memory):
            raise TypeError(
                f"memory must be a joblib.Memory or a folder path, got {type(memory).__name__}."
            )
        if key is not None and not isinstance(key, str):
            raise TypeError(f"key must be a string, got {type(key).__name__}.")
        self.model = inner
        self.memory = memory
        self.key = model_key(inner) if key is None else key
        super().__init__(
            output_names=inner.output_names,
            feature_names=inner.feature_names,
            batch_size=inner.batch_size if batch_size is None else batch_size,
        )
        self.n_outputs = inner.n_outputs
        self.input_kind = inner.input_kind

    def _predict(self, X: Any) -> Any:
        cached = self.memory.cache(_outputs, ignore=["model"])
        out = cached(self.key, X, self.model)
        # The inner model may learn its output names on the first (uncached) call.
        if self.output_names is None and self.model.output_names is not None:
            self.output_names = list(self.model.output_names)
        return out

    def rows_per_run(self, X: Any) -> int:
        """The wrapped model's run size (see :meth:`Model.rows_per_run`)."""
        return self.model.rows_per_run(X)

    def bind_frame_schema(self, columns: Any, dtypes: Any) -> None:
        """Pass the DataFrame schema on to the wrapped model (see :class:`Model`)."""
        self.model.bind_frame_schema(columns, dtypes)

    def __copy__(self) -> CachedModel:
        # Parallel workers count on their copy; the wrapped model is copied with it so
        # its miss counts stay per worker too.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.model = copy.copy(self.model)
        return clone

    def __repr__(self) -> str:
        return f"CachedModel({self.model!r}, key={self.key[:12]!r})"

"""The prediction-function protocol: ``model(X) -> (n, k)`` float64, finite, counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils.optional import is_dataframe


class ModelCallError(RuntimeError):
    """The wrapped model raised; the message names the batch that failed."""


class Model:
    """Base class of wrapped models.

    Subclasses implement ``_predict(batch) -> array`` for one batch. Calling the model
    splits the input into batches of ``batch_size`` rows, checks every output (shape,
    finiteness, a constant number of outputs) and counts calls and rows.

    Parameters
    ----------
    output_names : sequence of str, optional
        Names of the ``k`` outputs; learned from the model or the first call otherwise.
    feature_names : sequence of str, optional
        Names of the input columns, used by explainers as defaults.
    batch_size : int, optional
        Largest number of rows passed to the underlying model in one call.

    Attributes
    ----------
    n_calls : int
        Calls made to the underlying model (batches), since creation or ``reset_counts``.
    n_rows : int
        Rows passed to the underlying model.
    n_outputs : int or None
        ``k``, known after the first call (or from the model's metadata).
    """

    #: "array" for numeric rows, "text" for lists of strings.
    input_kind = "array"

    def __init__(
        self,
        *,
        output_names: Sequence[str] | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> None:
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
        self.batch_size = None if batch_size is None else int(batch_size)
        self.output_names: list[str] | None = (
            None if output_names is None else [str(n) for n in output_names]
        )
        self.n_outputs: int | None = None if output_names is None else len(self.output_names or [])
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.n_calls = 0
        self.n_rows = 0

    # -- protocol ---------------------------------------------------------------------
    def __call__(self, X: Any) -> np.ndarray:
        """Predict ``X`` in batches of ``batch_size`` rows and check the output.

        Parameters
        ----------
        X : ndarray (n, p), DataFrame, or list of str (text models)
            Rows to predict.

        Returns
        -------
        numpy.ndarray of shape (n, k), float64, finite.

        Raises
        ------
        ModelCallError
            If the underlying model raises (the message names the batch rows).
        ValueError
            If the output has the wrong number of rows, a changing number of outputs,
            or NaN/inf values.
        """
        n = _n_rows(X)
        if n == 0:
            return np.empty((0, self.n_outputs or 0))
        size = n if self.batch_size is None or n <= self.batch_size else self.batch_size
        run = self.rows_per_run(X) if size < n else 1
        if size > run:  # whole runs per batch: a model that pads its runs pads only the last
            size -= size % run
        outputs = []
        for start in range(0, n, size):
            stop = min(n, start + size)
            batch = _take(X, start, stop)
            try:
                raw = self._predict(batch)
            except Exception as exc:
                raise ModelCallError(
                    f"the model raised {type(exc).__name__} on rows {start}:{stop} of an input "
                    f"of shape {_shape(X)} (batch shape {_shape(batch)}): {exc}"
                ) from exc
            self.n_calls += 1
            self.n_rows += stop - start
            outputs.append(self._check_output(raw, stop - start, start))
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def _predict(self, X: Any) -> Any:
        raise NotImplementedError

    def reset_counts(self) -> None:
        """Set ``n_calls`` and ``n_rows`` back to zero."""
        self.n_calls = 0
        self.n_rows = 0

    def rows_per_run(self, X: Any) -> int:
        """Rows the underlying model evaluates together for rows like ``X`` (1: any).

        A model that runs fixed-size batches (:class:`OnnxModel`'s ``fixed_batch``)
        pads a call's last run to that size, so a caller free to choose its call sizes
        makes them multiples of it (:func:`rows_per_call`).

        Parameters
        ----------
        X : rows the model accepts (only the first is used).
        """
        return 1

    def probe(self, X: Any) -> None:
        """Learn ``n_outputs`` and default output names from one call on ``X[:1]``.

        The call is not counted in ``n_calls``/``n_rows``.

        Parameters
        ----------
        X : rows the model accepts (only the first is used).
        """
        if self.n_outputs is not None and self.output_names is not None:
            return
        calls, rows = self.n_calls, self.n_rows
        self(_take(X, 0, 1))
        self.n_calls, self.n_rows = calls, rows

    def bind_frame_schema(self, columns: Sequence[str], dtypes: Sequence[Any]) -> None:
        """Remember a DataFrame schema so array input can be rebuilt as that frame.

        Only models fitted on DataFrames use it; the default does nothing.
        """

    # -- checks -------------------------------------------------------------------------
    def _check_output(self, raw: Any, n_rows: int, start: int) -> np.ndarray:
        try:
            out = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"the model's output for rows {start}:{start + n_rows} is not numeric "
                f"({type(raw).__name__}): {exc}"
            ) from exc
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.ndim != 2:
            raise ValueError(
                f"the model must return an array of shape (n,) or (n, k); got shape {out.shape}."
            )
        if out.shape[0] != n_rows:
            raise ValueError(
                f"the model returned {out.shape[0]} rows for an input of {n_rows} rows "
                f"(rows {start}:{start + n_rows})."
            )
        if self.n_outputs is None:
            self.n_outputs = out.shape[1]
        elif out.shape[1] != self.n_outputs:
            raise ValueError(
                f"the model returned {out.shape[1]} outputs, but earlier calls returned "
                f"{self.n_outputs}; a model must always return the same number of outputs."
            )
        if self.output_names is None:
            self.output_names = (
                [str(i) for i in range(out.shape[1])] if out.shape[1] > 1 else ["output"]
            )
        if not np.isfinite(out).all():
            bad = np.argwhere(~np.isfinite(out))[0]
            raise ValueError(
                f"the model returned non-finite values (NaN or inf) for input row "
                f"{start + int(bad[0])}, output {int(bad[1])}."
            )
        return out

    def _describe(self) -> str:
        """What the model wraps, for ``repr`` (``"RandomForestClassifier, output='proba'"``)."""
        return ""

    def __repr__(self) -> str:
        what = self._describe()
        return (
            f"{type(self).__name__}({what + ', ' if what else ''}n_outputs={self.n_outputs}, "
            f"n_calls={self.n_calls}, n_rows={self.n_rows})"
        )


def rows_per_call(model: Model, X: Any, limit: int) -> int:
    """Rows of each call to ``model`` for rows like ``X``: ``limit`` (what a memory
    budget allows) rounded down to a multiple of :meth:`Model.rows_per_run`, and never
    less than one run, which the model holds whatever the call (it pads short ones)."""
    run = model.rows_per_run(X)
    return max(run, limit // run * run)


def _n_rows(X: Any) -> int:
    if isinstance(X, str):
        raise TypeError("pass a list of strings, not a single string, to a text model.")
    if is_dataframe(X) or isinstance(X, np.ndarray):
        return int(X.shape[0])
    return len(X)


def _take(X: Any, start: int, stop: int) -> Any:
    if is_dataframe(X):
        return X.iloc[start:stop]
    return X[start:stop]


def _shape(X: Any) -> tuple[int, ...]:
    if hasattr(X, "shape"):
        return tuple(int(s) for s in X.shape)
    return (len(X),)

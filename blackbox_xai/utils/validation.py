"""Input checks in the style of ``sklearn.utils.validation``: one place, one message each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .optional import is_dataframe

#: Default fix for NaN input, for callers that do not accept NaN.
NAN_HINT = "drop or impute them first"


def is_numeric_dtype(dtype: Any) -> bool:
    """Whether a (pandas or numpy) column dtype converts to float64: numbers, booleans
    and categoricals of numbers do; text and other objects do not."""
    categories = getattr(dtype, "categories", None)
    if categories is not None:
        return is_numeric_dtype(categories.dtype)
    kind = getattr(dtype, "kind", "O")
    return kind in "biuf"


def check_array(
    X: Any,
    *,
    name: str = "X",
    n_features: int | None = None,
    allow_nan: bool = False,
    ensure_2d: bool = True,
    min_rows: int = 1,
    nan_hint: str = NAN_HINT,
) -> np.ndarray:
    """Validate tabular input and return it as a C-contiguous float64 array.

    Parameters
    ----------
    X : array-like or pandas.DataFrame
        Rows to check; a single row (1-D) is promoted to ``(1, p)``.
    name : str
        Name used in error messages (``"X"``, ``"background"``, ...).
    n_features : int, optional
        Required number of columns.
    allow_nan : bool
        Accept NaN (never inf) values.
    ensure_2d : bool
        Promote 1-D input to a single row.
    min_rows : int
        Smallest number of rows accepted.
    nan_hint : str
        How to fix NaN values, in the error message; a caller that accepts NaN says
        how to ask for it.

    Returns
    -------
    numpy.ndarray of shape (n, p), float64.
    """
    if is_dataframe(X):
        # Numeric pandas extension dtypes (nullable Int64, numeric categories) convert;
        # text columns do not, and are named in the error.
        try:
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            bad = [
                str(c)
                for c, dt in zip(X.columns, X.dtypes, strict=True)
                if not is_numeric_dtype(dt)
            ]
            raise TypeError(
                f"{name} has non-numeric columns {bad}; encode them as numbers first (e.g. "
                "sklearn.preprocessing.OrdinalEncoder) and put the encoding in the model, "
                "e.g. a Pipeline whose first step maps the codes back."
            ) from exc
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be numeric rows, got a string.")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from exc
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be numeric; got values of dtype {arr.dtype} that are not "
                "numbers. Encode categorical columns as numbers first."
            ) from exc
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if ensure_2d and arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if ensure_2d and arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {arr.shape}.")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} row(s), got {arr.shape[0]}.")
    if n_features is not None and arr.shape[-1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[-1]} features, but {n_features} were expected "
            "(the number of columns of the background data / the model input)."
        )
    check_finite(arr, name=name, allow_nan=allow_nan, nan_hint=nan_hint)
    return arr


def check_finite(
    arr: np.ndarray, *, name: str, allow_nan: bool = False, nan_hint: str = NAN_HINT
) -> None:
    """Raise a ValueError locating the first NaN/inf in ``arr``, with ``nan_hint`` for NaN."""
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "inf" if np.isinf(arr[where]) else "NaN"
        hint = nan_hint if kind == "NaN" else "replace them with finite values"
        raise ValueError(
            f"{name} contains {kind} values ({int(bad.sum())} in all, first at index "
            f"{where}) ({hint})."
        )


def check_texts(texts: Any, *, name: str = "X") -> list[str]:
    """Validate documents for text models: a string (one document) or a sequence of strings.

    Raises
    ------
    TypeError
        For anything else, naming the first item that is not a string and its type.
    """
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, np.ndarray):
        texts = texts.ravel().tolist()
    if not isinstance(texts, Sequence):
        raise TypeError(
            f"{name} must be a string or a sequence of strings (documents), got "
            f"{type(texts).__name__}."
        )
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(
                f"{name}[{i}] is a {type(t).__name__}, not a string; every document must be "
                "a str (decode bytes first, drop or convert missing values)."
            )
    return list(texts)


def feature_names_of(X: Any, n_features: int, given: Sequence[str] | None = None) -> list[str]:
    """Feature names: those given, a DataFrame's columns, or ``x0 .. x{p-1}``."""
    if given is not None:
        names = [str(n) for n in given]
    elif is_dataframe(X):
        names = [str(c) for c in X.columns]
    else:
        names = [f"x{j}" for j in range(n_features)]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} names for {n_features} features.")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"feature_names must be unique; repeated: {dupes}.")
    return names


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Validate an integer parameter ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_unit_interval(value: Any, name: str, *, closed: bool = False) -> float:
    """Validate a number in ``(0, 1)``, or in ``(0, 1]`` when ``closed``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}.")
    if not (0 < value < 1 or (closed and value == 1)):
        raise ValueError(f"{name} must be in (0, 1{']' if closed else ')'}, got {value!r}.")
    return float(value)


def check_memory_budget(value: Any, name: str = "memory_budget_mb") -> float:
    """Validate a memory budget in MiB: a finite positive number (NaN and inf would
    make every batch size undefined or unbounded)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number of MiB, got {type(value).__name__}.")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number of MiB, got {value!r}.")
    return float(value)

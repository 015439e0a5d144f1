"""Text (and other non-numeric) columns of a DataFrame as integer codes, and back.

Anchors works on numeric rows; a DataFrame's text or categorical columns are coded
``0 .. n_labels - 1`` for the search, predicates print the labels (``"color =
red"``), and the model is called with DataFrames that hold the labels again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...models import Model
from ...utils.optional import import_optional, is_dataframe
from ...utils.validation import is_numeric_dtype


class CategoryCodes:
    """Integer codes of the non-numeric columns of a training DataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training rows; columns whose dtype is not numeric are coded.

    Attributes
    ----------
    columns : list
        The frame's column labels, in order.
    dtypes : list
        Their dtypes, restored when decoding.
    labels : dict of int -> object ndarray
        Labels of each coded column seen in the frame: code ``c`` stands for
        ``labels[j][c]`` (in a pandas categorical's own order, else sorted as text).
    """

    def __init__(self, frame: Any) -> None:
        self.columns = list(frame.columns)
        self.dtypes = list(frame.dtypes)
        self.labels: dict[int, np.ndarray] = {}
        for j, (column, dtype) in enumerate(zip(self.columns, self.dtypes, strict=True)):
            if is_numeric_dtype(dtype):
                continue
            values = frame[column]
            if values.isna().any():
                raise ValueError(
                    f"column {column!r} has missing values; fill them (e.g. with a label "
                    "such as 'missing') before explaining."
                )
            seen = set(values)
            categories = getattr(dtype, "categories", None)
            # Only labels seen in training: a declared but unused category is refused
            # like any unseen value (no training row could be sampled for it).
            labels = (
                [c for c in categories if c in seen]
                if categories is not None
                else sorted(seen, key=str)
            )
            self.labels[j] = np.asarray(labels, dtype=object)
        self._codes = {j: {v: c for c, v in enumerate(lab)} for j, lab in self.labels.items()}

    @classmethod
    def of(cls, data: Any) -> CategoryCodes | None:
        """Codes of ``data`` when it is a DataFrame with non-numeric columns, else None."""
        if not is_dataframe(data) or all(is_numeric_dtype(d) for d in data.dtypes):
            return None
        return cls(data)

    def encode(self, X: Any) -> np.ndarray:
        """Rows (DataFrame, Series or array-like, columns in training order) with
        labels replaced by codes, as an object array for the usual numeric checks.

        Raises
        ------
        ValueError
            If a label was not seen in the training data, or a DataFrame's columns
            differ from the training columns.
        """
        pd = import_optional("pandas")
        if isinstance(X, pd.DataFrame):
            if set(X.columns) != set(self.columns):
                raise ValueError(
                    f"the rows' columns {list(X.columns)} are not the training columns "
                    f"{self.columns}."
                )
            X = X[self.columns]
        elif isinstance(X, pd.Series):
            X = X.reindex(self.columns) if set(X.index) == set(self.columns) else X
        rows = np.array(X, dtype=object)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(self.columns):
            raise ValueError(
                f"rows must have the {len(self.columns)} training columns, got shape {rows.shape}."
            )
        for j, codes in self._codes.items():
            unseen = [v for v in rows[:, j] if v not in codes]
            if unseen:
                raise ValueError(
                    f"categorical feature {str(self.columns[j])!r} has value {unseen[0]!r}, "
                    f"not seen in the training data (seen: {self.labels[j].tolist()})."
                )
            rows[:, j] = [codes[v] for v in rows[:, j]]
        return rows

    def decode(self, A: np.ndarray) -> Any:
        """A DataFrame of coded rows ``A`` with the labels and dtypes of the training frame."""
        pd = import_optional("pandas")
        columns = {}
        for j, (column, dtype) in enumerate(zip(self.columns, self.dtypes, strict=True)):
            if j not in self.labels:
                columns[column] = pd.Series(A[:, j]).astype(dtype)
                continue
            columns[column] = pd.Series(self.labels[j][A[:, j].astype(np.int64)], dtype=dtype)
        return pd.DataFrame(columns)

    def label_names(self, j: int) -> list[str]:
        """Printed labels of coded column ``j``, by code."""
        return [str(v) for v in self.labels[j]]


class DecodedModel(Model):
    """A model called with the labels of coded columns (see :class:`CategoryCodes`).

    Parameters
    ----------
    model : Model
        The user's model, which takes DataFrames like the training frame.
    codes : CategoryCodes
    """

    def __init__(self, model: Model, codes: CategoryCodes) -> None:
        self.model = model
        self.codes = codes
        super().__init__(output_names=model.output_names, feature_names=model.feature_names)

    def _predict(self, X: Any) -> Any:
        return self.model(self.codes.decode(np.asarray(X, dtype=np.float64)))

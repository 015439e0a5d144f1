"""Column names of a tabular masker, and reading pandas rows by those names.

A DataFrame or Series carries its column names; reading it by position when the names
say otherwise gives silently wrong attributions (a model ``10 * a`` explained through
columns ``[c, b, a]``). A tabular masker therefore keeps the names its columns are known
by -- a DataFrame's columns, ``feature_names`` given by the user, or the model's
``feature_names`` (a model fitted on a DataFrame) -- and every pandas input is reordered
to them by name, or refused when the names differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..utils.optional import is_dataframe


def is_series(obj: object) -> bool:
    """True when ``obj`` is a pandas Series, without importing pandas."""
    return type(obj).__name__ == "Series" and hasattr(obj, "index") and hasattr(obj, "dtype")


class ColumnSchema:
    """The names of a masker's columns, in order, and whether they are known.

    Parameters
    ----------
    names : sequence of str
        The masker's feature names (defaults ``x0 .. x{p-1}`` included).
    known : bool
        Whether the names identify the columns (from a DataFrame, given by the user,
        or the model's); default names do not, so pandas input is then read by position.
    """

    def __init__(self, names: Sequence[str], known: bool) -> None:
        self.names = [str(n) for n in names]
        self.known = known

    def adopt(self, model_names: Sequence[str] | None) -> None:
        """Take the model's feature names when the masker's own are not known.

        A NumPy background for a model fitted on a DataFrame has the model's columns in
        the model's order (that is how the model reads arrays), so the model's names are
        the background's.
        """
        if not self.known and model_names is not None and len(model_names) == len(self.names):
            self.names = [str(n) for n in model_names]
            self.known = True

    def align(self, X: Any, name: str = "X") -> Any:
        """``X`` with its columns in the masker's order when it is a DataFrame or Series.

        A Series is one row, its index being the column names. Anything else is
        returned unchanged (arrays are read in the masker's column order).

        Raises
        ------
        ValueError
            If the pandas names are not the masker's names (missing and unexpected
            ones are listed).
        """
        if is_series(X):
            labels = [str(c) for c in X.index]
            if not self.known:
                return X.to_frame().T
            self._check(labels, name)
            frame = X.to_frame().T
            frame.columns = labels
            return frame[self.names]
        if not is_dataframe(X) or not self.known:
            return X
        labels = [str(c) for c in X.columns]
        self._check(labels, name)
        if labels == self.names:
            return X
        frame = X.copy(deep=False)
        frame.columns = labels
        return frame[self.names]

    def _check(self, labels: list[str], name: str) -> None:
        if len(set(labels)) != len(labels):
            dupes = sorted({c for c in labels if labels.count(c) > 1})
            raise ValueError(f"{name} has repeated columns {dupes}; column names must be unique.")
        if set(labels) != set(self.names):
            missing = [c for c in self.names if c not in labels]
            extra = [c for c in labels if c not in self.names]
            raise ValueError(
                f"{name}'s columns do not match the feature names {self.names}: missing "
                f"{missing}, unexpected {extra}. Pass rows with these columns (they are "
                "matched by name, in any order), or a NumPy array in this column order."
            )

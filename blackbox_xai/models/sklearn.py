"""scikit-learn estimators and pipelines behind the prediction-function protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from joblib import parallel_config
from sklearn.base import is_classifier

from ..utils.optional import import_optional, is_dataframe
from .base import Model

_OUTPUTS = ("proba", "log_proba", "decision", "predict")


def takes_documents(estimator: Any) -> bool:
    """Whether an estimator (or a pipeline's first step) is a text vectorizer, so the model
    takes a list of documents (CountVectorizer, TfidfVectorizer, HashingVectorizer)."""
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    while hasattr(estimator, "steps"):
        estimator = estimator.steps[0][1]
    return isinstance(estimator, (CountVectorizer, HashingVectorizer))


class SklearnModel(Model):
    """A fitted scikit-learn estimator or pipeline.

    Parameters
    ----------
    estimator : fitted estimator
        Classifier (``predict_proba`` by default) or regressor (``predict``).
    output : {"proba", "log_proba", "decision", "predict"}, optional
        Which method to explain; defaults to ``"proba"`` for classifiers that have
        ``predict_proba`` and ``"predict"`` otherwise.
    feature_names, batch_size
        See :class:`Model`.

    Notes
    -----
    A text pipeline (a CountVectorizer, TfidfVectorizer or HashingVectorizer first) takes
    a list of documents (``input_kind = "text"``), as :class:`~blackbox_xai.maskers.Text`
    sends. A model fitted on a DataFrame (it has ``feature_names_in_``) is called with a
    DataFrame that has its column names and, once bound by an explainer, its dtypes.
    """

    def __init__(
        self,
        estimator: Any,
        output: str | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> None:
        if not hasattr(estimator, "predict"):
            raise TypeError(f"{type(estimator).__name__} has no predict method.")
        self.estimator = estimator
        self.output = self._choose_output(estimator, output)
        self._columns: list[str] | None = (
            [str(c) for c in estimator.feature_names_in_]
            if hasattr(estimator, "feature_names_in_")
            else None
        )
        self._dtypes: dict[str, Any] | None = None
        self._data_columns: list[str] | None = None
        if takes_documents(estimator):
            self.input_kind = "text"
        super().__init__(
            output_names=self._default_output_names(),
            feature_names=feature_names if feature_names is not None else self._columns,
            batch_size=batch_size,
        )

    @staticmethod
    def _choose_output(estimator: Any, output: str | None) -> str:
        if output is None:
            return (
                "proba"
                if is_classifier(estimator) and hasattr(estimator, "predict_proba")
                else "predict"
            )
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}.")
        method = {
            "proba": "predict_proba",
            "log_proba": "predict_proba",
            "decision": "decision_function",
        }.get(output, "predict")
        if not hasattr(estimator, method):
            raise ValueError(
                f"output={output!r} needs {type(estimator).__name__}.{method}, which it lacks."
            )
        return output

    def _describe(self) -> str:
        return f"{type(self.estimator).__name__}, output={self.output!r}"

    def _default_output_names(self) -> list[str] | None:
        classes = getattr(self.estimator, "classes_", None)
        if classes is None or self.output == "predict":
            return None
        names = [str(c) for c in classes]
        if self.output == "decision" and len(names) == 2:
            return [names[1]]
        return names

    def bind_frame_schema(self, columns: Sequence[str], dtypes: Sequence[Any]) -> None:
        """Read arrays as having these columns (in this order) and dtypes.

        The explainer's data may order columns differently from the model's
        ``feature_names_in_``; frames are built in the data's order, then reordered.

        Raises
        ------
        ValueError
            If the column names are not those the model was fitted on.
        """
        if self._columns is None:
            return
        columns = [str(c) for c in columns]
        if sorted(columns) != sorted(self._columns):
            missing = sorted(set(self._columns) - set(columns))
            extra = sorted(set(columns) - set(self._columns))
            raise ValueError(
                f"the data's columns do not match the model's feature_names_in_: missing "
                f"{missing}, unexpected {extra}. Pass data with the columns the model was fitted on."
            )
        self._data_columns = columns
        self._dtypes = dict(zip(columns, dtypes, strict=True))

    def _as_model_input(self, X: Any) -> Any:
        if (
            self._columns is None
            or is_dataframe(X)
            or (isinstance(X, list) and X and isinstance(X[0], str))
        ):
            return X
        pd = import_optional("pandas")
        frame = pd.DataFrame(np.asarray(X), columns=self._data_columns or self._columns)
        if self._dtypes is not None:
            frame = frame.astype(self._dtypes)
        return frame[self._columns]

    def _predict(self, X: Any) -> Any:
        X = self._as_model_input(X)
        if getattr(self.estimator, "n_jobs", 1) is None:
            # An estimator left at n_jobs=None would take the caller's joblib backend:
            # under parallel_config(backend="dask") a forest spreads its trees over the
            # cluster and sums them in whatever order they finish, changing the last
            # bits from call to call. Set n_jobs on the estimator to parallelise it.
            with parallel_config(backend="sequential"):
                return self._predict_checked(X)
        return self._predict_checked(X)

    def _predict_checked(self, X: Any) -> Any:
        if self.output == "proba":
            return self.estimator.predict_proba(X)
        if self.output == "log_proba":
            # clipping keeps log finite for trees that give exact zeros
            return np.log(np.clip(self.estimator.predict_proba(X), 1e-12, 1.0))
        if self.output == "decision":
            return self.estimator.decision_function(X)
        return self.estimator.predict(X)

"""``wrap``: turn any supported model object into a :class:`Model`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Model
from .callable import CallableModel


def wrap(
    obj: Any,
    output: str | None = None,
    feature_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    tokenize: Any = None,
) -> Model:
    """Wrap a model behind the prediction-function protocol.

    Parameters
    ----------
    obj : Model, scikit-learn estimator, ONNX model or callable
        scikit-learn estimators and pipelines, ONNX models (path ending ``.onnx``,
        serialized bytes, ``onnx.ModelProto``, ``onnxruntime.InferenceSession``), or
        any function mapping rows (or a list of strings) to predictions.
    output : str, optional
        scikit-learn: ``"proba"``, ``"log_proba"``, ``"decision"`` or ``"predict"``;
        ONNX: the name of the graph output.
    feature_names : sequence of str, optional
        Names of the input columns.
    batch_size : int, optional
        Largest number of rows per call of the underlying model.
    tokenize : callable, optional
        For an ONNX model on token ids: ``tokenize(list of str)`` returns its inputs (an
        integer array ``(n, L)``, or a dict by input name), so the model is called with
        documents (see :class:`~blackbox_xai.models.TokenIdOnnxModel`).

    Returns
    -------
    Model
        Call it with rows to get a float64 ``(n, k)`` array.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> import numpy as np, blackbox_xai as bx
    >>> X = np.arange(6.0).reshape(3, 2); y = X @ [1.0, 2.0]
    >>> model = bx.wrap(LinearRegression().fit(X, y))
    >>> model(X[:1]).shape
    (1, 1)
    """
    if isinstance(obj, Model):
        return obj
    kind = type(obj).__name__
    if (
        isinstance(obj, (bytes, bytearray))
        or kind in ("ModelProto", "InferenceSession")
        or (isinstance(obj, (str, os.PathLike)) and os.fspath(obj).endswith(".onnx"))
    ):
        from .onnx import OnnxModel

        if tokenize is not None:
            from .tokenized import TOKEN_ID_BATCH, TokenIdOnnxModel

            return TokenIdOnnxModel(
                obj,
                tokenize,
                output=output,
                feature_names=feature_names,
                batch_size=TOKEN_ID_BATCH if batch_size is None else batch_size,
            )
        if batch_size is None:
            return OnnxModel(obj, output=output, feature_names=feature_names)
        return OnnxModel(obj, output=output, feature_names=feature_names, batch_size=batch_size)
    if tokenize is not None:
        raise ValueError(
            "tokenize= feeds documents to an ONNX model on token ids; a scikit-learn model or "
            "a callable receives the documents and tokenizes them itself."
        )
    if isinstance(obj, (str, os.PathLike)):
        raise ValueError(
            f"cannot wrap the path {os.fspath(obj)!r}: only '.onnx' files are loaded from paths."
        )
    if hasattr(obj, "predict") and hasattr(obj, "fit"):
        from .sklearn import SklearnModel

        model: Model = SklearnModel(
            obj, output=output, feature_names=feature_names, batch_size=batch_size
        )
        n_in = getattr(obj, "n_features_in_", None)
        if model.n_outputs is None and n_in is not None and not hasattr(obj, "feature_names_in_"):
            model.probe(np.zeros((1, int(n_in))))
        return model
    if callable(obj):
        if output is not None:
            raise ValueError(
                "output= selects a method or graph output; it has no meaning for a plain callable."
            )
        return CallableModel(obj, feature_names=feature_names, batch_size=batch_size)
    raise TypeError(
        f"cannot wrap a {kind}: pass a scikit-learn estimator, an ONNX model or a callable."
    )

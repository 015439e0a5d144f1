"""Export scikit-learn models to ONNX with skl2onnx (the ``onnx`` extra)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils.optional import import_optional


def sklearn_to_onnx(
    estimator: Any, X_sample: Any, *, zipmap: bool = True, double: bool = False
) -> bytes:
    """Serialized ONNX model of a fitted estimator.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator or pipeline
        skl2onnx 1.20 cannot convert ``HistGradientBoosting*`` with scikit-learn 1.9.
    X_sample : array-like
        A few rows; sets the input width and dtype (float32 unless ``double``).
    zipmap : bool
        Keep skl2onnx's ZipMap (probabilities as a list of dicts), as deployed
        models often do; :class:`OnnxModel` strips it either way.
    double : bool
        Export with a float64 input.
    """
    skl2onnx = import_optional("skl2onnx")
    dtype = np.float64 if double else np.float32
    sample = np.asarray(X_sample, dtype=dtype)[:1]
    options = (
        {id(estimator): {"zipmap": False}}
        if not zipmap and hasattr(estimator, "predict_proba")
        else None
    )
    proto = skl2onnx.to_onnx(
        estimator, sample, options=options, target_opset={"": 17, "ai.onnx.ml": 3}
    )
    return proto.SerializeToString()

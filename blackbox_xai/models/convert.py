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
    X_sample : array-like, or a list of str
        A few rows; sets the input width and dtype (float32 unless ``double``). For a
        text pipeline (a ``CountVectorizer``/``TfidfVectorizer`` first), a list of
        documents: the export takes a string tensor of shape ``(n, 1)``.
    zipmap : bool
        Keep skl2onnx's ZipMap (probabilities as a list of dicts), as deployed
        models often do; :class:`OnnxModel` strips it either way.
    double : bool
        Export with a float64 input.
    """
    skl2onnx = import_optional("skl2onnx")
    options = (
        {id(estimator): {"zipmap": False}}
        if not zipmap and hasattr(estimator, "predict_proba")
        else None
    )
    opsets = {"": 17, "ai.onnx.ml": 3}
    if isinstance(X_sample, (list, tuple)) and X_sample and isinstance(X_sample[0], str):
        types = import_optional("skl2onnx.common.data_types")
        proto = skl2onnx.to_onnx(
            estimator,
            initial_types=[("input", types.StringTensorType([None, 1]))],
            options=options,
            target_opset=opsets,
        )
        return _portable_string_normalizers(proto).SerializeToString()
    dtype = np.float64 if double else np.float32
    sample = np.asarray(X_sample, dtype=dtype)[:1]
    proto = skl2onnx.to_onnx(estimator, sample, options=options, target_opset=opsets)
    return proto.SerializeToString()


def _portable_string_normalizers(proto: Any) -> Any:
    """Give every StringNormalizer (lowercasing) an explicit ``locale="C"``.

    skl2onnx leaves the locale to ONNX Runtime's default, ``en_US``, and ORT refuses to
    load the model where that locale is not installed (minimal Debian images, CI). The C
    locale lowercases ASCII letters as scikit-learn does; other letters are left as
    they are, so documents with non-ASCII capitals can differ from scikit-learn.
    """
    onnx = import_optional("onnx")
    for node in proto.graph.node:
        if node.op_type == "StringNormalizer" and not any(
            a.name == "locale" for a in node.attribute
        ):
            node.attribute.append(onnx.helper.make_attribute("locale", "C"))
    return proto

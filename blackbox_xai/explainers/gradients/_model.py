"""Which models gradient explainers take, and the message for those they cannot."""

from __future__ import annotations

import os
from typing import Any

from ...autodiff import DifferentiableOnnxModel, UnsupportedOperatorError
from ...models import OnnxModel

#: Where to go when a model has no gradients.
PERTURBATION_HINT = (
    "explain it with a perturbation explainer instead, which needs only predictions: "
    "bx.KernelShap, bx.SamplingShapley or bx.Lime (bx.Occlusion or bx.Rise for images)"
)


def as_differentiable(model: Any, output: str | None) -> Any:
    """A model with ``gradient`` and ``activations_and_gradients``.

    ONNX sources (path, bytes, ``ModelProto``, ``InferenceSession``) and ``OnnxModel``
    become a :class:`DifferentiableOnnxModel`; ``output`` (a tensor name or
    ``"logits"``) rebuilds a ``DifferentiableOnnxModel`` for that tensor; any other
    object with the two methods is used as it is.

    Raises
    ------
    TypeError
        The model has no gradients (a scikit-learn estimator, a callable...); the
        message points to the perturbation explainers.
    ValueError
        The ONNX graph holds an op without a gradient (a tree ensemble...).
    """
    source: Any = None
    options: dict[str, Any] = {}
    if isinstance(model, OnnxModel):  # DifferentiableOnnxModel included
        if isinstance(model, DifferentiableOnnxModel) and output in (None, model.output):
            return model
        source = model.model_bytes
        options = {
            "providers": model.providers,
            "intra_op_threads": model.intra_op_threads,
            "output": output if output is not None else model.output,
        }
        if isinstance(model, DifferentiableOnnxModel) and model.batch_size is not None:
            options["batch_size"] = model.batch_size
    elif _is_onnx_source(model):
        source, options = model, {"output": output}
    elif hasattr(model, "gradient") and hasattr(model, "activations_and_gradients"):
        if output is not None:
            raise ValueError(
                "output= chooses the tensor of an ONNX model; this model object computes its "
                "own gradients, so give it the output to differentiate itself."
            )
        return model
    if source is None:
        raise TypeError(
            f"a {type(model).__name__} has no gradients: gradient explainers need a "
            "differentiable ONNX model (bx.DifferentiableOnnxModel, an .onnx path or bytes) "
            "or an object with gradient() and activations_and_gradients(); neural networks "
            "of scikit-learn convert with blackbox_xai.models.convert.sklearn_to_onnx. "
            f"For this model, {PERTURBATION_HINT}."
        )
    try:
        return DifferentiableOnnxModel(source, **options)
    except UnsupportedOperatorError as exc:
        raise ValueError(
            f"this ONNX model is not differentiable ({exc}) Gradient explainers need a "
            f"network of differentiable ops; {PERTURBATION_HINT}."
        ) from exc


def _is_onnx_source(model: Any) -> bool:
    return (
        isinstance(model, (bytes, bytearray))
        or type(model).__name__ in ("ModelProto", "InferenceSession")
        or (isinstance(model, (str, os.PathLike)) and os.fspath(model).endswith(".onnx"))
    )

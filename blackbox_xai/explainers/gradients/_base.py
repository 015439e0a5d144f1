"""The shared base of the gradient explainers: model, inputs, targets, the Explanation.

Gradient methods need no masker: they read the model's gradients. The base turns the
model into one with gradients, checks the input rows, resolves ``target=`` to one
output per row, picks the space gradients are taken in (the input, or the token
embeddings) and packs each method's attributions into an :class:`Explanation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...autodiff.layers import GraphIndex
from ...results import Explanation
from ...utils.optional import is_dataframe
from ...utils.validation import check_finite, check_memory_budget
from ._model import as_differentiable
from ._space import ArraySpace, EmbeddingSpace, Space, find_embedding, predict
from ._targets import Targets, resolve_targets


@dataclass
class Attribution:
    """What a method computes: values per feature, their standard errors, base values
    (the explained output at the reference, zeros when the method has none) and meta."""

    values: np.ndarray  # (n, *feature_shape)
    base: np.ndarray | None = None  # (n,)
    stderr: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class GradientExplainer:
    """Base class of the gradient explainers.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        A :class:`~blackbox_xai.DifferentiableOnnxModel`; an ONNX path, bytes,
        ``onnx.ModelProto``, ``InferenceSession`` or :class:`~blackbox_xai.OnnxModel`
        (wrapped into one); or any object with ``gradient(X, target, wrt=None,
        relu_rule=...)`` and ``activations_and_gradients(X, target, layer)``.
    output : str, optional
        The tensor to explain: a graph output, any float tensor or node name, or
        ``"logits"`` for the input of the Softmax / LogSoftmax that ends the graph
        (probabilities saturate, so their gradients vanish where the model is sure).
        :func:`blackbox_xai.autodiff.list_layers` lists the tensors with their ops.
    embedding : str, optional
        For token-id models: the tensor of token embeddings to attribute to; by default
        the output of the ``Gather`` that looks the ids up in a weight.
    memory_budget_mb : float
        Size of the points held per gradient call (integration steps and noise samples
        of many rows go into one call).
    """

    method = "gradient"

    def __init__(
        self,
        model: Any,
        *,
        output: str | None = None,
        embedding: str | None = None,
        memory_budget_mb: float = 256.0,
    ) -> None:
        self.model = as_differentiable(model, output)
        self.embedding = embedding
        self.memory_budget_mb = check_memory_budget(memory_budget_mb)
        self._graph: GraphIndex | None = None

    # -- what subclasses use ------------------------------------------------------------
    @property
    def graph(self) -> GraphIndex | None:
        """The model's graph (None for model objects that are not ONNX)."""
        if self._graph is None and hasattr(self.model, "model_bytes"):
            self._graph = GraphIndex(self.model)
        return self._graph

    def _parameters(self) -> dict[str, Any]:
        return {}

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        raise NotImplementedError

    # -- explain ------------------------------------------------------------------------
    def explain(self, X: Any, target: Any = None) -> Explanation:
        """Attribute the target output of each row of ``X`` to its features.

        Parameters
        ----------
        X : array-like
            Rows the model takes: images ``(n, C, H, W)``, tabular rows ``(n, p)``,
            token ids ``(n, T)``; one row without its batch axis is accepted.
        target : None, int, str, sequence, array or callable
            The output explained per row: None for the predicted class, a class index
            or output name for all rows, one class per row, ``(n, k)`` float weights of
            the outputs, or a callable mapping the outputs ``(n, k)`` to any of these.

        Returns
        -------
        Explanation
            ``values`` of shape ``(n, *feature_shape, 1)`` (see each method for the
            feature shape), ``meta`` with the parameters, the target of each row and the
            number of gradient rows.
        """
        X = self._check_rows(X)
        n = len(X)
        space = self._space(X)
        predictions: list[np.ndarray] = []

        def outputs() -> np.ndarray:
            if not predictions:
                predictions.append(predict(self.model, X))
            return predictions[0]

        names = self._output_names(X, outputs)
        targets = resolve_targets(target, n, names, outputs)
        before = getattr(self.model, "n_gradient_rows", None)
        result = self._attribute(space, targets)
        meta: dict[str, Any] = {
            "parameters": self._parameters(),
            **targets.meta(names),
            "output": getattr(self.model, "output", None),
            "attributed_to": space.kind
            if isinstance(space, ArraySpace)
            else f"embedding {space.layer!r}",
        }
        if before is not None:
            meta["n_gradient_rows"] = int(self.model.n_gradient_rows - before)
        meta.update(result.meta)
        base = np.zeros(n) if result.base is None else result.base
        values = result.values
        feature_names = getattr(self.model, "feature_names", None)
        if values.ndim != 2 or feature_names is None or len(feature_names) != values.shape[1]:
            feature_names = None
        return Explanation(
            values[..., None],
            base[:, None],
            data=X,
            feature_names=feature_names,
            output_names=[targets.name],
            stderr=None if result.stderr is None else result.stderr[..., None],
            method=self.method,
            meta=meta,
        )

    # -- inputs -------------------------------------------------------------------------
    def _input_spec(self) -> tuple[str, int, int] | None:
        """(name, ONNX element type, rank) of a one-input ONNX model, else None."""
        specs = getattr(self.model, "_input_specs", None)
        if not specs or len(specs) != 1:
            return None
        name, elem, _, rank = specs[0]
        return str(name), int(elem), int(rank)

    def _is_token_model(self, X: np.ndarray) -> bool:
        spec = self._input_spec()
        if spec is not None:
            return spec[1] in (6, 7)  # int32, int64
        return X.dtype.kind in "iu"

    def _check_rows(self, X: Any) -> np.ndarray:
        if is_dataframe(X):
            X = X.to_numpy()
        if isinstance(X, (str, bytes)):
            raise TypeError("X must be an array of rows (numbers or token ids), got a string.")
        try:
            arr = np.asarray(X)
        except Exception as exc:
            raise ValueError(f"X could not be read as an array: {exc}") from exc
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"X must be numeric (floats, or token ids), got dtype {arr.dtype}.")
        spec = self._input_spec()
        if spec is not None and arr.ndim == spec[2] - 1:
            arr = arr[None]  # one row without its batch axis
        if arr.ndim < 2:
            raise ValueError(
                f"X must hold rows: shape (n, ...) with at least 2 axes, got shape {arr.shape}."
            )
        if spec is not None and arr.ndim != spec[2]:
            raise ValueError(
                f"the model's input {spec[0]!r} has {spec[2]} axes (batch first), but X has "
                f"shape {arr.shape}."
            )
        if arr.shape[0] == 0:
            raise ValueError("X has no rows to explain.")
        if self._is_token_model(arr):
            if arr.dtype.kind == "f":
                if not np.array_equal(arr, np.round(arr)):
                    raise ValueError("X must hold integer token ids for this token-id model.")
                arr = arr.astype(np.int64)
            return arr
        arr = arr.astype(np.float64) if arr.dtype.kind in "biu" else arr
        check_finite(arr, name="X")
        return arr

    def _space(self, X: np.ndarray) -> Space:
        if not self._is_token_model(X):
            return ArraySpace(self.model, X)
        layer = self.embedding
        if layer is None:
            spec, graph = self._input_spec(), self.graph
            if spec is None or graph is None:
                raise ValueError(
                    "X holds token ids, which have no gradient: pass embedding= the name of "
                    "the embedding tensor to attribute to."
                )
            layer = find_embedding(graph, spec[0])
        elif self.graph is not None:
            layer = self.graph.resolve(layer, what="embedding").name
        return EmbeddingSpace(self.model, X, layer)

    def _output_names(self, X: np.ndarray, outputs: Any) -> list[str]:
        names = getattr(self.model, "output_names", None)
        if names is None and hasattr(self.model, "probe"):
            self.model.probe(X)
            names = self.model.output_names
        if names is None:
            k = outputs().shape[1]
            names = [f"output {i}" for i in range(k)] if k > 1 else ["output"]
        return list(names)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._parameters().items())
        return f"{type(self).__name__}({params})"

"""``DifferentiableOnnxModel``: an ONNX model that also gives gradients, on ONNX Runtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..models.onnx import (
    _FLOAT_ELEMS,
    OnnxModel,
    flatten_singleton_tail,
    numpy_dtype_of_elem,
    open_session,
)
from ..utils.optional import import_optional, is_dataframe
from ..utils.validation import check_finite
from .context import StaticShapeError
from .layers import cut_at, with_output
from .transform import GRAD_SUFFIX, RELU_RULES, SEED_SUFFIX, gradient_model

_Differentiable = TypeVar("_Differentiable", bound="DifferentiableOnnxModel")


class DifferentiableOnnxModel(OnnxModel):
    """An ONNX model with gradients computed by ONNX Runtime (no PyTorch).

    Gradient graphs are built by :func:`blackbox_xai.autodiff.gradient_model`, once per
    set of differentiated tensors and ReLU rule, when first used. Pickles carry only the
    model: a copy (e.g. in a joblib or dask worker) rebuilds the gradient graphs it needs.

    Parameters
    ----------
    source : str, os.PathLike, bytes, onnx.ModelProto or onnxruntime.InferenceSession
        The model.
    providers : list of str, optional
        Execution providers (CPU only by default), for the model and its gradients.
    output : str, optional
        The tensor to predict and differentiate: a graph output (as in
        :class:`OnnxModel`), any other float tensor or the node computing it (it is made
        a graph output), or ``"logits"`` for the input of the Softmax / LogSoftmax that
        ends the graph. Gradients of logits do not saturate as probabilities do; to find
        the tensor by hand, :func:`blackbox_xai.autodiff.list_layers` lists every tensor
        with the op computing it (the logits are the input of the last ``Softmax``).
    batch_size : int
        Largest number of rows per ``session.run``.
    intra_op_threads : int
        Threads ORT may use per session.
    feature_names : sequence of str, optional
        Input column names (tabular models).

    Attributes
    ----------
    n_gradient_calls, n_gradient_rows : int
        Gradient runs (batches) and rows, next to ``n_calls`` / ``n_rows`` of predictions.

    Examples
    --------
    >>> model = bx.DifferentiableOnnxModel("cnn.onnx")  # doctest: +SKIP
    >>> saliency = model.gradient(images, target=3)  # doctest: +SKIP
    >>> acts, grads = model.activations_and_gradients(images, 3, layer="conv3_out")  # doctest: +SKIP
    """

    requires_float_or_string_input = False  # token ids: differentiate the embeddings

    def __init__(
        self,
        source: Any,
        providers: Sequence[str] | None = None,
        output: str | None = None,
        batch_size: int | None = 256,
        intra_op_threads: int = 1,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        source, output, providers = with_output(source, output, providers)
        super().__init__(
            source,
            providers=providers,
            output=output,
            batch_size=batch_size,
            intra_op_threads=intra_op_threads,
            feature_names=feature_names,
        )
        self._output_tails: dict[tuple[tuple[int, ...], ...], tuple[int, ...]] = {}
        self._gradient_sessions: dict[tuple[Any, ...], _GradientSession] = {}
        self._per_shape: set[tuple[Any, ...]] = set()  # graphs built per input shape
        self.n_gradient_calls = 0
        self.n_gradient_rows = 0
        if self._float_inputs() == [spec[0] for spec in self._input_specs]:
            try:  # unsupported ops are reported now
                self._gradient_graph(tuple(self._float_inputs()), "standard")
            except StaticShapeError:
                if not self._symbolic_sizes():
                    raise
                self._per_shape.add((False, tuple(self._float_inputs()), "standard"))

    # -- public API -----------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """The model's output for ``X`` as float64 ``(n, k)`` (same as calling the model)."""
        return self(X)

    def gradient(
        self,
        X: Any,
        target: Any,
        wrt: str | Sequence[str] | None = None,
        relu_rule: str = "standard",
    ) -> Any:
        """Gradient of ``<seed, output>`` with respect to the inputs or other tensors.

        Parameters
        ----------
        X : array-like
            Model input rows (images ``(n, C, H, W)``, tabular rows ``(n, p)``...).
        target : int, sequence of int or array
            The class whose output is differentiated (one for all rows, or one per row),
            or seeds shaped like the output ``(n, ...)`` weighting its entries.
        wrt : str or sequence of str, optional
            Tensors to differentiate with respect to. By default the model's inputs
            (all must be float), and the result is shaped like ``X``.
        relu_rule : {"standard", "guided", "deconv"}
            ReLU backward rule (guided backprop, DeconvNet).

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            The float64 gradient with respect to each ``wrt`` tensor, shaped like it (a
            list when ``wrt`` is a sequence). With ``wrt=None``, one array laid out like
            ``X`` (the inputs' columns side by side when the model has several inputs).

        Raises
        ------
        ValueError
            ``target`` does not fit the output (class out of range, seeds of another
            shape, rows of ``X``), ``wrt=None`` with non-float inputs, or an unknown
            ``relu_rule``.
        """
        names, single = self._wrt_names(wrt)
        grads = self._run_gradients(X, target, names, relu_rule, with_values=False)
        if wrt is None:
            return self._as_input_layout(grads, len(_rows(X)))
        return grads[0][1] if single else [g for _, g in grads]

    def activations_and_gradients(
        self, X: Any, target: Any, layer: str, relu_rule: str = "standard"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values of tensor ``layer`` and the gradient of the target with respect to it.

        For Grad-CAM: ``layer`` is e.g. the output of the last convolution.

        Parameters
        ----------
        X : array-like
            Model input rows.
        target : int, sequence of int or array
            The class differentiated, or seeds shaped like the output (as in
            :meth:`gradient`).
        layer : str
            Name of a float tensor of the model (an input or any node output).
        relu_rule : {"standard", "guided", "deconv"}
            ReLU backward rule.

        Returns
        -------
        activations, gradients : numpy.ndarray
            The values of ``layer`` for each row and the gradient of
            ``<seed, output>`` with respect to them, both float64 and shaped like
            ``layer``.
        """
        (values, grads), *_ = self._run_gradients(X, target, [layer], relu_rule, with_values=True)
        return values, grads

    def layer_gradient(
        self, X: Any, target: Any, layer: str, values: Any, relu_rule: str = "standard"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and gradient when tensor ``layer`` takes ``values`` instead of its own.

        The rest of the graph runs on ``X`` as usual (e.g. an attention mask computed from
        the token ids), so this is the primitive of layer integrated gradients and of
        noise added to embeddings: ``values`` are points between the embeddings of a
        baseline and of ``X``.

        Parameters
        ----------
        X : array-like
            Model input rows.
        target : int, sequence of int or array
            The class differentiated, or seeds (as in :meth:`gradient`).
        layer : str
            A float tensor of the model (e.g. the output of the embedding ``Gather``).
        values : array-like
            Values of ``layer`` for each row of ``X``, shaped like ``layer``.
        relu_rule : {"standard", "guided", "deconv"}
            ReLU backward rule.

        Returns
        -------
        outputs : numpy.ndarray
            The model's output ``(n, k)`` with ``layer`` set to ``values``, float64.
        gradients : numpy.ndarray
            The gradient of ``<seed, output>`` with respect to ``layer``, like ``values``.
        """
        if relu_rule not in RELU_RULES:
            raise ValueError(f"relu_rule must be one of {RELU_RULES}, got {relu_rule!r}.")
        rows = _rows(X)
        n = len(rows)
        values = np.asarray(values)
        if values.shape[:1] != (n,):
            raise ValueError(f"values has {values.shape[:1]} rows for {n} rows of X.")
        per_row = np.asarray(target)
        if per_row.ndim >= 1 and len(per_row) != n:
            raise ValueError(f"target has {len(per_row)} rows for {n} rows of X.")
        seed_name = self.output + SEED_SUFFIX
        outputs, grads = [], []
        size = self.batch_size or n
        for start in range(0, n, size):
            count = min(size, n - start)
            feeds = self._feeds(rows[start : start + size])
            shape = self._output_shape(feeds, count)
            graph = self._gradient_graph((layer,), relu_rule, cut=True, feeds=feeds)
            feeds = {k: v for k, v in feeds.items() if k in graph.inputs}
            feeds[layer] = np.ascontiguousarray(
                values[start : start + count], dtype=graph.dtypes[layer]
            )
            feeds[seed_name] = self._seeds(target, count, start, shape, graph.dtypes[seed_name])
            out, grad = graph.session.run([self.output, layer + GRAD_SUFFIX], feeds)
            self.n_gradient_calls += 1
            self.n_gradient_rows += count
            outputs.append(np.asarray(flatten_singleton_tail(out), dtype=np.float64))
            grads.append(np.asarray(grad, dtype=np.float64))
        joined_out = np.concatenate(outputs) if len(outputs) > 1 else outputs[0]
        if joined_out.ndim == 1:
            joined_out = joined_out.reshape(-1, 1)
        return joined_out, (np.concatenate(grads) if len(grads) > 1 else grads[0])

    def reset_counts(self) -> None:
        super().reset_counts()
        self.n_gradient_calls = 0
        self.n_gradient_rows = 0

    # -- pickling -------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_gradient_sessions"] = {}  # (each holds a copy of the weights)
        return state

    def _with_weights(self: _Differentiable, proto: Any) -> _Differentiable:
        # Same graph: the output shapes found hold, and the gradient graphs are built
        # afresh (on first use) for the new weights.
        clone = super()._with_weights(proto)
        clone._output_tails = dict(self._output_tails)
        clone._gradient_sessions = {}
        clone._per_shape = set(self._per_shape)
        return clone

    # -- internals ------------------------------------------------------------------------
    def _float_inputs(self) -> list[str]:
        return [name for name, elem, _, _ in self._input_specs if elem in _FLOAT_ELEMS]

    def _wrt_names(self, wrt: str | Sequence[str] | None) -> tuple[list[str], bool]:
        if wrt is None:
            floats = self._float_inputs()
            others = [s[0] for s in self._input_specs if s[0] not in floats]
            if others:
                raise ValueError(
                    f"the model inputs {others} are not float, so they have no gradient; pass "
                    "wrt= the float tensors to differentiate (e.g. the embedding output)."
                )
            return floats, False
        if isinstance(wrt, str):
            return [wrt], True
        return list(wrt), False

    def _symbolic_sizes(self) -> bool:
        """Whether some input has a size other than the batch that is not fixed."""
        onnx = import_optional("onnx")
        proto = onnx.load_model_from_string(self.model_bytes)
        fed = {spec[0] for spec in self._input_specs}
        return any(
            not d.HasField("dim_value")
            for value in proto.graph.input
            if value.name in fed
            for d in value.type.tensor_type.shape.dim[1:]
        )

    def _gradient_graph(
        self,
        wrt: tuple[str, ...],
        relu_rule: str,
        cut: bool = False,
        feeds: dict[str, np.ndarray] | None = None,
    ) -> _GradientSession:
        """The gradient graph's session, built on first use.

        ``cut``: the graph of :meth:`layer_gradient`, where ``wrt`` (one tensor) is fed.
        A graph whose rules need sizes the model leaves symbolic (a Resize of images of
        any size) is built once per input shape of ``feeds``, with those sizes fixed.
        """
        general = (cut, wrt, relu_rule)
        key: tuple[Any, ...] = general
        if general in self._per_shape:
            assert feeds is not None
            key = (*general, tuple(v.shape[1:] for v in feeds.values()))
        if key not in self._gradient_sessions:
            try:
                self._gradient_sessions[key] = self._build(
                    wrt, relu_rule, cut, None if key is general else feeds
                )
            except StaticShapeError:
                if key is not general or feeds is None or not self._symbolic_sizes():
                    raise
                self._per_shape.add(general)
                return self._gradient_graph(wrt, relu_rule, cut, feeds)
        return self._gradient_sessions[key]

    def _build(
        self,
        wrt: tuple[str, ...],
        relu_rule: str,
        cut: bool,
        feeds: dict[str, np.ndarray] | None,
    ) -> _GradientSession:
        onnx = import_optional("onnx")
        proto = onnx.load_model_from_string(self.model_bytes)
        if feeds is not None:  # sizes fixed to these inputs' (the batch stays free)
            for value in proto.graph.input:
                if value.name in feeds:
                    dims = value.type.tensor_type.shape.dim
                    for d, size in zip(dims[1:], feeds[value.name].shape[1:], strict=True):
                        d.dim_value = int(size)
        if cut:
            proto = cut_at(proto, wrt[0], [self.output])
        grad = gradient_model(proto, list(wrt), outputs=self.output, relu_rule=relu_rule)
        seed_name = self.output + SEED_SUFFIX
        described = {seed_name: f"the output {self.output!r}", wrt[0]: f"the tensor {wrt[0]!r}"}
        dtypes = {
            i.name: numpy_dtype_of_elem(i.type.tensor_type.elem_type, described[i.name])
            for i in grad.graph.input
            if i.name == seed_name or (cut and i.name == wrt[0])
        }
        session, _ = open_session(grad.SerializeToString(), self.providers, self.intra_op_threads)
        return _GradientSession(session, dtypes, {i.name for i in grad.graph.input})

    def _seeds(
        self, target: Any, n: int, start: int, shape: tuple[int, ...], dtype: np.dtype
    ) -> np.ndarray:
        """Seeds for rows ``start:start + n`` of the output, shaped ``(n, *shape[1:])``.

        Outputs ``(n,)`` and ``(n, k, 1, ..., 1)`` are classes too (the model predicts
        them as ``(n, 1)`` and ``(n, k)``): class indices and ``(n, k)`` seeds fit them.
        """
        arr = np.asarray(target)
        k = _n_classes(shape)
        if arr.dtype.kind == "f":
            if arr.shape[1:] == shape[1:]:
                return np.ascontiguousarray(arr[start : start + n], dtype=dtype)
            if k is not None and arr.shape[1:] == (k,):
                return np.ascontiguousarray(arr[start : start + n].reshape(n, *shape[1:]), dtype)
            raise ValueError(
                f"target seeds must be shaped like the output {('n', *shape[1:])}, got {arr.shape}."
            )
        if arr.dtype.kind not in "iu" or arr.ndim > 1:
            raise TypeError("target must be a class index, one index per row, or float seeds.")
        if k is None:
            raise ValueError(
                f"class indices need an output of shape (n, k); this output has shape {shape}: "
                "pass seeds shaped like it instead."
            )
        classes = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr[start : start + n]
        if classes.min(initial=0) < 0 or classes.max(initial=0) >= k:
            raise ValueError(f"target classes must lie in [0, {k}), got {np.unique(classes)}.")
        seeds = np.zeros((n, k), dtype=dtype)
        seeds[np.arange(n), classes] = 1.0
        return seeds.reshape(n, *shape[1:])

    def _run_gradients(
        self, X: Any, target: Any, wrt: list[str], relu_rule: str, with_values: bool
    ) -> list[tuple[Any, np.ndarray]]:
        if relu_rule not in RELU_RULES:
            raise ValueError(f"relu_rule must be one of {RELU_RULES}, got {relu_rule!r}.")
        rows = _checked_rows(X)
        n = len(rows)
        per_row = np.asarray(target)
        if per_row.ndim >= 1 and len(per_row) != n:
            raise ValueError(f"target has {len(per_row)} rows for {n} rows of X.")
        seed_name = self.output + SEED_SUFFIX
        fetch = [w + GRAD_SUFFIX for w in wrt]
        if with_values:
            fetch = [*wrt, *fetch]
        parts: list[list[np.ndarray]] = [[] for _ in fetch]
        size = self.batch_size or n
        for start in range(0, n, size):
            feeds = self._feeds(rows[start : start + size])
            count = min(size, n - start)
            shape = self._output_shape(feeds, count)
            graph = self._gradient_graph(tuple(wrt), relu_rule, feeds=feeds)
            session = graph.session
            feeds[seed_name] = self._seeds(target, count, start, shape, graph.dtypes[seed_name])
            if with_values and wrt[0] in feeds:
                fetch_now = fetch[1:]
                out = [feeds[wrt[0]], *session.run(fetch_now, feeds)]
            else:
                out = session.run(fetch, feeds)
            self.n_gradient_calls += 1
            self.n_gradient_rows += count
            for part, value in zip(parts, out, strict=True):
                part.append(np.asarray(value, dtype=np.float64))
        joined = [np.concatenate(p) if len(p) > 1 else p[0] for p in parts]
        if with_values:
            return [(joined[0], joined[1])]
        return [(None, g) for g in joined]

    def _output_shape(self, feeds: dict[str, np.ndarray], n: int) -> tuple[int, ...]:
        """Shape of the differentiated output for ``n`` rows (static, else from one run).

        A fully convolutional model's output size follows its input's, so sizes found by
        running one row are kept per input row shape.
        """
        key = tuple(v.shape[1:] for v in feeds.values())
        if key not in self._output_tails:
            spec = next(o for o in self._get_session().get_outputs() if o.name == self.output)
            tail = spec.shape[1:]
            if not spec.shape or not all(isinstance(d, int) for d in tail):  # from one row
                probe = {k: v[:1] for k, v in feeds.items()}
                tail = list(self._get_session().run([self.output], probe)[0].shape[1:])
            self._output_tails[key] = tuple(int(d) for d in tail)
        return (n, *self._output_tails[key])

    def _as_input_layout(self, grads: list[tuple[Any, np.ndarray]], n: int) -> np.ndarray:
        """Gradients of the inputs laid out like ``X`` (columns of several inputs joined)."""
        if len(grads) == 1:
            return grads[0][1]
        return np.concatenate([g.reshape(n, -1) for _, g in grads], axis=1)


@dataclass(frozen=True)
class _GradientSession:
    """A gradient graph's session, the dtypes of its seed (and fed layer), its inputs."""

    session: Any
    dtypes: dict[str, np.dtype]
    inputs: set[str]


def _n_classes(shape: tuple[int, ...]) -> int | None:
    """Number of classes of an output ``(n,)``, ``(n, k)`` or ``(n, k, 1, ..., 1)``, else None."""
    if len(shape) == 1:
        return 1
    if len(shape) >= 2 and all(d == 1 for d in shape[2:]):
        return int(shape[1])
    return None


def _checked_rows(X: Any) -> Any:
    """Rows of ``X`` for a gradient, checked as a prediction's output would be: at least
    one row, a batch axis, finite numbers (a NaN row has no gradient to speak of, and
    ONNX Runtime returns zeros or NaN for it without a word)."""
    rows = _rows(X)
    if is_dataframe(rows):
        rows = rows.to_numpy()
    if rows.dtype == object or rows.dtype.kind in "USV":
        return rows  # documents: the model's own input checks apply
    if rows.ndim < 2:
        raise ValueError(
            f"X must have a batch axis (rows first), got shape {rows.shape}; pass one row "
            "as X[None] or X.reshape(1, -1)."
        )
    if len(rows) == 0:
        raise ValueError("X has no rows; a gradient needs at least one.")
    if rows.dtype.kind == "f":
        check_finite(rows, name="X")
    return rows


def _rows(X: Any) -> Any:
    """Rows of X as an indexable array (DataFrames kept: ``_feeds`` reads them)."""
    return X if hasattr(X, "iloc") else np.asarray(X)

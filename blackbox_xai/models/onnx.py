"""ONNX Runtime models behind the prediction-function protocol."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from ..utils.optional import import_optional, is_dataframe
from ..utils.validation import check_positive_int
from ._onnx_file import read_onnx_file
from .base import Model

#: Rows of every ``session.run`` by default (see ``OnnxModel``'s ``fixed_batch``).
FIXED_BATCH = 256

#: Input bytes of one ``session.run`` that make ``fixed_batch="auto"`` take fewer rows:
#: a small CNN on 128 x 128 RGB float32 images (192 KiB a row, one thread) ran 1000
#: images in 0.15 s in runs of 2-16 images and 0.22-0.27 s in runs of 256 (the
#: activations of a large run leave the caches).
FIXED_BATCH_BYTES = 2 * 2**20

#: ``intra_op_threads`` above this many per CPU is refused: ORT starts every thread.
_THREADS_PER_CPU = 4

# ONNX TensorProto element types this wrapper feeds, and the numpy dtype of each.
_NUMPY_OF_ELEM = {
    1: np.float32,
    11: np.float64,
    10: np.float16,
    7: np.int64,
    6: np.int32,
    9: np.bool_,
    8: np.object_,
}
_FLOAT_ELEMS = (1, 10, 11)
_STRING_ELEM = 8

_Model = TypeVar("_Model", bound="OnnxModel")


def numpy_dtype_of_elem(elem: int, what: str) -> np.dtype:
    """The numpy dtype fed or read for ONNX element type ``elem`` of tensor ``what``.

    Raises
    ------
    ValueError
        ``elem`` is a type blackbox_xai does not feed (bfloat16, float8, uint8...).
    """
    if elem not in _NUMPY_OF_ELEM:
        onnx = import_optional("onnx")
        name = onnx.TensorProto.DataType.Name(elem) if elem else "undefined"
        raise ValueError(
            f"{what} has the ONNX element type {name} ({elem}), which blackbox_xai cannot feed "
            "(supported: float, double, float16, int64, int32, bool, string)."
        )
    return np.dtype(_NUMPY_OF_ELEM[elem])


def load_model_bytes(source: Any) -> tuple[bytes, list[str] | None]:
    """Serialized model and, for a session, its providers, from any accepted source."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), None
    if isinstance(source, (str, os.PathLike)):
        return read_onnx_file(source), None
    if type(source).__name__ == "ModelProto":
        return source.SerializeToString(), None
    if type(source).__name__ == "InferenceSession":
        # ORT keeps what the session was built from; it has no public accessor for it.
        data = getattr(source, "_model_bytes", None)
        path = getattr(source, "_model_path", None)
        providers = list(source.get_providers())
        if data:
            return bytes(data), providers
        if path:
            return load_model_bytes(path)[0], providers
        raise ValueError(
            "this InferenceSession keeps neither its model bytes nor its path; pass the model instead."
        )
    raise TypeError(
        "an ONNX model must be given as a path, bytes, onnx.ModelProto or "
        f"onnxruntime.InferenceSession, got {type(source).__name__}."
    )


def check_providers(providers: Sequence[str]) -> list[str]:
    """Execution providers that this onnxruntime build has, or a ValueError listing them.

    ONNX Runtime falls back to the CPU, with a log line only, for a provider it lacks.
    """
    ort = import_optional("onnxruntime")
    if isinstance(providers, str):
        providers = [providers]
    names = [p[0] if isinstance(p, tuple) else p for p in providers]
    available = list(ort.get_available_providers())
    unknown = [str(p) for p in names if p not in available]
    if unknown or not names:
        raise ValueError(
            f"providers {unknown or list(names)} are not available in this onnxruntime build; "
            f"available providers: {available}."
        )
    return list(providers)


def check_intra_op_threads(value: Any) -> int:
    """A positive thread count of at most ``4 x os.cpu_count()``."""
    threads = check_positive_int(value, "intra_op_threads")
    cpus = os.cpu_count() or 1
    if threads > _THREADS_PER_CPU * cpus:
        raise ValueError(
            f"intra_op_threads={threads} is more than {_THREADS_PER_CPU} threads per CPU of "
            f"this machine ({cpus} CPUs); ONNX Runtime starts every thread of every session. "
            f"Pass at most {_THREADS_PER_CPU * cpus}."
        )
    return threads


def _class_labels(model: Any) -> list[str] | None:
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_int64s" and attr.ints:
                return [str(v) for v in attr.ints]
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
    return None


def _strip_zipmap(model: Any) -> Any:
    """Replace ZipMap by Identity: the output keeps its name but becomes the float tensor.

    A list of dicts per row is slow to read back; the tensor before ZipMap is the same
    probabilities in class order.
    """
    onnx = import_optional("onnx")
    graph = model.graph
    zipped = {}
    if not any(node.op_type == "ZipMap" for node in graph.node):
        return model
    # The probabilities are float or double depending on the export.
    inferred = onnx.shape_inference.infer_shapes(model)
    elem_of = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    for i, node in enumerate(graph.node):
        if node.op_type == "ZipMap":
            graph.node[i].CopyFrom(
                onnx.helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
            )
            zipped[node.output[0]] = elem_of.get(node.input[0]) or onnx.TensorProto.FLOAT
    for out in graph.output:
        if out.name in zipped:
            out.CopyFrom(onnx.helper.make_tensor_value_info(out.name, zipped[out.name], None))
    return model


def _lower_ir_version(model_bytes: bytes) -> bytes:
    onnx = import_optional("onnx")
    proto = onnx.load_model_from_string(model_bytes)
    proto.ir_version = onnx.helper.find_min_ir_version_for(
        list(proto.opset_import), ignore_unknown=True
    )
    return bytes(proto.SerializeToString())


def open_session(
    model_bytes: bytes, providers: Sequence[str], intra_op_threads: int
) -> tuple[Any, bytes]:
    """An ORT session for ``model_bytes``, and the bytes it was built from.

    Both are returned because a model stamped with an IR version newer than ORT knows is
    loaded through a copy with the lowest IR version that carries its opsets.
    """
    ort = import_optional("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(intra_op_threads)
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(model_bytes, sess_options=options, providers=providers)
        return session, model_bytes
    except Exception as exc:
        if "Unsupported model IR version" not in str(exc):
            raise ValueError(f"ONNX Runtime could not load the model: {exc}") from exc
    # onnx's helpers stamp the newest IR version, which ORT may not know yet;
    # the lowest IR version that carries the model's opsets loads the same graph.
    lowered = _lower_ir_version(model_bytes)
    try:
        return ort.InferenceSession(lowered, sess_options=options, providers=providers), lowered
    except Exception as retry_exc:
        raise ValueError(f"ONNX Runtime could not load the model: {retry_exc}") from retry_exc


class OnnxModel(Model):
    """An ONNX model run by ONNX Runtime.

    Parameters
    ----------
    source : str, os.PathLike, bytes, onnx.ModelProto or onnxruntime.InferenceSession
        The model.
    providers : list of str, optional
        Execution providers, e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]``;
        CPU only by default.
    output : str, optional
        Name of the graph output to explain. By default the probability output of a
        classifier export (ZipMap removed) or the first float output.
    batch_size : int
        Largest number of rows in one ``session.run``. A model whose inputs all have a
        fixed batch size of 1 (as many model-zoo exports) is run one row per call.
    intra_op_threads : int
        Threads ORT may use per session (1 by default; at most 4 per CPU). The same count is used in the
        creating process and in parallel workers (which rebuild the session), because
        some kernels (tree ensembles) sum in a thread-dependent order: one count keeps
        results bit-identical whatever ``n_jobs``, and one thread per worker keeps
        ``n_jobs`` workers from oversubscribing the cores. Raise it for large networks
        explained with ``n_jobs=1``.
    feature_names : sequence of str, optional
        Input column names.
    fixed_batch : int, "auto" or None
        Rows of every ``session.run``: inputs are cut into batches of this many rows
        and the last one is padded (with copies of its last row, whose
        outputs are dropped). ONNX Runtime's float32 result for a row depends on how many
        rows it is computed with (measured: a skl2onnx StandardScaler +
        LogisticRegression export differs by up to 1.8e-7 between 1 and 4096 rows, and
        runs of 3, 5 or 7 rows differ from runs of 2, 4, 8 or more), but, as measured
        on that model and the tree and network exports of the tests, not on the other
        rows of a run or on its position in it; with one batch size, values do not
        depend on ``n_jobs``, chunking or the memory budget. "auto" (default): 256
        rows, fewer when rows are large (at most 2 MiB of input per run, at least one
        row: runs of a few images are faster than of hundreds); the size depends only on
        the size of a row, so the guarantee holds. None: runs of up to ``batch_size``
        rows, no padding (faster for calls of a few rows).

    Notes
    -----
    Pickling keeps the model bytes only; the session is rebuilt on first use. Weights in
    external-data files are read from the model's folder when it is given as a path.
    """

    #: Explainers perturb float or string inputs; subclasses differentiated with respect
    #: to inner tensors (embeddings) may take integer token ids only.
    requires_float_or_string_input = True
    #: Rows are split into the inputs by columns; subclasses that feed each input by name
    #: (token-id models) accept several inputs of any width.
    splits_rows_into_inputs = True

    def __init__(
        self,
        source: Any,
        providers: Sequence[str] | None = None,
        output: str | None = None,
        batch_size: int | None = 65536,
        intra_op_threads: int = 1,
        feature_names: Sequence[str] | None = None,
        fixed_batch: int | str | None = "auto",
    ) -> None:
        import_optional("onnxruntime")
        onnx = import_optional("onnx")
        intra_op_threads = check_intra_op_threads(intra_op_threads)
        if providers is not None:
            providers = check_providers(providers)
        if isinstance(fixed_batch, str) and fixed_batch != "auto":
            raise ValueError(
                f'fixed_batch must be a positive integer, "auto" or None, got {fixed_batch!r}.'
            )
        if fixed_batch is not None and fixed_batch != "auto":
            fixed_batch = check_positive_int(fixed_batch, "fixed_batch")
        raw, session_providers = load_model_bytes(source)
        try:
            proto = onnx.load_model_from_string(raw)
        except Exception as exc:
            raise ValueError(f"the ONNX model could not be parsed: {exc}") from exc
        labels = _class_labels(proto)
        proto = _strip_zipmap(proto)
        self.model_bytes: bytes = proto.SerializeToString()
        self.providers = list(providers or session_providers or ["CPUExecutionProvider"])
        self.intra_op_threads = intra_op_threads
        self._session: Any = None
        self._input_specs = self._read_input_specs(proto)
        fed = next(v for v in proto.graph.input if v.name == self._input_specs[0][0])
        self._input_dims: tuple[int | None, ...] = tuple(
            int(d.dim_value) if d.HasField("dim_value") else None
            for d in fed.type.tensor_type.shape.dim
        )
        self.input_kind = "text" if self._input_specs[0][1] == _STRING_ELEM else "array"
        self.output = self._choose_output(proto, output)
        self._get_session()  # fail now, not at the first prediction
        k = self._static_output_width(proto)
        names = (
            labels
            if labels is not None and (k is None or len(labels) == k) and len(labels) > 1
            else None
        )
        if _fixed_batch_of_one(proto):
            batch_size = 1
            fixed_batch = None  # every run has one row already
        self.fixed_batch = fixed_batch
        super().__init__(output_names=names, feature_names=feature_names, batch_size=batch_size)
        width = self.n_input_columns
        if self.input_kind == "array" and width is not None:
            self.probe(np.zeros((1, width)))

    def _describe(self) -> str:
        return f"output={self.output!r}, providers={self.providers}"

    @property
    def n_input_columns(self) -> int | None:
        """Columns the model takes (summed over its inputs), None when not fixed.

        None as well for inputs of rank > 2 (images, sequences), which have no columns.
        """
        if any(spec[3] > 2 for spec in self._input_specs):
            return None
        widths = [spec[2] for spec in self._input_specs]
        return (
            None if any(w is None for w in widths) else int(sum(w for w in widths if w is not None))
        )

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """Shape of one input item (the batch axis dropped) of a model with one input of
        rank 3 or more (images), None for dynamic axes; None for other models."""
        if len(self._input_specs) != 1 or self._input_specs[0][3] < 3:
            return None
        return self._input_dims[1:]

    @property
    def input_layout(self) -> str | None:
        """``"channels_first"`` or ``"channels_last"`` for a rank-4 image input, read
        from which axis has a static size of 1, 3 or 4 channels (the second is
        preferred: ONNX exports of CNNs are NCHW); None otherwise."""
        shape = self.input_shape
        if shape is None or len(shape) != 3:
            return None
        if shape[0] in (1, 3, 4):
            return "channels_first"
        if shape[2] in (1, 3, 4):
            return "channels_last"
        return None

    @property
    def input_dtype(self) -> np.dtype:
        """The numpy dtype fed to the (first) input."""
        return np.dtype(_NUMPY_OF_ELEM[self._input_specs[0][1]])

    # -- session ------------------------------------------------------------------------
    def _get_session(self) -> Any:
        if self._session is None:
            self._session, self.model_bytes = open_session(
                self.model_bytes, self.providers, self.intra_op_threads
            )
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __copy__(self) -> OnnxModel:
        # Shallow copies (thread workers) share the session: InferenceSession.run is
        # thread-safe, and rebuilding it per task would cost more than the task.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def _with_weights(self: _Model, proto: Any) -> _Model:
        """This model with the graph ``proto``: the same graph, other initializer values.

        For models blackbox_xai derives itself (weight randomisation), which need none of
        the checks ``__init__`` made of this model: inputs, output, output names and
        batch layout are those of this one, and no session is opened before the first
        prediction (a gradient explainer may never ask for one).

        Parameters
        ----------
        proto : onnx.ModelProto
            This model's graph (as in ``model_bytes``) with some initializers changed.

        Returns
        -------
        OnnxModel
            A model of the same class and settings, its call counts at zero.
        """
        clone = copy.copy(self)
        clone.model_bytes = proto.SerializeToString()
        clone._session = None
        clone.reset_counts()
        return clone

    # -- graph inspection ---------------------------------------------------------------
    @classmethod
    def _read_input_specs(cls, proto: Any) -> list[tuple[str, int, int | None, int]]:
        """(name, elem type, width or None, rank) per graph input that is fed."""
        initializers = {i.name for i in proto.graph.initializer}
        specs = []
        for value in proto.graph.input:
            if value.name in initializers:
                continue
            tensor = value.type.tensor_type
            dims = tensor.shape.dim
            width = dims[1].dim_value if len(dims) >= 2 and dims[1].HasField("dim_value") else None
            specs.append((value.name, tensor.elem_type, width, len(dims)))
        if not specs:
            raise ValueError("the ONNX model has no inputs to feed.")
        unsupported = [(s[0], s[1]) for s in specs if s[1] not in _NUMPY_OF_ELEM]
        if unsupported:
            raise ValueError(
                f"the ONNX model has inputs of element types blackbox_xai cannot feed: {unsupported} "
                "(supported: float, double, float16, int64, int32, bool, string)."
            )
        if cls.requires_float_or_string_input and not any(
            s[1] in _FLOAT_ELEMS or s[1] == _STRING_ELEM for s in specs
        ):
            kinds = sorted({s[1] for s in specs})
            raise ValueError(
                f"the ONNX model has no float or string input (input element types {kinds}); "
                "blackbox_xai feeds float rows or strings."
            )
        if any(s[1] == _STRING_ELEM for s in specs) and len(specs) > 1:
            raise ValueError(
                "the ONNX model has a string input among several inputs; blackbox_xai feeds "
                "one string input (documents) or numeric inputs (rows split into columns)."
            )
        if cls.splits_rows_into_inputs and len(specs) > 1 and any(s[2] is None for s in specs):
            raise ValueError(
                "the ONNX model has several inputs, and some have no fixed number of columns; "
                "cannot split rows into them. Export it with one input."
            )
        return specs

    def _choose_output(self, proto: Any, output: str | None) -> str:
        names = [o.name for o in proto.graph.output]
        floats = [
            o.name for o in proto.graph.output if o.type.tensor_type.elem_type in _FLOAT_ELEMS
        ]
        if output is not None:
            if output not in names:
                raise ValueError(
                    f"output {output!r} is not an output of the ONNX model; outputs are {names}."
                )
            elem = next(o for o in proto.graph.output if o.name == output).type.tensor_type
            if elem.elem_type in _NUMPY_OF_ELEM and elem.elem_type not in _FLOAT_ELEMS:
                onnx = import_optional("onnx")
                kind = onnx.TensorProto.DataType.Name(elem.elem_type) if elem.elem_type else "?"
                raise ValueError(
                    f"output {output!r} holds {kind} values (predicted labels), not scores: "
                    f"explainers need a float output; float outputs are {floats}."
                )
            return output
        if not floats:
            raise ValueError(f"the ONNX model has no float output to explain; outputs are {names}.")
        for name in floats:
            if "prob" in name.lower():
                return name
        return floats[0]

    def _static_output_width(self, proto: Any) -> int | None:
        for out in proto.graph.output:
            if out.name == self.output:
                dims = out.type.tensor_type.shape.dim
                if len(dims) >= 2 and dims[1].HasField("dim_value"):
                    return int(dims[1].dim_value)
        return None

    # -- prediction ---------------------------------------------------------------------
    def _feeds(self, X: Any) -> dict[str, np.ndarray]:
        if self.input_kind == "text":
            name, _, _, rank = self._input_specs[0]
            texts = np.asarray(list(X), dtype=object)
            return {name: texts.reshape(-1, 1) if rank == 2 else texts}
        arr = X.to_numpy() if is_dataframe(X) else np.asarray(X)
        if len(self._input_specs) == 1 and self._input_specs[0][3] > 2:
            # Images, sequences: one input fed whole (there are no columns to split).
            name, elem = self._input_specs[0][:2]
            return {name: np.ascontiguousarray(arr, dtype=_NUMPY_OF_ELEM[elem])}
        feeds = {}
        col = 0
        for name, elem, width, rank in self._input_specs:
            w = arr.shape[1] - col if width is None else width
            part = arr[:, col : col + w]
            col += w
            dtype = np.dtype(_NUMPY_OF_ELEM[elem])
            if dtype.kind == "f" and dtype.itemsize < np.dtype(part.dtype).itemsize:
                _check_in_range(part, dtype, name, col - w)
            if dtype.kind in "iub" and not np.array_equal(part, np.round(part)):
                raise ValueError(
                    f"the ONNX input {name!r} is {dtype.name}, but columns {col - w}..{col - 1} "
                    "hold non-integer values; casting would truncate them."
                )
            feeds[name] = np.ascontiguousarray(part.astype(dtype))
            if rank == 1:
                feeds[name] = feeds[name].ravel()
        if col != arr.shape[1]:
            raise ValueError(f"the ONNX model takes {col} columns, got {arr.shape[1]}.")
        return feeds

    def run_size(self, feeds: dict[str, np.ndarray]) -> int:
        """Rows of each ``session.run`` for these (non-empty) feeds under ``fixed_batch``."""
        if self.fixed_batch == "auto":
            return _auto_run_size(feeds)
        assert isinstance(self.fixed_batch, int)
        return self.fixed_batch

    def rows_per_run(self, X: Any) -> int:
        """Rows of each ``session.run`` for rows like ``X`` (1 with ``fixed_batch=None``,
        for no rows and for rows the model refuses)."""
        if self.fixed_batch is None:
            return 1
        try:
            feeds = self._feeds(X[:1]) if len(X) else None
        except Exception:  # a token-id model's tokenizer may raise anything
            feeds = None  # rows the model refuses: the call itself says why, in context
        return 1 if feeds is None else self.run_size(feeds)

    def _predict(self, X: Any) -> Any:
        feeds = self._feeds(X)
        run = self._get_session().run
        n = len(next(iter(feeds.values())))
        if self.fixed_batch is None or n == 0:
            return flatten_singleton_tail(run([self.output], feeds)[0])
        size = self.run_size(feeds)
        outputs = []
        for start in range(0, n, size):
            part = {k: v[start : start + size] for k, v in feeds.items()}
            short = size - min(size, n - start)
            if short:  # pad with copies of the last row: every run has `size` rows
                part = {
                    k: np.concatenate([v, np.repeat(v[-1:], short, axis=0)])
                    for k, v in part.items()
                }
            out = np.asarray(run([self.output], part)[0])
            if out.shape[:1] != (size,):
                # Not one output row per input row (a reduction over the batch): padding
                # would change the result, so this model is run unpadded from now on.
                self.fixed_batch = None
                return flatten_singleton_tail(run([self.output], feeds)[0])
            outputs.append(out[: size - short])
        return flatten_singleton_tail(np.concatenate(outputs) if len(outputs) > 1 else outputs[0])


def _auto_run_size(feeds: dict[str, np.ndarray]) -> int:
    """Rows per run for ``fixed_batch="auto"``: 256, fewer for rows of more than
    :data:`FIXED_BATCH_BYTES` / 256 bytes of input."""
    row_bytes = sum(int(v[0].nbytes) for v in feeds.values()) or 1
    return max(1, min(FIXED_BATCH, FIXED_BATCH_BYTES // row_bytes))


def _check_in_range(part: np.ndarray, dtype: np.dtype, name: str, first: int) -> None:
    """Refuse finite values that the cast to a narrower float input would make inf."""
    if part.dtype.kind != "f":
        return
    over = np.isfinite(part) & (np.abs(part) > np.finfo(dtype).max)
    if over.any():
        row, col = (int(i) for i in np.argwhere(over)[0])
        raise ValueError(
            f"the ONNX input {name!r} is {dtype.name}, whose largest value is "
            f"{float(np.finfo(dtype).max):.4g}; {int(over.sum())} value(s) are larger in "
            f"magnitude and would become inf (first: row {row}, column {first + col}, "
            f"{float(part[row, col]):.4g}). Rescale the inputs or export the model for float64."
        )


def _fixed_batch_of_one(proto: Any) -> bool:
    """True when every fed input's first axis is the static size 1."""
    weights = {i.name for i in proto.graph.initializer}
    firsts = [
        value.type.tensor_type.shape.dim[0]
        for value in proto.graph.input
        if value.name not in weights and len(value.type.tensor_type.shape.dim)
    ]
    return bool(firsts) and all(d.HasField("dim_value") and d.dim_value == 1 for d in firsts)


def flatten_singleton_tail(out: Any) -> Any:
    """``(n, k, 1, ..., 1)`` as ``(n, k)``; other shapes unchanged.

    Image classifiers whose head is a 1x1 convolution or a global pooling (SqueezeNet,
    DenseNet in the ONNX model zoo) return their class scores with trailing unit axes.
    """
    shape: tuple[int, ...] = tuple(getattr(out, "shape", ()))
    if len(shape) > 2 and all(d == 1 for d in shape[2:]):
        return out.reshape(shape[0], shape[1])
    return out

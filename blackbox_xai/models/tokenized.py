"""ONNX models on token ids, fed documents through the user's tokenize function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .onnx import OnnxModel, numpy_dtype_of_elem

#: ``tokenize(documents) -> ids``: an integer array ``(n, L)`` for a one-input model, or
#: a dict of arrays by input name (``input_ids``, ``attention_mask``, ...).
Tokenize = Callable[[list[str]], Any]

#: Documents per ``session.run`` by default: token-id inputs are (n, L) and networks on
#: them hold activations per token, so batches are smaller than for tabular rows.
TOKEN_ID_BATCH = 4096


class TokenIdOnnxModel(OnnxModel):
    """An ONNX model whose inputs are token ids, called with documents.

    The model is called with a list of strings (as :class:`~blackbox_xai.maskers.Text`
    sends perturbed documents); ``tokenize`` turns each batch into the model's inputs,
    padding and truncating as the model needs. An integer array is fed to the model as
    token ids as it is.

    Parameters
    ----------
    source : path, bytes, onnx.ModelProto or onnxruntime.InferenceSession
        The model.
    tokenize : callable
        ``tokenize(list of str) -> ids``: an integer array of shape ``(n, L)`` for a
        model with one input, or a dict ``{input name: array}`` for several
        (``input_ids`` and ``attention_mask``). It must be picklable (a module-level
        function) for ``n_jobs > 1`` with process backends.
    providers, output, batch_size, intra_op_threads, feature_names
        See :class:`~blackbox_xai.OnnxModel`.

    Examples
    --------
    >>> vocab = {"<pad>": 0, "good": 1, "bad": 2}  # doctest: +SKIP
    >>> def tokenize(docs):  # doctest: +SKIP
    ...     ids = [[vocab.get(w, 3) for w in d.lower().split()][:7] for d in docs]
    ...     return np.array([row + [0] * (7 - len(row)) for row in ids])
    >>> model = bx.wrap("classifier.onnx", tokenize=tokenize)  # doctest: +SKIP
    """

    requires_float_or_string_input = False
    splits_rows_into_inputs = False

    def __init__(
        self,
        source: Any,
        tokenize: Tokenize,
        providers: Sequence[str] | None = None,
        output: str | None = None,
        batch_size: int | None = TOKEN_ID_BATCH,
        intra_op_threads: int = 1,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if not callable(tokenize):
            raise TypeError(f"tokenize must be callable, got {type(tokenize).__name__}.")
        self.tokenize = tokenize
        super().__init__(
            source,
            providers=providers,
            output=output,
            batch_size=batch_size,
            intra_op_threads=intra_op_threads,
            feature_names=feature_names,
        )
        self.input_kind = "text"

    def _feeds(self, X: Any) -> dict[str, np.ndarray]:
        direct = isinstance(X, np.ndarray) and X.dtype != object
        if direct:
            if not np.array_equal(X, np.round(X)):
                raise ValueError("token ids given as an array must be whole numbers.")
            ids: Any = X  # token ids given directly (and the probe of a fixed-width model)
        else:
            ids = self.tokenize(list(X))
        if not isinstance(ids, dict):
            if len(self._input_specs) != 1:
                names = [s[0] for s in self._input_specs]
                raise ValueError(
                    f"the ONNX model has inputs {names}; tokenize must return a dict of "
                    "arrays by input name."
                )
            ids = {self._input_specs[0][0]: ids}
        feeds = {}
        for name, elem, _, _ in self._input_specs:
            if name not in ids:
                raise ValueError(
                    f"tokenize returned {sorted(ids)}, but the ONNX model needs the input {name!r}."
                )
            arr = np.asarray(ids[name])
            dtype = numpy_dtype_of_elem(elem, f"the ONNX input {name!r}")
            if not direct and arr.dtype.kind not in "iub" and dtype.kind in "iu":
                raise TypeError(
                    f"tokenize returned {arr.dtype} values for the integer input {name!r}; "
                    "return token ids as integers."
                )
            feeds[name] = np.ascontiguousarray(arr.astype(dtype, copy=False))
        wrong = {name: len(v) for name, v in feeds.items() if len(v) != len(X)}
        if wrong:
            name, n = next(iter(wrong.items()))
            raise ValueError(
                f"tokenize returned {n} rows of {name!r} for {len(X)} documents; it must return "
                "one row of ids per document."
            )
        return feeds

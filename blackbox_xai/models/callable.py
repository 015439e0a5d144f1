"""Any Python function behind the prediction-function protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .base import Model


class CallableModel(Model):
    """Wrap ``fn(X) -> (n,) or (n, k)`` for rows (ndarray) or documents (list of str).

    Parameters
    ----------
    fn : callable
        The prediction function. It must be picklable (a module-level function or
        object) to be used with ``n_jobs > 1`` on process backends.
    output_names : sequence of str, optional
        Names of the outputs.
    input_kind : {"array", "text"}
        What ``fn`` takes.
    feature_names, batch_size
        See :class:`Model`.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        output_names: Sequence[str] | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
        input_kind: str = "array",
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}.")
        if input_kind not in ("array", "text"):
            raise ValueError(f"input_kind must be 'array' or 'text', got {input_kind!r}.")
        self.fn = fn
        self.input_kind = input_kind
        super().__init__(
            output_names=output_names, feature_names=feature_names, batch_size=batch_size
        )

    def _describe(self) -> str:
        return getattr(self.fn, "__qualname__", type(self.fn).__name__)

    def _predict(self, X: Any) -> Any:
        return self.fn(X)

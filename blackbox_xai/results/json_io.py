"""JSON text and files for the result types, which define ``to_dict`` / ``from_dict``."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T", bound="JsonRoundTrip")


def jsonable(obj: Any) -> Any:
    """``obj`` with arrays as lists, numpy scalars as Python ones and non-finite floats as strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj


class JsonRoundTrip:
    """Adds ``to_json`` and ``from_json`` to a class with ``to_dict`` and ``from_dict``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, numbers, strings) used by JSON."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Any:
        """Inverse of :meth:`to_dict`."""
        raise NotImplementedError

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """JSON text (written to ``path`` too when given). Floats keep full precision."""
        text = json.dumps(self.to_dict())
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_json(cls: type[T], text_or_path: str | os.PathLike[str]) -> T:
        """Read JSON text or a JSON file written by :meth:`to_json`."""
        text = os.fspath(text_or_path)
        if not text.lstrip().startswith("{"):
            with open(text, encoding="utf-8") as fh:
                text = fh.read()
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise ValueError(
                f"the JSON holds a {type(obj).__name__}, not a {cls.__name__} object "
                "(written by to_json)."
            )
        result: T = cls.from_dict(obj)
        return result

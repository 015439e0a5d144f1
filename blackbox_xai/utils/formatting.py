"""Numbers and counts in printed output: no ``-0.000``, no "1 rows"."""

from __future__ import annotations

from typing import Any

import numpy as np


def fmt_number(value: float, spec: str = ".4g") -> str:
    """``format(value, spec)``, without the minus sign of a value that rounds to zero.

    A value of ``-1e-17`` (rounding noise of a sum) prints as ``-0.000`` with ``.3f``,
    which reads as a negative result; it prints as ``0.000``, ``+0.000`` with ``+``.
    """
    text = format(float(value), spec)
    rounds_to_zero = not any(c in "123456789" for c in text.split("e")[0])
    if text.startswith("-") and np.isfinite(value) and rounds_to_zero:
        return ("+" if "+" in spec else "") + text[1:]
    return text


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 row"``, ``"2 rows"``: the count and the noun in the right number."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def short_repr(value: Any, max_items: int = 4) -> str:
    """A short repr: arrays by shape, long lists cut after ``max_items``."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape})"
    if hasattr(value, "shape") and hasattr(value, "columns"):  # a DataFrame
        return f"DataFrame(shape={tuple(value.shape)})"
    if isinstance(value, (list, tuple)) and len(value) > max_items:
        head = ", ".join(short_repr(v) for v in value[:max_items])
        close = "]" if isinstance(value, list) else ")"
        return f"{'[' if isinstance(value, list) else '('}{head}, ... ({len(value)} items){close}"
    return repr(value)


def params_repr(name: str, params: dict[str, Any], defaults: dict[str, Any]) -> str:
    """``Name(a=1, b='x')`` listing only parameters that differ from their defaults, as
    scikit-learn prints estimators (``print_changed_only``)."""
    shown = []
    for key, value in params.items():
        if key in defaults and _same(value, defaults[key]):
            continue
        shown.append(f"{key}={short_repr(value)}")
    return f"{name}({', '.join(shown)})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a is b or (type(a) is type(b) and a == b))
    except (TypeError, ValueError):
        return False


class Shown(str):
    """Text that a repr shows as it is (no quotes), e.g. ``178 rows x 13 columns``."""

    def __repr__(self) -> str:
        return str(self)


def signature_repr(obj: Any, values: dict[str, Any] | None = None) -> str:
    """``Class(param=value, ...)`` for the parameters of ``type(obj).__init__`` that differ
    from their defaults, read from ``values`` or else from ``obj``'s attribute of the same
    name (parameters stored under no such name are left out)."""
    import inspect

    values = values or {}
    params: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, p in inspect.signature(type(obj).__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name in values:
            params[name] = values[name]
        elif hasattr(obj, name):
            params[name] = getattr(obj, name)
        else:
            continue
        if p.default is not p.empty:
            defaults[name] = p.default
    return params_repr(type(obj).__name__, params, defaults)

"""Package-wide settings: one memory budget that every explainer and masker shares.

``set_config`` changes the settings of the current context, ``config_context`` changes
them inside a ``with`` block, ``get_config`` reads them. The settings live in a
:class:`contextvars.ContextVar`, so threads and asyncio tasks do not see each other's
``config_context``; :func:`blackbox_xai.utils.parallel.map_row_chunks` and
:func:`blackbox_xai.explain_dask` ship the caller's settings to their workers (threads,
processes, dask workers), so a budget set around ``explain`` holds wherever it runs.

The budget is split into fixed shares (:data:`SHARES`), chosen so that the default of
256 MiB reproduces the sizes the explainers used before the budget was shared:

- ``"model_input"`` (1/8, 32 MiB): the largest model input a masker builds at once
  (``Tabular``, ``Text``, the reference rows Anchors samples);
- ``"game_values"`` (1/4, 64 MiB): the game values Kernel SHAP holds per block of rows
  (rows x coalitions x outputs);
- ``"gradient_points"`` (1, 256 MiB): the points (integration steps, noise samples) of
  one gradient call; these are the only large arrays alive during a gradient call;
- ``"coalition_designs"`` (4, 1024 MiB): the ceiling on Kernel SHAP's coalition designs
  of one call (one design per background row with ``background="sample"``), which must
  exist whole for the regression: ``explain`` refuses an ``n_evals`` beyond it, naming
  the largest that fits, instead of running out of memory.

The large working arrays alive at one moment are a block's game values plus one model
input (3/8 of the budget), or the points of one gradient call (all of it), so peak
working memory is bounded by the budget whatever the number of rows (the model's own
temporaries and the returned explanation aside). A masker or explainer built with its
own ``memory_budget_mb`` keeps it for its share.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: Default settings.
DEFAULTS: dict[str, Any] = {"memory_budget_mb": 256.0}

#: Fraction of ``memory_budget_mb`` each kind of working array may take.
SHARES: dict[str, float] = {
    "model_input": 1 / 8,
    "game_values": 1 / 4,
    "gradient_points": 1.0,
    "coalition_designs": 4.0,
}

_CONFIG: ContextVar[dict[str, Any]] = ContextVar("blackbox_xai_config", default=DEFAULTS)


def check_budget_mb(value: Any, name: str = "memory_budget_mb") -> float:
    """``value`` as a positive finite float, or a ValueError naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ValueError(
            f"{name} must be a positive finite number of MiB (e.g. 256), got {value!r}."
        )
    return float(value)


def _checked(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; the settings are {sorted(DEFAULTS)}.")
    out = dict(settings)
    if out.get("memory_budget_mb") is not None:
        out["memory_budget_mb"] = check_budget_mb(out["memory_budget_mb"])
    return {k: v for k, v in out.items() if v is not None}


def get_config() -> dict[str, Any]:
    """The current settings (a copy).

    Returns
    -------
    dict
        ``{"memory_budget_mb": float}``.
    """
    return dict(_CONFIG.get())


def set_config(memory_budget_mb: float | None = None) -> None:
    """Change the settings of the current context (None leaves a setting as it is).

    Parameters
    ----------
    memory_budget_mb : float, optional
        Memory, in MiB, that the working arrays of one explainer call (or one parallel
        worker) may take; split into :data:`SHARES`. Default 256.
    """
    _CONFIG.set({**_CONFIG.get(), **_checked({"memory_budget_mb": memory_budget_mb})})


@contextmanager
def config_context(**settings: Any) -> Iterator[dict[str, Any]]:
    """Change settings inside a ``with`` block; restored on exit.

    Parameters
    ----------
    **settings
        As for :func:`set_config` (``memory_budget_mb=...``).

    Examples
    --------
    >>> import blackbox_xai as bx
    >>> with bx.config_context(memory_budget_mb=64):
    ...     bx.get_config()["memory_budget_mb"]
    64.0
    """
    token = _CONFIG.set({**_CONFIG.get(), **_checked(settings)})
    try:
        yield get_config()
    finally:
        _CONFIG.reset(token)


def budget_mb(share: str, own: float | None = None) -> float:
    """MiB one kind of working array may take: ``own`` if given, else its share.

    Parameters
    ----------
    share : str
        A key of :data:`SHARES`.
    own : float, optional
        A budget set on the object itself (``Tabular(memory_budget_mb=...)``).
    """
    if own is not None:
        return float(own)
    return float(_CONFIG.get()["memory_budget_mb"]) * SHARES[share]

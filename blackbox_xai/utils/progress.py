"""A progress bar over explained rows, shared by every explainer's ``explain``.

An explainer opens the bar with :func:`progress_bar` around its work. The row-chunk map
(``utils.parallel``) counts each finished chunk; work that loops over blocks of rows
inside a chunk (sequential estimators, gradient batches) reports each block with
:func:`advance`, so the bar moves even when one chunk holds every row. Only the
outermost map counts: an explainer that explains each instance through a nested
``explain`` (text, images) is not counted twice, and the chunking is never changed for
the bar's sake, so the values do not depend on it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from .optional import import_optional

T = TypeVar("T")

_BAR: ContextVar[Any] = ContextVar("blackbox_xai_progress_bar", default=None)
#: "open": a bar counts rows; "counting": inside a chunk of the map that counts
#: (blocks may report); "silent": inside a nested map, nothing reports.
_MODE: ContextVar[str] = ContextVar("blackbox_xai_progress_mode", default="open")


@contextmanager
def progress_bar(enabled: bool, total: int, desc: str) -> Iterator[None]:
    """Show a tqdm bar of ``total`` rows on stderr while the block runs.

    Parameters
    ----------
    enabled : bool
        False does nothing (no tqdm import). Inside another bar, nothing either.
    total : int
        Rows the block explains.
    desc : str
        Label shown before the bar (the method).
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"progress must be True or False, got {enabled!r}.")
    if not enabled or _BAR.get() is not None:
        yield
        return
    tqdm = import_optional("tqdm").tqdm
    bar = tqdm(total=int(total), desc=desc, unit="row", file=sys.stderr)
    token, mode = _BAR.set(bar), _MODE.set("open")
    try:
        yield
        bar.update(bar.total - bar.n)  # work that reports nothing finishes at once
    finally:
        _MODE.reset(mode)
        _BAR.reset(token)
        bar.close()


def advance(n_rows: int) -> None:
    """Count ``n_rows`` finished rows on the open bar (nothing without one, or in a
    nested map)."""
    bar = _BAR.get()
    if bar is not None and n_rows and _MODE.get() != "silent":
        bar.update(int(n_rows))


def run_row(fn: Callable[[], T]) -> T:
    """Run the work of one row, counting it on the open bar unless its own blocks did."""
    bar = _BAR.get()
    before = None if bar is None else bar.n
    result = fn()
    if bar is not None and bar.n == before:
        advance(1)
    return result


def counts_chunks() -> bool:
    """Whether a row map started here counts its chunks (a bar is open, no outer map)."""
    return _BAR.get() is not None and _MODE.get() == "open"


def run_chunk(fn: Callable[[], T], n_rows: int, counting: bool) -> T:
    """Run one chunk of ``n_rows`` rows in this thread.

    A counting chunk lets its blocks report (:func:`advance`) and counts the rows they
    did not; any other chunk silences the maps and blocks nested in it.
    """
    bar = _BAR.get()
    if bar is None:
        return fn()
    token = _MODE.set("counting" if counting else "silent")
    before = bar.n
    try:
        result = fn()
    finally:
        _MODE.reset(token)
    if counting:
        advance(max(0, n_rows - (bar.n - before)))
    return result

"""Explaining tables on a Dask cluster: :func:`explain_dask` and :func:`summarize_dask`.

Needs the ``dist`` extra (``pip install 'blackbox_xai[dist]'``); dask is imported when
these functions are called, not when blackbox_xai is.
"""

from .explain import explain_dask
from .summary import AttributionSummary, summarize_dask

__all__ = ["AttributionSummary", "explain_dask", "summarize_dask"]

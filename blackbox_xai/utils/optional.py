"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRA_OF = {
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "skl2onnx": "onnx",
    "nltk": "text",
    "skimage": "image",
    "matplotlib": "plot",
    "dask": "dist",
    "distributed": "dist",
    "pandas": "all",
    "tqdm": "cli",
    "skops": "cli",
}


def import_optional(module: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the extra that provides it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"onnxruntime"`` or ``"matplotlib.pyplot"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRA_OF.get(top, "all")
        raise ImportError(
            f"{module!r} is needed for this feature; install it with "
            f"`pip install 'blackbox_xai[{extra}]'`."
        ) from exc


def is_dataframe(obj: object) -> bool:
    """True when ``obj`` is a pandas DataFrame, without importing pandas."""
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns") and hasattr(obj, "dtypes")

"""Sphinx configuration: the user guide and the API reference (numpydoc docstrings).

Built offline: no intersphinx, no remote theme assets, so ``sphinx -W`` works on a
machine without network access (``tests/test_docs.py``).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "blackbox_xai"
author = "blackbox_xai authors"
copyright = "2026, blackbox_xai authors"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
]
# numpydoc lists class members itself; autodoc's :members: would list them twice.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autodoc_default_options = {"members": False}
# No maths extension: MathJax would load from a CDN; formulas are written as code.

html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]

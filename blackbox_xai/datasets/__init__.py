"""Small data shipped with the package (no downloads): a labelled corpus of review sentences."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal, overload

import numpy as np


@dataclass(frozen=True)
class Reviews:
    """Short review sentences labelled negative (0) or positive (1).

    Attributes
    ----------
    texts : list of str
        The sentences, alternately positive and negative.
    target : int ndarray (n,)
        1 for positive, 0 for negative.
    target_names : list of str
        ``["negative", "positive"]``.
    licence : str
        The corpus's licence line.
    """

    texts: list[str]
    target: np.ndarray
    target_names: list[str]
    licence: str


@overload
def load_reviews(*, return_X_y: Literal[False] = False) -> Reviews: ...


@overload
def load_reviews(*, return_X_y: Literal[True]) -> tuple[list[str], np.ndarray]: ...


def load_reviews(*, return_X_y: bool = False) -> Reviews | tuple[list[str], np.ndarray]:
    """The bundled review sentences (392 short English reviews, half of them positive).

    Written for blackbox_xai by its authors (films, books, food, hotels, products) and
    dedicated to the public domain (CC0 1.0); used by the demo, the docs and the tests.

    Parameters
    ----------
    return_X_y : bool
        Return ``(texts, target)`` instead of a :class:`Reviews`.

    Examples
    --------
    >>> from blackbox_xai.datasets import load_reviews
    >>> reviews = load_reviews()
    >>> len(reviews.texts), reviews.target_names[reviews.target[0]]
    (392, 'positive')
    """
    raw = resources.files(__package__).joinpath("reviews.tsv").read_text(encoding="utf-8")
    lines = raw.splitlines()
    licence = next(line[2:] for line in lines if line.startswith("# Licence:"))
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")][1:]
    names = ["negative", "positive"]
    texts = [text for _, text in rows]
    target = np.array([names.index(label) for label, _ in rows], dtype=np.int64)
    if return_X_y:
        return texts, target
    return Reviews(texts, target, names, licence)


__all__ = ["Reviews", "load_reviews"]

"""What each metric applies to and which direction is better, read by ``compare``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DATA_KINDS = ("tabular", "text", "image")


@dataclass(frozen=True)
class MetricInfo:
    """The declaration of a metric.

    Attributes
    ----------
    name : str
        The metric's name (a column of :func:`compare`'s table).
    data : tuple of str
        Data kinds it applies to: ``"tabular"``, ``"text"``, ``"image"``.
    needs_gradients : bool
        Whether it needs a differentiable model (none of the metrics here does: they
        only call the model, so they score any explanation of any model).
    higher_is_better : bool
        Which direction is better.
    reexplains : bool
        Whether it calls the explainer again (costly; ``compare`` runs it on request).
    description : str
        One line on what it measures.
    """

    name: str
    data: tuple[str, ...]
    needs_gradients: bool
    higher_is_better: bool
    reexplains: bool
    description: str


#: Every declared metric, by name.
METRICS: dict[str, MetricInfo] = {}


def declares(info: MetricInfo) -> Callable[[F], F]:
    """Attach ``info`` to a metric function (``fn.info``) and register it."""

    def decorate(fn: F) -> F:
        fn.info = info  # type: ignore[attr-defined]
        METRICS[info.name] = info
        return fn

    return decorate

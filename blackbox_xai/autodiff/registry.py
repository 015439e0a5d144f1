"""The registry of vector-Jacobian product (VJP) rules: one small function per ONNX op.

A rule receives a :class:`~blackbox_xai.autodiff.context.VjpContext` for one node (the
adjoints of the node's outputs, its attributes, static shapes, a way to emit nodes) and
returns one gradient tensor name per node input, ``None`` where the input gets no
gradient. Rules are registered with :func:`register`, like JAX's primitive rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import VjpContext

VjpRule = Callable[["VjpContext"], Sequence["str | None"]]


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule and the input positions it differentiates (None: all)."""

    rule: VjpRule
    inputs: tuple[int, ...] | None
    ignored: tuple[int, ...] = ()


_RULES: dict[tuple[str, str], RuleSpec] = {}  # by (domain, op type); "" is ai.onnx


def register(
    *op_types: str,
    inputs: Sequence[int] | None = None,
    ignored: Sequence[int] = (),
    domain: str = "",
) -> Callable[[VjpRule], VjpRule]:
    """Register a VJP rule for the ONNX operators ``op_types`` of ``domain``.

    Parameters
    ----------
    *op_types : str
        Operator names, e.g. ``"Relu"``.
    inputs : sequence of int, optional
        Input positions the rule gives gradients for. A node whose other inputs depend
        on the differentiated tensors is reported as unsupported before anything runs.
        By default every input is differentiable.
    ignored : sequence of int
        Input positions whose values never change the outputs (only their type or
        shape is read, like CastLike's second input): they do not carry gradients.
    domain : str
        The operators' domain: ``""`` (ai.onnx, the default) or e.g. ``"ai.onnx.ml"``.

    Examples
    --------
    >>> from blackbox_xai.autodiff import register
    >>> @register("MyNeg")  # doctest: +SKIP
    ... def my_neg(ctx):
    ...     return [ctx.emit("Neg", ctx.grad)]
    """

    def decorate(rule: VjpRule) -> VjpRule:
        for op in op_types:
            key = (_canonical(domain), op)
            if key in _RULES:
                where = f"domain {key[0]!r}" if key[0] else "the default domain (ai.onnx)"
                raise ValueError(
                    f"a VJP rule for {op!r} of {where} is already registered; register "
                    "custom ops under their own domain= or another op type."
                )
            _RULES[key] = RuleSpec(rule, None if inputs is None else tuple(inputs), tuple(ignored))
        return rule

    return decorate


def _canonical(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def rule_for(op_type: str, domain: str = "") -> RuleSpec | None:
    """The rule registered for ``op_type`` of ``domain``, or None."""
    return _RULES.get((_canonical(domain), op_type))


def registered_ops() -> list[str]:
    """Sorted names of the operators that have a VJP rule (``domain:op`` outside ai.onnx)."""
    return sorted(op if not domain else f"{domain}:{op}" for domain, op in _RULES)

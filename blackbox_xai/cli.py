"""Command line: ``blackbox-xai demo`` and ``blackbox-xai explain``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._cli_explain import add_parser as add_explain_parser


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run

    return run(args)


class UserError(Exception):
    """A mistake in the command line or in its files: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors one line long (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``blackbox-xai`` argument parser."""
    parser = _Parser(prog="blackbox-xai", description="Explain the predictions of any model.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train, export to ONNX and explain a model on bundled data")
    demo.add_argument(
        "--rows", type=_positive_int, default=20, help="tabular rows to explain (default 20)"
    )
    demo.add_argument(
        "--anchors",
        type=_positive_int,
        default=3,
        help="rows explained by LIME and Anchors (default 3)",
    )
    demo.add_argument(
        "--background", type=_positive_int, default=50, help="background rows (default 50)"
    )
    demo.add_argument(
        "--n-evals", type=_positive_int, default=1000, help="coalitions per row (default 1000)"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--out", default="blackbox_xai_demo", help="folder for the JSON and HTML report"
    )
    demo.set_defaults(func=_demo)
    add_explain_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blackbox-xai`` console script."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UserError as exc:
        # A user's mistake: one line naming the file and the problem, no traceback.
        print(f"blackbox-xai: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

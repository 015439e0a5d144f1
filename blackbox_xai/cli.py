"""Command line: ``blackbox-xai demo`` and ``blackbox-xai explain``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from .models import Model


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run

    return run(args)


def _read_csv(path: str) -> tuple[np.ndarray, list[str] | None]:
    """Numeric CSV rows and the header's names (when the first line is not numeric)."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    cells = [c.strip() for c in first.split(",")]
    try:
        [float(c) for c in cells]
        header = None
    except ValueError:
        header = cells
    try:
        rows = np.loadtxt(path, delimiter=",", skiprows=0 if header is None else 1, ndmin=2)
    except ValueError as exc:
        raise SystemExit(f"error: {path} must hold numeric comma-separated rows: {exc}") from exc
    return rows, header


def _load_model(path: str, output: str | None, trust: Sequence[str]) -> Model:
    from . import wrap

    if path.endswith(".skops"):
        try:
            import skops.io as sio
        except ImportError as exc:
            raise SystemExit("error: reading .skops files needs `pip install skops`.") from exc
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(trust))
        if untrusted:
            # Loading an unknown type runs its code: the user must name each one.
            raise SystemExit(
                f"error: {path} holds types skops does not trust by default: {untrusted}. "
                "Check them, then pass each with --trust TYPE."
            )
        return wrap(sio.load(path, trusted=list(trust)), output=output)
    if not path.endswith(".onnx"):
        raise SystemExit(f"error: {path}: the model must be an .onnx or .skops file.")
    return wrap(path, output=output)


def _explain(args: argparse.Namespace) -> int:
    from . import ExactShapley, Tabular
    from .report import explanation_html, html_page

    model = _load_model(args.model, args.output, args.trust)
    rows, names = _read_csv(args.data)
    background, bg_names = _read_csv(args.background) if args.background else (rows, names)
    masker = Tabular(
        background,
        feature_names=names or bg_names,
        summarize="kmeans" if len(background) > args.n_background else None,
        n_summary=args.n_background,
        seed=args.seed,
    )
    expl = ExactShapley(model, masker, n_jobs=args.n_jobs).explain(rows[: args.rows])
    print(expl)
    os.makedirs(args.out, exist_ok=True)
    expl.to_json(os.path.join(args.out, "explanation.json"))
    with open(os.path.join(args.out, "report.html"), "w", encoding="utf-8") as fh:
        fh.write(
            html_page(f"blackbox_xai: {os.path.basename(args.model)}", [explanation_html(expl)])
        )
    print(f"wrote {args.out}/explanation.json and {args.out}/report.html")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``blackbox-xai`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="blackbox-xai", description="Explain the predictions of any model."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train, export to ONNX and explain a model on bundled data")
    demo.add_argument("--rows", type=int, default=20, help="tabular rows to explain (default 20)")
    demo.add_argument(
        "--anchors", type=int, default=3, help="rows explained by LIME and Anchors (default 3)"
    )
    demo.add_argument("--background", type=int, default=50, help="background rows (default 50)")
    demo.add_argument("--n-evals", type=int, default=1000, help="coalitions per row (default 1000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--out", default="blackbox_xai_demo", help="folder for the JSON and HTML report"
    )
    demo.set_defaults(func=_demo)
    explain = sub.add_parser(
        "explain", help="explain rows of a CSV file with an ONNX or skops model"
    )
    explain.add_argument("model", help="path to a .onnx (or .skops) model")
    explain.add_argument("--data", required=True, help="CSV of rows to explain (header optional)")
    explain.add_argument("--background", help="CSV of background rows (default: --data)")
    explain.add_argument(
        "--n-background", type=int, default=50, help="k-means summary size (default 50)"
    )
    explain.add_argument("--output", help="ONNX graph output to explain (default: probabilities)")
    explain.add_argument(
        "--trust", action="append", default=[], help="a type a .skops file may load (repeat)"
    )
    explain.add_argument(
        "--rows", type=int, default=10, help="explain the first N rows (default 10)"
    )
    explain.add_argument("--n-jobs", type=int, default=None)
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument(
        "--out", default="blackbox_xai_explain", help="folder for the JSON and HTML report"
    )
    explain.set_defaults(func=_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blackbox-xai`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

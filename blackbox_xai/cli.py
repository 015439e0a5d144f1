"""Command line: ``blackbox-xai demo`` and ``blackbox-xai explain``."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from .models import Model, ModelCallError
from .utils.formatting import plural


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


def _clean_name(cell: str) -> str:
    # Spreadsheets write a byte-order mark and quote names; neither belongs to the name.
    return cell.replace("\ufeff", "").strip().strip("\"'").strip()


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _read_csv(path: str) -> tuple[np.ndarray, list[str] | None]:
    """Numeric CSV rows and the header's names (when the first line is not numeric).

    Raises
    ------
    UserError
        Naming the file, and the line and column, of what cannot be read.
    """
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder, not a CSV file.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = [(n, row) for n, row in enumerate(csv.reader(fh), start=1) if any(row)]
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    except (OSError, csv.Error) as exc:
        raise UserError(f"{path}: cannot be read as CSV ({exc}).") from exc
    if not lines:
        raise UserError(f"{path}: the file is empty; it must hold numeric comma-separated rows.")
    first = [_clean_name(c) for c in lines[0][1]]
    header = None if all(_number(c) is not None for c in first) else first
    if header is not None:
        lines = lines[1:]
        empty = [j + 1 for j, name in enumerate(header) if not name]
        if empty:
            raise UserError(f"{path}: the header's column {empty[0]} has no name.")
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise UserError(f"{path}: the header names {twice} more than once.")
        if not lines:
            raise UserError(f"{path}: the file has a header but no rows.")
    width = len(header) if header is not None else len(lines[0][1])
    rows = np.empty((len(lines), width))
    for i, (n, cells) in enumerate(lines):
        if len(cells) != width:
            raise UserError(
                f"{path}: line {n} has {len(cells)} values, but the "
                f"{'header' if header is not None else 'first line'} has {width}."
            )
        for j, cell in enumerate(cells):
            value = _number(cell.strip())
            if value is None or not np.isfinite(value):
                column = f"column {j + 1}" + (f" ({header[j]!r})" if header else "")
                what = (
                    "is empty" if not cell.strip() else f"{cell.strip()!r} is not a finite number"
                )
                raise UserError(f"{path}: line {n}, {column}: {what}.")
            rows[i, j] = value
    return rows, header


def _load_model(path: str, output: str | None, trust: Sequence[str]) -> Model:
    from . import wrap

    if not path.endswith((".onnx", ".skops")):
        raise UserError(f"{path}: the model must be an .onnx or .skops file.")
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file.")
    if path.endswith(".skops"):
        try:
            import skops.io as sio
        except ImportError as exc:
            raise UserError("reading .skops files needs `pip install skops`.") from exc
        try:
            untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(trust))
        except Exception as exc:  # a damaged file may fail in zipfile, json or skops
            raise UserError(f"{path}: not a readable skops file ({_first_line(exc)}).") from exc
        if untrusted:
            # Loading an unknown type runs its code: the user must name each one.
            raise UserError(
                f"{path} holds types skops does not trust by default: {untrusted}. "
                "Check them, then pass each with --trust TYPE."
            )
        try:
            return wrap(sio.load(path, trusted=list(trust)), output=output)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{path}: {_first_line(exc)}") from exc
    _check_onnx_output(path, output)
    try:
        return wrap(path, output=output)
    except ImportError as exc:
        raise UserError(_first_line(exc)) from exc
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        raise UserError(f"{path}: {_first_line(exc)}") from exc


def _check_onnx_output(path: str, output: str | None) -> None:
    """Refuse a label (or other non-float) output before the model is loaded."""
    if output is None:
        return
    try:
        import onnx
    except ImportError as exc:
        raise UserError("reading .onnx files needs `pip install 'blackbox_xai[onnx]'`.") from exc
    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError on damaged files
        raise UserError(f"{path}: not a readable ONNX model ({_first_line(exc)}).") from exc
    # Tensors of integers, strings or booleans are labels; a ZipMap of probabilities is
    # not a tensor at all (OnnxModel turns it back into one).
    outputs = {
        o.name: o.type.tensor_type.elem_type if o.type.HasField("tensor_type") else None
        for o in proto.graph.output
    }
    if output not in outputs:
        raise UserError(
            f"{path}: --output {output!r} is not an output; outputs are {list(outputs)}."
        )
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
    elem = outputs[output]
    if elem is not None and elem not in floats:
        kind = onnx.TensorProto.DataType.Name(elem).lower()
        choices = [name for name, e in outputs.items() if e is None or e in floats]
        raise UserError(
            f"{path}: --output {output!r} holds {kind} values (class labels), which have no "
            f"attributions; explain a float output instead: {choices}."
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _check_out(out: str, force: bool) -> None:
    """Refuse a file as the folder, or a folder with a report in it (unless ``--force``)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"{out}: exists and is not a folder; pass another --out.")
    written = [name for name in _WRITTEN if os.path.exists(os.path.join(out, name))]
    if written and not force:
        raise UserError(
            f"{out}: already holds {' and '.join(written)}; pass --force to overwrite, "
            "or another --out."
        )
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create the folder ({exc.strerror}).") from exc


_WRITTEN = ("explanation.json", "report.html")

#: ``--method auto`` enumerates all coalitions (2^d per row and background row) up to
#: this many features, and estimates with Kernel SHAP above.
EXACT_MAX_FEATURES = 12


def _check_columns(
    args: argparse.Namespace,
    model: Model,
    rows: np.ndarray,
    names: list[str] | None,
    background: np.ndarray,
    bg_names: list[str] | None,
) -> list[str] | None:
    """One set of columns for the rows, the background and the model; their names."""
    data, bg = args.data, args.background or args.data
    if background.shape[1] != rows.shape[1]:
        raise UserError(f"{bg}: has {background.shape[1]} columns, but {data} has {rows.shape[1]}.")
    if names is not None and bg_names is not None and names != bg_names:
        if sorted(names) == sorted(bg_names):
            raise UserError(
                f"{bg}: its header orders the columns differently from {data}'s; "
                "write both files with the same column order."
            )
        differ = sorted(set(names) ^ set(bg_names))
        raise UserError(f"{bg}: its header and {data}'s name different columns: {differ}.")
    width = getattr(model, "n_input_columns", None)
    if width is None:
        width = getattr(getattr(model, "estimator", None), "n_features_in_", None)
    if width is not None and width != rows.shape[1]:
        raise UserError(f"{data}: has {rows.shape[1]} columns, but {args.model} takes {width}.")
    return names or bg_names


def _explain(args: argparse.Namespace) -> int:
    from . import ExactShapley, KernelShap, Tabular
    from .report import explanation_html, html_page

    rows, names = _read_csv(args.data)
    background, bg_names = _read_csv(args.background) if args.background else (rows, names)
    _check_out(args.out, args.force)
    model = _load_model(args.model, args.output, args.trust)
    names = _check_columns(args, model, rows, names, background, bg_names)
    explained = rows[: args.rows]
    which = (
        f"all {plural(len(rows), 'row')}"
        if len(explained) == len(rows)
        else f"the first {len(explained)} of {len(rows)} rows (--rows to change)"
    )
    summarize = len(background) > args.n_background
    masker = Tabular(
        background,
        feature_names=names,
        summarize="kmeans" if summarize else None,
        n_summary=args.n_background,
        seed=args.seed,
    )
    d = masker.n_players
    method = args.method
    if method == "auto":
        method = "exact" if d <= EXACT_MAX_FEATURES else "kernel"
    bg_text = f"{plural(len(background), 'background row')} of {args.background or args.data}"
    if summarize:
        bg_text += f", summarised to {args.n_background} by k-means"
    print(f"explaining {which} of {args.data}; {bg_text}")
    try:
        if method == "exact":
            why = f"<= {EXACT_MAX_FEATURES}" if args.method == "auto" else "--method exact"
            print(f"ExactShapley: exact Shapley values of {plural(d, 'feature')} ({why})")
            expl = ExactShapley(model, masker, n_jobs=args.n_jobs).explain(explained)
        else:
            why = f"> {EXACT_MAX_FEATURES}" if args.method == "auto" else "--method kernel"
            print(
                f"KernelShap: Shapley values of {plural(d, 'feature')} ({why}) estimated "
                f"from {args.n_evals} coalitions per row, seed {args.seed}, with standard errors"
            )
            expl = KernelShap(model, masker, seed=args.seed, n_jobs=args.n_jobs).explain(
                explained, n_evals=args.n_evals
            )
    except (ValueError, TypeError, ModelCallError) as exc:
        raise UserError(f"{args.model}: {_first_line(exc)}") from exc
    except MemoryError as exc:
        raise UserError(
            f"{args.model}: not enough memory for {len(explained)} rows and {d} features; "
            "lower --rows or --n-background, or use --method kernel."
        ) from exc
    print(expl)
    expl.to_json(os.path.join(args.out, "explanation.json"))
    with open(os.path.join(args.out, "report.html"), "w", encoding="utf-8") as fh:
        fh.write(
            html_page(f"blackbox_xai: {os.path.basename(args.model)}", [explanation_html(expl)])
        )
    print(f"wrote {args.out}/explanation.json and {args.out}/report.html")
    return 0


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
    explain = sub.add_parser(
        "explain", help="explain rows of a CSV file with an ONNX or skops model"
    )
    explain.add_argument("model", help="path to a .onnx (or .skops) model")
    explain.add_argument("--data", required=True, help="CSV of rows to explain (header optional)")
    explain.add_argument("--background", help="CSV of background rows (default: --data)")
    explain.add_argument(
        "--n-background", type=_positive_int, default=50, help="k-means summary size (default 50)"
    )
    explain.add_argument("--output", help="ONNX graph output to explain (default: probabilities)")
    explain.add_argument(
        "--trust", action="append", default=[], help="a type a .skops file may load (repeat)"
    )
    explain.add_argument(
        "--rows", type=_positive_int, default=10, help="explain the first N rows (default 10)"
    )
    explain.add_argument(
        "--method",
        choices=("auto", "exact", "kernel"),
        default="auto",
        help=f"ExactShapley or KernelShap; auto: exact up to {EXACT_MAX_FEATURES} features",
    )
    explain.add_argument(
        "--n-evals",
        type=_positive_int,
        default=2048,
        help="KernelShap coalitions per row (default 2048)",
    )
    explain.add_argument("--n-jobs", type=int, default=None)
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument(
        "--out", default="blackbox_xai_explain", help="folder for the JSON and HTML report"
    )
    explain.add_argument("--force", action="store_true", help="overwrite a report already in --out")
    explain.set_defaults(func=_explain)
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

"""``blackbox-xai explain``: load a saved model and data, run one method, write a report.

Every failure a user can cause (a missing file, a malformed model, data that does not fit
the model) ends in one line on stderr and exit status 2, never a traceback; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import html
import inspect
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .models import Model
from .models.base import ModelCallError

#: Extensions read as image files, one image per file.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
#: Extensions of pickled models, loaded only with ``--trust-pickle``.
PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib")
#: Largest model file read by default (MB); ``--max-model-mb`` raises it.
DEFAULT_MAX_MODEL_MB = 2048.0


class CliError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# -- what is explained ----------------------------------------------------------------------
@dataclass
class Job:
    """Everything a method needs: the loaded model, the rows and the options."""

    model: Model
    #: "table" (CSV rows), "text" (documents) or "image" (arrays shaped like the input).
    kind: str
    rows: Any
    background: Any
    feature_names: list[str] | None
    args: argparse.Namespace
    #: The ONNX bytes, for gradient methods (None for scikit-learn models).
    onnx_bytes: bytes | None = None
    #: The model's input shape without the batch axis, for image-like ONNX inputs.
    input_shape: tuple[int, ...] | None = None
    progress: bool = False
    budget: dict[str, Any] = field(default_factory=dict)


_KIND_NAMES = {"table": "CSV rows", "text": "documents", "image": "image files"}


def _check_budget(job: Job, budget: str | None) -> None:
    """Refuse ``--budget`` for a method that has none, rather than ignore it."""
    if budget is None and job.args.budget is not None:
        raise CliError(f"{job.args.method} has no budget to set: drop --budget.")


@dataclass(frozen=True)
class MaskerMethod:
    """An explainer on a masker game: ``cls(model, masker, seed=, n_jobs=).explain(rows)``.

    ``budget`` names the ``explain`` argument that ``--budget`` sets.
    """

    cls: str
    budget: str | None = None
    #: The data it explains: CSV rows ("table"), documents ("text"), image files ("image").
    kinds: tuple[str, ...] = ("table", "text")

    def __call__(self, job: Job) -> Any:
        import blackbox_xai as bx

        if job.kind not in self.kinds:
            raise CliError(
                f"{job.args.method} explains {' or '.join(_KIND_NAMES[k] for k in self.kinds)}"
                f", not {_KIND_NAMES[job.kind]}; "
                + (
                    "images are explained by occlusion, rise and the gradient methods "
                    "(saliency, integrated-gradients, smoothgrad, grad-cam)."
                    if job.kind == "image"
                    else "pass image files."
                )
            )
        _check_budget(job, self.budget)
        cls = getattr(bx, self.cls)
        options: dict[str, Any] = {"n_jobs": job.args.n_jobs}
        if "seed" in inspect.signature(cls).parameters:
            options["seed"] = job.args.seed
        kwargs: dict[str, Any] = {}
        if self.budget is not None and job.args.budget is not None:
            # An explain argument, or a constructor's (Rise's n_masks).
            into = options if self.budget in inspect.signature(cls).parameters else kwargs
            into[self.budget] = job.args.budget
            job.budget[self.budget] = job.args.budget
        explainer = cls(job.model, _masker(job), **options)
        accepts = inspect.signature(explainer.explain).parameters
        # Occlusion's windows are all evaluated in a few batched calls: it has no bar.
        if "progress" in accepts:
            kwargs["progress"] = job.progress
        if "target" in accepts and job.args.target is not None:
            kwargs["target"] = _target(job.args.target)
        return explainer.explain(job.rows, **kwargs)


@dataclass(frozen=True)
class GradientMethod:
    """A gradient explainer on the ONNX graph: ``cls(model, **budget).explain(rows, target)``."""

    cls: str
    budget: str | None = None

    def __call__(self, job: Job) -> Any:
        import blackbox_xai as bx

        if job.onnx_bytes is None:
            raise CliError(f"{job.args.method} differentiates an ONNX graph: pass an .onnx model.")
        _check_budget(job, self.budget)
        if job.kind == "text":
            raise CliError(
                f"{job.args.method} needs numeric inputs; explain documents with kernel-shap, "
                "lime or anchors."
            )
        model = bx.DifferentiableOnnxModel(
            job.onnx_bytes, providers=job.args.providers, output=job.args.output
        )
        cls = getattr(bx, self.cls)
        options: dict[str, Any] = {}
        if "seed" in inspect.signature(cls).parameters:
            options["seed"] = job.args.seed
        if self.budget is not None and job.args.budget is not None:
            options[self.budget] = job.args.budget
            job.budget[self.budget] = job.args.budget
        X = job.rows
        if job.input_shape is not None and job.kind == "table":
            X = X.reshape(len(X), *job.input_shape)
        target = None if job.args.target is None else _target(job.args.target)
        return cls(model, **options).explain(X, target=target, progress=job.progress)


def _anchors(job: Job) -> Any:
    import blackbox_xai as bx

    if job.kind == "image":
        raise CliError("anchors needs rows or documents, not images.")
    if job.kind == "text":
        masker: Any = bx.maskers.Text(mode="mask")
    else:
        with warnings.catch_warnings():
            # Anchors draws single background rows: a large background costs nothing.
            warnings.filterwarnings("ignore", message="the background has", category=UserWarning)
            masker = bx.Tabular(job.background, feature_names=job.feature_names)
    explainer = bx.Anchors(job.model, masker, seed=job.args.seed, n_jobs=job.args.n_jobs)
    budget = job.args.budget
    if budget is not None:
        job.budget["max_model_calls"] = budget
    return explainer.explain_many(job.rows, budget, progress=job.progress)


def _surrogate(job: Job) -> Any:
    import blackbox_xai as bx

    if job.kind != "table":
        raise CliError("surrogate fits a tree to rows: pass a CSV file.")
    target = None if job.args.target is None else _target(job.args.target)
    surrogate = bx.GlobalSurrogate(job.model, seed=job.args.seed, target=target)
    depth = job.args.budget
    if depth is not None:
        surrogate.max_depth = depth
        job.budget["max_depth"] = depth
    fit_rows, rows = job.background, job.rows
    if job.feature_names is not None:
        try:
            import pandas as pd
        except ImportError:
            pass  # without pandas the tree names features x0, x1, ...
        else:
            # The surrogate takes its feature names from a DataFrame's columns.
            fit_rows = pd.DataFrame(fit_rows, columns=job.feature_names)
            rows = pd.DataFrame(rows, columns=job.feature_names)
    surrogate.fit(fit_rows)
    return surrogate, surrogate.fidelity(rows), surrogate.explain(rows)


#: ``--method`` -> how to run it. A new method is one entry here; a masker explainer
#: needs only ``MaskerMethod("ClassName", budget="explain argument")`` (its ``explain``
#: takes ``progress``), e.g. ``"occlusion": MaskerMethod("Occlusion")``.
METHODS: dict[str, Callable[[Job], Any]] = {
    "kernel-shap": MaskerMethod("KernelShap", budget="n_evals"),
    "sampling-shapley": MaskerMethod("SamplingShapley", budget="n_permutations"),
    "exact-shapley": MaskerMethod("ExactShapley"),
    "lime": MaskerMethod("Lime", budget="n_samples"),
    "anchors": _anchors,
    "surrogate": _surrogate,
    "occlusion": MaskerMethod("Occlusion", kinds=("table", "text", "image")),
    "rise": MaskerMethod("Rise", budget="n_masks", kinds=("image",)),
    "saliency": GradientMethod("Saliency"),
    "integrated-gradients": GradientMethod("IntegratedGradients", budget="n_steps"),
    "smoothgrad": GradientMethod("SmoothGrad", budget="n_samples"),
    "grad-cam": GradientMethod("GradCam"),
}


def _target(value: str) -> int | str:
    """``--target``: a class index when it is an integer, else an output name."""
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def _masker(job: Job) -> Any:
    import blackbox_xai as bx

    if job.kind == "text":
        return bx.maskers.Text()
    if job.kind == "image":
        # Image files are scaled to [0, 1]: a pixel is absent when black.
        return bx.maskers.Image(fill=0.0)
    background = job.background
    n_summary = job.args.n_background
    return bx.Tabular(
        background,
        feature_names=job.feature_names,
        summarize="kmeans" if len(background) > n_summary else None,
        n_summary=n_summary,
        seed=job.args.seed,
    )


# -- loading the model ----------------------------------------------------------------------
class _Reshaped(Model):
    """An image-input model called with flat rows (CSV pixels): rows are reshaped first.

    A class rather than a closure so that parallel workers can pickle it.
    """

    def __init__(self, inner: Model, shape: tuple[int, ...]) -> None:
        self.inner = inner
        self.shape = shape
        super().__init__(output_names=inner.output_names, batch_size=inner.batch_size)

    def _predict(self, X: Any) -> Any:
        return self.inner(np.asarray(X).reshape(len(X), *self.shape))


def _image_input_shape(onnx_bytes: bytes) -> tuple[int, ...] | None:
    """The static shape (without the batch axis) of an ONNX model's rank > 2 input."""
    import onnx

    proto = onnx.load_model_from_string(onnx_bytes)
    weights = {i.name for i in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in weights]
    dims = inputs[0].type.tensor_type.shape.dim
    if len(inputs) != 1 or len(dims) <= 2:
        return None
    if not all(d.HasField("dim_value") for d in dims[1:]):
        return None
    return tuple(int(d.dim_value) for d in dims[1:])


def load_model(args: argparse.Namespace) -> tuple[Model, bytes | None]:
    """The wrapped model and, for an ONNX file, its checked bytes."""
    from . import OnnxModel, wrap

    path = args.model
    if not os.path.isfile(path):
        raise CliError(f"model file {path!r} does not exist.")
    lower = path.lower()
    if lower.endswith(".onnx"):
        from .models._onnx_file import read_onnx_file

        data = read_onnx_file(path, max_mb=args.max_model_mb)
        _check_onnx_output(path, data, args.output)
        return OnnxModel(data, providers=args.providers, output=args.output), data
    if lower.endswith(".skops"):
        return wrap(_load_skops(path, args.trust), output=args.output), None
    if lower.endswith(PICKLE_EXTENSIONS):
        if not args.trust_pickle:
            raise CliError(
                f"{path} is a pickle: loading it runs whatever code it contains. Pass "
                "--trust-pickle only for a file you made or trust, or save the model with "
                "skops (.skops)."
            )
        import joblib

        return wrap(joblib.load(path), output=args.output), None
    raise CliError(
        f"{path}: the model must be an .onnx or .skops file (or a pickle with --trust-pickle)."
    )


def _check_onnx_output(path: str, data: bytes, output: str | None) -> None:
    """Refuse an unknown output, or a label (non-float) one, naming the float outputs."""
    if output is None:
        return
    import onnx

    graph = onnx.load_model_from_string(data).graph
    # Tensors of integers, strings or booleans are labels; a ZipMap of probabilities is
    # not a tensor at all (OnnxModel turns it back into one).
    outputs = {
        o.name: o.type.tensor_type.elem_type if o.type.HasField("tensor_type") else None
        for o in graph.output
    }
    if output not in outputs:
        raise CliError(
            f"{path}: --output {output!r} is not an output; outputs are {list(outputs)}."
        )
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
    elem = outputs[output]
    if elem is not None and elem not in floats:
        kind = onnx.TensorProto.DataType.Name(elem).lower()
        choices = [name for name, e in outputs.items() if e is None or e in floats]
        raise CliError(
            f"{path}: --output {output!r} holds {kind} values (class labels), which have no "
            f"attributions; explain a float output instead: {choices}."
        )


def _load_skops(path: str, trust: Sequence[str]) -> Any:
    from .utils.optional import import_optional

    sio = import_optional("skops.io")
    try:
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(trust))
    except Exception as exc:
        raise CliError(f"{path} is not a readable skops file: {exc}") from exc
    if untrusted:
        # Loading a type skops does not trust runs its code: the user names each one.
        raise CliError(
            f"{path} holds types skops does not trust by default: {', '.join(untrusted)}. "
            "Check them, then pass each with --trust TYPE."
        )
    return sio.load(path, trusted=list(trust) or None)


# -- reading the data -----------------------------------------------------------------------
def _require_file(path: str, what: str) -> None:
    if not os.path.isfile(path):
        raise CliError(f"{what} file {path!r} does not exist.")


def _header_name(cell: str) -> str:
    # Spreadsheets quote names (and pad them); neither belongs to the name.
    return cell.strip().strip("\"'").strip()


def read_csv(path: str) -> tuple[np.ndarray, list[str] | None]:
    """Numeric rows of a CSV file and its header (None when the first line is numeric)."""
    _require_file(path, "data")
    try:
        # utf-8-sig: a byte-order mark (as spreadsheets write) is not part of the first name.
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = [
                (number, row)
                for number, row in enumerate(csv.reader(fh), start=1)
                if row and any(c.strip() for c in row)
            ]
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text; save it as UTF-8 CSV.") from None
    if not lines:
        raise CliError(f"{path} holds no rows.")
    header: list[str] | None = [_header_name(c) for c in lines[0][1]]
    try:
        [float(c) for c in lines[0][1]]
        header = None
    except ValueError:
        lines = lines[1:]
    width = len(lines[0][1]) if lines else len(header or [])
    rows = np.empty((len(lines), width))
    names = header or [str(j) for j in range(width)]
    if header is not None and len(header) != width:
        raise CliError(f"{path}: the header has {len(header)} names but rows have {width} cells.")
    for i, (number, line) in enumerate(lines):
        if len(line) != width:
            raise CliError(f"{path}, line {number}: {len(line)} cells, expected {width}.")
        for j, cell in enumerate(line):
            try:
                rows[i, j] = float(cell)
            except ValueError:
                raise CliError(
                    f"{path}, line {number}, column {names[j]!r}: {cell.strip()!r} is not a number."
                ) from None
            if not np.isfinite(rows[i, j]):
                raise CliError(
                    f"{path}, line {number}, column {names[j]!r}: {cell.strip()!r} is not a "
                    "finite number."
                )
    if not len(rows):
        raise CliError(f"{path} holds a header but no rows.")
    return rows, header


def read_texts(path: str) -> list[str]:
    """One document per non-empty line."""
    _require_file(path, "data")
    with open(path, encoding="utf-8") as fh:
        docs = [line.rstrip("\r\n") for line in fh if line.strip()]
    if not docs:
        raise CliError(f"{path} holds no documents (one per line).")
    return docs


def read_images(paths: Sequence[str], shape: tuple[int, ...] | None) -> np.ndarray:
    """Images as a float32 batch shaped like the model's input ``(n, C, H, W)``.

    Integer pixels are scaled to [0, 1] (divided by the largest value of their type).
    """
    if shape is None or len(shape) != 3:
        raise CliError("image files need an ONNX model whose input is (batch, C, H, W).")
    from .utils.optional import import_optional

    io = import_optional("skimage.io")
    channels, height, width = shape
    batch = []
    for path in paths:
        _require_file(path, "image")
        try:
            image = np.asarray(io.imread(path))
        except Exception as exc:
            raise CliError(f"{path} could not be read as an image: {exc}") from exc
        if np.issubdtype(image.dtype, np.integer):
            image = image / np.iinfo(image.dtype).max
        image = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
        if image.shape[0] == 4 and channels == 3:
            image = image[:3]  # drop the alpha channel
        if image.shape[0] == 3 and channels == 1:
            image = image.mean(axis=0, keepdims=True)
        if image.shape != (channels, height, width):
            raise CliError(
                f"{path} is {image.shape[2]}x{image.shape[1]} with {image.shape[0]} channel(s); "
                f"the model takes {width}x{height} with {channels}."
            )
        batch.append(image)
    return np.stack(batch).astype(np.float32)


def _select_rows(spec: str, n: int) -> slice | list[int]:
    """``--rows``: ``START:STOP`` (either may be empty) or one index."""
    match = re.fullmatch(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*", spec)
    if match:
        start, stop = (int(g) if g else None for g in match.groups())
        return slice(start, stop)
    if re.fullmatch(r"\s*-?\d+\s*", spec):
        i = int(spec)
        if not -n <= i < n:
            raise CliError(f"--rows {spec}: DATA has {n} rows.")
        return [i]
    raise CliError(f"--rows must be START:STOP (e.g. 0:10) or one row index, got {spec!r}.")


def _check_columns(
    model: Model, header: list[str] | None, width: int, shape: tuple[int, ...] | None, what: str
) -> None:
    expected = getattr(model, "n_input_columns", None)
    if shape is not None:
        expected = int(np.prod(shape))
    if expected is not None and width != expected:
        raise CliError(f"{what} has {width} columns; the model takes {expected}.")
    names = model.feature_names
    if names is not None and header is not None and list(header) != list(names):
        missing = [n for n in names if n not in header]
        extra = [n for n in header if n not in names]
        detail = (
            f"missing {missing}, unexpected {extra}"
            if missing or extra
            else "same names, another order"
        )
        raise CliError(f"{what}'s header does not match the model's features: {detail}.")


def load_job(args: argparse.Namespace) -> Job:
    """Model, rows and background from the command line's paths."""
    model, onnx_bytes = load_model(args)
    shape = _image_input_shape(onnx_bytes) if onnx_bytes is not None else None
    data = args.data
    first = data[0].lower()
    if first.endswith(IMAGE_EXTENSIONS):
        rows: Any = read_images(data, shape)
        kind, names, background = "image", None, None
    elif len(data) > 1:
        raise CliError("pass one CSV or text file, or any number of image files.")
    elif first.endswith(".txt"):
        if model.input_kind != "text":
            raise CliError(f"{data[0]} holds documents, but the model does not take text.")
        rows, kind, names = read_texts(data[0]), "text", None
        background = None
    else:
        if model.input_kind == "text":
            raise CliError("the model takes text: pass a .txt file, one document per line.")
        rows, header = read_csv(data[0])
        _check_columns(model, header, rows.shape[1], shape, data[0])
        kind, names = "table", header
        if args.background:
            background, bg_header = read_csv(args.background)
            _check_columns(model, bg_header, background.shape[1], shape, args.background)
            if header is not None and bg_header is not None and header != bg_header:
                raise CliError(f"{args.background}'s header differs from {data[0]}'s.")
            names = names or bg_header
        else:
            background = rows
        if shape is not None:
            model = _Reshaped(model, shape)
    picked = _select_rows(args.rows, len(rows))
    selected = rows[picked] if not isinstance(rows, list) else _pick(rows, picked)
    if not len(selected):
        raise CliError(f"--rows {args.rows} selects no rows (DATA has {len(rows)}).")
    return Job(
        model=model,
        kind=kind,
        rows=selected,
        background=background,
        feature_names=names,
        args=args,
        onnx_bytes=onnx_bytes,
        input_shape=shape,
        progress=not args.quiet and sys.stderr.isatty(),
    )


def _pick(items: list[Any], picked: slice | list[int]) -> list[Any]:
    return items[picked] if isinstance(picked, slice) else [items[i] for i in picked]


# -- writing the result ---------------------------------------------------------------------
def _header_html(job: Job, elapsed: float, note: str) -> str:
    args = job.args
    budget = ", ".join(f"{k}={v}" for k, v in job.budget.items()) or "the method's default"
    items = [
        ("model", args.model),
        ("data", ", ".join(args.data)),
        ("rows explained", f"{len(job.rows)} (--rows {args.rows})"),
        ("method", args.method),
        ("budget", budget),
        ("seed", str(args.seed)),
        ("time", f"{elapsed:.2f} s"),
        ("uncertainty", note),
    ]
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in items
    )
    return f"<table class='bx'>{cells}</table>"


def _uncertainty(result: Any) -> str:
    from . import Explanation

    if isinstance(result, Explanation):
        if result.stderr is None:
            return "exact (no sampling error)" if "shapley" in result.method else "not estimated"
        stderr = result.stderr[np.isfinite(result.stderr)]
        return f"largest standard error {float(stderr.max()) if stderr.size else 0.0:.3g}"
    if isinstance(result, list):
        return "precision bounds per rule (see the JSON)"
    return "held-out fidelity below"


def _explanation_csv(expl: Any, fh: Any) -> None:
    writer = csv.writer(fh)
    writer.writerow(["row", "feature", "output", "value", "stderr"])
    values = expl.values.reshape(len(expl), -1, expl.values.shape[-1])
    stderr = None if expl.stderr is None else expl.stderr.reshape(values.shape)
    for r in range(len(expl)):
        names = expl.player_names_of(r) if expl.values.ndim == 3 else None
        for j in range(values.shape[1]):
            if not np.isfinite(values[r, j]).all():
                continue  # padding of rows with fewer players
            name = names[j] if names is not None and j < len(names) else str(j)
            for o, out in enumerate(expl.output_names):
                se = "" if stderr is None else repr(float(stderr[r, j, o]))
                writer.writerow([r, name, out, repr(float(values[r, j, o])), se])


def write_result(job: Job, result: Any, elapsed: float) -> str:
    """Write ``result`` to ``--out`` by its extension; returns a one-line summary."""
    from . import Explanation
    from .report import anchors_html, explanation_html, html_page

    out = job.args.out
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".html", ".json", ".csv"):
        raise CliError(f"--out must end in .html, .json or .csv, got {out!r}.")
    folder = os.path.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    title = f"blackbox_xai {job.args.method}: {os.path.basename(job.args.model)}"
    sections = [_header_html(job, elapsed, _uncertainty(result))]
    if isinstance(result, Explanation):
        if ext == ".json":
            result.to_json(out)
        elif ext == ".csv":
            with open(out, "w", encoding="utf-8", newline="") as fh:
                _explanation_csv(result, fh)
        else:
            output = None if job.args.target is None else _target(job.args.target)
            if output is not None and len(result.output_names) == 1:
                output = None  # Lime and gradients keep only the explained output
            if result.values.ndim == 3:
                sections.append(
                    result.to_html(output=output)
                    if job.kind == "text"
                    else explanation_html(result, output=output)
                )
            else:
                sections.append(_image_section(result))
            _write_text(out, html_page(title, sections))
    elif isinstance(result, list):  # anchors
        if ext == ".json":
            _write_text(out, json.dumps([a.to_dict() for a in result], indent=1))
        elif ext == ".csv":
            with open(out, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["row", "rule", "predicted", "precision", "coverage"])
                for r, a in enumerate(result):
                    writer.writerow([r, " AND ".join(a.rule), a.predicted, a.precision, a.coverage])
        else:
            if job.kind == "text":
                sections.extend(a.to_html() for a in result)
            else:
                sections.append(anchors_html(result))
            _write_text(out, html_page(title, sections))
    else:  # surrogate
        surrogate, fidelity, rules = result
        if ext == ".json":
            payload = {
                "tree": surrogate.export_text(),
                "fidelity": {"in_sample": fidelity.in_sample, "held_out": fidelity.held_out},
                "rules": [str(rule) for rule in rules],
            }
            _write_text(out, json.dumps(payload, indent=1))
        elif ext == ".csv":
            with open(out, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["row", "rule", "prediction", "support"])
                for r, rule in enumerate(rules):
                    writer.writerow([r, str(rule), rule.prediction, rule.support])
        else:
            sections.append(
                f"<h3>Surrogate tree</h3><pre>{html.escape(surrogate.export_text())}</pre>"
                f"<h3>Fidelity</h3><pre>{html.escape(str(fidelity))}</pre>"
                "<h3>Rule of each row</h3><ol start='0'>"
                + "".join(f"<li>{html.escape(str(rule))}</li>" for rule in rules)
                + "</ol>"
            )
            _write_text(out, html_page(title, sections))
    return f"wrote {out} ({job.args.method}, {len(job.rows)} rows, {elapsed:.2f} s)"


def _image_section(expl: Any) -> str:
    """Image attributions as a table of per-row totals (the heat maps are in the JSON)."""
    parts = [
        f"<h3>{html.escape(expl.method)}: attribution maps of shape "
        f"{html.escape(str(expl.values.shape[1:-1]))}</h3><table class='bx'>"
        "<tr><th>row</th><th>target</th><th class='num'>sum</th><th class='num'>max |value|</th></tr>"
    ]
    targets = expl.meta.get("target", [None] * len(expl))
    for r in range(len(expl)):
        v = expl.values[r]
        target = targets[r] if isinstance(targets, list) and r < len(targets) else ""
        parts.append(
            f"<tr><td>{r}</td><td>{html.escape(str(target))}</td>"
            f"<td class='num'>{float(v.sum()):.4g}</td>"
            f"<td class='num'>{float(np.abs(v).max()):.4g}</td></tr>"
        )
    parts.append("</table>")
    return "".join(parts)


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


# -- the command ----------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Run ``blackbox-xai explain``; user errors become one line on stderr and status 2."""
    try:
        job = load_job(args)
        start = time.perf_counter()
        result = METHODS[args.method](job)
        summary = write_result(job, result, time.perf_counter() - start)
    except (CliError, ValueError, TypeError, OSError, ImportError, ModelCallError) as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"blackbox-xai: error: {message}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary)
    return 0


def _providers(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def add_parser(sub: Any) -> None:
    """Add the ``explain`` sub-command to the ``blackbox-xai`` parser's sub-parsers."""
    p = sub.add_parser(
        "explain",
        help="explain rows of a CSV file, documents or images with a saved model",
        description="Explain a saved model (.onnx, .skops, or a pickle with --trust-pickle) "
        "on DATA: a CSV file (header = feature names), a text file (one document per line) "
        "or image files.",
    )
    p.add_argument("model", help="the model: .onnx, .skops, or .pkl/.joblib with --trust-pickle")
    p.add_argument("data", nargs="+", help="a .csv file, a .txt file, or image files")
    p.add_argument("--method", choices=sorted(METHODS), default="kernel-shap")
    p.add_argument("--rows", default="0:10", help="rows to explain: START:STOP or one index")
    p.add_argument("--target", help="class index or output name to explain or show")
    p.add_argument("--background", help="CSV of background rows (default: DATA itself)")
    p.add_argument("--n-background", type=int, default=50, help="k-means summary size (default 50)")
    p.add_argument(
        "--budget",
        type=int,
        help="the method's budget: kernel-shap n_evals, sampling-shapley n_permutations, "
        "lime/smoothgrad n_samples, integrated-gradients n_steps, rise n_masks, anchors max_model_calls, "
        "surrogate max_depth",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=None)
    p.add_argument(
        "--providers",
        type=_providers,
        default=None,
        help="ONNX Runtime providers, comma-separated (default CPUExecutionProvider)",
    )
    p.add_argument("--output", help="model output: ONNX graph output, or proba/decision/predict")
    p.add_argument(
        "--trust", action="append", default=[], help="a type a .skops file may load (repeat)"
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load a pickle/joblib model (this runs any code the file contains)",
    )
    p.add_argument(
        "--max-model-mb",
        type=float,
        default=DEFAULT_MAX_MODEL_MB,
        help=f"refuse larger ONNX files (default {DEFAULT_MAX_MODEL_MB:g} MB)",
    )
    p.add_argument("--out", default="report.html", help="report.html, result.json or values.csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=run)

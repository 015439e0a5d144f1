"""Helpers shared by the benchmark scripts: timed model functions and result files."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


class TimedModel:
    """A prediction function that records the time spent inside it and the rows it saw.

    ``clock`` is ``time.perf_counter`` (wall) by default; ``time.process_time`` measures
    CPU time, which other load on a shared machine does not inflate.
    """

    def __init__(
        self, fn: Callable[[Any], Any], clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.fn = fn
        self.clock = clock
        self.seconds = 0.0
        self.rows = 0

    def __call__(self, X: Any) -> Any:
        start = self.clock()
        out = self.fn(X)
        self.seconds += self.clock() - start
        self.rows += len(X)
        return out

    def reset(self) -> None:
        self.seconds, self.rows = 0.0, 0


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-style table; floats with 4 significant digits."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, payload: dict[str, Any], table: str) -> None:
    """Write ``results/NAME.json`` and ``results/NAME.md`` (with the machine described)."""
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}",
        **payload,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=float))
    (RESULTS / f"{name}.md").write_text(f"# {name}\n\n{table}\n")


def ensure_alibi_venv(venv: Path, extra: Sequence[str] = ()) -> Path:
    """The python of a venv with alibi (numpy<2) and this scikit-learn, made if needed.

    alibi needs numpy<2, so it runs apart from this package; ``extra`` packages are
    installed with it. scikit-learn is pinned to this one, to load pickled models.
    """
    import sklearn

    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import alibi.explainers, sklearn; print(sklearn.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == sklearn.__version__:
            return python
    print(f"creating {venv} with alibi (a few minutes, once)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pinned = f"scikit-learn=={sklearn.__version__}"
    # click is imported by alibi's spacy dependency.
    packages = ["alibi", "numpy<2", "click", pinned, *extra]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    subprocess.run(probe, check=True, capture_output=True)
    return python

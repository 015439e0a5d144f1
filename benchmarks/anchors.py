"""Anchors versus alibi's AnchorTabular: breast cancer, random forest, threshold 0.95.

One command, from the repository root::

    python benchmarks/anchors.py [--rows 20] [--venv /work/venv-anchors-alibi]

alibi needs numpy<2, so it runs in a virtual environment of its own, which this
script creates on first use (``python3 -m venv VENV && VENV/bin/pip install alibi
"numpy<2" click scikit-learn==<the version here>``; click is imported by alibi's
spacy dependency), in a subprocess that exchanges data through files: the same
training rows, the same pickled forest, the same rows to explain. alibi is never a
dependency of blackbox_xai.

Both explain each row on its own with their defaults (ours: beam 2; alibi: beam 1,
batches of 100) and threshold 0.95; model calls and rows are counted at the model.
Both rules are then scored the same way: coverage is the share of training rows that
satisfy the rule, and precision is measured on 10,000 fresh samples from the
training rows satisfying it (``Anchors.score_anchor``, the distribution our
anchors are defined on). alibi's own reported precision and coverage are listed too.

Writes ``benchmarks/results/anchors.json`` and ``anchors.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from _common import markdown_table, write_results
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import blackbox_xai as bx

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.95
FRESH_SAMPLES = 10_000


def ensure_alibi_venv(venv: Path) -> Path:
    """The venv's python, after creating the venv and installing alibi if needed."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import alibi.explainers, sklearn; print(sklearn.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == sklearn.__version__:
            return python
    print(f"creating {venv} with alibi (a few minutes, once)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pinned_sklearn = f"scikit-learn=={sklearn.__version__}"  # to load the pickled forest
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "alibi", "numpy<2", "click", pinned_sklearn],
        check=True,
    )
    subprocess.run(probe, check=True, capture_output=True)
    return python


def run_alibi(python: Path, workdir: Path) -> list[dict[str, Any]]:
    """alibi's results per row (see ``_anchors_alibi_worker.py``)."""
    worker = HERE / "_anchors_alibi_worker.py"
    subprocess.run([str(python), str(worker), str(workdir)], check=True)
    rows: list[dict[str, Any]] = json.loads((workdir / "alibi.json").read_text())
    return rows


def run_ours(
    forest: Any, train: np.ndarray, rows: np.ndarray, names: list[str]
) -> tuple[bx.Anchors, list[dict[str, Any]]]:
    """Our anchors, one row per call, with time and model counts."""
    model = bx.wrap(forest, feature_names=names)
    explainer = bx.Anchors(model, train, threshold=THRESHOLD, seed=0)
    out = []
    for x in rows:
        model.reset_counts()
        start = time.perf_counter()
        e = explainer.explain(x)
        out.append(
            {
                "seconds": time.perf_counter() - start,
                "model_calls": model.n_calls,
                "model_rows": model.n_rows,
                "rule": e.rule,
                "precision": e.precision,
                "precision_bounds": list(e.precision_bounds),
                "coverage": e.coverage,
                "success": e.success,
            }
        )
    return explainer, out


def score(explainer: bx.Anchors, x: np.ndarray, rule: list[str], seed: int) -> tuple[float, float]:
    """Precision on fresh conditional samples and coverage on the training rows."""
    s = explainer.score_anchor(x, rule, n_samples=FRESH_SAMPLES, seed=seed)
    return s.precision, s.coverage


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    fresh = np.array([r["fresh_precision"] for r in rows])
    return {
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
        "median_model_calls": float(np.median([r["model_calls"] for r in rows])),
        "median_model_rows": float(np.median([r["model_rows"] for r in rows])),
        "share_fresh_precision_ge_threshold": float(np.mean(fresh >= THRESHOLD)),
        "mean_fresh_precision": float(fresh.mean()),
        "mean_coverage": float(np.mean([r["coverage_train"] for r in rows])),
        "mean_reported_precision": float(np.mean([r["precision"] for r in rows])),
        "mean_reported_coverage": float(np.mean([r["coverage"] for r in rows])),
        "share_success": float(np.mean([r["success"] for r in rows])),
        "mean_rule_length": float(np.mean([len(r["rule"]) for r in rows])),
    }


def tables(result: dict[str, Any]) -> str:
    """The summary table, the batched run and the per-row rules, as markdown."""
    ours, alibi, ratio = result["ours"], result["alibi"], result["ratio_ours_over_alibi"]
    setup = result["setup"]
    summary = markdown_table(
        ["metric", "ours", "alibi", "ours/alibi", "target"],
        [
            ["median time per row (s)", ours["median_seconds"], alibi["median_seconds"],
             ratio["median_seconds"], "<= 0.2"],
            ["median model calls per row", ours["median_model_calls"],
             alibi["median_model_calls"], ratio["median_model_calls"], "<= 0.2"],
            ["median model rows per row", ours["median_model_rows"],
             alibi["median_model_rows"], ratio["median_model_rows"], ""],
            [f"share of rows with fresh precision >= {THRESHOLD}",
             ours["share_fresh_precision_ge_threshold"],
             alibi["share_fresh_precision_ge_threshold"], "", "ours >= 0.95"],
            ["mean fresh precision", ours["mean_fresh_precision"],
             alibi["mean_fresh_precision"], "", ""],
            ["mean coverage (training rows)", ours["mean_coverage"], alibi["mean_coverage"],
             "", "ours >= alibi - 0.02"],
            ["mean reported precision", ours["mean_reported_precision"],
             alibi["mean_reported_precision"], "", ""],
            ["mean reported coverage", ours["mean_reported_coverage"],
             alibi["mean_reported_coverage"], "", ""],
            ["share of rows with success", ours["share_success"], alibi["share_success"], "", ""],
            ["mean rule length", ours["mean_rule_length"], alibi["mean_rule_length"], "", ""],
        ],
    )  # fmt: skip
    per_row = markdown_table(
        ["row", "our rule", "fresh prec.", "cov.", "alibi rule", "fresh prec.", "cov."],
        [
            [i, " AND ".join(o["rule"]) or "(any)", o["fresh_precision"], o["coverage_train"],
             " AND ".join(a["rule"]) or "(any)", a["fresh_precision"], a["coverage_train"]]
            for i, (o, a) in enumerate(
                zip(result["rows"]["ours"], result["rows"]["alibi"], strict=True)
            )
        ],
    )  # fmt: skip
    return "\n\n".join(
        [
            f"Breast cancer, random forest (100 trees), {setup['rows']} test rows, threshold "
            f"{THRESHOLD}, both libraries with their defaults. `python benchmarks/anchors.py`.",
            summary,
            f"All {setup['rows']} rows in one `explain_many` call: "
            f"{result['batched']['model_calls']} model calls in all, "
            f"{result['batched']['seconds']:.2f} s.",
            f"Fresh precision: {FRESH_SAMPLES} samples drawn from the training rows that "
            "satisfy the rule (the conditional distribution our anchors are defined on), for "
            "both methods' rules alike. Coverage: share of training rows satisfying the rule. "
            "alibi reports precision from its own sampler and caches.",
            per_row,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--venv", type=Path, default=Path("/work/venv-anchors-alibi"))
    args = parser.parse_args()

    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    train, test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.2, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(train, y_train)
    rows = test[: args.rows]

    explainer, ours = run_ours(forest, train, rows, names)
    # alibi bins with np.percentile at 25/50/75 like ours: its bin ranges are ours.
    for j in range(train.shape[1]):
        alibi_edges = np.unique(np.percentile(train[:, j], [25, 50, 75]))
        assert np.allclose(explainer.bins_.edges_[j], alibi_edges), f"bins differ for {names[j]}"

    python = ensure_alibi_venv(args.venv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        joblib.dump(forest, workdir / "model.joblib")
        np.savez(workdir / "data.npz", train=train, explain=rows, names=names, threshold=THRESHOLD)
        alibi = run_alibi(python, workdir)

    for i, (x, o, a) in enumerate(zip(rows, ours, alibi, strict=True)):
        o["fresh_precision"], o["coverage_train"] = score(explainer, x, o["rule"], 1000 + i)
        a["rule_as_ours"] = [explainer.bins_.describe_range(f, lo, hi) for f, lo, hi in a["ranges"]]
        a["fresh_precision"], a["coverage_train"] = score(explainer, x, a["rule_as_ours"], 1000 + i)

    start = time.perf_counter()
    calls = explainer.model.n_calls
    explainer.explain_many(rows)
    batched = {
        "seconds": time.perf_counter() - start,
        "model_calls": explainer.model.n_calls - calls,
    }

    summary = {"ours": summarise(ours), "alibi": summarise(alibi)}
    ratio = {
        k: summary["ours"][k] / summary["alibi"][k]
        for k in ("median_seconds", "median_model_calls", "median_model_rows")
    }
    result = {
        "setup": {
            "rows": len(rows),
            "threshold": THRESHOLD,
            "fresh_samples": FRESH_SAMPLES,
            "model": "RandomForestClassifier(n_estimators=100, random_state=0)",
            "split": "train_test_split(test_size=0.2, random_state=0); explained: first test rows",
        },
        **summary,
        "ratio_ours_over_alibi": ratio,
        "targets_met": {
            "time": ratio["median_seconds"] <= 0.2,
            "model_calls": ratio["median_model_calls"] <= 0.2,
            "precision": summary["ours"]["share_fresh_precision_ge_threshold"] >= 0.95,
            "coverage": summary["ours"]["mean_coverage"]
            >= summary["alibi"]["mean_coverage"] - 0.02,
        },
        "batched": batched,
        "rows": {"ours": ours, "alibi": alibi},
    }
    text = tables(result)
    write_results("anchors", result, text)
    print(text.split("\n\nAll ")[0])
    print("targets met:", result["targets_met"])


if __name__ == "__main__":
    sys.exit(main())

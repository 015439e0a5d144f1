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
batches of 100) and threshold 0.95, given the forest's training rows; model calls
and rows are counted at the model. Both methods' rules are then scored alike, on
data neither explainer has sent to the model:

- held-out: the test rows (not used by either explainer, the explained row left
  out) that satisfy the rule;
- alibi-style: 10,000 samples whose anchored features come from a training row
  satisfying the rule and whose other features come from an independent training
  row (the sampler of Ribeiro et al.'s code and alibi);
- training rows: the training rows satisfying the rule (in-sample for both
  searches, listed for comparison only).

Coverage is the share of training rows satisfying the rule. alibi's own reported
precision and coverage are listed too, and the precision of alibi's final anchor on
10,000 fresh samples of alibi's own sampler. ``--alibi-results FILE`` reuses alibi's
per-row results of an earlier run (development only: the results record it).

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
from _common import ensure_alibi_venv, markdown_table, write_results
from scipy.stats import binomtest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import blackbox_xai as bx

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.95
MIXED_SAMPLES = 10_000
SAMPLERS = ("held_out", "alibi_style", "training")


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
                "features": e.features,
                "precision": e.precision,
                "precision_bounds": list(e.precision_bounds),
                "coverage": e.coverage,
                "success": e.success,
            }
        )
    return explainer, out


def alibi_style_samples(
    explainer: bx.Anchors,
    x: np.ndarray,
    rule: list[str],
    features: list[int],
    train: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Anchored features from a training row satisfying the rule, the others from an
    independent training row (so every sample satisfies the rule)."""
    donors = train[explainer.covers(x, rule, train)]
    samples = train[rng.integers(len(train), size=MIXED_SAMPLES)]
    anchored = donors[rng.integers(len(donors), size=MIXED_SAMPLES)]
    samples[:, features] = anchored[:, features]
    return samples


def score(
    explainer: bx.Anchors,
    x: np.ndarray,
    rule: list[str],
    features: list[int],
    train: np.ndarray,
    held_out: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    """Precision of a rule for ``x`` under the three samplers, and its coverage."""
    mixed = alibi_style_samples(explainer, x, rule, features, train, np.random.default_rng(seed))
    on_train = explainer.score_anchor(x, rule, n_samples=len(train), seed=seed)
    out = {
        "coverage": on_train.coverage,
        "precision_training": on_train.precision,
        "precision_alibi_style": explainer.score_anchor(
            x, rule, data=mixed, n_samples=MIXED_SAMPLES, seed=seed
        ).precision,
    }
    others = held_out[~np.all(held_out == x, axis=1)]  # leave the explained row out
    n = int(explainer.covers(x, rule, others).sum())
    out["held_out_rows"] = n
    out["coverage_held_out"] = n / len(others)
    if n:
        s = explainer.score_anchor(x, rule, data=others, n_samples=n, seed=seed)
        k = round(s.precision * n)
        out["precision_held_out"] = s.precision
        # Is the held-out count compatible with a precision of THRESHOLD or more?
        out["held_out_p_value"] = binomtest(k, n, THRESHOLD, alternative="less").pvalue
    else:
        out["precision_held_out"] = float("nan")
        out["held_out_p_value"] = float("nan")
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Medians of cost, shares and means of quality over the explained rows."""
    out = {
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
        "median_model_calls": float(np.median([r["model_calls"] for r in rows])),
        "median_model_rows": float(np.median([r["model_rows"] for r in rows])),
    }
    for sampler in SAMPLERS:
        p = np.array([r["scores"][f"precision_{sampler}"] for r in rows])
        out[f"share_precision_ge_threshold_{sampler}"] = float(np.mean(p >= THRESHOLD))
        out[f"mean_precision_{sampler}"] = float(np.nanmean(p))
    p_values = np.array([r["scores"]["held_out_p_value"] for r in rows])
    out["share_held_out_compatible"] = float(np.mean(p_values > 0.05))
    out["mean_held_out_rows"] = float(np.mean([r["scores"]["held_out_rows"] for r in rows]))
    out["mean_coverage"] = float(np.mean([r["scores"]["coverage"] for r in rows]))
    out["mean_coverage_held_out"] = float(np.mean([r["scores"]["coverage_held_out"] for r in rows]))
    if "precision_own_sampler" in rows[0]:  # alibi's anchors on alibi's own sampler
        own = np.array([r["precision_own_sampler"] for r in rows])
        out["share_own_sampler_ge_threshold"] = float(np.mean(own >= THRESHOLD))
        out["mean_precision_own_sampler"] = float(own.mean())
    out["mean_reported_precision"] = float(np.mean([r["precision"] for r in rows]))
    out["mean_reported_coverage"] = float(np.mean([r["coverage"] for r in rows]))
    out["share_success"] = float(np.mean([r["success"] for r in rows]))
    out["mean_rule_length"] = float(np.mean([len(r["rule"]) for r in rows]))
    return out


def targets(ours: dict[str, float], alibi: dict[str, float], ratio: dict[str, float]) -> dict:
    """The issue's targets, each with the value measured and whether it is met."""
    share = {s: ours[f"share_precision_ge_threshold_{s}"] for s in SAMPLERS}
    checks = [
        ("median time <= 0.2x alibi's", ratio["median_seconds"], ratio["median_seconds"] <= 0.2),
        ("median model calls <= 0.2x alibi's", ratio["median_model_calls"],
         ratio["median_model_calls"] <= 0.2),
        ("precision >= 0.95 on held-out rows for >= 95% of rows", share["held_out"],
         share["held_out"] >= 0.95),
        ("precision >= 0.95 on alibi-style samples for >= 95% of rows", share["alibi_style"],
         share["alibi_style"] >= 0.95),
        ("mean coverage >= alibi's - 0.02", ours["mean_coverage"] - alibi["mean_coverage"],
         ours["mean_coverage"] >= alibi["mean_coverage"] - 0.02),
    ]  # fmt: skip
    return {name: {"value": value, "met": bool(met)} for name, value, met in checks}


def _reading(ours: dict[str, float], alibi: dict[str, float]) -> str:
    """What the precision rows say, in words, from the numbers of this run."""
    text = (
        f"Held-out rows measure precision on new data (what our bounds are about; rows "
        f"satisfying the rule): {ours['share_precision_ge_threshold_held_out']:.0%} of our "
        f"rules and {alibi['share_precision_ge_threshold_held_out']:.0%} of alibi's reach "
        f"0.95 there. Under alibi-style sampling, which breaks the dependence between "
        f"anchored and other features, {ours['share_precision_ge_threshold_alibi_style']:.0%} "
        f"of ours and {alibi['share_precision_ge_threshold_alibi_style']:.0%} of alibi's do "
        f"(mean precision {ours['mean_precision_alibi_style']:.2f} and "
        f"{alibi['mean_precision_alibi_style']:.2f}): that target is missed by both."
    )
    if "mean_precision_own_sampler" in alibi:
        text += (
            f" alibi's own sampler agrees: on 10,000 fresh samples of its TabularSampler, "
            f"alibi's final anchors reach 0.95 on "
            f"{alibi['share_own_sampler_ge_threshold']:.0%} of rows (mean "
            f"{alibi['mean_precision_own_sampler']:.2f}), although alibi reports "
            f"{alibi['mean_reported_precision']:.2f}."
        )
    return text


def tables(result: dict[str, Any]) -> str:
    """The summary table, the targets, the batched run and the per-row rules, as markdown."""
    ours, alibi, ratio = result["ours"], result["alibi"], result["ratio_ours_over_alibi"]
    setup = result["setup"]

    def line(label: str, key: str, with_ratio: bool = False) -> list[Any]:
        return [label, ours.get(key, "-"), alibi.get(key, "-"), ratio[key] if with_ratio else ""]

    summary = markdown_table(
        ["metric", "ours", "alibi", "ours/alibi"],
        [
            line("median time per row (s)", "median_seconds", True),
            line("median model calls per row", "median_model_calls", True),
            line("median model rows per row", "median_model_rows", True),
            line("share of rows, held-out precision >= 0.95", "share_precision_ge_threshold_held_out"),
            line("share of rows, alibi-style precision >= 0.95",
                 "share_precision_ge_threshold_alibi_style"),
            line("share of rows, training-row precision >= 0.95",
                 "share_precision_ge_threshold_training"),
            line("share of rows, held-out count compatible with >= 0.95 (binomial p > 0.05)",
                 "share_held_out_compatible"),
            line("mean held-out precision", "mean_precision_held_out"),
            line("mean alibi-style precision", "mean_precision_alibi_style"),
            line("mean training-row precision", "mean_precision_training"),
            line("mean held-out rows satisfying the rule", "mean_held_out_rows"),
            line("mean coverage (training rows)", "mean_coverage"),
            line("mean coverage (held-out rows)", "mean_coverage_held_out"),
            line("share of rows, precision >= 0.95 on 10000 fresh samples of alibi's own "
                 "sampler (alibi's TabularSampler)", "share_own_sampler_ge_threshold"),
            line("mean precision on alibi's own sampler", "mean_precision_own_sampler"),
            line("mean reported precision", "mean_reported_precision"),
            line("mean reported coverage", "mean_reported_coverage"),
            line("share of rows with success", "share_success"),
            line("mean rule length", "mean_rule_length"),
        ],
    )  # fmt: skip
    goals = markdown_table(
        ["issue-5 target", "measured", "met"],
        [[name, t["value"], "yes" if t["met"] else "**no**"] for name, t in result["targets"].items()],
    )  # fmt: skip

    def prec(r: dict[str, Any]) -> str:
        sc = r["scores"]
        return (
            f"{sc['precision_held_out']:.3f} ({sc['held_out_rows']}) / "
            f"{sc['precision_alibi_style']:.3f} / {sc['precision_training']:.3f}"
        )

    per_row = markdown_table(
        ["row", "our rule", "precision", "cov.", "alibi rule", "precision", "cov."],
        [
            [i, " AND ".join(o["rule"]) or "(any)", prec(o), o["scores"]["coverage"],
             " AND ".join(a["rule"]) or "(any)", prec(a), a["scores"]["coverage"]]
            for i, (o, a) in enumerate(
                zip(result["rows"]["ours"], result["rows"]["alibi"], strict=True)
            )
        ],
    )  # fmt: skip
    return "\n\n".join(
        [
            f"Breast cancer, random forest (100 trees), {setup['rows']} test rows, threshold "
            f"{THRESHOLD}, both libraries with their defaults, given the forest's "
            f"{setup['train_rows']} training rows. `python benchmarks/anchors.py`.",
            "Precision of both methods' rules, measured alike on data neither search sent "
            "to the model: **held-out** = the other test rows satisfying the rule; "
            f"**alibi-style** = {MIXED_SAMPLES} samples with the anchored features from a "
            "training row satisfying the rule and the rest from an independent training row "
            "(Ribeiro et al.'s and alibi's sampler); **training rows** = the training rows "
            "satisfying the rule (in-sample for both, for comparison). Coverage: share of "
            "training rows satisfying the rule.",
            summary,
            goals,
            _reading(ours, alibi),
            f"All {setup['rows']} rows in one `explain_many` call: "
            f"{result['batched']['model_calls']} model calls in all, "
            f"{result['batched']['seconds']:.2f} s.",
            "Per row, precision as held-out (number of held-out rows) / alibi-style / "
            "training rows:",
            per_row,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--venv", type=Path, default=Path("/work/venv-anchors-alibi"))
    parser.add_argument(
        "--alibi-results",
        type=Path,
        help="reuse alibi's per-row results (alibi.json) of an earlier run with the same "
        "setup instead of running alibi (for development; timings then come from two runs)",
    )
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

    if args.alibi_results:
        alibi = json.loads(args.alibi_results.read_text())[: len(rows)]
    else:
        python = ensure_alibi_venv(args.venv)
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            joblib.dump(forest, workdir / "model.joblib")
            np.savez(
                workdir / "data.npz", train=train, explain=rows, names=names, threshold=THRESHOLD
            )
            alibi = run_alibi(python, workdir)

    for i, (x, o, a) in enumerate(zip(rows, ours, alibi, strict=True)):
        o["scores"] = score(explainer, x, o["rule"], o["features"], train, test, 1000 + i)
        a["rule_as_ours"] = [explainer.bins_.describe_range(f, lo, hi) for f, lo, hi in a["ranges"]]
        a_features = [f for f, _, _ in a["ranges"]]
        a["scores"] = score(explainer, x, a["rule_as_ours"], a_features, train, test, 1000 + i)

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
            "train_rows": len(train),
            "held_out_rows": len(test) - 1,
            "threshold": THRESHOLD,
            "alibi_style_samples": MIXED_SAMPLES,
            "model": "RandomForestClassifier(n_estimators=100, random_state=0)",
            "split": "train_test_split(test_size=0.2, random_state=0); explained: first test rows",
            "alibi_reused_from": str(args.alibi_results) if args.alibi_results else None,
        },
        **summary,
        "ratio_ours_over_alibi": ratio,
        "targets": targets(summary["ours"], summary["alibi"], ratio),
        "batched": batched,
        "rows": {"ours": ours, "alibi": alibi},
    }
    text = tables(result)
    write_results("anchors", result, text)
    print(text.split("\n\nAll ")[0])


if __name__ == "__main__":
    sys.exit(main())

"""Shapley estimators versus shap: accuracy per coalition, per second, speed, calibration.

Compares, on the same model, background and rows:

- ``bx.KernelShap`` against ``shap.KernelExplainer`` (``l1_reg=False`` and its default),
- ``bx.SamplingShapley`` against ``shap.PermutationExplainer`` at equal evaluations,

on (a) wine, 13 features, a gradient-boosting classifier, 20 background rows, with exact
Shapley values (``bx.ExactShapley``) as ground truth, and (b) breast cancer, 30 features,
against a long-run reference (``bx.KernelShap`` with 2**15 coalitions, its standard
errors reported and added to ours in the calibration check). Budgets are 200/500/1000/2000 coalitions per row (4000 more for ours,
to compare at equal time). Every model is the same timed callable, so the
share of time inside the model and the model rows are measured alike for all. Times are
CPU seconds of this process (``time.process_time``), not wall time: the benchmark
machine is shared, and CPU time is what other load does not inflate (everything here
runs in one thread).

Install the peer in its own environment (never a dependency of blackbox_xai)::

    python3 -m venv /tmp/venv-shap && /tmp/venv-shap/bin/pip install shap -e .

Run (about 5 minutes; writes benchmarks/results/shapley.json and .md)::

    /tmp/venv-shap/bin/python benchmarks/shapley.py
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import shap
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import GradientBoostingClassifier

import blackbox_xai as bx

BUDGETS = [200, 500, 1000, 2000]
EXTRA_OURS = [4000]  # only to interpolate our error at shap's wall time
REPEATS = 3  # seeds per (method, budget); errors and times are averaged
RESULTS = Path(__file__).parent / "results"


class TimedModel:
    """predict_proba that counts its rows and the seconds spent inside it."""

    def __init__(self, model: Any) -> None:
        self.model, self.seconds, self.rows = model, 0.0, 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        t = time.process_time()
        out = self.model.predict_proba(X)
        self.seconds += time.process_time() - t
        self.rows += len(X)
        return out

    def reset(self) -> None:
        self.seconds, self.rows = 0.0, 0


def problem(name: str, n_rows: int) -> dict[str, Any]:
    X, y = (load_wine if name == "wine" else load_breast_cancer)(return_X_y=True)
    model = GradientBoostingClassifier(random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    background = X[rng.choice(len(X), 20, replace=False)]
    rows = X[rng.choice(len(X), n_rows, replace=False)]
    return {"name": name, "f": TimedModel(model), "bg": background, "rows": rows}


def rel_mae(est: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(est - truth).mean() / np.abs(truth).mean())


def timed(f: TimedModel, run: Any) -> tuple[Any, float, float, int]:
    f.reset()
    t = time.process_time()
    out = run()
    wall = time.process_time() - t
    return out, wall, f.seconds, f.rows


def ours_kernel(p: dict[str, Any], budget: int, seed: int, weights: str) -> Any:
    explainer = bx.KernelShap(p["f"], p["bg"], seed=seed, n_jobs=1)
    return explainer.explain(p["rows"], n_evals=budget, weights=weights)


def shap_kernel(p: dict[str, Any], budget: int, seed: int, l1_reg: Any) -> np.ndarray:
    np.random.seed(seed)  # noqa: NPY002 (shap draws from numpy's global generator)
    explainer = shap.KernelExplainer(p["f"], p["bg"])
    values = explainer.shap_values(p["rows"], nsamples=budget, l1_reg=l1_reg, silent=True)
    return np.asarray(values)


def ours_sampling(p: dict[str, Any], budget: int, seed: int) -> Any:
    d = p["rows"].shape[1]
    perms = 2 * ((budget - 2) // (2 * (d - 1)))  # delta evaluation: d - 1 per permutation
    explainer = bx.SamplingShapley(p["f"], p["bg"], seed=seed, n_jobs=1)
    return explainer.explain(p["rows"], n_permutations=max(4, perms))


def shap_permutation(p: dict[str, Any], budget: int, seed: int) -> np.ndarray:
    np.random.seed(seed)  # noqa: NPY002 (shap draws from numpy's global generator)
    explainer = shap.PermutationExplainer(p["f"], p["bg"])
    return np.asarray(explainer(p["rows"], max_evals=budget, silent=True).values)


def run_method(p: dict[str, Any], method: str, budget: int, seed: int) -> Any:
    kind, _, option = method.partition(":")
    if kind == "ours_kernel":
        return ours_kernel(p, budget, seed, option or "leverage")
    if kind == "shap_kernel":
        return shap_kernel(p, budget, seed, option == "default" and "num_features(10)")
    if kind == "ours_sampling":
        return ours_sampling(p, budget, seed)
    return shap_permutation(p, budget, seed)


def measure(p: dict[str, Any], truth: np.ndarray, method: str, budget: int) -> dict[str, Any]:
    """Average over REPEATS seeds of error, wall time per row, model share and rows."""
    n = len(p["rows"])
    errs, walls, shares, rows, covered = [], [], [], [], []
    for seed in range(REPEATS):
        out, wall, model_s, model_rows = timed(
            p["f"], lambda seed=seed: run_method(p, method, budget, seed)
        )
        values = out.values if isinstance(out, bx.Explanation) else out
        errs.append(rel_mae(values, truth))
        walls.append(wall / n)
        shares.append(model_s / wall)
        rows.append(model_rows / n)
        if isinstance(out, bx.Explanation) and out.stderr is not None:
            se = np.sqrt(out.stderr**2 + p.get("truth_se", 0.0) ** 2)
            covered.append(float(np.mean(np.abs(values - truth) <= 2 * se + 1e-12)))
    return {
        "method": method,
        "budget": budget,
        "rel_mae": float(np.mean(errs)),
        "time_per_row_s": float(np.mean(walls)),
        "model_share": float(np.mean(shares)),
        "model_rows_per_row": float(np.mean(rows)),
        "within_2se": float(np.mean(covered)) if covered else None,
    }


def error_at_time(curve: list[dict[str, Any]], t: float) -> float:
    """Our error at wall time ``t``: log-log interpolation, slope -1/2 beyond the ends."""
    times = np.log([c["time_per_row_s"] for c in curve])
    errs = np.log([c["rel_mae"] for c in curve])
    x = np.log(t)
    if x <= times[0]:
        return float(np.exp(errs[0] - 0.5 * (x - times[0])))
    if x >= times[-1]:
        return float(np.exp(errs[-1] - 0.5 * (x - times[-1])))
    return float(np.exp(np.interp(x, times, errs)))


def run_problem(name: str, n_rows: int) -> dict[str, Any]:
    p = problem(name, n_rows)
    t0 = time.perf_counter()
    if name == "wine":
        truth = bx.ExactShapley(p["f"], p["bg"]).explain(p["rows"]).values
        reference = "exact (ExactShapley, 8192 coalitions)"
    else:
        ref = bx.KernelShap(p["f"], p["bg"], seed=12345).explain(p["rows"], n_evals=2**15)
        truth, p["truth_se"] = ref.values, ref.stderr
        reference = (
            "KernelShap with 2**15 coalitions (seed 12345); mean SE relative to mean |value|: "
            f"{float(ref.stderr.mean() / np.abs(ref.values).mean()):.4f}"
        )
    shap_permutation({**p, "rows": p["rows"][:1]}, 100, 0)  # compile shap's numba code first
    print(f"[{name}] reference in {time.perf_counter() - t0:.1f}s: {reference}", flush=True)
    methods = ["ours_kernel", "shap_kernel:l1_false", "shap_kernel:default"]
    methods += ["ours_sampling", "shap_permutation"]
    if name == "wine":
        methods += ["ours_kernel:kernel", "ours_kernel:geometric"]
    rows = []
    for budget in BUDGETS:
        for method in methods:
            rows.append(measure(p, truth, method, budget))
            r = rows[-1]
            print(
                f"[{name}] {method:22s} {budget:5d}  relMAE {r['rel_mae']:.4f}  "
                f"{r['time_per_row_s'] * 1e3:7.1f} ms/row  model {r['model_share']:.0%}",
                flush=True,
            )
    curve = [r for r in rows if r["method"] == "ours_kernel"]
    curve += [measure(p, truth, "ours_kernel", b) for b in EXTRA_OURS]
    curve.sort(key=lambda r: r["time_per_row_s"])
    summary = []
    for budget in BUDGETS:
        by = {r["method"]: r for r in rows if r["budget"] == budget}
        ours, s_false, s_def = (
            by["ours_kernel"],
            by["shap_kernel:l1_false"],
            by["shap_kernel:default"],
        )
        summary.append(
            {
                "budget": budget,
                "err_ratio_vs_l1_false": ours["rel_mae"] / s_false["rel_mae"],
                "err_ratio_vs_default": ours["rel_mae"] / s_def["rel_mae"],
                "err_ratio_equal_time_vs_l1_false": error_at_time(curve, s_false["time_per_row_s"])
                / s_false["rel_mae"],
                "time_ratio_vs_l1_false": ours["time_per_row_s"] / s_false["time_per_row_s"],
                "our_overhead_outside_model": 1.0 - ours["model_share"],
                "sampling_err_ratio_vs_permutation": by["ours_sampling"]["rel_mae"]
                / by["shap_permutation"]["rel_mae"],
                "kernel_within_2se": ours["within_2se"],
                "sampling_within_2se": by["ours_sampling"]["within_2se"],
            }
        )
    return {
        "problem": name,
        "n_features": int(p["rows"].shape[1]),
        "n_rows": n_rows,
        "n_background": len(p["bg"]),
        "repeats": REPEATS,
        "reference": reference,
        "results": rows,
        "ours_kernel_curve": curve,
        "summary": summary,
    }


def markdown(report: list[dict[str, Any]]) -> str:
    lines = ["# Shapley estimators vs shap", ""]
    lines.append(
        f"shap {shap.__version__}; {REPEATS} seeds per cell; times are CPU seconds per row (process time)."
    )
    for prob in report:
        lines += [
            "",
            f"## {prob['problem']}: {prob['n_features']} features, {prob['n_rows']} rows, "
            f"{prob['n_background']} background rows",
            "",
            f"Reference: {prob['reference']}.",
            "",
            "| budget | method | rel. MAE | ms/row | model rows/row | model share | within 2 SE |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in prob["results"]:
            cov = "" if r["within_2se"] is None else f"{r['within_2se']:.2f}"
            lines.append(
                f"| {r['budget']} | {r['method']} | {r['rel_mae']:.4f} | "
                f"{r['time_per_row_s'] * 1e3:.1f} | {r['model_rows_per_row']:.0f} | "
                f"{r['model_share']:.0%} | {cov} |"
            )
        lines += [
            "",
            "| budget | err ours/shap (l1_reg=False) | err ours/shap (default) | "
            "err ours/shap at equal time | time ours/shap | our overhead | "
            "err Sampling/Permutation | Kernel within 2 SE | Sampling within 2 SE |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in prob["summary"]:
            lines.append(
                f"| {s['budget']} | {s['err_ratio_vs_l1_false']:.2f} | "
                f"{s['err_ratio_vs_default']:.2f} | {s['err_ratio_equal_time_vs_l1_false']:.2f} | "
                f"{s['time_ratio_vs_l1_false']:.2f} | {s['our_overhead_outside_model']:.0%} | "
                f"{s['sampling_err_ratio_vs_permutation']:.2f} | {s['kernel_within_2se']:.2f} | "
                f"{s['sampling_within_2se']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    report = [run_problem("wine", 16), run_problem("breast_cancer", 10)]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shapley.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (RESULTS / "shapley.md").write_text(text)
    print(text)
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()

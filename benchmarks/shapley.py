"""Shapley estimators versus shap: accuracy per model row and per second, speed, calibration.

Compares, on the same model, background and rows:

- ``bx.KernelShap`` with ``background="mean"`` (one coalition design, every coalition
  averaged over the background) and ``background="sample"`` (one design per background
  row, one model row per coalition) against ``shap.KernelExplainer`` (``l1_reg=False``
  and its default),
- ``bx.SamplingShapley`` (``background="mean"`` and ``"sample"``) against
  ``shap.PermutationExplainer``,

on (a) wine, 13 features, a gradient-boosting classifier, 20 background rows, with exact
Shapley values (``bx.ExactShapley``) as ground truth, (a') the same with a cheap model
(a 10-tree random forest of depth 6), chosen so that shap.KernelExplainer spends about
70% of its time outside the model, the split the issue measured (with the
gradient-boosting model it spends only ~30% there on this machine), and (b) breast
cancer, 30 features,
against a long-run reference (``bx.SamplingShapley(background="sample")`` with 120000
permutations: unbiased, a different estimator from KernelShap, relative SE ~0.5%; its
standard errors are reported and added to ours in the calibration check). On wine it
also measures KernelShap's size weights ("kernel", "leverage", "geometric").

A budget ``B`` is coalitions per row for shap and ``background="mean"``, which costs
``20 B`` model rows; ``KernelShap(background="sample")`` takes the same ``n_evals=B``
as coalition-equivalents (the same model rows) and ``SamplingShapley(background="sample")``
gets as many permutations as ``20 B`` model rows allow. So every method in a budget row
evaluates about the same MODEL ROWS, the cost users pay; the ``model rows ours/shap``
column shows how close. Budgets are 200/500/1000/2000 (4000 more for ours, to compare
at equal time). Every model is the same timed callable, so the share of time inside
the model and the model rows are measured alike for all. Everything runs in one thread
(``threadpoolctl.threadpool_limits(1)``); both wall time and CPU time are recorded. The
ratios use CPU time (the benchmark machine is shared, and CPU time is what other load
does not inflate); the wall-time ratio is reported beside it.

Install the peer in its own environment (never a dependency of blackbox_xai)::

    python3 -m venv /tmp/venv-shap && /tmp/venv-shap/bin/pip install shap -e .

Run (about 10 minutes; writes benchmarks/results/shapley.json and .md)::

    /tmp/venv-shap/bin/python benchmarks/shapley.py
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from _common import TimedModel  # before shap: see the note in main()
import shap

# isort: on
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from threadpoolctl import threadpool_limits

import blackbox_xai as bx
from blackbox_xai.explainers.shapley.kernel import DEFAULT_WEIGHTS

BUDGETS = [200, 500, 1000, 2000]
EXTRA_OURS = [64, 100, 4000]  # only to interpolate our error-time curve
REPEATS = 3  # seeds per (method, budget); errors and times are averaged
WEIGHTS = ("kernel", "leverage", "geometric")
RESULTS = Path(__file__).parent / "results"


#: Problems: (data, model). "wine_cheap_model" puts shap.KernelExplainer at ~70% of its
#: time outside the model, as in the issue's measurement.
PROBLEMS = {
    "wine": (load_wine, lambda: GradientBoostingClassifier(random_state=0)),
    "wine_cheap_model": (
        load_wine,
        lambda: RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0),
    ),
    "breast_cancer": (load_breast_cancer, lambda: GradientBoostingClassifier(random_state=0)),
}


def problem(name: str, n_rows: int) -> dict[str, Any]:
    load, make_model = PROBLEMS[name]
    X, y = load(return_X_y=True)
    model = make_model().fit(X, y)
    rng = np.random.default_rng(0)
    background = X[rng.choice(len(X), 20, replace=False)]
    rows = X[rng.choice(len(X), n_rows, replace=False)]
    return {
        "name": name,
        "f": TimedModel(model.predict_proba, clock=time.process_time),
        "bg": background,
        "rows": rows,
    }


def rel_mae(est: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(est - truth).mean() / np.abs(truth).mean())


def timed(f: TimedModel, run: Any) -> tuple[Any, float, float, float, int]:
    """Output, CPU seconds, wall seconds, CPU seconds inside the model, model rows."""
    f.reset()
    t, w = time.process_time(), time.perf_counter()
    out = run()
    cpu, wall = time.process_time() - t, time.perf_counter() - w
    return out, cpu, wall, f.seconds, f.rows


def ours_kernel(p: dict[str, Any], budget: int, seed: int, option: str) -> Any:
    background, _, weights = option.partition(":")
    explainer = bx.KernelShap(p["f"], p["bg"], seed=seed, n_jobs=1)
    return explainer.explain(
        p["rows"], n_evals=budget, background=background, weights=weights or DEFAULT_WEIGHTS
    )


def shap_kernel(p: dict[str, Any], budget: int, seed: int, l1_reg: Any) -> np.ndarray:
    np.random.seed(seed)  # noqa: NPY002 (shap draws from numpy's global generator)
    explainer = shap.KernelExplainer(p["f"], p["bg"])
    values = explainer.shap_values(p["rows"], nsamples=budget, l1_reg=l1_reg, silent=True)
    return np.asarray(values)


def ours_sampling(p: dict[str, Any], budget: int, seed: int, background: str) -> Any:
    d, n_bg = p["rows"].shape[1], len(p["bg"])
    if background == "mean":  # delta evaluation: d - 1 coalitions per permutation
        perms = 2 * ((budget - 2) // (2 * (d - 1)))
    else:  # one model row per coalition, f(x) and f(b) once; same model rows as "mean"
        perms = 2 * ((budget * n_bg - n_bg - 1) // (2 * (d - 1)))
    explainer = bx.SamplingShapley(p["f"], p["bg"], seed=seed, n_jobs=1)
    return explainer.explain(p["rows"], n_permutations=max(4, perms), background=background)


def shap_permutation(p: dict[str, Any], budget: int, seed: int) -> np.ndarray:
    np.random.seed(seed)  # noqa: NPY002 (shap draws from numpy's global generator)
    explainer = shap.PermutationExplainer(p["f"], p["bg"])
    return np.asarray(explainer(p["rows"], max_evals=budget, silent=True).values)


def run_method(p: dict[str, Any], method: str, budget: int, seed: int) -> Any:
    kind, _, option = method.partition(":")
    if kind == "ours_kernel":
        return ours_kernel(p, budget, seed, option)
    if kind == "shap_kernel":
        return shap_kernel(p, budget, seed, option == "default" and "num_features(10)")
    if kind == "ours_sampling":
        return ours_sampling(p, budget, seed, option)
    return shap_permutation(p, budget, seed)


def measure(p: dict[str, Any], truth: np.ndarray, method: str, budget: int) -> dict[str, Any]:
    """Average over REPEATS seeds of error, CPU time per row, model share and rows."""
    n = len(p["rows"])
    errs, cpus, walls, shares, rows, covered, outside = [], [], [], [], [], [], []
    for seed in range(REPEATS):
        out, cpu, wall, model_s, model_rows = timed(
            p["f"], lambda seed=seed: run_method(p, method, budget, seed)
        )
        values = out.values if isinstance(out, bx.Explanation) else out
        errs.append(rel_mae(values, truth))
        cpus.append(cpu / n)
        walls.append(wall / n)
        shares.append(model_s / cpu)
        outside.append((cpu - model_s) / n)
        rows.append(model_rows / n)
        if isinstance(out, bx.Explanation) and out.stderr is not None:
            se = np.sqrt(out.stderr**2 + p.get("truth_se", 0.0) ** 2)
            covered.append(float(np.mean(np.abs(values - truth) <= 2 * se + 1e-12)))
    return {
        "method": method,
        "budget": budget,
        "rel_mae": float(np.mean(errs)),
        "time_per_row_s": float(np.mean(cpus)),
        "wall_per_row_s": float(np.mean(walls)),
        "model_share": float(np.mean(shares)),
        "outside_model_per_row_s": float(np.mean(outside)),
        "model_rows_per_row": float(np.mean(rows)),
        "within_2se": float(np.mean(covered)) if covered else None,
    }


def _loglog(xs: list[float], ys: list[float], x: float, slope: float) -> float:
    """``y`` at ``x`` on the curve ``(xs, ys)``, ``xs`` increasing: log-log interpolation,
    a power law of exponent ``slope`` beyond the ends."""
    lx, ly, at = np.log(xs), np.log(ys), np.log(x)
    if at <= lx[0]:
        return float(np.exp(ly[0] + slope * (at - lx[0])))
    if at >= lx[-1]:
        return float(np.exp(ly[-1] + slope * (at - lx[-1])))
    return float(np.exp(np.interp(at, lx, ly)))


def error_at_time(curve: list[dict[str, Any]], t: float) -> float:
    """Our error at CPU time ``t``: log-log interpolation, slope -1/2 beyond the ends."""
    times = [c["time_per_row_s"] for c in curve]
    return _loglog(times, [c["rel_mae"] for c in curve], t, -0.5)


KERNELS = ["ours_kernel:mean", "ours_kernel:sample"]
#: Every size weight option, on wine (the rows above use DEFAULT_WEIGHTS).
WEIGHT_METHODS = [f"ours_kernel:{b}:{w}" for b in ("mean", "sample") for w in WEIGHTS]
SAMPLERS = ["ours_sampling:mean", "ours_sampling:sample"]
METHODS = [*KERNELS, "shap_kernel:l1_false", "shap_kernel:default", *SAMPLERS, "shap_permutation"]


def time_at_error(curve: list[dict[str, Any]], err: float) -> float:
    """Our CPU time to reach error ``err``: the inverse of :func:`error_at_time`."""
    by_error = sorted(curve, key=lambda c: c["rel_mae"])
    errs = [c["rel_mae"] for c in by_error]
    return _loglog(errs, [c["time_per_row_s"] for c in by_error], err, -2.0)


def run_problem(name: str, n_rows: int) -> dict[str, Any]:
    p = problem(name, n_rows)
    t0 = time.perf_counter()
    if name.startswith("wine"):
        truth = bx.ExactShapley(p["f"], p["bg"]).explain(p["rows"]).values
        reference = "exact (ExactShapley, 8192 coalitions)"
    else:
        # Rounds of 20000 permutations up to 120000 (tol is never met).
        ref = bx.SamplingShapley(p["f"], p["bg"], seed=12345).explain(
            p["rows"],
            n_permutations=20000,
            tol=1e-12,
            max_permutations=120000,
            background="sample",
        )
        truth, p["truth_se"] = ref.values, ref.stderr
        reference = (
            "SamplingShapley(background='sample') with 120000 permutations (seed 12345); "
            "mean SE relative to mean |value|: "
            f"{float(ref.stderr.mean() / np.abs(ref.values).mean()):.4f}"
        )
    shap_permutation({**p, "rows": p["rows"][:1]}, 100, 0)  # compile shap's numba code first
    print(f"[{name}] reference in {time.perf_counter() - t0:.1f}s: {reference}", flush=True)
    rows = []
    methods = METHODS + (WEIGHT_METHODS if name == "wine" else [])
    for budget in BUDGETS:
        for method in methods:
            rows.append(measure(p, truth, method, budget))
            r = rows[-1]
            print(
                f"[{name}] {method:28s} {budget:5d}  relMAE {r['rel_mae']:.4f}  "
                f"{r['time_per_row_s'] * 1e3:7.1f} ms/row CPU "
                f"{r['wall_per_row_s'] * 1e3:7.1f} wall  model {r['model_share']:.0%}  "
                f"rows {r['model_rows_per_row']:.0f}",
                flush=True,
            )
    curves = {}
    for kernel in KERNELS:
        curve = [r for r in rows if r["method"] == kernel]
        curve += [measure(p, truth, kernel, b) for b in EXTRA_OURS]
        curves[kernel] = sorted(curve, key=lambda r: r["time_per_row_s"])
    summary = []
    for budget in BUDGETS:
        by = {r["method"]: r for r in rows if r["budget"] == budget}
        s_false, s_def, perm = (
            by["shap_kernel:l1_false"],
            by["shap_kernel:default"],
            by["shap_permutation"],
        )
        entry: dict[str, Any] = {"budget": budget}
        for kernel in KERNELS:
            ours = by[kernel]
            entry[kernel] = {
                "err_ratio_vs_l1_false": ours["rel_mae"] / s_false["rel_mae"],
                "err_ratio_vs_default": ours["rel_mae"] / s_def["rel_mae"],
                "err_ratio_equal_time_vs_l1_false": error_at_time(
                    curves[kernel], s_false["time_per_row_s"]
                )
                / s_false["rel_mae"],
                "time_ratio_vs_l1_false": ours["time_per_row_s"] / s_false["time_per_row_s"],
                "wall_ratio_vs_l1_false": ours["wall_per_row_s"] / s_false["wall_per_row_s"],
                "time_ratio_equal_error_vs_l1_false": time_at_error(
                    curves[kernel], s_false["rel_mae"]
                )
                / s_false["time_per_row_s"],
                "model_rows_ratio_vs_l1_false": ours["model_rows_per_row"]
                / s_false["model_rows_per_row"],
                "our_overhead_outside_model": 1.0 - ours["model_share"],
                "outside_model_ratio_vs_l1_false": ours["outside_model_per_row_s"]
                / s_false["outside_model_per_row_s"],
                # The CPU-time ratio with nothing outside the model: no implementation
                # evaluating the same model rows as shap gets below it.
                "model_only_time_ratio_vs_l1_false": ours["model_share"]
                * ours["time_per_row_s"]
                / s_false["time_per_row_s"],
                "within_2se": ours["within_2se"],
            }
        for sampler in SAMPLERS:
            ours = by[sampler]
            entry[sampler] = {
                "err_ratio_vs_permutation": ours["rel_mae"] / perm["rel_mae"],
                "time_ratio_vs_permutation": ours["time_per_row_s"] / perm["time_per_row_s"],
                "model_rows_ratio_vs_permutation": ours["model_rows_per_row"]
                / perm["model_rows_per_row"],
                "within_2se": ours["within_2se"],
            }
        summary.append(entry)
    return {
        "problem": name,
        "n_features": int(p["rows"].shape[1]),
        "n_rows": n_rows,
        "n_background": len(p["bg"]),
        "repeats": REPEATS,
        "reference": reference,
        "results": rows,
        "ours_kernel_curves": curves,
        "summary": summary,
    }


KERNEL_COLUMNS = [
    "err_ratio_vs_l1_false",
    "err_ratio_vs_default",
    "err_ratio_equal_time_vs_l1_false",
    "time_ratio_vs_l1_false",
    "wall_ratio_vs_l1_false",
    "time_ratio_equal_error_vs_l1_false",
    "model_rows_ratio_vs_l1_false",
    "model_only_time_ratio_vs_l1_false",
    "our_overhead_outside_model",
    "outside_model_ratio_vs_l1_false",
    "within_2se",
]
SAMPLER_COLUMNS = [
    "err_ratio_vs_permutation",
    "time_ratio_vs_permutation",
    "model_rows_ratio_vs_permutation",
    "within_2se",
]


def ratio_rows(summary: list[dict[str, Any]], methods: list[str], columns: list[str]) -> list[str]:
    """One table row per budget and method: the summary's ``columns`` of that method."""

    def cell(key: str, value: float) -> str:
        return f"{value:.0%}" if key == "our_overhead_outside_model" else f"{value:.2f}"

    return [
        f"| {s['budget']} | {method.partition(':')[2]} | "
        + " | ".join(cell(key, s[method][key]) for key in columns)
        + " |"
        for s in summary
        for method in methods
    ]


SETUP_NOTE = (
    "Setup versus the issue's quoted shap figures: issue 3 quotes shap.KernelExplainer "
    "(l1_reg=False) on wine at relative MAE 0.117/0.069/0.041 (500/1000/2000 coalitions) "
    "and 0.43 s per row at 1000 coalitions, about 70% of it outside the model. Those are "
    "not reproduced here: in this run shap itself has about 2.5x lower errors and ~50 ms "
    "per row with ~30% outside the model (another machine, shap and scikit-learn version, "
    "and rows/background drawn here with seed 0; the issue does not give its setup). The "
    "problem wine_cheap_model swaps in a 10-tree forest of depth 6 so that shap spends "
    "about 70% of its time outside the model, the split the issue measured. Every "
    "ratio below compares methods measured in the same run on the same model, background "
    "and rows. Wall times share the machine with other jobs (wall ratios can be off where "
    "other load ran); the ratios use CPU time. Errors are means over 3 seeds of one "
    "design shared by all rows, so single ratio cells carry noise of about +-10%."
)


def markdown(report: list[dict[str, Any]]) -> str:
    lines = ["# Shapley estimators vs shap", ""]
    lines.append(
        f"shap {shap.__version__}; {REPEATS} seeds per cell; times are CPU seconds per row "
        "(process time) and wall seconds, one thread (threadpoolctl). Every method of a budget row evaluates about the same model rows "
        "(see benchmarks/shapley.py)."
    )
    lines += ["", SETUP_NOTE]
    for prob in report:
        lines += [
            "",
            f"## {prob['problem']}: {prob['n_features']} features, {prob['n_rows']} rows, "
            f"{prob['n_background']} background rows",
            "",
            f"Reference: {prob['reference']}.",
            "",
            "| budget | method | rel. MAE | CPU ms/row | wall ms/row | model rows/row | "
            "model share | within 2 SE |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in prob["results"]:
            cov = "" if r["within_2se"] is None else f"{r['within_2se']:.2f}"
            lines.append(
                f"| {r['budget']} | {r['method']} | {r['rel_mae']:.4f} | "
                f"{r['time_per_row_s'] * 1e3:.1f} | {r['wall_per_row_s'] * 1e3:.1f} | "
                f"{r['model_rows_per_row']:.0f} | "
                f"{r['model_share']:.0%} | {cov} |"
            )
        lines += [
            "",
            "KernelShap vs shap.KernelExplainer (ratios ours/shap; model rows ours/shap "
            "close to 1 means equal model rows; 'at equal time' and 'at equal err' read our "
            f"error-time curve (budgets {BUDGETS + EXTRA_OURS}) at shap's time or error, "
            "log-log interpolated; 'model-only time' is our CPU time inside the model over "
            "shap's total, the time ratio we would have with nothing outside the model (no "
            "implementation evaluating the same model rows gets below it); 'time outside "
            "model' is our CPU time outside the model over shap's):",
            "",
            "| budget | background | err vs l1_reg=False | err vs default | err at equal time | "
            "CPU time | wall time | time at equal err | model rows | model-only time | "
            "our overhead | time outside model | within 2 SE |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += ratio_rows(prob["summary"], KERNELS, KERNEL_COLUMNS)
        lines += [
            "",
            "SamplingShapley vs shap.PermutationExplainer (ratios ours/shap):",
            "",
            "| budget | background | err | time | model rows | within 2 SE |",
            "|---|---|---|---|---|---|",
        ]
        lines += ratio_rows(prob["summary"], SAMPLERS, SAMPLER_COLUMNS)
        lines += weights_table(prob)
    lines += targets(report)
    return "\n".join(lines) + "\n"


def weights_table(prob: dict[str, Any]) -> list[str]:
    """Relative MAE of each size weight option per budget (wine only)."""
    by = {(r["method"], r["budget"]): r["rel_mae"] for r in prob["results"]}
    if ("ours_kernel:mean:kernel", BUDGETS[0]) not in by:
        return []
    lines = [
        "",
        f"KernelShap size weights (rel. MAE; default {DEFAULT_WEIGHTS!r}):",
        "",
        "| budget | background | " + " | ".join(WEIGHTS) + " |",
        "|---|---|" + "---|" * len(WEIGHTS),
    ]
    for budget in BUDGETS:
        for background in ("mean", "sample"):
            cells = [f"{by[(f'ours_kernel:{background}:{w}', budget)]:.4f}" for w in WEIGHTS]
            lines.append(f"| {budget} | {background} | " + " | ".join(cells) + " |")
    return lines


def targets(report: list[dict[str, Any]]) -> list[str]:
    """Each issue-3 target per problem, met or not, with the measured range over budgets."""
    checks: list[tuple[str, str, str, float, str]] = []
    for method in KERNELS:
        option = method.partition(":")[2]
        for key, label, bound in [
            ("err_ratio_vs_l1_false", "error at equal coalitions vs l1_reg=False", 0.7),
            ("err_ratio_vs_default", "error at equal coalitions vs shap default", 0.7),
            ("err_ratio_equal_time_vs_l1_false", "error at equal time vs l1_reg=False", 0.5),
            ("time_ratio_vs_l1_false", "CPU time per row vs l1_reg=False", 0.4),
            ("our_overhead_outside_model", "our time outside the model", 0.15),
            ("within_2se", "share within 2 SE", 0.9),
        ]:
            sense = ">=" if key == "within_2se" else "<="
            checks.append((f"KernelShap {option}: {label}", method, key, bound, sense))
    for method in SAMPLERS:
        option = method.partition(":")[2]
        checks.append(
            (
                f"SamplingShapley {option}: error vs PermutationExplainer",
                method,
                "err_ratio_vs_permutation",
                1.0,
                "<=",
            )
        )
        checks.append(
            (f"SamplingShapley {option}: share within 2 SE", method, "within_2se", 0.9, ">=")
        )
    lines = [
        "",
        "## Issue-3 targets (range over the budgets 200-2000; 2-SE shares where the "
        "reference is exact)",
        "",
        "| problem | target | bound | measured (min-max) | met |",
        "|---|---|---|---|---|",
    ]
    for prob in report:
        for label, method, key, bound, sense in checks:
            if key == "within_2se" and not prob["problem"].startswith("wine"):
                continue
            values = [s[method][key] for s in prob["summary"]]
            # Compared as printed (two decimals), so 0.8999 counts as 0.90.
            low, high = round(min(values), 2), round(max(values), 2)
            met = high <= bound if sense == "<=" else low >= bound
            partly = (low <= bound) if sense == "<=" else (high >= bound)
            verdict = "yes" if met else ("partly" if partly else "no")
            lines.append(
                f"| {prob['problem']} | {label} | {sense} {bound} | {low:.2f}-{high:.2f} | "
                f"{verdict} |"
            )
    return lines


def main() -> None:
    # Note: this folder holds lime.py; shap imports lime, so _common is imported before
    # shap (at the top) while this folder is still first on sys.path.
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    print(f"blackbox_xai from {bx.__file__}", flush=True)
    with threadpool_limits(1):
        report = [
            run_problem("wine", 16),
            run_problem("wine_cheap_model", 16),
            run_problem("breast_cancer", 10),
        ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shapley.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (RESULTS / "shapley.md").write_text(text)
    print(text)
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()

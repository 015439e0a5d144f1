"""Kernel SHAP over a whole table: throughput at 1 and 2 processes and on dask, peak memory.

    python benchmarks/scale.py [--rows 16] [--evals 2048] [--background 100]
        [--full-memory-rows 48 96] [--memory-rows 10000 100000] [--memory-evals 22] [--memory-background 10]
        [--alibi-venv /work/venvs/alibi | --no-alibi]

Model: a random forest (50 trees, depth 8) on a synthetic 10-feature classification
table, exported to ONNX and run by ONNX Runtime (one thread per process). Explainer:
``KernelShap(model, 100 background rows, seed=0)`` with ``n_evals=2048`` (per background
row a design of its own: 204,800 model rows per explained row).

Throughput (rows explained per second, wall clock, cluster start-up excluded):

- ``1 process``: ``explain(X)``;
- ``2 processes (loky)``: ``explain(X)`` with ``n_jobs=2``;
- ``dask, 2 workers``: ``bx.explain_dask`` on a ``LocalCluster(n_workers=2,
  threads_per_worker=1, processes=True)``, 4 partitions;
- ``joblib dask backend``: ``explain(X, n_jobs=2)`` inside
  ``joblib.parallel_config(backend="dask")`` on the same cluster.

All four must give bit-identical values (checked). Peak memory: each case runs in a
fresh subprocess; ``ru_maxrss`` before explaining (imports, model, data) and after.
``stream`` explains with ``explain_dask`` and reduces with ``summarize_dask`` on the
synchronous scheduler (nothing per row is kept); ``explain`` returns the whole
Explanation (values and standard errors grow with the rows, 2 x 8 x d x k bytes a row).
The 10k/100k cases use a small coalition budget and background (``--memory-evals``,
``--memory-background``) so they finish in minutes on 2 cores; the full setting
(2,048 coalitions, 100 background rows) is measured at 48 and 96 rows
(``--full-memory-rows``): Kernel SHAP keeps the game values of at most 64 MiB of rows at
once, 40 rows in that setting, so both are past the first block.

alibi: ``KernelShap(predictor).explain(X, nsamples=2048)`` on the same ONNX model and
background, one process and ``distributed_opts={"n_cpus": 2}`` on a local Ray, in alibi's
numpy<2 venv (made on first use). Ratios are ours / alibi's rows per second.

Writes ``benchmarks/results/scale.json`` and ``scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import ensure_alibi_venv, markdown_table, write_results

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results" / "scale.json"
N_FEATURES = 10


def _data(n_rows: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(background pool, rows to explain, ONNX forest), all from seed 0."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    from blackbox_xai.models.convert import sklearn_to_onnx

    X, y = make_classification(
        n_samples=5000 + n_rows, n_features=N_FEATURES, n_informative=6, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0, n_jobs=1)
    forest.fit(X[:5000], y[:5000])
    return X[:5000], X[5000:], sklearn_to_onnx(forest, X[:1], zipmap=False)


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM), MiB.

    Not ``ru_maxrss``: a child started by ``subprocess`` inherits its parent's
    high-water mark there, which hid every case below the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory_case(workdir: Path, mode: str, n: int, evals: int, n_background: int) -> None:
    """One peak-memory measurement (run in a fresh process); prints a JSON line."""
    import dask

    import blackbox_xai as bx

    data = np.load(workdir / "data.npz")
    X = data["rows"][:n]
    model = bx.OnnxModel((workdir / "model.onnx").read_bytes())
    explainer = bx.KernelShap(model, data["background"][:n_background], seed=0)
    before = _peak_mib()
    start = time.perf_counter()
    if mode == "stream":
        import dask.array as da

        with dask.config.set(scheduler="synchronous"):
            values = bx.explain_dask(
                explainer, da.from_array(X, chunks=(2000, N_FEATURES)), n_evals=evals
            )
            summary = bx.summarize_dask(values)
        check = float(summary.mean_abs.sum())
    else:
        check = float(np.abs(explainer.explain(X, n_evals=evals).values).mean(axis=0).sum())
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": n,
                "evals": evals,
                "background": n_background,
                "rss_before_mib": before,
                "peak_rss_mib": _peak_mib(),
                "seconds": seconds,
                "check": check,
            }
        )
    )


def _run_memory(workdir: Path, mode: str, n: int, evals: int, n_background: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--memory-case",
        str(workdir),
        mode,
        str(n),
        str(evals),
        str(n_background),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  memory {mode} {n} rows: {result['peak_rss_mib']:.0f} MiB, {result['seconds']:.1f} s",
        flush=True,
    )
    return result


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def throughput(
    background: np.ndarray, rows: np.ndarray, onnx_bytes: bytes, n: int, evals: int
) -> tuple[list[dict[str, Any]], bool]:
    """Rows/s of the four ways of running; whether their values are bit-identical."""
    import dask.array as da
    import joblib
    from distributed import Client, LocalCluster

    import blackbox_xai as bx

    explainer = bx.KernelShap(bx.OnnxModel(onnx_bytes), background, seed=0)
    results = []
    # Each run is warmed up on 2 rows first (worker start-up, imports, ONNX sessions):
    # the rates are those of a long audit, not of the first seconds.
    explainer.explain(rows[:2], n_evals=evals)
    one, seconds = _timed(lambda: explainer.explain(rows[:n], n_evals=evals).values)
    results.append({"run": "1 process", "rows": n, "seconds": seconds})
    print(f"  1 process: {n / seconds:.2f} rows/s", flush=True)
    explainer.n_jobs = 2
    explainer.explain(rows[:2], n_evals=evals, chunk_size=1)
    two, seconds = _timed(lambda: explainer.explain(rows[: 2 * n], n_evals=evals).values)
    results.append({"run": "2 processes (loky)", "rows": 2 * n, "seconds": seconds})
    print(f"  loky: {2 * n / seconds:.2f} rows/s", flush=True)
    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    startup = time.perf_counter() - start
    try:
        # 8 partitions (as loky's 4 chunks per worker): with 4, one worker often got 3.
        part = max(1, n // 4)
        collection = da.from_array(rows[: 2 * n], chunks=(part, N_FEATURES))
        bx.explain_dask(explainer, collection[:2].rechunk((1, N_FEATURES)), n_evals=evals).compute()
        on_dask, seconds = _timed(
            lambda: bx.explain_dask(explainer, collection, n_evals=evals).compute()
        )
        results.append(
            {
                "run": "dask, 2 workers (explain_dask)",
                "rows": 2 * n,
                "seconds": seconds,
                "cluster_start_s": startup,
            }
        )
        print(f"  explain_dask: {2 * n / seconds:.2f} rows/s", flush=True)
        with joblib.parallel_config(backend="dask"):
            explainer.explain(rows[:2], n_evals=evals, chunk_size=1)
            backend, seconds = _timed(
                lambda: explainer.explain(rows[: 2 * n], n_evals=evals, chunk_size=part).values
            )
        results.append({"run": "joblib dask backend, 2 workers", "rows": 2 * n, "seconds": seconds})
        print(f"  joblib dask: {2 * n / seconds:.2f} rows/s", flush=True)
    finally:
        client.close()
        cluster.close()
    identical = (
        all(np.array_equal(a[:n], one) for a in (two, on_dask, backend))
        and np.array_equal(on_dask, two)
        and np.array_equal(backend, two)
    )
    for r in results:
        r["rows_per_s"] = r["rows"] / r["seconds"]
    return results, identical


def run_alibi(python: Path, workdir: Path, n: int, evals: int) -> dict[str, Any]:
    (workdir / "alibi_args.json").write_text(
        json.dumps({"rows_1": n, "rows_2": 2 * n, "nsamples": evals, "n_cpus": 2, "batch_size": 1})
    )
    subprocess.run([str(python), str(HERE / "_scale_alibi_worker.py"), str(workdir)], check=True)
    result: dict[str, Any] = json.loads((workdir / "alibi.json").read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--evals", type=int, default=2048)
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--memory-rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--full-memory-rows", type=int, nargs="+", default=[48, 96])
    parser.add_argument("--memory-evals", type=int, default=22)
    parser.add_argument("--memory-background", type=int, default=10)
    parser.add_argument("--alibi-venv", type=Path, default=Path("/work/venvs/alibi"))
    parser.add_argument("--no-alibi", action="store_true")
    parser.add_argument(
        "--reuse-memory", action="store_true", help="keep the memory table of the last run"
    )
    parser.add_argument("--memory-case", nargs=5, metavar=("DIR", "MODE", "N", "EVALS", "BG"))
    args = parser.parse_args()
    if args.memory_case:
        workdir, mode, n, evals, bg = args.memory_case
        memory_case(Path(workdir), mode, int(n), int(evals), int(bg))
        return

    n_rows = max(*args.memory_rows, *args.full_memory_rows, 2 * args.rows)
    pool, rows, onnx_bytes = _data(n_rows)
    background = pool[: args.background]
    payload: dict[str, Any] = {
        "setting": {
            "model": "ONNX random forest, 50 trees, depth 8, 10 features, 2 classes",
            "n_evals": args.evals,
            "background": args.background,
            "cores": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "model.onnx").write_bytes(onnx_bytes)
        np.savez(workdir / "data.npz", background=background, rows=rows)

        print("throughput", flush=True)
        speed, identical = throughput(background, rows, onnx_bytes, args.rows, args.evals)
        payload["throughput"], payload["bit_identical"] = speed, identical

        print("peak memory", flush=True)
        if args.reuse_memory and RESULTS_JSON.exists():
            memory = json.loads(RESULTS_JSON.read_text())["memory"]
        else:
            memory = [
                _run_memory(workdir, "explain", n, args.evals, args.background)
                for n in args.full_memory_rows
            ]
            for n in args.memory_rows:
                for mode in ("stream", "explain"):
                    memory.append(
                        _run_memory(workdir, mode, n, args.memory_evals, args.memory_background)
                    )
        payload["memory"] = memory

        alibi: dict[str, Any] | None = None
        if not args.no_alibi:
            print("alibi", flush=True)
            try:
                python = ensure_alibi_venv(args.alibi_venv, extra=["shap", "ray", "onnxruntime"])
                alibi = run_alibi(python, workdir, max(2, args.rows // 4), args.evals)
            except (subprocess.CalledProcessError, OSError) as exc:
                payload["alibi_error"] = f"{type(exc).__name__}: {exc}"
        payload["alibi"] = alibi

    write_results("scale", payload, _tables(payload))
    print(_tables(payload))


def _tables(payload: dict[str, Any]) -> str:
    s = payload["setting"]
    speed = payload["throughput"]
    base = speed[0]["rows_per_s"]
    alibi = payload.get("alibi")
    peer = {}
    if alibi:
        peer = {"1 process": alibi["one_process"]["rows_per_s"], "2": alibi["ray"]["rows_per_s"]}
    rows = []
    for r in speed:
        ref = peer.get("1 process") if r["run"] == "1 process" else peer.get("2")
        rows.append(
            [
                r["run"],
                r["rows"],
                r["rows_per_s"],
                r["rows_per_s"] / base,
                "" if ref is None else ref,
                "" if ref is None else r["rows_per_s"] / ref,
            ]
        )
    text = [
        f"Kernel SHAP, {s['model']}, n_evals={s['n_evals']}, {s['background']} background "
        f"rows; {s['cores']} cores (load average {s['load_average_at_start']:.1f} at start: "
        "the machine is shared, so absolute rates are noisy).",
        "",
        "## Throughput (rows explained per second)",
        "",
        markdown_table(
            ["run", "rows", "rows/s", "vs 1 process", "alibi rows/s", "ours / alibi"], rows
        ),
        "",
        f"Values bit-identical across the four runs: {payload['bit_identical']}.",
    ]
    if alibi:
        ray = alibi["ray"]
        text += [
            "",
            f"alibi KernelShap: 1 process {alibi['one_process']['rows']} rows; Ray "
            f"(n_cpus={ray['n_cpus']}) {ray['rows']} rows, Ray start {ray['ray_start_s']:.1f} s "
            "not counted. 'ours / alibi' compares 1 process with 1 process and the 2-worker "
            "runs with alibi on Ray with 2 CPUs.",
        ]
    elif "alibi_error" in payload:
        text += ["", f"alibi not run: {payload['alibi_error']}"]
    mem_rows = [
        [
            m["mode"],
            m["rows"],
            m["evals"],
            m["background"],
            m["rss_before_mib"],
            m["peak_rss_mib"],
            m["peak_rss_mib"] - m["rss_before_mib"],
            m["seconds"],
        ]
        for m in payload["memory"]
    ]
    text += [
        "",
        "## Peak memory (fresh process per case, ru_maxrss)",
        "",
        markdown_table(
            ["mode", "rows", "n_evals", "background", "MiB before", "peak MiB", "growth MiB", "s"],
            mem_rows,
        ),
    ]
    text += [
        "",
        "Reading the memory table: ``stream`` (explain_dask + summarize_dask, partitions of "
        "2,000 rows, synchronous scheduler) holds one partition's work and the summary's "
        "counts: its peak grows by 15 MiB from 10k to 100k rows (the graph of 50 "
        "partitions; the rows themselves are loaded before 'MiB before'). ``explain`` returns every "
        "row's values and standard errors (2 x 8 x d x k bytes a row, 3.2 MB per 10k rows "
        "here) and works on blocks of rows whose game values, with the model output and "
        "temporaries (4 copies), fill at most 64 MiB (the ``game_values`` share of "
        "``bx.get_config()['memory_budget_mb']``): the peak grows with the rows until a "
        "block is full (4,766 rows at 22 coalitions x 10 background rows x 2 outputs; 5 "
        "rows at 2,048 x 100), then only by the returned values. The full setting (2,048 "
        "coalitions, 100 background rows) is flat from 48 to 96 rows for that reason; at "
        "100,000 rows it would take 100,000 / (rows/s) seconds (hours on this machine), "
        "which is why its 100k case is not run here.",
    ]
    return "\n".join(text)


if __name__ == "__main__":
    main()

"""alibi's KernelShap on the rows of ``benchmarks/scale.py``; runs in alibi's own venv.

Usage (done by ``benchmarks/scale.py``): ``python _scale_alibi_worker.py WORKDIR``.
Reads ``WORKDIR/model.onnx`` (the same ONNX forest, run by onnxruntime here too),
``WORKDIR/data.npz`` (background, rows) and ``WORKDIR/alibi_args.json``; writes
``WORKDIR/alibi.json``: rows per second with one process, and with
``distributed_opts={"n_cpus": N}`` on Ray (local), the Ray start-up time apart.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


class OnnxPredictor:
    """Probabilities of the ONNX forest; picklable (Ray ships it to its actors)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.session = None

    def __getstate__(self) -> dict:
        return {"data": self.data, "session": None}

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.session is None:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(
                self.data, options, providers=["CPUExecutionProvider"]
            )
        name = self.session.get_inputs()[0].name
        out = self.session.run(None, {name: np.asarray(X, dtype=np.float32)})
        return np.asarray(out[1], dtype=np.float64)


def _timed(explainer, rows: np.ndarray, nsamples: int) -> float:
    start = time.perf_counter()
    explainer.explain(rows, nsamples=nsamples, silent=True)
    return time.perf_counter() - start


def main(workdir: Path) -> None:
    from alibi.explainers import KernelShap

    args = json.loads((workdir / "alibi_args.json").read_text())
    data = np.load(workdir / "data.npz")
    predictor = OnnxPredictor((workdir / "model.onnx").read_bytes())
    background, rows = data["background"], data["rows"]
    n1, n2, nsamples = args["rows_1"], args["rows_2"], args["nsamples"]
    out: dict = {"nsamples": nsamples, "n_background": len(background)}

    single = KernelShap(predictor, link="identity", seed=0)
    single.fit(background)
    seconds = _timed(single, rows[:n1], nsamples)
    out["one_process"] = {"rows": n1, "seconds": seconds, "rows_per_s": n1 / seconds}

    start = time.perf_counter()
    import ray

    ray.init(num_cpus=args["n_cpus"], include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        on_ray = KernelShap(
            predictor,
            link="identity",
            seed=0,
            distributed_opts={"n_cpus": args["n_cpus"], "batch_size": args["batch_size"]},
        )
        on_ray.fit(background)
        fit = time.perf_counter() - start
        seconds = _timed(on_ray, rows[:n2], nsamples)
        out["ray"] = {
            "rows": n2,
            "seconds": seconds,
            "rows_per_s": n2 / seconds,
            "n_cpus": args["n_cpus"],
            "ray_start_s": startup,
            "fit_s": fit,
        }
    finally:
        ray.shutdown()
    (workdir / "alibi.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""alibi's AnchorTabular on the rows of ``benchmarks/anchors.py``; runs in alibi's own venv.

Usage (done by ``benchmarks/anchors.py``): ``python _anchors_alibi_worker.py WORKDIR``.
Reads ``WORKDIR/data.npz`` and ``WORKDIR/model.joblib``, writes ``WORKDIR/alibi.json``:
per row the wall time, the model calls and rows (of the search), alibi's rule with
its reported precision and coverage, its precision on 10,000 fresh samples of
alibi's own sampler, and the rule as bin ranges ``(feature, lo, hi)`` so the
benchmark can score it with the same samplers as ours.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from alibi.explainers import AnchorTabular

#: Fresh samples of alibi's own sampler on which its final anchor is scored.
OWN_SAMPLES = 10_000


class RangeRecordingAnchorTabular(AnchorTabular):
    """AnchorTabular that also records its anchor as bin ranges per feature."""

    last_ranges: list[tuple[int, int, int]]
    last_ids: tuple[int, ...]

    def add_names_to_exp(self, explanation: dict) -> None:
        # The anchor's predicate ids are only visible here, before alibi turns them
        # into feature ids and names rounded to two decimals.
        self.last_ids = tuple(int(i) for i in explanation["feature"])
        ranges: dict[int, list[int]] = {}
        for idx in explanation["feature"]:
            feature = int(self.enc2feat_idx[idx])
            allowed = self.ord_lookup[idx] if idx in self.ord_lookup else {self.cat_lookup[idx]}
            lo, hi = ranges.get(feature, [0, 10**9])
            ranges[feature] = [max(lo, int(min(allowed))), min(hi, int(max(allowed)))]
        self.last_ranges = [(f, lo, hi) for f, (lo, hi) in ranges.items()]
        super().add_names_to_exp(explanation)


def main(workdir: Path) -> None:
    data = np.load(workdir / "data.npz")
    model = joblib.load(workdir / "model.joblib")
    counts = {"calls": 0, "rows": 0}

    def predict(X: np.ndarray) -> np.ndarray:
        counts["calls"] += 1
        counts["rows"] += len(X)
        return model.predict_proba(X)

    explainer = RangeRecordingAnchorTabular(predict, [str(n) for n in data["names"]], seed=0)
    explainer.fit(data["train"], disc_perc=(25, 50, 75))
    rows = []
    for x in data["explain"]:
        counts.update(calls=0, rows=0)
        explainer.last_ids = ()  # stays empty when alibi returns the empty anchor
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e = explainer.explain(x, threshold=float(data["threshold"]))
        seconds = time.perf_counter() - start
        calls, model_rows = counts["calls"], counts["rows"]
        # alibi's final anchor, scored on fresh samples of alibi's own sampler.
        labels = explainer.samplers[0]((0, explainer.last_ids), OWN_SAMPLES)[2]
        rows.append(
            {
                "seconds": seconds,
                "model_calls": calls,
                "model_rows": model_rows,
                "rule": list(e.anchor),
                "ranges": explainer.last_ranges if e.anchor else [],
                "precision": float(e.precision),
                "precision_own_sampler": float(np.mean(labels)),
                "coverage": float(e.coverage),
                "success": bool(e.data["raw"].get("success", True)),
            }
        )
        print(f"alibi row {len(rows)}: {seconds:.2f} s, {calls} calls", flush=True)
    (workdir / "alibi.json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""alibi's AnchorText on the documents of ``benchmarks/text.py``; runs in alibi's own venv.

Usage (done by ``benchmarks/text.py``): ``python _text_alibi_worker.py WORKDIR``. Reads
``WORKDIR/docs.json`` and ``WORKDIR/model.joblib`` (the fitted scikit-learn pipeline),
writes ``WORKDIR/alibi.json``: per document the CPU time of ``explain``, the model calls
and rows, the anchor's words and alibi's reported precision and coverage.

``sampling_strategy="unknown"`` (each token outside the anchor becomes "UNK" with
probability ``sample_proba=0.5``) and ``spacy.blank("en")`` (a tokenizer, no model to
download), threshold 0.95, alibi's other defaults.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import spacy
from alibi.explainers import AnchorText
from threadpoolctl import threadpool_limits


def main(workdir: Path) -> None:
    docs = json.loads((workdir / "docs.json").read_text())
    model = joblib.load(workdir / "model.joblib")
    counts = {"calls": 0, "rows": 0}

    def predict(texts: list[str]) -> np.ndarray:
        counts["calls"] += 1
        counts["rows"] += len(texts)
        return model.predict_proba(list(texts))

    explainer = AnchorText(
        predictor=predict, sampling_strategy="unknown", nlp=spacy.blank("en"), sample_proba=0.5
    )
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for doc in docs:
            counts.update(calls=0, rows=0)
            start = time.process_time()
            e = explainer.explain(doc, threshold=0.95)
            seconds = time.process_time() - start
            rows.append(
                {
                    "seconds": seconds,
                    "model_calls": counts["calls"],
                    "model_rows": counts["rows"],
                    "rule": list(e.anchor),
                    "precision": float(np.mean(e.precision)),
                    "coverage": float(e.coverage),
                }
            )
            print(f"alibi doc {len(rows)}: {seconds:.2f} s, {counts['calls']} calls", flush=True)
    (workdir / "alibi.json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

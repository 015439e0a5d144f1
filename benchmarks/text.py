"""Text benchmark: ours against lime, shap and alibi on one classifier and one corpus.

The classifier is a TF-IDF + logistic-regression pipeline fitted on 70% of the bundled
review sentences (``blackbox_xai.datasets.load_reviews``); every document below comes
from the other 30%. Everything is measured in one run, on CPU time (``process_time``)
with one BLAS thread (threadpoolctl), the peers given the same scikit-learn pipeline:

1. LIME: ``lime.lime_text.LimeTextExplainer`` (its defaults: bag of words, ``\\W+``
   split, 10 features) at 5000 samples, against ``bx.Lime`` on
   ``Text(features="bag_of_words")`` (the same words as players) at several budgets,
   on 39 documents of three joined reviews, 10 seeds each: CPU time per document and
   top-5 words (by |weight|) agreement across seeds (mean pairwise Jaccard). Target:
   time <= 0.25x lime's with agreement >= lime's own.
2. Shapley values: error against the exact values of each method's own game (ours:
   ``ExactShapley``; shap: all 2^d masks of ``shap.maskers.Text`` enumerated) on test
   reviews of at most 14 tokens, at equal model evaluations: ``shap.PermutationExplainer``
   with ``shap.maskers.Text(r"\\W+")`` against ``bx.KernelShap`` and ``bx.SamplingShapley``
   on ``Text()``. Relative L2 error of the positive class's values, 5 seeds. Target: ours
   <= 0.5x shap's.
3. Anchors: alibi's ``AnchorText(sampling_strategy="unknown", nlp=spacy.blank("en"))`` at
   threshold 0.95 against ``bx.Anchors`` on ``Text(tokenizer="treebank", mode="mask")``
   (the same perturbations: tokens outside the anchor become "UNK" with probability
   0.5), on 30 test reviews: CPU time and model calls per document (target <= 0.2x) and
   both anchors' precision on 1000 fresh perturbations each (target >= 0.95 for >= 95%
   of documents). alibi needs numpy<2: it runs in its own virtual environment (made on
   first use), in a subprocess given the pickled pipeline.
4. Long documents (about 2000 tokens: 260 joined test reviews): "groups then refine"
   (``KernelShap`` on ``Text(groups="sentences")`` with half the budget, then on
   ``Text(groups=refine_groups(coarse))``, the top sentences split into tokens) against
   hierarchical Owen values (shap's ``PartitionExplainer`` on ``shap.maskers.Text``) and
   sentences alone, at equal model evaluations. Faithfulness per model call: the area
   under the deletion curve (tokens removed most important first, the predicted class's
   probability at 0, 5, ..., 100% removed; lower is better) and under the insertion
   curve (higher is better).

One command, from the repository root (peers in a separate venv, never dependencies)::

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install -q -e '.[all]' shap lime threadpoolctl
    /tmp/bench/bin/python benchmarks/text.py [--alibi-venv /work/venv-text-alibi]

``--sections lime shapley`` reruns those sections and keeps the others from
``results/text.json``.

Writes ``benchmarks/results/text.json`` and ``text.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from itertools import combinations
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from _common import ensure_alibi_venv, markdown_table, write_results
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

import blackbox_xai as bx
from blackbox_xai.datasets import load_reviews
from blackbox_xai.explainers.shapley.exact import shapley_from_all_coalitions
from blackbox_xai.maskers import Text
from blackbox_xai.maskers.text import refine_groups
from blackbox_xai.sampling import all_coalitions

HERE = Path(__file__).resolve().parent
#: Seeds per LIME document (lime and ours alike) and, the first SHAPLEY_SEEDS, per Shapley
#: document: 10 x 39 documents, since 5 x 20 left the top-5 agreement (ties of the 5th and
#: 6th words) within noise of lime's.
SEEDS = tuple(range(10))
SHAPLEY_SEEDS = 5
SECTIONS = ("lime", "shapley", "long", "anchors")
OUR_LIME_BUDGETS = (300, 500, 1000, 2000, 5000)
THRESHOLD = 0.95
#: Word tokens of any document (deletion curves of long documents): no player limit.
TOKENS = Text(max_players=10**6)


class Counted:
    """The pipeline's ``predict_proba`` on a list of documents, counting calls and rows."""

    def __init__(self, pipe: Any) -> None:
        self.pipe, self.calls, self.rows = pipe, 0, 0

    def __call__(self, docs: Any) -> np.ndarray:
        self.calls += 1
        self.rows += len(docs)
        return self.pipe.predict_proba(list(docs))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def mean_pairwise(tops: list[set[str]]) -> float:
    return float(np.mean([jaccard(a, b) for a, b in combinations(tops, 2)]))


# -- 1. LIME ----------------------------------------------------------------------------
def lime_section(pipe: Any, docs: list[str]) -> dict[str, Any]:
    from lime.lime_text import LimeTextExplainer

    times: dict[str, list[float]] = {"lime": []} | {f"ours_{b}": [] for b in OUR_LIME_BUDGETS}
    tops: dict[str, list[list[set[str]]]] = {k: [] for k in times}
    # Per document and seed: are our 5th and 6th words within 3 standard errors (a tie)?
    gaps: dict[str, list[bool]] = {k: [] for k in times}
    ties: dict[str, list[bool]] = {k: [] for k in times}
    for doc in docs:
        per: dict[str, list[set[str]]] = {k: [] for k in times}
        for seed in SEEDS:  # methods interleaved seed by seed
            explainer = LimeTextExplainer(class_names=["negative", "positive"], random_state=seed)
            start = time.process_time()
            exp = explainer.explain_instance(
                doc, pipe.predict_proba, labels=(1,), num_features=10, num_samples=5000
            )
            times["lime"].append(time.process_time() - start)
            per["lime"].append({w for w, _ in exp.as_list(label=1)[:5]})
            for budget in OUR_LIME_BUDGETS:
                start = time.process_time()
                ours = bx.Lime(pipe, Text(features="bag_of_words"), seed=seed).explain(
                    doc, n_samples=budget, target=1, n_holdout=0
                )
                times[f"ours_{budget}"].append(time.process_time() - start)
                ranked = ours.top_features(0, 0, 6)
                per[f"ours_{budget}"].append({w for w, _ in ranked[:5]})
                if len(ranked) == 6 and ours.stderr is not None:
                    names = ours.feature_names or []
                    se = max(ours.stderr[0, names.index(w), 0] for w, _ in ranked[4:6])
                    gaps[f"ours_{budget}"].append(abs(ranked[4][1]) - abs(ranked[5][1]) < 3 * se)
        for k in times:
            tops[k].append(per[k])
            if k != "lime":  # the last 5 entries are this document's seeds
                ties[k].append(bool(np.any(gaps[k][-len(SEEDS) :])))
    out: dict[str, Any] = {}
    for k in times:
        out[k] = {
            "seconds_per_document": float(np.mean(times[k])),
            "top5_agreement_across_seeds": float(np.mean([mean_pairwise(t) for t in tops[k]])),
            "top5_agreement_with_lime": float(
                np.mean(
                    [
                        np.mean([jaccard(a, b) for a, b in zip(t, lime_t, strict=True)])
                        for t, lime_t in zip(tops[k], tops["lime"], strict=True)
                    ]
                )
            ),
        }
        if k != "lime":
            unstable = [mean_pairwise(t) < 1 for t in tops[k]]
            out[k]["documents_with_changing_top5"] = int(sum(unstable))
            out[k]["of_which_5th_6th_within_3_se"] = int(
                sum(u and tie for u, tie in zip(unstable, ties[k], strict=True))
            )
        out[k]["time_ratio_to_lime"] = (
            out[k]["seconds_per_document"] / out["lime"]["seconds_per_document"]
            if "lime" in out
            else 1.0
        )
    return out


# -- 2. Shapley error at equal evaluations ----------------------------------------------
def shap_exact_values(f: Any, masker: Any, doc: str) -> np.ndarray:
    """Exact Shapley values of shap's own text game: every mask through its masker."""
    d = masker.shape(doc)[1]
    Z = all_coalitions(d)
    texts = [masker(z, doc)[0][0] for z in Z]
    v = f(texts)[None]
    return shapley_from_all_coalitions(v, d)[0]


def relative_error(estimate: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(estimate - exact) / max(np.linalg.norm(exact), 1e-12))


def shapley_section(pipe: Any, docs: list[str]) -> dict[str, Any]:
    import shap

    rows: list[dict[str, Any]] = []
    for doc in docs:
        our_exact = bx.ExactShapley(pipe, Text()).explain(doc).values[0, :, 1]
        masker = shap.maskers.Text(r"\W+")
        counted = Counted(pipe)
        shap_exact = shap_exact_values(counted, masker, doc)[:, 1]
        d = len(our_exact)
        for multiple in (2, 5, 10):
            max_evals = multiple * (2 * d + 1)
            for seed in SEEDS[:SHAPLEY_SEEDS]:
                counted.rows = 0
                est = shap.PermutationExplainer(counted, masker, seed=seed)(
                    np.array([doc]), max_evals=max_evals, silent=True
                )
                shap_rows = counted.rows
                kernel = bx.KernelShap(pipe, Text(), seed=seed).explain(
                    doc, n_evals=max(shap_rows, 2 * d + 2)
                )
                # A permutation costs d - 1 new rows (f(x) and f(empty) are shared).
                n_perm = max(4, 2 * ((shap_rows - 2) // (2 * max(d - 1, 1))))
                sampling = bx.SamplingShapley(pipe, Text(), seed=seed).explain(
                    doc, n_permutations=n_perm
                )
                rows.append(
                    {
                        "doc": doc,
                        "d": d,
                        "max_evals_multiple": multiple,
                        "seed": seed,
                        "shap_rows": shap_rows,
                        "kernel_rows": kernel.meta["n_model_rows"],
                        "sampling_rows": sampling.meta["n_model_rows"],
                        "shap_error": relative_error(est.values[0, :, 1], shap_exact),
                        "kernel_error": relative_error(kernel.values[0, :, 1], our_exact),
                        "sampling_error": relative_error(sampling.values[0, :, 1], our_exact),
                    }
                )
    summary = {}
    for multiple in (2, 5, 10):
        sub = [r for r in rows if r["max_evals_multiple"] == multiple]
        entry = {
            k: float(np.mean([r[k] for r in sub]))
            for k in (
                "shap_rows",
                "kernel_rows",
                "sampling_rows",
                "shap_error",
                "kernel_error",
                "sampling_error",
            )
        }
        entry["kernel_error_ratio"] = entry["kernel_error"] / entry["shap_error"]
        entry["sampling_error_ratio"] = entry["sampling_error"] / entry["shap_error"]
        summary[str(multiple)] = entry
    return {"summary": summary, "rows": rows}


# -- 3. Anchors -------------------------------------------------------------------------
def anchors_section(pipe: Any, docs: list[str], venv: Path) -> dict[str, Any]:
    masker = Text(tokenizer="treebank", mode="mask")
    model = bx.wrap(pipe)
    explainer = bx.Anchors(model, masker, threshold=THRESHOLD, seed=0)
    ours = []
    for i, doc in enumerate(docs):
        model.reset_counts()
        start = time.process_time()
        a = explainer.explain(doc)
        seconds = time.process_time() - start
        fresh = explainer.score_anchor(doc, a.features, n_samples=1000, seed=1000 + i)
        ours.append(
            {
                "seconds": seconds,
                "model_calls": model.n_calls,
                "model_rows": model.n_rows,
                "rule": a.rule,
                "precision": a.precision,
                "coverage": a.coverage,
                "success": a.success,
                "fresh_precision": fresh.precision,
            }
        )
    model.reset_counts()
    start = time.process_time()
    batched = explainer.explain_many(docs)
    batched_run = {
        "seconds_per_document": (time.process_time() - start) / len(docs),
        "model_calls_per_document": model.n_calls / len(docs),
        "model_rows_per_document": model.n_rows / len(docs),
        "same_anchors_as_one_by_one": float(
            np.mean([b.rule == o["rule"] for b, o in zip(batched, ours, strict=True)])
        ),
    }
    python = ensure_alibi_venv(venv, extra=["threadpoolctl"])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        joblib.dump(pipe, workdir / "model.joblib")
        (workdir / "docs.json").write_text(json.dumps(docs))
        subprocess.run([str(python), str(HERE / "_text_alibi_worker.py"), tmp], check=True)
        alibi = json.loads((workdir / "alibi.json").read_text())
    for i, (doc, row) in enumerate(zip(docs, alibi, strict=True)):
        try:
            fresh = explainer.score_anchor(doc, row["rule"], n_samples=1000, seed=1000 + i)
            row["fresh_precision"] = fresh.precision
        except ValueError:  # a word alibi's spaCy tokens have and treebank's do not
            row["fresh_precision"] = float("nan")

    def summary(rows: list[dict[str, Any]]) -> dict[str, float]:
        fresh = np.array([r["fresh_precision"] for r in rows], dtype=float)
        return {
            "median_seconds": float(np.median([r["seconds"] for r in rows])),
            "mean_seconds": float(np.mean([r["seconds"] for r in rows])),
            "median_model_calls": float(np.median([r["model_calls"] for r in rows])),
            "median_model_rows": float(np.median([r["model_rows"] for r in rows])),
            "share_fresh_precision_ge_threshold": float(np.mean(fresh >= THRESHOLD)),
            "mean_fresh_precision": float(np.nanmean(fresh)),
            "scored_documents": int(np.isfinite(fresh).sum()),
            "mean_reported_precision": float(np.mean([r["precision"] for r in rows])),
            "mean_anchor_length": float(np.mean([len(r["rule"]) for r in rows])),
        }

    s_ours, s_alibi = summary(ours), summary(alibi)
    ratio = {
        k: s_ours[k] / s_alibi[k]
        for k in ("median_seconds", "mean_seconds", "median_model_calls", "median_model_rows")
    }
    ratio["batched_seconds"] = batched_run["seconds_per_document"] / s_alibi["mean_seconds"]
    ratio["batched_model_calls"] = (
        batched_run["model_calls_per_document"] / s_alibi["median_model_calls"]
    )
    return {
        "ours": s_ours,
        "alibi": s_alibi,
        "batched": batched_run,
        "ratio_ours_over_alibi": ratio,
        "rows": {"ours": ours, "alibi": alibi},
    }


# -- 4. Long documents: groups then refine vs Owen values -------------------------------
def curve_areas(pipe: Any, doc: str, token_values: np.ndarray, cls: int) -> tuple[float, float]:
    """Deletion and insertion areas of the predicted class's probability."""
    bound = TOKENS.for_instance(doc)
    order = np.argsort(-token_values, kind="stable")
    T = len(order)
    steps = np.round(np.linspace(0, 1, 21) * T).astype(int)
    delete = np.ones((len(steps), T), bool)
    insert = np.zeros((len(steps), T), bool)
    for i, s in enumerate(steps):
        delete[i, order[:s]] = False
        insert[i, order[:s]] = True
    p = pipe.predict_proba(bound.texts(np.concatenate([delete, insert])))[:, cls]
    return float(p[: len(steps)].mean()), float(p[len(steps) :].mean())


def spread(expl: bx.Explanation, cls: int) -> np.ndarray:
    """Token values from a (grouped) explanation: a player's value shared by its tokens."""
    players = np.asarray(expl.meta["token_players"][0])
    values = expl.values[0, : players.max() + 1, cls]
    sizes = np.bincount(players)
    return values[players] / sizes[players]


def long_section(pipe: Any, docs: list[str], budgets: tuple[int, ...]) -> dict[str, Any]:
    import shap

    rows = []
    for doc in docs:
        cls = int(np.argmax(pipe.predict_proba([doc])[0]))
        n_tokens = len(TOKENS.for_instance(doc).tokens)
        for budget in budgets:
            result: dict[str, Any] = {"budget": budget, "tokens": n_tokens}
            coarse = bx.KernelShap(pipe, Text(groups="sentences"), seed=0).explain(
                doc, n_evals=budget // 2
            )
            sizes = np.bincount(coarse.meta["token_players"][0])
            fine_budget = budget - coarse.meta["n_model_rows"]
            order = np.argsort(-np.abs(coarse.values[0, : len(sizes), cls]))
            # Split as many top sentences as leave >= 4 evaluations per player of the fine
            # step (near the minimum of 2 per player KernelShap is noisy); at least one.
            top = 1
            while top < len(order) and (
                len(sizes) + sizes[order[: top + 1]].sum() - (top + 1) <= fine_budget / 4
            ):
                top += 1
            fine = bx.KernelShap(
                pipe,
                Text(groups=refine_groups(coarse, top=top, output=cls), max_players=5000),
                seed=0,
            ).explain(doc, n_evals=fine_budget)
            result["refine_rows"] = coarse.meta["n_model_rows"] + fine.meta["n_model_rows"]
            result["refine_split_groups"] = int(top)
            result["refine"] = curve_areas(pipe, doc, spread(fine, cls), cls)
            sentences = bx.KernelShap(pipe, Text(groups="sentences"), seed=0).explain(
                doc, n_evals=budget
            )
            result["sentences_rows"] = sentences.meta["n_model_rows"]
            result["sentences"] = curve_areas(pipe, doc, spread(sentences, cls), cls)
            counted = Counted(pipe)
            owen = shap.PartitionExplainer(counted, shap.maskers.Text(r"\W+"))(
                np.array([doc]), max_evals=budget, silent=True
            )
            values = owen.values[0][:, cls]
            assert len(values) == n_tokens, "shap's tokens are not ours"
            result["owen_rows"] = counted.rows
            result["owen"] = curve_areas(pipe, doc, values, cls)
            result["random"] = curve_areas(
                pipe, doc, np.random.default_rng(0).random(n_tokens), cls
            )
            rows.append(result)
    summary = {}
    for budget in budgets:
        sub = [r for r in rows if r["budget"] == budget]
        summary[str(budget)] = {
            f"{m}_{kind}": float(np.mean([r[m][i] for r in sub]))
            for m in ("refine", "owen", "sentences", "random")
            for i, kind in enumerate(("deletion", "insertion"))
        } | {
            f"{m}_rows": float(np.mean([r[f"{m}_rows"] for r in sub]))
            for m in ("refine", "owen", "sentences")
        }
    return {"summary": summary, "rows": rows}


# -- report -----------------------------------------------------------------------------
def tables(result: dict[str, Any]) -> str:
    lime_res = result["lime"]
    lime_rows = [
        [
            k.replace("ours_", "bx.Lime, n_samples="),
            v["seconds_per_document"],
            v["time_ratio_to_lime"],
            v["top5_agreement_across_seeds"],
            v["top5_agreement_with_lime"],
            v.get("documents_with_changing_top5", ""),
            v.get("of_which_5th_6th_within_3_se", ""),
        ]
        for k, v in lime_res.items()
    ]
    lime_table = markdown_table(
        ["method", "CPU s / document", "time / lime's", "top-5 agreement across seeds",
         "top-5 agreement with lime", "documents whose top 5 changes with the seed",
         "of which 5th and 6th words within 3 SE"],
        lime_rows,
    )  # fmt: skip
    sh = result["shapley"]["summary"]
    shap_table = markdown_table(
        ["max_evals / (2d+1)", "shap rows", "shap error", "KernelShap rows", "KernelShap error",
         "ratio", "SamplingShapley rows", "SamplingShapley error", "ratio"],
        [[m, e["shap_rows"], e["shap_error"], e["kernel_rows"], e["kernel_error"],
          e["kernel_error_ratio"], e["sampling_rows"], e["sampling_error"],
          e["sampling_error_ratio"]] for m, e in sh.items()],
    )  # fmt: skip
    an = result["anchors"]
    keys = [
        ("median CPU s / document", "median_seconds"),
        ("mean CPU s / document", "mean_seconds"),
        ("median model calls / document", "median_model_calls"),
        ("median model rows / document", "median_model_rows"),
        ("share of documents, fresh precision >= 0.95", "share_fresh_precision_ge_threshold"),
        ("mean fresh precision", "mean_fresh_precision"),
        ("documents scored", "scored_documents"),
        ("mean reported precision", "mean_reported_precision"),
        ("mean anchor length (words)", "mean_anchor_length"),
    ]
    anchor_table = markdown_table(
        ["metric", "ours", "alibi", "ours / alibi"],
        [
            [label, an["ours"][k], an["alibi"][k], an["ratio_ours_over_alibi"].get(k, "")]
            for label, k in keys
        ],
    )
    b = an["batched"]
    batched_line = (
        f"All {result['setup']['anchor_documents']} documents in one `explain_many` call "
        f"(their bandit rounds share model calls): {b['seconds_per_document']:.4g} CPU s and "
        f"{b['model_calls_per_document']:.3g} model calls ({b['model_rows_per_document']:.4g} "
        f"rows) per document, {b['seconds_per_document'] / an['alibi']['mean_seconds']:.3g}x "
        f"alibi's mean time and {b['model_calls_per_document'] / an['alibi']['median_model_calls']:.3g}x "
        f"its median calls; the same anchors as one by one for "
        f"{b['same_anchors_as_one_by_one']:.0%} of documents (each document draws from its "
        "own seed either way)."
    )
    lg = result["long"]["summary"]
    long_table = markdown_table(
        ["budget", "refine rows", "refine deletion", "refine insertion", "Owen (shap) rows",
         "Owen deletion", "Owen insertion", "sentences deletion", "sentences insertion",
         "random deletion", "random insertion"],
        [[b, e["refine_rows"], e["refine_deletion"], e["refine_insertion"], e["owen_rows"],
          e["owen_deletion"], e["owen_insertion"], e["sentences_deletion"],
          e["sentences_insertion"], e["random_deletion"], e["random_insertion"]]
         for b, e in lg.items()],
    )  # fmt: skip
    goals = markdown_table(
        ["issue-13 target", "measured", "met"],
        [[name, t["value"], "yes" if t["met"] else "**no**"] for name, t in result["targets"].items()],
    )  # fmt: skip
    setup = result["setup"]
    return "\n\n".join(
        [
            f"TF-IDF + logistic regression (C=10) on {setup['train']} review sentences "
            f"(held-out accuracy {setup['accuracy']:.2f}); documents from the other "
            f"{setup['test']}. CPU time, one thread. Versions: {setup['versions']}. "
            "`python benchmarks/text.py`.",
            "## Targets",
            goals,
            f"## 1. LIME ({setup['lime_documents']} documents of three reviews, "
            f"{len(SEEDS)} seeds; lime at 5000 samples)",
            lime_table,
            f"## 2. Shapley error against exact values (documents of <= 14 tokens, "
            f"{setup['shapley_documents']} documents x {SHAPLEY_SEEDS} seeds; relative L2 error of the "
            "positive class's values, each method against its own game's exact values)",
            shap_table,
            f"## 3. Anchors ({setup['anchor_documents']} reviews, threshold 0.95; fresh "
            "precision on 1000 new perturbations of our sampler, which draws alibi's "
            "'unknown' perturbations)",
            anchor_table,
            batched_line,
            f"## 4. Long documents ({setup['long_documents']} documents of about "
            f"{setup['long_tokens']} tokens): faithfulness per model call",
            "Deletion: mean probability of the predicted class as tokens are removed most "
            "important first (lower is better); insertion: as they are inserted into the "
            "empty document (higher is better).",
            long_table,
            result["long_reading"],
        ]
    )


def targets(result: dict[str, Any]) -> dict[str, Any]:
    lime_res = result["lime"]
    own = lime_res["lime"]["top5_agreement_across_seeds"]
    fitting = [
        (k, v)
        for k, v in lime_res.items()
        if k != "lime"
        and v["time_ratio_to_lime"] <= 0.25
        and v["top5_agreement_across_seeds"] >= own
    ]
    best = min(
        lime_res.items(), key=lambda kv: kv[1]["time_ratio_to_lime"] if kv[0] != "lime" else 9
    )
    sh = result["shapley"]["summary"]
    kernel_worst = max(e["kernel_error_ratio"] for e in sh.values())
    an = result["anchors"]
    checks = [
        ("LIME: time <= 0.25x lime's at agreement >= lime's own ("
         + (fitting[0][0] if fitting else best[0]) + ")",
         (fitting[0][1] if fitting else best[1])["time_ratio_to_lime"], bool(fitting)),
        ("Shapley error <= 0.5x shap's at equal evaluations (KernelShap, worst budget)",
         kernel_worst, kernel_worst <= 0.5),
        ("Anchors: median time <= 0.2x alibi's, one document per call",
         an["ratio_ours_over_alibi"]["median_seconds"],
         an["ratio_ours_over_alibi"]["median_seconds"] <= 0.2),
        ("Anchors: median model calls <= 0.2x alibi's, one document per call",
         an["ratio_ours_over_alibi"]["median_model_calls"],
         an["ratio_ours_over_alibi"]["median_model_calls"] <= 0.2),
        ("Anchors: time per document <= 0.2x alibi's (mean), explain_many",
         an["ratio_ours_over_alibi"]["batched_seconds"],
         an["ratio_ours_over_alibi"]["batched_seconds"] <= 0.2),
        ("Anchors: model calls per document <= 0.2x alibi's (median), explain_many",
         an["ratio_ours_over_alibi"]["batched_model_calls"],
         an["ratio_ours_over_alibi"]["batched_model_calls"] <= 0.2),
        ("Anchors: fresh precision >= 0.95 for >= 95% of documents",
         an["ours"]["share_fresh_precision_ge_threshold"],
         an["ours"]["share_fresh_precision_ge_threshold"] >= 0.95),
    ]  # fmt: skip
    return {name: {"value": float(value), "met": bool(met)} for name, value, met in checks}


def long_reading(long: dict[str, Any]) -> str:
    """Which method is the most faithful per model call, in words, from this run."""
    names = {
        "refine": "groups then refine",
        "owen": "shap's Owen values",
        "sentences": "sentences alone",
    }
    lines = []
    for budget, e in long["summary"].items():
        best_del = min(names, key=lambda m: e[f"{m}_deletion"])
        best_ins = max(names, key=lambda m: e[f"{m}_insertion"])
        lines.append(
            f"at {budget} evaluations the lowest deletion area is {names[best_del]}'s and the "
            f"highest insertion area {names[best_ins]}'s"
        )
    refine_vs_owen = sum(
        e["refine_deletion"] < e["owen_deletion"] and e["refine_insertion"] > e["owen_insertion"]
        for e in long["summary"].values()
    )
    return (
        "Faithfulness per model call: " + "; ".join(lines) + ". Groups then refine beats "
        f"shap's Owen values on both curves at {refine_vs_owen} of {len(long['summary'])} "
        "budgets."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alibi-venv", type=Path, default=Path("/work/venv-text-alibi"))
    parser.add_argument("--quick", action="store_true", help="fewer documents (development)")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="sections to run; the others are kept from results/text.json",
    )
    args = parser.parse_args()
    texts, y = load_reviews(return_X_y=True)
    train, test, y_train, y_test = train_test_split(
        texts, y, test_size=0.3, random_state=0, stratify=y
    )
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(train, y_train)
    n = 4 if args.quick else 1
    lime_docs = [" ".join(test[i : i + 3]) for i in range(0, 117 // n, 3)]
    short = [t for t in test if len(re.findall(r"\w+", t)) <= 14][: 20 // n]
    anchor_docs = test[: 30 // n]
    rng = np.random.default_rng(0)
    long_docs = [" ".join(rng.choice(test, size=260)) for _ in range(3 // min(n, 3))]
    versions = {p: metadata.version(p) for p in ("lime", "shap", "scikit-learn", "numpy")}
    result: dict[str, Any] = {}
    if set(args.sections) != set(SECTIONS):  # keep the sections not run
        result = json.loads((HERE / "results" / "text.json").read_text())
        result.pop("machine", None)
    setup = {
        "train": len(train),
        "test": len(test),
        "accuracy": float(pipe.score(test, y_test)),
        "lime_documents": len(lime_docs),
        "shapley_documents": len(short),
        "anchor_documents": len(anchor_docs),
        "long_documents": len(long_docs),
        "long_tokens": int(np.mean([len(re.findall(r"\w+", d)) for d in long_docs])),
    }
    # Setup entries of a section not run stay those of the run that made its numbers.
    kept = result.get("setup", {})
    own = {"anchors": ("anchor_documents",), "long": ("long_documents", "long_tokens")}
    for section, keys in own.items():
        if section not in args.sections:
            setup |= {k: kept[k] for k in keys}
    setup["versions"] = kept.get("versions", {}) | versions
    result["setup"] = setup
    t0 = time.time()
    with threadpool_limits(1):
        if "lime" in args.sections:
            result["lime"] = lime_section(pipe, lime_docs)
            print(f"lime done ({time.time() - t0:.0f} s)", flush=True)
        if "shapley" in args.sections:
            result["shapley"] = shapley_section(pipe, short)
            print(f"shapley done ({time.time() - t0:.0f} s)", flush=True)
        if "long" in args.sections:
            result["long"] = long_section(pipe, long_docs, (1200, 2400, 4800))
            print(f"long documents done ({time.time() - t0:.0f} s)", flush=True)
    if "anchors" in args.sections:
        result["anchors"] = anchors_section(pipe, anchor_docs, args.alibi_venv)
        result["setup"]["versions"]["alibi"] = "own venv: " + str(args.alibi_venv)
    result["targets"] = targets(result)
    result["long_reading"] = long_reading(result["long"])
    text = tables(result)
    write_results("text", result, text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())

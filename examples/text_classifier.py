"""Explain a text classifier: which words push a review towards "positive".

A TF-IDF + logistic regression pipeline on the review sentences bundled with the
package; Kernel SHAP over words, LIME on a bag of words, and an anchor (the words that
must stay for the prediction to hold). Run ``python examples/text_classifier.py``.
"""

from __future__ import annotations

import argparse

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import blackbox_xai as bx
from blackbox_xai.datasets import load_reviews
from blackbox_xai.report import html_page


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer evaluations")
    parser.add_argument("--out", default="text_classifier.html")
    args = parser.parse_args(argv)
    n_evals = 200 if args.small else 1000

    texts, y = load_reviews(return_X_y=True)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(texts, y)
    docs = [
        "Great food, but the service was slow and rude.",
        "The plot was thin, yet the acting carried the film.",
    ]
    words = bx.KernelShap(pipe, bx.maskers.Text(), seed=0).explain(docs, n_evals=n_evals)
    lime = bx.Lime(pipe, bx.maskers.Text(features="bag_of_words"), seed=0).explain(
        docs, target=1, n_samples=n_evals
    )
    anchor = bx.Anchors(pipe, bx.maskers.Text(mode="mask"), seed=0).explain(docs[0])
    for row, doc in enumerate(docs):
        print(doc)
        print("  Kernel SHAP, P(positive):", words.top_features(row, output="1", n=3))
        print("  LIME, P(positive):       ", lime.top_features(row, n=3))
    print(anchor)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(
            html_page(
                "Review sentiment: words that matter",
                [words.to_html(output="1"), lime.to_html(), anchor.to_html()],
            )
        )
    print(f"wrote {args.out}")
    return {"words": words, "lime": lime, "anchor": anchor}


if __name__ == "__main__":
    main()

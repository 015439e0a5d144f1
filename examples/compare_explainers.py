"""Which explainer should I trust on this model? One table and one figure.

A gradient-boosting classifier on scikit-learn's breast-cancer data is explained by
Kernel SHAP, sampling Shapley values and LIME; ``bx.compare`` scores each explanation
with the faithfulness metrics (deletion and insertion AUC, faithfulness correlation,
infidelity, completeness), times it and counts its model evaluations. A random
"explanation" is the floor every real one should beat.

Run::

    python examples/compare_explainers.py [--rows 20] [--evals 512] [--out compare.png]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

import blackbox_xai as bx


class RandomRanking:
    """An "explainer" that ignores the model: the baseline of the table."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def explain(self, X: np.ndarray) -> bx.Explanation:
        rng = np.random.default_rng(self.seed)
        values = rng.standard_normal((len(X), X.shape[1], 2))
        return bx.Explanation(values, np.zeros((len(X), 2)), method="random")


def main(argv: list[str] | None = None) -> bx.metrics.Comparison:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20, help="test rows explained")
    parser.add_argument("--evals", type=int, default=512, help="model evaluations per row")
    parser.add_argument("--background", type=int, default=20, help="background rows")
    parser.add_argument("--out", default="compare_explainers.png", help="figure path")
    args = parser.parse_args(argv)

    data = load_breast_cancer()
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0
    )
    model = bx.wrap(HistGradientBoostingClassifier(random_state=0).fit(X_train, y_train))
    masker = bx.Tabular(
        X_train,
        feature_names=list(data.feature_names),
        summarize="kmeans",
        n_summary=args.background,
    )
    rows = X_test[: args.rows]
    explainers = {
        "Kernel SHAP": bx.KernelShap(model, masker, seed=0),
        "sampling Shapley": bx.SamplingShapley(model, masker, seed=0),
        "LIME": bx.Lime(model, X_train, seed=0),
        "random": RandomRanking(),
    }
    budget = {
        "Kernel SHAP": {"n_evals": args.evals},
        "sampling Shapley": {"n_permutations": 2 * max(2, args.evals // (4 * X_test.shape[1]))},
        "LIME": {"n_samples": args.evals},
    }
    comparison = bx.compare(explainers, model, rows, masker=masker, explain_kwargs=budget)
    print(comparison)
    print("best by metric:", comparison.best())
    figure = comparison.plot()
    figure.savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")
    return comparison


if __name__ == "__main__":
    main()

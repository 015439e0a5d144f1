"""TCAV of blackbox_xai (ONNX Runtime) vs captum.concept.TCAV (torch), same models and sets.

Two models, each as an ONNX graph for blackbox_xai and as its torch twin for captum (the
same weights, copied from the ONNX initialisers into the torch module that has the
graph's architecture; the benchmark checks that the twins' logits agree):

* ``digits CNN``: the GAP CNN of the gradient fixtures (conv-ReLU-maxpool-conv-ReLU, mean,
  linear; trained on scikit-learn's 8x8 digits), layer = the second ReLU ``(12, 4, 4)``,
  class 7; concepts "sevens" and "zeros" (50 digits each, apart from the 100 sevens
  explained), 10 random sets of 50 digits of any class.
* ``planted MLP``: the tests' MLP whose class-1 logit rises along a planted direction
  of its hidden layer; concept inputs are moved along that direction, a "random"
  concept is not; 10 random sets of 30.

Both sides train a CAV per (concept, random set) and per (random i, random i+1) with the
same classifier (scikit-learn's SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3),
captum's default; captum trains on a random 67% split, blackbox_xai on all examples), and
count the share of explained inputs whose class gradient at the layer has a positive
dot product with the CAV. Scores agree when the means differ by at most the larger
standard deviation over random sets. blackbox_xai's default classifier (logistic
regression) is shown too. Time: median wall time of a fresh explainer computing all
CAVs and scores (3 repeats, interleaved), one thread each side (``torch.set_num_threads``,
ONNX Runtime ``intra_op_num_threads=1``, threadpoolctl for BLAS); captum writes its
activations and CAVs to a fresh temporary directory each repeat, as it always does.

Run (torch and captum are benchmark-only peers; onnx2torch needs a torchvision that
matches torch's build, which is why the twins are built by hand)::

    python3 -m venv /work/venvs/concepts
    /work/venvs/concepts/bin/pip install torch==2.13.0 numpy scipy scikit-learn onnx onnxruntime threadpoolctl
    /work/venvs/concepts/bin/pip install --no-deps captum
    PYTHONPATH=. /work/venvs/concepts/bin/python benchmarks/concepts.py
"""

from __future__ import annotations

# torch is imported before scipy/sklearn, or the interpreter may crash at exit
import torch

# isort: split
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from _common import markdown_table, write_results
from _torch_twins import gap_cnn_twin
from captum.concept import TCAV, Concept
from onnx import numpy_helper
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits
from torch import nn

import blackbox_xai as bx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "explainers" / "concepts"))
from planted import planted_mlp  # noqa: E402

CNN_PATH = ROOT / "tests" / "explainers" / "gradients" / "fixtures" / "gap_cnn.onnx"
N_RANDOM = 10
REPEATS = 3


class PlantedMLP(nn.Module):
    """``relu(x W1 + b1) W2 + 0.1 tanh(relu(.) A) B``: the tests' planted model."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc1.weight.data = torch.tensor(weights["w1"].T.copy())
        self.fc1.bias.data = torch.tensor(weights["b1"])
        self.relu = nn.ReLU()
        self.w2 = torch.tensor(weights["w2"])
        self.a, self.b = torch.tensor(weights["a"]), torch.tensor(weights["b"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.fc1(x))
        return h @ self.w2 + 0.1 * (torch.tanh(h @ self.a) @ self.b)


def _weights(proto: Any) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i).copy() for i in proto.graph.initializer}


def _cases() -> list[dict[str, Any]]:
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target
    rng = np.random.default_rng(0)
    sevens = rng.permutation(np.flatnonzero(labels == 7))
    zeros = rng.permutation(np.flatnonzero(labels == 0))
    pool = rng.permutation(len(images))
    cnn_proto = onnx.load(CNN_PATH)
    cnn = {
        "name": "digits CNN",
        "onnx": bx.DifferentiableOnnxModel(CNN_PATH, output="logits"),
        "torch": gap_cnn_twin(cnn_proto),
        "layer": "/features/features.4/Relu_output_0",
        "torch_layer": "features.4",
        "target": 7,
        "inputs": images[sevens[:100]],
        "concepts": {"sevens": images[sevens[100:150]], "zeros": images[zeros[:50]]},
        "randoms": [images[pool[i * 50 : (i + 1) * 50]] for i in range(N_RANDOM)],
    }
    proto, _, u = planted_mlp()
    draw = np.random.default_rng(5)

    def sample(n: int) -> np.ndarray:
        return (draw.standard_normal((n, 8)) * 0.3).astype(np.float32)

    mlp = {
        "name": "planted MLP",
        "onnx": bx.DifferentiableOnnxModel(proto, output="logits"),
        "torch": PlantedMLP(_weights(proto)).eval(),
        "layer": "hidden",
        "torch_layer": "relu",
        "target": 1,
        "inputs": sample(40),
        "concepts": {
            "planted": (sample(30) + 2.5 * u).astype(np.float32),
            "random": sample(30),
        },
        "randoms": [sample(30) for _ in range(N_RANDOM)],
    }
    return [cnn, mlp]


def _ours(case: dict[str, Any], classifier: Any) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    tcav = bx.Tcav(case["onnx"], case["layer"], classifier=classifier, seed=0)
    result = tcav.score(case["inputs"], case["target"], case["concepts"], case["randoms"])
    return result.scores, time.perf_counter() - start


def _captum(case: dict[str, Any]) -> tuple[np.ndarray, float]:
    torch.manual_seed(0)

    def concept(i: int, name: str, data: np.ndarray) -> Concept:
        loader = torch.utils.data.DataLoader(torch.tensor(data), batch_size=256)
        return Concept(i, name, loader)

    names = list(case["concepts"])
    concepts = [concept(i, n, case["concepts"][n]) for i, n in enumerate(names)]
    randoms = [concept(len(names) + i, f"random{i}", r) for i, r in enumerate(case["randoms"])]
    sets = [[c, r] for c in concepts for r in randoms]
    with tempfile.TemporaryDirectory() as path:
        start = time.perf_counter()
        tcav = TCAV(case["torch"], [case["torch_layer"]], save_path=path + "/")
        out = tcav.interpret(torch.tensor(case["inputs"]), sets, target=case["target"])
        seconds = time.perf_counter() - start
    layer = case["torch_layer"]
    scores = np.array(
        [float(out[f"{c.id}-{r.id}"][layer]["sign_count"][0]) for c in concepts for r in randoms]
    ).reshape(len(concepts), len(randoms))
    return scores, seconds


def main() -> None:
    torch.set_num_threads(1)
    sgd = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)
    rows, payload = [], {"cases": []}
    with threadpool_limits(1):
        for case in _cases():
            with torch.no_grad():
                twin = case["torch"](torch.tensor(case["inputs"])).numpy()
            gap = float(np.abs(twin - case["onnx"](case["inputs"])).max())
            times: dict[str, list[float]] = {"ours": [], "ours_lr": [], "captum": []}
            for _ in range(REPEATS):
                ours, t = _ours(case, sgd)
                times["ours"].append(t)
                ours_lr, t = _ours(case, "linear")
                times["ours_lr"].append(t)
                theirs, t = _captum(case)
                times["captum"].append(t)
            med = {k: statistics.median(v) for k, v in times.items()}
            for i, name in enumerate(case["concepts"]):
                spread = max(ours[i].std(ddof=1), theirs[i].std(ddof=1))
                diff = abs(ours[i].mean() - theirs[i].mean())
                rows.append(
                    [
                        case["name"],
                        name,
                        f"{ours[i].mean():.3f} ± {ours[i].std(ddof=1):.3f}",
                        f"{ours_lr[i].mean():.3f} ± {ours_lr[i].std(ddof=1):.3f}",
                        f"{theirs[i].mean():.3f} ± {theirs[i].std(ddof=1):.3f}",
                        "yes" if diff <= spread or diff == 0 else "no",
                        med["ours"],
                        med["ours_lr"],
                        med["captum"],
                        med["ours"] / med["captum"],
                        med["ours_lr"] / med["captum"],
                    ]
                )
            payload["cases"].append(
                {
                    "name": case["name"],
                    "twin_max_abs_logit_gap": gap,
                    "scores_ours_sgd": ours.tolist(),
                    "scores_ours_logistic": ours_lr.tolist(),
                    "scores_captum": theirs.tolist(),
                    "seconds": times,
                }
            )
            print(case["name"], "twin gap", gap, med, flush=True)
    headers = [
        "model",
        "concept",
        "ours (SGD)",
        "ours (logistic)",
        "captum",
        "within spread",
        "ours s (SGD)",
        "ours s (logistic)",
        "captum s",
        "ratio (SGD)",
        "ratio (logistic)",
    ]
    table = markdown_table(headers, rows)
    gaps = ", ".join(f"{c['name']} {c['twin_max_abs_logit_gap']:.1e}" for c in payload["cases"])
    note = (
        f"Sign-count TCAV scores, mean ± std over {N_RANDOM} random sets; times for all "
        f"{N_RANDOM} x concepts CAVs, the null CAVs (ours only) and the scores, median of "
        f"{REPEATS}, one thread. Max |logit gap| of the torch twins: {gaps}."
    )
    print(table)
    write_results("concepts", payload, f"{note}\n\n{table}")


if __name__ == "__main__":
    main()

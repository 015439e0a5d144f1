"""Image explanation vs lime_image and captum, same model, images and segmentation.

The model is a small CNN on 128 x 128 RGB images (three stride-2 3x3 convolutions with
ReLU, a global average, a linear layer to 10 classes, softmax), He-normal random
weights, built as ONNX; captum runs its torch twin (the same weights copied into
torch layers; checked to give the same probabilities). The images are
scikit-image's astronaut, chelsea and coffee resized to 128 x 128 (float in [0, 1]);
each is explained for the class the model predicts. One quickshift segmentation per
image (SLIC, ``n_segments=60``, 38-46 segments; lime_image's default quickshift
parameters give 12-17 segments on these images) is given to both LIME implementations.

* LIME, 1000 samples, superpixels hidden by their mean colour (lime's ``hide_color=None``):
  ``bx.Lime`` (no held-out samples, so 1000 model rows as lime) vs
  ``lime.lime_image.LimeImageExplainer().explain_instance`` (its default batch of 10
  images per model call). Time per image, and top-5 superpixel agreement across seeds:
  the mean overlap ``|A & B| / 5`` of the top-5 sets of every pair of seeds. Both sides
  evaluate the same 1000 images with the same model, so the time inside ONNX Runtime is
  counted apart as well, and the time outside it compared: the model's own time over
  lime_image's total is the least ratio any implementation can reach at 1000 model
  evaluations. The same comparison on a model of small cost of its own (softmax of a
  linear function of the pixels) measures the explainers alone.
* Occlusion, 16 x 16 windows every 8 pixels, black fill: ``bx.Occlusion`` vs captum's
  ``Occlusion`` (baseline 0, its default ``perturbations_per_eval=1``, and 64). Time per
  image and agreement ``max |ours - captum| / max |captum|``.
* RISE (4000 masks, 7 x 7 grid cells of 19 px, p = 0.5, black fill): time per image and
  deletion AUC (pixels set to 0 in order of decreasing saliency, 32 steps, the mean
  predicted-class probability along the curve; lower is better) against occlusion's map
  and 8 random orders (their mean and standard deviation: on this random-weight CNN,
  whose top class has probability 0.2-0.25, differences within it are noise).

Times are CPU seconds (``time.process_time``) with one thread everywhere (ONNX Runtime
``intra_op_num_threads=1``, ``torch.set_num_threads(1)``, BLAS threads 1).

Run (torch, captum and lime are benchmark-only peers)::

    python3 -m venv /work/venvs/images
    /work/venvs/images/bin/pip install numpy scipy scikit-learn scikit-image matplotlib \\
        onnx onnxruntime joblib tqdm torch==2.13.0
    /work/venvs/images/bin/pip install --no-deps captum lime
    OMP_NUM_THREADS=1 PYTHONPATH=. /work/venvs/images/bin/python benchmarks/images.py
"""

from __future__ import annotations

# torch is imported before scipy/sklearn, or the interpreter may crash at exit
import torch

# isort: split
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import skimage.data
import skimage.segmentation
import skimage.transform
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TimedModel, markdown_table, write_results

import blackbox_xai as bx

SIZE = 128
IMAGES = ("astronaut", "chelsea", "coffee")
SEEDS = (0, 1, 2)
WINDOW, STRIDE = 16, 8


def cnn(seed: int = 0) -> onnx.ModelProto:
    """The benchmark CNN as ONNX (NCHW float32)."""
    rng = np.random.default_rng(seed)
    widths = [3, 16, 32, 32]
    nodes, inits, x = [], [], "x"
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        w = rng.normal(0, np.sqrt(2 / (9 * a)), size=(b, a, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        inits.append(numpy_helper.from_array(np.full(b, 0.05, np.float32), f"b{i}"))
        nodes.append(
            helper.make_node(
                "Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1], strides=[2, 2]
            )
        )
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
    head = rng.normal(0, 3 * np.sqrt(1 / widths[-1]), size=(10, widths[-1])).astype(np.float32)
    inits += [
        numpy_helper.from_array(head, "wh"),
        numpy_helper.from_array(np.zeros(10, np.float32), "bh"),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["g"]),
        helper.make_node("Flatten", ["g"], ["h"]),
        helper.make_node("Gemm", ["h", "wh", "bh"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["prob"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["n", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def linear_pixels(seed: int = 0) -> onnx.ModelProto:
    """Softmax of a linear function of the pixels (NCHW float32, 10 classes): a model
    whose own time is small, so the explainers' time is what the comparison measures."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1 / np.sqrt(3 * SIZE * SIZE), size=(3 * SIZE * SIZE, 10))
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["h"]),
            helper.make_node("MatMul", ["h", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["prob"], axis=1),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["n", 10])],
        [numpy_helper.from_array(w.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def torch_twin(proto: onnx.ModelProto) -> torch.nn.Module:
    """The CNN in torch with the ONNX model's weights (onnx2torch needs torchvision)."""
    weights = {
        i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in proto.graph.initializer
    }
    layers: list[torch.nn.Module] = []
    i = 0
    while f"w{i}" in weights:
        conv = torch.nn.Conv2d(weights[f"w{i}"].shape[1], weights[f"w{i}"].shape[0], 3, 2, 1)
        conv.weight.data, conv.bias.data = weights[f"w{i}"], weights[f"b{i}"]
        layers += [conv, torch.nn.ReLU()]
        i += 1
    head = torch.nn.Linear(weights["wh"].shape[1], weights["wh"].shape[0])
    head.weight.data, head.bias.data = weights["wh"], weights["bh"]
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), head, torch.nn.Softmax(dim=1)]
    return torch.nn.Sequential(*layers)


def cpu(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the CPU seconds it took."""
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def fixed(segments: np.ndarray):
    """A segmentation function returning the precomputed segments (both LIMEs)."""
    return lambda _image: segments


def overlap(tops: list[set[int]]) -> float:
    pairs = list(itertools.combinations(tops, 2))
    return float(np.mean([len(a & b) / 5 for a, b in pairs]))


def deletion_auc(
    model: bx.OnnxModel, image: np.ndarray, saliency: np.ndarray, target: int
) -> float:
    """Mean target probability as pixels are set to 0, most salient first (32 steps)."""
    order = np.argsort(-saliency.ravel(), kind="stable")
    steps = np.linspace(0, order.size, 33).astype(int)
    batch = np.repeat(image[None], len(steps), axis=0).reshape(len(steps), -1, 3)
    for i, k in enumerate(steps):
        batch[i, order[:k]] = 0.0
    batch = batch.reshape(len(steps), SIZE, SIZE, 3)
    probs = model(np.moveaxis(batch, -1, 1).astype(np.float32))[:, target]
    return float(np.mean((probs[1:] + probs[:-1]) / 2))


def compare_lime(
    model: bx.OnnxModel,
    timed: TimedModel,
    image: np.ndarray,
    segments: np.ndarray,
    target: int,
    seed: int,
) -> dict:
    """One seed of LIME at 1000 samples, ours and lime_image's: CPU seconds, seconds
    inside the model, top-5 superpixels."""
    from lime import lime_image

    def classifier_fn(batch: np.ndarray) -> np.ndarray:  # lime: (m, H, W, 3) float
        return model(np.moveaxis(batch, -1, 1).astype(np.float32))

    d = int(segments.max()) + 1
    masker = bx.maskers.Image(fixed(segments), fill="mean")
    timed.reset()
    e, ours = cpu(
        bx.Lime(model, masker, seed=seed).explain,
        image,
        n_samples=1000,
        target=target,
        n_holdout=0,
    )
    ours_model = timed.seconds
    timed.reset()
    explainer = lime_image.LimeImageExplainer(random_state=seed)
    res, peer = cpu(
        explainer.explain_instance,
        image,
        classifier_fn,
        labels=(target,),
        top_labels=None,
        hide_color=None,
        num_samples=1000,
        segmentation_fn=fixed(segments),
        random_seed=seed,
    )
    weights = dict(res.local_exp[target])
    lime_vals = np.array([weights.get(j, 0.0) for j in range(d)])
    return {
        "ours_s": ours,
        "peer_s": peer,
        "ours_model_s": ours_model,
        "peer_model_s": timed.seconds,
        "ours_top5": set(np.argsort(-e.values[0, :, 0])[:5].tolist()),
        "lime_top5": set(np.argsort(-lime_vals)[:5].tolist()),
    }


def main() -> None:
    from captum.attr import Occlusion as CaptumOcclusion
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    proto = cnn()
    model = bx.OnnxModel(proto)
    # Time inside ONNX Runtime, counted apart: both LIMEs evaluate the same 1000 images.
    timed = TimedModel(model._predict, clock=time.process_time)
    model._predict = timed  # type: ignore[method-assign]
    twin = torch_twin(proto).eval()

    probe = np.random.default_rng(0).random((2, 3, SIZE, SIZE)).astype(np.float32)
    with torch.no_grad():
        twin_gap = float(np.abs(twin(torch.from_numpy(probe)).numpy() - model(probe)).max())
    assert twin_gap < 1e-5, twin_gap

    linear = bx.OnnxModel(linear_pixels())
    timed_linear = TimedModel(linear._predict, clock=time.process_time)
    linear._predict = timed_linear  # type: ignore[method-assign]

    rows, payload = [], {"images": {}}
    occ_t, cap_t, cap64_t, rise_t = [], [], [], []
    keys = ("ours_s", "peer_s", "ours_model_s", "peer_model_s")
    cnn_times: dict[str, list[float]] = {key: [] for key in keys}
    lin_times: dict[str, list[float]] = {key: [] for key in keys}
    for name in IMAGES:
        image = skimage.transform.resize(
            getattr(skimage.data, name)(), (SIZE, SIZE), anti_aliasing=True
        )
        x = np.moveaxis(image, -1, 0)[None].astype(np.float32)
        target = int(np.argmax(model(x)[0]))
        segments = skimage.segmentation.slic(image, n_segments=60, start_label=0)
        d = int(segments.max()) + 1

        # LIME, on the CNN and on the linear pixel model
        ours_tops, lime_tops = [], []
        for seed in SEEDS:
            for m, timed_m, times in ((model, timed, cnn_times), (linear, timed_linear, lin_times)):
                t_target = target if m is model else int(np.argmax(m(x)[0]))
                run = compare_lime(m, timed_m, image, segments, t_target, seed)
                for key, value in run.items():
                    if key in times:
                        times[key].append(value)
                if m is model:
                    ours_tops.append(run["ours_top5"])
                    lime_tops.append(run["lime_top5"])

        # Occlusion
        occlusion = bx.Occlusion(model, bx.maskers.Image(fill=0.0), window=WINDOW, stride=STRIDE)
        occ, t = cpu(occlusion.explain, image, target=target)
        occ_t.append(t)
        ours_map = occ.values[0, :, :, 0]
        captum = CaptumOcclusion(twin)
        xt = torch.from_numpy(x)
        kwargs = dict(
            sliding_window_shapes=(3, WINDOW, WINDOW),
            strides=(3, STRIDE, STRIDE),
            target=target,
            baselines=0.0,
        )
        with torch.no_grad():
            cap, t = cpu(captum.attribute, xt, **kwargs)
            cap_t.append(t)
            cap64, t = cpu(captum.attribute, xt, perturbations_per_eval=64, **kwargs)
            cap64_t.append(t)
        cap_map = cap[0].sum(0).numpy() / 3  # the same value on the three channels
        agree = float(np.abs(ours_map - cap_map).max() / np.abs(cap_map).max())
        agree64 = float(np.abs(cap64[0].sum(0).numpy() / 3 - cap_map).max() / np.abs(cap_map).max())

        # RISE and deletion
        rise_explainer = bx.Rise(model, bx.maskers.Image(fill=0.0), n_masks=4000, seed=0)
        rise, t = cpu(rise_explainer.explain, image, target=target)
        rise_t.append(t)
        rng = np.random.default_rng(0)
        # Random orders: their spread says which differences are signal.
        randoms = [deletion_auc(model, image, rng.random((SIZE, SIZE)), target) for _ in range(8)]
        auc = {
            "rise": deletion_auc(model, image, rise.values[0, :, :, 0], target),
            "occlusion": deletion_auc(model, image, ours_map, target),
            "random": float(np.mean(randoms)),
            "random_sd": float(np.std(randoms, ddof=1)),
        }
        payload["images"][name] = {
            "segments": d,
            "target": target,
            "top5_overlap_ours": overlap(ours_tops),
            "top5_overlap_lime": overlap(lime_tops),
            "occlusion_vs_captum": agree,
            "captum_64_vs_1": agree64,
            "deletion_auc": auc,
            "rise_relative_se": rise.meta["relative_se"][0],
        }
        print(name, payload["images"][name], flush=True)
        rows.append(
            [
                name,
                d,
                overlap(ours_tops),
                overlap(lime_tops),
                agree,
                auc["rise"],
                auc["occlusion"],
                auc["random"],
                auc["random_sd"],
            ]
        )

    med = lambda v: float(np.median(v))  # noqa: E731
    times = {
        "lime_ours_s": med(cnn_times["ours_s"]),
        "lime_peer_s": med(cnn_times["peer_s"]),
        "lime_ours_outside_model_s": med(
            np.subtract(cnn_times["ours_s"], cnn_times["ours_model_s"])
        ),
        "lime_peer_outside_model_s": med(
            np.subtract(cnn_times["peer_s"], cnn_times["peer_model_s"])
        ),
        "lime_model_s": med(cnn_times["ours_model_s"]),
        "lime_peer_model_s": med(cnn_times["peer_model_s"]),
        "lime_linear_ours_s": med(lin_times["ours_s"]),
        "lime_linear_peer_s": med(lin_times["peer_s"]),
        "lime_linear_model_s": med(lin_times["ours_model_s"]),
        "occlusion_ours_s": med(occ_t),
        "occlusion_captum_s": med(cap_t),
        "occlusion_captum64_s": med(cap64_t),
        "rise_ours_s": med(rise_t),
    }
    payload["times"] = times

    def compared(label: str, ours: str, peer: str, target: str = "") -> list:
        return [label, times[ours], times[peer], times[ours] / times[peer], target]

    summary = markdown_table(
        ["comparison", "ours (s)", "peer (s)", "ratio", "target"],
        [
            compared("LIME 1000 samples vs lime_image", "lime_ours_s", "lime_peer_s", "<= 0.25"),
            compared(
                "LIME: the model's own time (same 1000 images; floor of the ratio)",
                "lime_model_s",
                "lime_peer_s",
            ),
            compared(
                "LIME: time outside the model",
                "lime_ours_outside_model_s",
                "lime_peer_outside_model_s",
            ),
            compared(
                "LIME 1000 samples vs lime_image, linear pixel model",
                "lime_linear_ours_s",
                "lime_linear_peer_s",
                "<= 0.25",
            ),
            compared(
                "LIME, linear pixel model: the model's own time",
                "lime_linear_model_s",
                "lime_linear_peer_s",
            ),
            compared(
                "Occlusion vs captum (1 window/call)",
                "occlusion_ours_s",
                "occlusion_captum_s",
                "<= 0.5",
            ),
            compared(
                "Occlusion vs captum (64 windows/call)", "occlusion_ours_s", "occlusion_captum64_s"
            ),
            ["RISE 4000 masks (ours only)", times["rise_ours_s"], "", "", ""],
        ],
    )
    detail = markdown_table(
        [
            "image",
            "segments",
            "top-5 overlap ours",
            "top-5 overlap lime",
            "occlusion vs captum",
            "deletion AUC RISE",
            "deletion AUC occlusion",
            "deletion AUC random (mean of 8)",
            "random SD",
        ],
        rows,
    )
    write_results(
        "images",
        payload,
        "Median CPU seconds per image, one thread; 128 x 128 images, small CNN (see "
        "benchmarks/images.py).\n\n" + summary + "\n\n" + detail,
    )
    print(summary)
    print(detail)


if __name__ == "__main__":
    main()

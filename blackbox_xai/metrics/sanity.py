"""Sanity checks (Adebayo et al. 2018): explanations must depend on the model and the data.

``model_randomization_test`` re-initialises an ONNX model's weights layer by layer from the
output down and measures how similar each explanation stays to the original one;
``label_randomization_test`` retrains a clone of a scikit-learn estimator on permuted
labels. Both take an explainer *factory*, so they check any explainer, perturbation
explainers included: the check is about the explainer, not the gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autodiff.transform import upgrade_model
from ..models.onnx import OnnxModel, load_model_bytes
from ..results import Explanation
from ..utils.optional import import_optional, is_dataframe
from ..utils.seeding import SeedLike, resolve_seed

ORDERS = ("cascading", "independent")

#: Ops whose float initializers are trained weights, and at which input positions (None:
#: any). Others (Resize scales, Reshape shapes, Pad values, a Clip's bounds, constants of
#: preprocessing arithmetic) configure the graph and are never randomised.
WEIGHT_OPS: dict[str, tuple[int, ...] | None] = {
    "Conv": None,
    "ConvTranspose": None,
    "Gemm": None,
    "MatMul": None,
    "PRelu": None,
    "LSTM": None,
    "GRU": None,
    "RNN": None,
    "Gather": (0,),  # an embedding table
    # only the scale and shift: re-drawing the running variance could make it negative
    "BatchNormalization": (1, 2),
    "InstanceNormalization": (1, 2),
    "LayerNormalization": (1, 2),
}

#: Ops whose outputs take a bias: an ``Add`` of an initializer to one of them is a bias of
#: that layer (MatMul + Add is how exporters write a linear layer).
_BIASED = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def _layers(proto: Any) -> list[tuple[str, list[str]]]:
    """``(node name, trainable initializer names)`` of every layer, from the output down."""
    onnx = import_optional("onnx")
    floats = {
        init.name
        for init in proto.graph.initializer
        if init.data_type
        in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
        and len(init.dims) >= 1
    }
    nodes = list(proto.graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output}
    biases: dict[int, list[str]] = {}
    for node in nodes:
        if node.op_type == "Add" and len(node.input) == 2:
            for a, b in (node.input, node.input[::-1]):
                if a in floats and b in producer and nodes[producer[b]].op_type in _BIASED:
                    biases.setdefault(producer[b], []).append(a)
    layers, seen = [], set()
    # ONNX requires nodes in topological order: reversed, the last layer comes first.
    for index in reversed(range(len(nodes))):
        node = nodes[index]
        if node.op_type not in WEIGHT_OPS:
            continue
        positions = WEIGHT_OPS[node.op_type]
        names = [
            name
            for j, name in enumerate(node.input)
            if name in floats and (positions is None or j in positions)
        ]
        names = [n for n in dict.fromkeys(names + biases.get(index, [])) if n not in seen]
        if names:
            seen.update(names)
            layers.append((node.name or f"{node.op_type}_{index}", names))
    return layers


def randomize_onnx_weights(
    model: Any, order: str = "cascading", seed: SeedLike = 0
) -> Iterator[tuple[str, Any]]:
    """ONNX models with their weights re-initialised layer by layer, from the output down.

    Layer ``t`` is the ``t``-th node with trained weights counted from the output
    (Conv, Gemm, MatMul with the bias an ``Add`` puts on it, normalisation scales and
    shifts, recurrent cells, embeddings; see ``WEIGHT_OPS``). Its weights are redrawn from a normal distribution
    with mean 0 and the standard deviation of the original tensor (a constant tensor,
    such as a zero bias, stays as it is).

    Parameters
    ----------
    model : path, bytes, onnx.ModelProto or OnnxModel
    order : {"cascading", "independent"}
        ``"cascading"``: step ``t`` has layers ``1..t`` randomised (Adebayo et al.'s
        cascading randomisation); ``"independent"``: only layer ``t``.
    seed : int
        Layer ``t`` draws from the ``t``-th child of the seed, so a layer gets the same
        weights in both orders.

    Yields
    ------
    (layer name, onnx.ModelProto)
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}.")
    onnx = import_optional("onnx")
    from onnx import numpy_helper

    original = _proto(model)
    layers = _layers(original)
    if not layers:
        raise ValueError("the ONNX model has no trained weights to randomise.")
    entropy = resolve_seed(seed)
    by_name = {init.name: i for i, init in enumerate(original.graph.initializer)}
    current = onnx.ModelProto()
    current.CopyFrom(original)
    for t, (layer, names) in enumerate(layers):
        if order == "independent":
            current = onnx.ModelProto()
            current.CopyFrom(original)
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(t,)))
        for name in names:
            init = current.graph.initializer[by_name[name]]
            w = numpy_helper.to_array(init)
            std = float(np.std(w))
            fresh = w if std == 0 else rng.normal(0.0, std, w.shape).astype(w.dtype)
            init.CopyFrom(numpy_helper.from_array(fresh, name))
        step = onnx.ModelProto()
        step.CopyFrom(current)
        yield layer, step


def _proto(model: Any) -> Any:
    """The ONNX graph of ``model`` (path, bytes, ModelProto or a model with its bytes)."""
    onnx = import_optional("onnx")
    raw = model.model_bytes if hasattr(model, "model_bytes") else load_model_bytes(model)[0]
    return onnx.load_model_from_string(raw)


def _like(model: Any, proto: Any) -> Any:
    """``proto`` wrapped as ``model`` is (same class and settings), or as it is."""
    if isinstance(model, OnnxModel):
        # Only weights differ from the model checked when it was built: the copy skips
        # the checks and opens its sessions when (and if) the explainer needs them.
        return model._with_weights(proto)
    cls = type(model)
    if hasattr(model, "model_bytes") and hasattr(model, "output"):
        return cls(proto.SerializeToString(), output=model.output)
    return proto


# -- similarity of explanations ------------------------------------------------------------
def _ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return np.asarray(rankdata(a, axis=-1))


def _centred_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks of each row of ``a`` (``(n, ...)``), less their mean: ``(n, features)``."""
    ranks = _ranks(np.asarray(a, dtype=np.float64).reshape(len(a), -1))
    return ranks - ranks.mean(1, keepdims=True)


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` with the same row of ``b`` (``(n, ...)``)."""
    return _rank_correlation(_centred_ranks(a), _centred_ranks(b))


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of rows of centred ranks (``spearman`` once ranked)."""
    denominator = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, (a * b).sum(1) / np.where(denominator > 0, denominator, 1), np.nan
        )


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Structural similarity (scikit-image) of each pair of attribution maps, each scaled
    to [0, 1] by its own largest absolute value."""
    metrics = import_optional("skimage.metrics")
    out = np.empty(len(a))
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        x, y = np.abs(x).squeeze(), np.abs(y).squeeze()
        x, y = x / (x.max() or 1.0), y / (y.max() or 1.0)
        window = min(7, *x.shape[-2:])
        window -= 1 - window % 2  # odd, at most the image's side
        channel = 0 if x.ndim == 3 else None
        out[i] = metrics.structural_similarity(
            x, y, data_range=1.0, win_size=window, channel_axis=channel
        )
    return out


def top_k_jaccard(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Jaccard index of the ``k`` largest ``|values|`` of each row of ``a`` and ``b``."""
    a = np.abs(np.asarray(a, dtype=np.float64).reshape(len(a), -1))
    b = np.abs(np.asarray(b, dtype=np.float64).reshape(len(b), -1))
    k = min(k, a.shape[1])
    top_a = np.argsort(-np.nan_to_num(a, nan=-1), axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-np.nan_to_num(b, nan=-1), axis=1, kind="stable")[:, :k]
    return np.array(
        [
            len(set(x) & set(y)) / len(set(x) | set(y))
            for x, y in zip(top_a.tolist(), top_b.tolist(), strict=True)
        ]
    )


SIMILARITIES = ("spearman_abs", "spearman", "ssim")


def similarities(
    a: np.ndarray,
    b: np.ndarray,
    image: bool,
    which: Sequence[str] = SIMILARITIES,
    ranks_of_a: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-row similarity of two attribution arrays ``(n, *feature_shape)``: those of
    ``which`` (SSIM for images only).

    ``ranks_of_a``: a dict kept between calls with the same ``a`` (one reference compared
    with many explanations), where the ranks of ``a`` are computed once.
    """
    unknown = [w for w in which if w not in SIMILARITIES]
    if unknown or not which:
        raise ValueError(f"similarity must name some of {SIMILARITIES}, got {list(which)}.")
    ranks = {} if ranks_of_a is None else ranks_of_a
    out = {}
    for key, signed in (("spearman_abs", False), ("spearman", True)):
        if key in which:
            if key not in ranks:
                ranks[key] = _centred_ranks(a if signed else np.abs(a))
            out[key] = _rank_correlation(ranks[key], _centred_ranks(b if signed else np.abs(b)))
    if image and "ssim" in which:
        out["ssim"] = ssim(a, b)
    return out


@dataclass
class SanityResult:
    """Similarity of explanations before and after each randomisation step.

    Attributes
    ----------
    steps : list of str
        The randomised layer of each step (model randomisation), or ``["labels"]``.
    similarity : dict of str -> ndarray (n_steps, n)
        ``"spearman_abs"`` (ranks of absolute values), ``"spearman"`` (signed values)
        and, for images, ``"ssim"``; one value per step and row.
    """

    steps: list[str]
    similarity: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def mean(self) -> dict[str, np.ndarray]:
        """Each similarity averaged over rows: ``(n_steps,)``."""
        return {k: np.nanmean(v, axis=1) for k, v in self.similarity.items()}

    def to_frame(self) -> Any:
        """The row-averaged similarities, a DataFrame indexed by step (pandas needed)."""
        pandas = import_optional("pandas")
        return pandas.DataFrame(self.mean(), index=pandas.Index(self.steps, name="step"))


def _values(explanation: Any, output: int | str | None) -> np.ndarray:
    if isinstance(explanation, Explanation):
        return explanation.values[..., explanation.output_index(output)]
    return np.asarray(explanation, dtype=np.float64)


def _explain(explainer: Any, X: Any, target: Any) -> Any:
    if isinstance(target, list) and target and len(set(target)) == 1:
        # One output for every row, as occlusion, RISE and LIME record theirs: pass it as
        # an index, which every explainer takes (per-row lists are for gradients only).
        target = target[0]
    return explainer.explain(X) if target is None else explainer.explain(X, target=target)


def model_randomization_test(
    explainer_factory: Callable[[Any], Any],
    model: Any,
    X: Any,
    *,
    order: str = "cascading",
    seed: SeedLike = 0,
    target: Any = None,
    output: int | str | None = None,
    similarity: Sequence[str] = SIMILARITIES,
) -> SanityResult:
    """Model parameter randomisation test (Adebayo et al. 2018).

    Parameters
    ----------
    explainer_factory : callable
        ``explainer_factory(model)`` returns an explainer (anything with
        ``explain(X)``, or ``explain(X, target=...)`` when ``target`` is given) of that
        model; it is called with the original model and every randomised one.
    model : OnnxModel, DifferentiableOnnxModel, path, bytes or onnx.ModelProto
        Randomised models are copies of the model with other weights (same class,
        output, providers and batch size), which open their ONNX Runtime sessions when
        first used; a path, bytes or ModelProto gives the factory ModelProtos.
    X : the inputs explained
    order : {"cascading", "independent"}
        See :func:`randomize_onnx_weights`.
    seed : int
        Seed of the new weights.
    target : optional
        The output explained for every model. By default the original explanation's
        targets (``meta["target"]``, gradient explainers) are kept: explaining the
        predicted class of each randomised model would change the question.
    output : int or str, optional
        The explanation output compared (the last by default).
    similarity : sequence of str
        Which similarities to compute among ``"spearman_abs"``, ``"spearman"`` and
        ``"ssim"`` (images only; one scikit-image call per image and step).

    Returns
    -------
    SanityResult
        One step per layer, from the output down. A sound explainer's similarity falls
        towards 0 as layers are randomised; one that stays high ignores the model.
    """
    original = _explain(explainer_factory(model), X, target)
    if target is None and isinstance(original, Explanation):
        recorded = original.meta.get("target")
        target = recorded if isinstance(recorded, list) else None
    before = _values(original, output)
    image = before.ndim >= 3
    steps, found = [], []
    # Every randomised model becomes a gradient graph: upgrade the opset once here, not
    # once per step inside ``gradient_model`` (a third of a step's time on a small CNN).
    # The layers and their new weights are the same either way. Stored shapes are dropped
    # as ``gradient_model`` drops them, so that the upgrade it made of this graph (for
    # the model's own gradients) is the one reused here.
    source = _proto(model)
    del source.graph.value_info[:]
    source = upgrade_model(source)
    ranks_of_before: dict[str, np.ndarray] = {}
    for layer, proto in randomize_onnx_weights(source, order=order, seed=seed):
        after = _values(_explain(explainer_factory(_like(model, proto)), X, target), output)
        steps.append(layer)
        found.append(similarities(before, after, image, similarity, ranks_of_before))
    return SanityResult(
        steps,
        {key: np.stack([f[key] for f in found]) for key in found[0]},
        {"order": order, "seed": resolve_seed(seed), "target": target},
    )


def label_randomization_test(
    estimator: Any,
    X: Any,
    y: Any,
    explainer_factory: Callable[[Any], Any],
    *,
    X_explain: Any = None,
    seed: SeedLike = 0,
    output: int | str | None = None,
    k: int = 5,
) -> SanityResult:
    """Data randomisation test (Adebayo et al. 2018): retrain on permuted labels.

    A clone of ``estimator`` is fitted on ``(X, y)`` and another on ``(X, permuted
    y)``; both are explained on ``X_explain`` and compared. Explanations of a model
    that learnt nothing should not resemble those of the real one.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned (``sklearn.base.clone``) for both fits.
    X, y : training data
    explainer_factory : callable
        ``explainer_factory(fitted_estimator)`` returns an explainer.
    X_explain : optional
        Rows explained (the first 20 of ``X`` by default).
    seed : int
        Seed of the permutation (and ``random_state`` of both clones when the
        estimator has one left to None).
    output : int or str, optional
        The explanation output compared (the last by default).
    k : int
        Size of the top-``k`` sets compared (``"top_k_jaccard"``).

    Returns
    -------
    SanityResult
        One step, ``"labels"``, with ``spearman_abs``, ``spearman`` and
        ``top_k_jaccard`` per explained row.
    """
    from sklearn.base import clone

    entropy = resolve_seed(seed)
    rng = np.random.default_rng(entropy)
    y = np.asarray(y)
    permuted = y[rng.permutation(len(y))]
    if X_explain is None:
        X_explain = X.iloc[:20] if is_dataframe(X) else np.asarray(X)[:20]
    fitted = []
    for labels in (y, permuted):
        est = clone(estimator)
        if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
            est.set_params(random_state=entropy % 2**32)
        fitted.append(est.fit(X, labels))
    a, b = (_values(explainer_factory(est).explain(X_explain), output) for est in fitted)
    found = similarities(a, b, image=False)
    found["top_k_jaccard"] = top_k_jaccard(a, b, k)
    return SanityResult(
        ["labels"], {key: v[None] for key, v in found.items()}, {"seed": entropy, "k": k}
    )

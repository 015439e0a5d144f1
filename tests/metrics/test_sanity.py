"""Sanity checks: weight randomisation from the output down, the model and label
randomisation tests (and controls that show they can fail), robustness metrics."""

import pickle
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

import blackbox_xai as bx
from blackbox_xai.metrics import (
    label_randomization_test,
    max_sensitivity,
    model_randomization_test,
    randomize_onnx_weights,
    stability,
)

FIXTURES = Path(__file__).resolve().parents[1] / "explainers" / "gradients" / "fixtures"
LAYERS = ["/head/Gemm", "/features/features.3/Conv", "/features/features.0/Conv"]
WEIGHTS = [
    ["head.weight", "head.bias"],
    ["features.3.weight", "features.3.bias"],
    ["features.0.weight", "features.0.bias"],
]


@pytest.fixture(scope="module")
def cnn():
    data = np.load(FIXTURES / "gap_cnn.npz")
    model = bx.DifferentiableOnnxModel(FIXTURES / "gap_cnn.onnx", output="logits")
    return model, data["x"], data["target"]


class InputItself:
    """An "explainer" that ignores the model: it returns the input."""

    def explain(self, X, target=None):
        X = np.asarray(X, dtype=np.float64)
        return bx.Explanation(X[..., None], np.zeros((len(X), 1)))


def weights(proto):
    return {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}


def test_randomisation_goes_from_the_output_down_cascading_or_independent(cnn):
    original = weights(onnx.load(FIXTURES / "gap_cnn.onnx"))
    cascading = list(randomize_onnx_weights(FIXTURES / "gap_cnn.onnx", "cascading", seed=3))
    independent = list(randomize_onnx_weights(FIXTURES / "gap_cnn.onnx", "independent", seed=3))
    assert [name for name, _ in cascading] == LAYERS == [name for name, _ in independent]
    for t in range(3):
        after, alone = weights(cascading[t][1]), weights(independent[t][1])
        for layer, names in enumerate(WEIGHTS):
            for name in names:
                changed = not np.array_equal(after[name], original[name])
                assert changed == (layer <= t), (t, name)
                assert (not np.array_equal(alone[name], original[name])) == (layer == t)
                if layer == t:  # a layer gets the same new weights in both orders
                    np.testing.assert_array_equal(after[name], alone[name])
                    assert after[name].dtype == original[name].dtype
    again = list(randomize_onnx_weights(cnn[0], "cascading", seed=3))  # from the model
    for (_, a), (_, b) in zip(cascading, again, strict=True):
        for name, w in weights(a).items():
            np.testing.assert_array_equal(w, weights(b)[name])
    other = weights(next(randomize_onnx_weights(FIXTURES / "gap_cnn.onnx", seed=4))[1])
    assert not np.array_equal(other["head.weight"], weights(cascading[0][1])["head.weight"])


def test_graph_constants_are_never_randomised_and_biases_go_with_their_layer():
    scales = np.array([1, 1, 2, 2], np.float32)
    mean = np.full((1, 1, 1, 1), 0.5, np.float32)
    w = np.arange(1.0, 3.0, dtype=np.float32).reshape(2, 1, 1, 1)
    fc, bias = np.arange(16.0, dtype=np.float32).reshape(8, 2), np.array([0.3, -0.2], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["x", "mean"], ["centred"]),
            helper.make_node("Resize", ["centred", "", "scales"], ["up"], mode="nearest"),
            helper.make_node("Conv", ["up", "w"], ["conv"]),
            helper.make_node("Reshape", ["conv", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "fc"], ["linear"]),
            helper.make_node("Add", ["bias", "linear"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(a, name)
            for name, a in [
                ("mean", mean),
                ("scales", scales),
                ("w", w),
                ("shape", np.array([1, 8], np.int64)),
                ("fc", fc),
                ("bias", bias),
            ]
        ],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    steps = list(randomize_onnx_weights(proto))
    assert [name for name, _ in steps] == ["MatMul_4", "Conv_2"]
    first, second = weights(steps[0][1]), weights(steps[1][1])
    assert not np.array_equal(first["fc"], fc)
    assert not np.array_equal(first["bias"], bias)  # the Add on the MatMul: its bias
    np.testing.assert_array_equal(first["w"], w)
    assert not np.array_equal(second["w"], w)
    for step in (first, second):
        np.testing.assert_array_equal(step["scales"], scales)
        np.testing.assert_array_equal(step["mean"], mean)
    with pytest.raises(ValueError, match="order must be one of"):
        next(randomize_onnx_weights(proto, order="bottom-up"))


def test_model_randomisation_decorrelates_gradients_but_not_the_input_itself(cnn):
    model, x, _ = cnn
    saliency = model_randomization_test(lambda m: bx.Saliency(m), model, x)
    assert saliency.steps == LAYERS
    assert saliency.similarity["spearman_abs"].shape == (3, 3)
    assert (saliency.mean()["spearman_abs"] < 0.5).all(), saliency.mean()
    assert set(saliency.similarity) == {"spearman_abs", "spearman", "ssim"}
    # the control: an explanation that ignores the model passes for "unchanged"
    control = model_randomization_test(lambda m: InputItself(), model, x)
    for similarity in control.similarity.values():
        np.testing.assert_allclose(similarity, 1.0)
    # the original explanation's targets are kept for every randomised model
    assert saliency.meta["target"] == model(x).argmax(axis=1).tolist()
    frame = saliency.to_frame()
    assert list(frame.index) == LAYERS


def test_randomised_models_open_a_session_only_when_one_is_needed(cnn):
    model, x, target = cnn
    seen = []

    def factory(m):
        seen.append(m)
        return bx.Saliency(m)

    model_randomization_test(factory, model, x, target=target)
    randomised = seen[-1]
    assert type(randomised) is type(model) and randomised.output == model.output
    # Saliency asks for gradients only: no forward session, and no probe for the names
    assert randomised._session is None and randomised.output_names == model.output_names
    fresh = bx.DifferentiableOnnxModel(randomised.model_bytes, output=model.output)
    np.testing.assert_array_equal(randomised.predict(x), fresh.predict(x))
    assert randomised._session is not None and randomised.n_calls == 1
    copy = pickle.loads(pickle.dumps(randomised))
    for m in (randomised, copy):
        np.testing.assert_array_equal(m.gradient(x, target), fresh.gradient(x, target))
    assert model.predict(x).tolist() != fresh.predict(x).tolist()  # the original is kept


def test_model_randomisation_works_for_perturbation_explainers():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    model = bx.OnnxModel(proto)
    X = rng.standard_normal((8, 4))
    seen = []

    def factory(m):
        seen.append(type(m))
        return bx.ExactShapley(m, X[:4])

    result = model_randomization_test(factory, model, X, order="independent")
    assert seen == [bx.OnnxModel] * 3
    assert result.steps == ["MatMul_2", "MatMul_0"]
    assert "ssim" not in result.similarity
    assert (result.mean()["spearman"] < 0.9).all()


def test_label_randomisation_changes_kernel_shap_rankings_of_a_forest():
    X, y = make_classification(300, 8, n_informative=4, random_state=0)
    forest = RandomForestClassifier(30, random_state=0)
    result = label_randomization_test(
        forest, X, y, lambda est: bx.KernelShap(est, X[:20], seed=0), X_explain=X[:10]
    )
    assert result.steps == ["labels"]
    assert np.mean(result.similarity["spearman_abs"]) < 0.3
    assert np.mean(result.similarity["top_k_jaccard"]) < 0.6
    control = label_randomization_test(forest, X, y, lambda est: InputItself(), X_explain=X[:10])
    np.testing.assert_allclose(control.similarity["spearman_abs"], 1.0)


def test_max_sensitivity_is_zero_for_constant_attributions_and_exact_for_the_input():
    class Constant:
        def explain(self, X, target=None):
            return bx.Explanation(np.ones((len(X), 3, 1)), np.zeros((len(X), 1)))

    X = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [2.0, 4.0, 2.0]])
    np.testing.assert_array_equal(max_sensitivity(Constant(), X), 0.0)
    sensitivity = max_sensitivity(InputItself(), X, radius=0.1, n_samples=50)
    spread = X.std(axis=0)
    bound = np.linalg.norm(0.1 * spread) / np.linalg.norm(X, axis=1)
    assert (sensitivity <= bound + 1e-12).all() and (sensitivity > 0.5 * bound).all()


def test_max_sensitivity_reexplains_the_output_occlusion_was_asked_for():
    X, M = np.eye(3), np.arange(12.0).reshape(3, 4)
    occlusion = bx.Occlusion(lambda A: A @ M, np.zeros((1, 3)))
    e = occlusion.explain(X, target=2)
    got = max_sensitivity(occlusion, X, explanation=e)
    # Occlusion of a linear model: values M[j, 2] * x_j, so the change is known exactly.
    spread = X.std(axis=0)
    noisy = (
        X[:, None]
        + np.stack([bx.utils.seeding.row_rng(0, i).uniform(-0.05, 0.05, (10, 3)) for i in range(3)])
        * spread
    )
    change = np.linalg.norm((noisy - X[:, None]) * M[:, 2], axis=2).max(axis=1)
    np.testing.assert_allclose(got, change / np.linalg.norm(X * M[:, 2], axis=1), rtol=1e-10)


def test_stability_is_one_for_a_deterministic_explainer_and_lower_at_a_small_budget():
    X, y = make_classification(200, 8, n_informative=4, random_state=1)
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    exact = stability(bx.ExactShapley(forest, X[:10]), X[:4], k=3)
    np.testing.assert_array_equal(exact["top_k_jaccard"], 1.0)
    np.testing.assert_allclose(exact["spearman"], 1.0)
    kernel = bx.KernelShap(forest, X[:10])
    noisy = stability(kernel, X[:4], seeds=(0, 1, 2), k=3, explain_kwargs={"n_evals": 20})
    assert noisy["spearman"].mean() < 1.0
    with pytest.raises(ValueError, match="at least two seeds"):
        stability(kernel, X[:4], seeds=(0,))
    with pytest.raises(TypeError, match="no seed"):
        stability(InputItself(), X[:4])

"""Gradient explainers: exact values where theory gives them, relations between methods,
reproducibility, real exported architectures and the messages for bad input."""

import warnings

import numpy as np
import onnx
import pytest
from autodiff_harness import to_float32
from autodiff_models import light_model
from sklearn.ensemble import RandomForestClassifier

import blackbox_xai as bx
from blackbox_xai.models.convert import sklearn_to_onnx

rng = np.random.default_rng(0)


# -- exact values -------------------------------------------------------------------------
def test_saliency_of_a_softmax_regression_logit_is_its_weights(softmax_regression):
    model, w, _ = softmax_regression
    x = rng.standard_normal((5, 4))
    for c in range(3):
        explanation = bx.Saliency(model, output="logits", abs=False).explain(x, target=c)
        assert explanation.values.shape == (5, 4, 1)
        np.testing.assert_array_equal(explanation.values[..., 0], np.tile(w[:, c], (5, 1)))
        assert explanation.output_names == [str(c)]
        times_input = bx.GradientXInput(model, output="logits").explain(x, target=c)
        np.testing.assert_array_equal(times_input.values[..., 0], x * w[:, c])


def test_integrated_gradients_of_a_linear_logit_are_exact(softmax_regression):
    model, w, b = softmax_regression
    x, baseline = rng.standard_normal((5, 4)), rng.standard_normal(4)
    target = np.array([0, 1, 2, 1, 0])
    # four points weighted 1/4 each: every sum is exact in binary
    exact = bx.IntegratedGradients(
        model, output="logits", baseline=baseline, n_steps=4, method="riemann_middle"
    ).explain(x, target)
    np.testing.assert_array_equal(exact.values[..., 0], (x - baseline) * w[:, target].T)
    np.testing.assert_allclose(exact.base_values[:, 0], (baseline @ w + b)[target], rtol=1e-14)
    np.testing.assert_allclose(exact.meta["completeness_delta"], 0, atol=1e-13)
    gauss = bx.IntegratedGradients(model, output="logits", baseline=baseline, n_steps=64)
    np.testing.assert_allclose(
        gauss.explain(x, target).values[..., 0], (x - baseline) * w[:, target].T, rtol=1e-13
    )


def test_integrated_gradients_complete_within_1e_3_at_64_gauss_legendre_steps(smooth_cnn):
    model, x, target = smooth_cnn
    explanation = bx.IntegratedGradients(model, n_steps=64).explain(x, target)
    delta = np.asarray(explanation.meta["completeness_delta"])
    change = np.asarray(explanation.meta["output_change"])
    assert (np.abs(delta) < 1e-3 * np.abs(change)).all(), delta / change
    total = explanation.values.reshape(len(x), -1).sum(axis=1)
    np.testing.assert_allclose(delta, total - change, rtol=0, atol=1e-12)
    fx = model(x)[np.arange(len(x)), target]
    np.testing.assert_allclose(change, fx - explanation.base_values[:, 0], rtol=1e-12)


def test_relu_networks_need_more_steps_which_auto_finds(gap_cnn):
    """Along the path a ReLU network's gradient is piecewise constant, which quadrature
    integrates to O(1/n) only: 64 points leave more than 1e-2 on some digit, "auto"
    doubles the points until every row is within tol."""
    model, x, target = gap_cnn
    fixed = bx.IntegratedGradients(model, n_steps=64).explain(x, target)
    relative = np.abs(fixed.meta["completeness_delta"]) / np.abs(fixed.meta["output_change"])
    assert relative.max() > 1e-2
    auto = bx.IntegratedGradients(model, n_steps="auto", tol=1e-2).explain(x, target)
    relative = np.abs(auto.meta["completeness_delta"]) / np.abs(auto.meta["output_change"])
    assert (relative <= 1e-2).all() and auto.meta["converged"] == [True] * 3
    assert max(auto.meta["n_steps"]) > 64


def test_integrated_gradients_auto_steps_reach_the_tolerance(smooth_cnn):
    model, x, target = smooth_cnn
    explanation = bx.IntegratedGradients(model, n_steps="auto", tol=1e-5).explain(x, target)
    delta = np.abs(explanation.meta["completeness_delta"])
    assert (delta <= 1e-5 * np.abs(explanation.meta["output_change"])).all()
    assert explanation.meta["converged"] == [True] * 3
    assert all(s in (16, 32, 64, 128, 256, 512, 1024) for s in explanation.meta["n_steps"])
    with pytest.warns(UserWarning, match="did not reach tol=1e-12"):
        bx.IntegratedGradients(model, n_steps="auto", tol=1e-12, max_steps=32).explain(x, target)


def test_smoothgrad_without_noise_is_the_gradient(smooth_cnn):
    model, x, target = smooth_cnn
    gradient = bx.Saliency(model, abs=False, reduce_channels=None).explain(x, target).values
    exact = bx.SmoothGrad(model, sigma=0.0, n_samples=5, seed=0).explain(x, target)
    np.testing.assert_array_equal(exact.values, gradient)
    np.testing.assert_array_equal(exact.stderr, 0)
    near = bx.SmoothGrad(model, sigma=1e-7, n_samples=5, seed=0).explain(x, target)
    np.testing.assert_allclose(near.values, gradient, rtol=0, atol=1e-5 * np.abs(gradient).max())


def test_smoothgrad_standard_errors_are_those_of_the_mean(gap_cnn):
    model, x, target = gap_cnn
    sg = bx.SmoothGrad(model, n_samples=40, seed=3).explain(x[:1], target[:1])
    sq = bx.SmoothGrad(model, n_samples=40, seed=3, variant="smoothgrad_sq").explain(
        x[:1], target[:1]
    )
    var = bx.SmoothGrad(model, n_samples=40, seed=3, variant="vargrad").explain(x[:1], target[:1])
    # same noise: var = E[g^2] - E[g]^2, and the SE of the mean is sqrt(var / (m - 1))
    np.testing.assert_allclose(var.values, sq.values - sg.values**2, atol=1e-12)
    np.testing.assert_allclose(sg.stderr, np.sqrt(var.values / 39), rtol=1e-9, atol=1e-15)
    assert (var.stderr > 0).any()


def test_guided_backprop_and_deconvnet_change_the_gradient_only_at_relus(relu_mlp):
    model, w1, b1, w2 = relu_mlp
    x = rng.standard_normal((6, 5))
    target = np.array([0, 1, 2, 0, 1, 2])
    active = (x @ w1 + b1 > 0).astype(float)  # the ReLU masks
    head = w2[:, target].T  # gradient reaching the ReLU outputs
    saliency = bx.Saliency(model, abs=False).explain(x, target).values[..., 0]
    guided = bx.GuidedBackprop(model).explain(x, target).values[..., 0]
    deconv = bx.Deconvolution(model).explain(x, target).values[..., 0]
    np.testing.assert_allclose(saliency, (head * active) @ w1.T, rtol=1e-12)
    np.testing.assert_allclose(guided, (np.maximum(head, 0) * active) @ w1.T, rtol=1e-12)
    np.testing.assert_allclose(deconv, np.maximum(head, 0) @ w1.T, rtol=1e-12)


def test_guided_backprop_is_the_gradient_without_relus(softmax_regression):
    model, _, _ = softmax_regression
    x = rng.standard_normal((3, 4))
    saliency = bx.Saliency(model, output="logits", abs=False).explain(x, 1).values
    np.testing.assert_array_equal(
        bx.GuidedBackprop(model, output="logits").explain(x, 1).values, saliency
    )
    np.testing.assert_array_equal(
        bx.Deconvolution(model, output="logits").explain(x, 1).values, saliency
    )


def test_grad_cam_of_a_gap_cnn_is_cam_up_to_a_positive_scale(gap_cnn):
    model, x, target = gap_cnn
    cam = bx.Cam(model, upsample=False).explain(x, target)
    grad_cam = bx.GradCam(model, relu=False, upsample=False).explain(x, target)
    positions = np.prod(grad_cam.meta["layer_shape"][1:])
    np.testing.assert_allclose(cam.values, grad_cam.values * positions, rtol=1e-12, atol=1e-15)
    assert cam.meta["layer"] == grad_cam.meta["layer"]
    relu = bx.GradCam(model, upsample=False).explain(x, target)
    np.testing.assert_allclose(relu.values * positions, np.maximum(cam.values, 0), atol=1e-12)


# -- batching and seeds -------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda m: bx.SmoothGrad(m, n_samples=7, seed=5),
        lambda m: bx.IntegratedGradients(m, n_steps=9),
    ],
)
def test_results_do_not_depend_on_the_batching(gap_cnn, make):
    model, x, target = gap_cnn
    one_call = make(model).explain(x, target)
    tiny = make(model)
    tiny.memory_budget_mb = 3 * 24 * x[0].size / 2**20  # 3 points a call: rows split up
    np.testing.assert_array_equal(tiny.explain(x, target).values, one_call.values)


def test_smoothgrad_seeds(gap_cnn):
    model, x, target = gap_cnn
    a = bx.SmoothGrad(model, n_samples=4, seed=1).explain(x, target)
    b = bx.SmoothGrad(model, n_samples=4, seed=1).explain(x, target)
    c = bx.SmoothGrad(model, n_samples=4, seed=2).explain(x, target)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    drawn = bx.SmoothGrad(model, n_samples=4).explain(x, target)
    replayed = bx.SmoothGrad(model, n_samples=4, seed=drawn.meta["seed"]).explain(x, target)
    np.testing.assert_array_equal(drawn.values, replayed.values)


# -- targets ------------------------------------------------------------------------------
def test_targets_none_int_name_per_row_and_callable(softmax_regression):
    model, w, b = softmax_regression
    x = rng.standard_normal((4, 4))
    explainer = bx.Saliency(model, output="logits", abs=False)
    predicted = np.argmax(x @ w + b, axis=1)
    default = explainer.explain(x)
    assert default.meta["target"] == predicted.tolist()
    assert default.output_names == ["predicted class"]
    np.testing.assert_array_equal(default.values[..., 0], w[:, predicted].T)
    by_name = explainer.explain(x, target="2")
    np.testing.assert_array_equal(by_name.values, explainer.explain(x, target=2).values)
    np.testing.assert_array_equal(explainer.explain(x, target=-1).values, by_name.values)
    second = explainer.explain(x, target=lambda out: np.argsort(out, axis=1)[:, -2])
    np.testing.assert_array_equal(second.meta["target"], np.argsort(x @ w + b, axis=1)[:, -2])
    margin = explainer.explain(x, target=lambda out: np.tile([1.0, -1.0, 0.0], (len(out), 1)))
    np.testing.assert_allclose(margin.values[..., 0], np.tile(w[:, 0] - w[:, 1], (4, 1)))
    assert margin.output_names == ["weighted outputs"]


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        (3, ValueError, r"target=3 is out of range: the model has 3 output\(s\)"),
        ([0, 1], ValueError, "target has 2 entries for 4 rows"),
        ("cat", ValueError, "target='cat' is not an output name"),
        (np.ones((4, 2)), ValueError, r"target weights must have shape \(n, k\) = \(4, 3\)"),
        (1.5, TypeError, "target must be None"),
    ],
)
def test_bad_targets(softmax_regression, target, error, match):
    model, _, _ = softmax_regression
    with pytest.raises(error, match=match):
        bx.Saliency(model).explain(rng.standard_normal((4, 4)), target)


# -- real exported architectures ------------------------------------------------------------
def _light(name, size):
    model, _ = light_model(name, np.random.default_rng(11), size)
    model = to_float32(model)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    for out in model.graph.output:
        out.type.tensor_type.shape.dim[0].dim_param = "batch"
    return model


@pytest.mark.parametrize(("name", "spatial"), [("squeezenet", (3, 3)), ("densenet121", (2, 2))])
def test_grad_cam_on_zoo_architectures_has_the_layers_spatial_shape(name, spatial):
    proto = _light(name, 64)
    images = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    assert bx.OnnxModel(proto)(images).shape == (2, 1000)  # the (n, 1000, 1, 1) output
    model = bx.DifferentiableOnnxModel(proto)
    raw = bx.GradCam(model, upsample=False).explain(images, target=7)
    assert raw.values.shape == (2, *spatial, 1)
    assert tuple(raw.meta["layer_shape"][1:]) == spatial
    pooled = [n for n in proto.graph.node if n.op_type == "GlobalAveragePool"][-1]
    assert raw.meta["layer"] == pooled.input[0]
    upsampled = bx.GradCam(model).explain(images, target=7)
    assert upsampled.values.shape == (2, 64, 64, 1)


def test_images_of_any_size_through_resize_and_concat(dynamic_cnn):
    model = bx.DifferentiableOnnxModel(dynamic_cnn)
    for size in (6, 9):
        x = np.random.default_rng(size).standard_normal((2, 3, size, size)).astype(np.float32)
        assert bx.Saliency(model).explain(x).values.shape == (2, size, size, 1)
        assert bx.GradCam(model).explain(x).meta["layer_shape"] == [7, 2 * size, 2 * size]
        ig = bx.IntegratedGradients(model, n_steps=64).explain(x)
        change = np.abs(ig.meta["output_change"])
        assert (np.abs(ig.meta["completeness_delta"]) < 1e-2 * change).all()


def test_mobilenet_ops_and_explained_logits_of_the_fixture():
    data = np.load(bx.__path__[0] + "/../tests/explainers/gradients/fixtures/mobile.npz")
    model = bx.DifferentiableOnnxModel(
        bx.__path__[0] + "/../tests/explainers/gradients/fixtures/mobile.onnx"
    )
    ops = {n.op_type for n in onnx.load_model_from_string(model.model_bytes).graph.node}
    assert {"HardSwish", "HardSigmoid", "Clip", "Resize", "Concat"} <= ops
    ig = bx.IntegratedGradients(model, n_steps=64).explain(data["x"], data["target"])
    assert (np.abs(ig.meta["completeness_delta"]) < 1e-2 * np.abs(ig.meta["output_change"])).all()


# -- bad input ----------------------------------------------------------------------------
def test_a_tree_ensemble_is_pointed_to_the_perturbation_explainers(cancer12):
    X, y = cancer12
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="RandomForestClassifier has no gradients.*bx.KernelShap"):
        bx.Saliency(forest)
    with pytest.raises(TypeError, match="SklearnModel has no gradients.*perturbation explainer"):
        bx.IntegratedGradients(bx.wrap(forest))
    with pytest.raises(ValueError, match="TreeEnsembleClassifier.*perturbation explainer"):
        bx.Saliency(sklearn_to_onnx(forest, X, zipmap=False))


def test_an_unknown_layer_lists_the_candidates(gap_cnn):
    model, x, target = gap_cnn
    with pytest.raises(ValueError, match=r"layer 'conv9' is neither.*candidates are '.*Relu"):
        bx.GradCam(model, layer="conv9").explain(x, target)
    with pytest.raises(ValueError, match=r"has rank 2, but at least 3 axes"):
        bx.GradCam(model, layer=model.output).explain(x, target)


def test_a_layer_by_node_name_is_its_output(gap_cnn):
    model, x, target = gap_cnn
    default = bx.GradCam(model).explain(x, target)
    graph = bx.autodiff.layers.GraphIndex(model)
    node = graph.producer[default.meta["layer"]].name
    by_node = bx.GradCam(model, layer=node).explain(x, target)
    np.testing.assert_array_equal(by_node.values, default.values)


def test_cam_names_what_its_structure_lacks(gap_cnn, dynamic_cnn):
    model, x, target = gap_cnn
    probabilities = bx.DifferentiableOnnxModel(model.model_bytes, output="y")
    with pytest.raises(ValueError, match=r"Softmax node .* is not linear \(explain the logits"):
        bx.Cam(probabilities).explain(x, target)
    with pytest.raises(ValueError, match="no global average pooling reads"):
        first_relu = [layer.name for layer in bx.autodiff.list_layers(model, 4)][2]
        bx.Cam(model, layer=first_relu).explain(x, target)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.full((2, 4), np.nan), ValueError, "X contains NaN"),
        (np.zeros((0, 4)), ValueError, "X has no rows"),
        (np.zeros((2, 2, 4)), ValueError, "has 2 axes"),
        (np.array([["a", "b", "c", "d"]]), TypeError, "X must be numeric"),
    ],
)
def test_bad_rows(softmax_regression, X, error, match):
    model, _, _ = softmax_regression
    with pytest.raises(error, match=match):
        bx.Saliency(model).explain(X)


def test_one_row_without_its_batch_axis(softmax_regression):
    model, w, _ = softmax_regression
    x = rng.standard_normal(4)
    one = bx.Saliency(model, output="logits", abs=False).explain(x, 0)
    np.testing.assert_array_equal(one.values[0, :, 0], w[:, 0])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda m: bx.Saliency(m, reduce_channels="mean"), "reduce_channels must be one of"),
        (lambda m: bx.SmoothGrad(m, n_samples=0), "n_samples must be at least 1"),
        (lambda m: bx.SmoothGrad(m, sigma=-1), "sigma must be a finite number >= 0"),
        (lambda m: bx.SmoothGrad(m, variant="smooth"), "variant must be one of"),
        (lambda m: bx.IntegratedGradients(m, method="simpson"), "method must be one of"),
        (lambda m: bx.IntegratedGradients(m, n_steps=0), "n_steps must be at least 1"),
        (lambda m: bx.GradCam(m, interpolation="cubic"), "interpolation must be one of"),
        (lambda m: bx.Saliency(m, memory_budget_mb=0), "memory_budget_mb must be a positive"),
    ],
)
def test_bad_parameters(softmax_regression, make, match):
    model, _, _ = softmax_regression
    with pytest.raises(ValueError, match=match):
        make(model)


def test_bad_baselines(gap_cnn):
    model, x, target = gap_cnn
    with pytest.raises(ValueError, match="shaped like one row"):
        bx.IntegratedGradients(model, baseline=np.zeros(5)).explain(x, target)
    with pytest.raises(ValueError, match="baseline must be a number, an array, 'blur'"):
        bx.IntegratedGradients(model, baseline="black").explain(x, target)


def test_blur_uniform_and_callable_baselines(gap_cnn):
    model, x, target = gap_cnn
    for baseline in ("blur", "uniform", lambda X: X * 0.5):
        ig = bx.IntegratedGradients(model, baseline=baseline, n_steps=64, seed=0)
        explanation = ig.explain(x, target)
        change = np.abs(explanation.meta["output_change"])
        assert (np.abs(explanation.meta["completeness_delta"]) < 1e-2 * change).all()
    half = bx.IntegratedGradients(model, baseline=lambda X: X * 0.5, n_steps=8).explain(x, target)
    same = bx.IntegratedGradients(model, baseline=x * 0.5, n_steps=8).explain(x, target)
    np.testing.assert_array_equal(half.values, same.values)


# -- the result -----------------------------------------------------------------------------
def test_explanation_of_images_round_trips(gap_cnn, tmp_path):
    model, x, target = gap_cnn
    explanation = bx.SmoothGrad(model, n_samples=3, seed=0).explain(x, target)
    assert explanation.values.shape == explanation.stderr.shape == (3, 1, 8, 8, 1)
    assert explanation.meta["parameters"] == {
        "n_samples": 3,
        "sigma": 0.15,
        "variant": "smoothgrad",
        "abs": False,
    }
    back = bx.Explanation.from_json(explanation.to_json())
    np.testing.assert_array_equal(back.values, explanation.values)
    explanation.save(tmp_path / "sg.npz")
    np.testing.assert_array_equal(
        bx.Explanation.load(tmp_path / "sg.npz").stderr, explanation.stderr
    )
    assert explanation[1:].values.shape == (2, 1, 8, 8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "smoothgrad" in repr(explanation)

"""Whole models (autodiff_models.py): an MLP, a CNN and a tiny transformer encoder."""

import numpy as np
import onnx
import onnx.utils
import pytest
from autodiff_harness import Runner, check_ort_float32, check_vjp, gradients
from autodiff_models import cnn, mlp, transformer

rng = np.random.default_rng(10)


def test_mlp_on_ort_float64():
    model, feeds = mlp(rng)
    check_vjp(model, feeds, n_directions=5)


def test_mlp_gradient_of_a_one_hot_target_is_the_jacobian_row():
    model, feeds = mlp(rng)
    seed = np.zeros((4, 3))
    seed[:, 1] = 1.0
    grads, _ = gradients(model, feeds, {"proba": seed}, ["x"])
    eps = 1e-6
    run = Runner(model)
    for j in range(5):
        step = np.zeros_like(feeds["x"])
        step[:, j] = eps
        numeric = (run({"x": feeds["x"] + step})["proba"] - run({"x": feeds["x"] - step})["proba"])[
            :, 1
        ] / (2 * eps)
        np.testing.assert_allclose(grads["x"][:, j], numeric, rtol=1e-6, atol=1e-9)


def test_cnn_float64_on_reference_and_float32_on_ort():
    model, feeds = cnn(rng)
    check_vjp(model, feeds, engine="ref", n_directions=4)
    check_ort_float32(model, feeds)


def _check_intermediate(model, feeds, tensor, output, engine):
    """The gradient w.r.t. an intermediate tensor equals the input gradient of the model's tail."""
    seed = {output: rng.standard_normal(Runner(model, engine)(feeds)[output].shape)}
    grads, grad_model = gradients(model, feeds, seed, [tensor], engine)
    value = Runner(grad_model, engine)({**feeds, output + "__seed": seed[output]})[tensor]
    tail = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(model)).extract_model(
        [tensor], [output]
    )
    tail_grads, _ = gradients(tail, {tensor: value}, seed, [tensor], engine)
    np.testing.assert_allclose(grads[tensor], tail_grads[tensor], rtol=1e-12, atol=1e-14)
    check_vjp(tail, {tensor: value}, engine=engine)


def test_cnn_from_the_oldest_to_the_newest_opsets():
    # one stream of weight draws: the CNN must be well conditioned for each of them
    draws = np.random.default_rng(0)
    for opset in (9, 11, 13, 15, 16, 17, 18, 21, 23):
        model, feeds = cnn(draws, opset=opset)
        check_vjp(model, feeds, engine="ref", n_directions=2)
        check_ort_float32(model, feeds)


def test_cnn_gradient_with_respect_to_the_last_conv_output():
    model, feeds = cnn(rng)
    _check_intermediate(model, feeds, "c2", "proba", "ref")


def test_transformer_encoder_with_respect_to_the_embedding_table():
    model, feeds = transformer(rng)
    check_vjp(model, feeds, wrt=["table"], engine="ref", n_directions=4)  # ORT: no float64 Erf
    check_ort_float32(model, feeds, wrt=["table"])


@pytest.mark.parametrize("tensor", ["emb", "h", "h1"])
def test_transformer_encoder_with_respect_to_intermediate_tensors(tensor):
    model, feeds = transformer(rng)
    _check_intermediate(model, feeds, tensor, "logits", "ref")

"""MatMul (numpy semantics), Gemm (transA/transB/alpha/beta, C broadcasting) and Einsum."""

import numpy as np
import pytest
from autodiff_harness import check_adjoint, check_vjp, node_model

from blackbox_xai.autodiff import UnsupportedOperatorError, gradient_model

rng = np.random.default_rng(3)

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((5,), (2, 5, 3)),
    ((2, 3, 5), (5,)),
]


@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_SHAPES)
def test_matmul_with_broadcast_batches_and_vectors(shape_a, shape_b):
    feeds = {"a": rng.standard_normal(shape_a), "b": rng.standard_normal(shape_b)}
    grads = check_vjp(node_model("MatMul", feeds), feeds)
    assert grads["a"].shape == shape_a and grads["b"].shape == shape_b


@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_SHAPES[:4])
def test_matmul_is_adjoint_consistent_in_each_argument(shape_a, shape_b):
    feeds = {"a": rng.standard_normal(shape_a), "b": rng.standard_normal(shape_b)}
    model = node_model("MatMul", feeds)
    check_adjoint(model, feeds, "a")
    check_adjoint(model, feeds, "b")


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("c_shape", [None, (3, 5), (5,), (1, 5), (3, 1), ()])
def test_gemm_attribute_variants(trans_a, trans_b, c_shape):
    a = rng.standard_normal((4, 3) if trans_a else (3, 4))
    b = rng.standard_normal((5, 4) if trans_b else (4, 5))
    feeds = {"a": a, "b": b}
    if c_shape is not None:
        feeds["c"] = rng.standard_normal(c_shape)
    model = node_model("Gemm", feeds, alpha=0.7, beta=-1.3, transA=trans_a, transB=trans_b)
    check_vjp(model, feeds)


def test_gemm_with_a_weight_matrix_is_adjoint_consistent():
    feeds = {"x": rng.standard_normal((3, 4))}
    model = node_model(
        "Gemm", feeds, {"w": rng.standard_normal((5, 4)), "c": rng.standard_normal(5)}, transB=1
    )
    check_adjoint(model, feeds, "x")


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output
    ("i,i->", [(4,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),  # i only in the operand: broadcast back
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("ij,kj->ikj", [(3, 4), (2, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 3, 4, 2)]),  # ellipsis axes of size 1
    ("a...b,b->a...", [(2, 3, 4), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),  # a diagonal of an operand without gradient below
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUMS)
def test_einsum(equation, shapes):
    feeds = {name: rng.standard_normal(s) for name, s in zip("abc", shapes, strict=False)}
    wrt = ["b"] if equation.startswith("ii,") else None
    grads = check_vjp(node_model("Einsum", feeds, equation=equation), feeds, wrt=wrt)
    for name, grad in grads.items():
        assert grad.shape == feeds[name].shape


def test_einsum_of_a_diagonal_is_reported():
    feeds = {"a": rng.standard_normal((3, 3))}
    with pytest.raises(UnsupportedOperatorError, match="repeats a subscript"):
        gradient_model(node_model("Einsum", feeds, equation="ii->i"), "a")

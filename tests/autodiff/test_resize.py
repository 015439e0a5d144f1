"""Resize: nearest (every nearest_mode), linear, cubic, coordinate transformations,
scales or sizes, axes, roi, antialias — float64 on the reference, then ORT float32."""

import numpy as np
import pytest
from autodiff_harness import check_adjoint, check_ort_float32, check_vjp, node_model

rng = np.random.default_rng(8)
f32, i64 = np.float32, np.int64

CASES = [
    ({"mode": "nearest"}, {"scales": [1, 1, 2, 3]}),
    (
        {
            "mode": "nearest",
            "nearest_mode": "floor",
            "coordinate_transformation_mode": "asymmetric",
        },
        {"scales": [1, 1, 2, 2]},
    ),
    (
        {
            "mode": "nearest",
            "nearest_mode": "ceil",
            "coordinate_transformation_mode": "align_corners",
        },
        {"sizes": [2, 3, 7, 5]},
    ),
    ({"mode": "nearest", "nearest_mode": "round_prefer_ceil"}, {"scales": [1, 1, 0.5, 0.7]}),
    ({"mode": "linear"}, {"scales": [1, 1, 2, 2]}),
    (
        {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
        {"sizes": [2, 3, 9, 4]},
    ),
    (
        {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
        {"sizes": [2, 3, 1, 7]},
    ),
    (
        {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
        {"scales": [1, 1, 1.5, 0.5]},
    ),
    ({"mode": "linear", "antialias": 1}, {"scales": [1, 1, 0.5, 0.6]}),
    ({"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, {"scales": [1, 1, 2, 1.5]}),
    ({"mode": "linear", "axes": [3, 2]}, {"scales": [2.0, 1.5]}),
    (
        {"mode": "linear", "keep_aspect_ratio_policy": "not_larger", "axes": [2, 3]},
        {"sizes": [8, 8]},
    ),
    (
        {
            "mode": "linear",
            "coordinate_transformation_mode": "tf_crop_and_resize",
            "extrapolation_value": 2.0,
        },
        {"scales": [1, 1, 2, 2], "roi": [0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2]},
    ),
]


def _model(attrs, inputs):
    feeds = {"x": rng.standard_normal((2, 3, 4, 5))}
    consts = {}
    names = ["x", "", "", ""]
    for position, key, dtype in ((1, "roi", f32), (2, "scales", f32), (3, "sizes", i64)):
        if key in inputs:
            consts[key] = np.array(inputs[key], dtype)
            names[position] = key
    return node_model("Resize", feeds, consts, inputs=names, opset=19, **attrs), feeds


@pytest.mark.parametrize(("attrs", "inputs"), CASES)
def test_resize(attrs, inputs):
    model, feeds = _model(attrs, inputs)
    check_vjp(model, feeds, engine="ref")  # ORT resizes float32 only
    check_ort_float32(model, feeds)


@pytest.mark.parametrize(("attrs", "inputs"), CASES[:2] + CASES[4:6])
def test_resize_is_adjoint_consistent(attrs, inputs):
    model, feeds = _model(attrs, inputs)
    check_adjoint(model, feeds, "x", engine="ref")


def test_upsample_of_opset_9_is_upgraded_to_resize():
    feeds = {"x": rng.standard_normal((1, 2, 3, 3))}
    model = node_model(
        "Upsample", feeds, {"s": np.array([1, 1, 2, 2], f32)}, opset=9, mode="nearest"
    )
    check_vjp(model, feeds, engine="ref")

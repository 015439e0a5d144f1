"""LSTM, GRU and RNN: every direction and layout, each output used alone or together,
initial states and LSTM peepholes; float64 differences on onnx.reference, then ORT."""

import numpy as np
import pytest
from autodiff_harness import check_ort_float32, check_vjp, node_model

from blackbox_xai.autodiff import UnsupportedOperatorError, gradient_model

rng = np.random.default_rng(8)
T, N, D_IN, H = 4, 3, 5, 2
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _recurrent(op, direction, layout, outputs, initial, peephole=False, **attrs):
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    x_shape = (N, T, D_IN) if layout else (T, N, D_IN)
    state_shape = (N, dirs, H) if layout else (dirs, N, H)
    feeds = {"x": rng.standard_normal(x_shape)}
    consts = {
        "w": rng.standard_normal((dirs, g * H, D_IN)) * 0.5,
        "r": rng.standard_normal((dirs, g * H, H)) * 0.5,
        "b": rng.standard_normal((dirs, 2 * g * H)) * 0.3,
    }
    names = ["x", "w", "r", "b", ""]
    if initial:
        feeds["h0"] = rng.standard_normal(state_shape)
        names.append("h0")
        if op == "LSTM":
            feeds["c0"] = rng.standard_normal(state_shape)
            names.append("c0")
    elif op == "LSTM" and peephole:
        names += ["", ""]
    if peephole:
        consts["p"] = rng.standard_normal((dirs, 3 * H)) * 0.5
        names.append("p")
    model = node_model(
        op,
        feeds,
        consts,
        inputs=names,
        outputs=outputs,
        direction=direction,
        layout=layout,
        hidden_size=H,
        **attrs,
    )
    return model, feeds


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_recurrent_layer_all_outputs_and_initial_states(op, direction, layout):
    outputs = ("y", "yh", "yc") if op == "LSTM" else ("y", "yh")
    model, feeds = _recurrent(op, direction, layout, outputs, initial=True)
    check_vjp(model, feeds, engine="ref")


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("outputs", [("y",), ("", "yh")])
def test_recurrent_layer_one_output_without_initial_state(op, outputs):
    model, feeds = _recurrent(op, "bidirectional", 0, outputs, initial=False)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


def test_lstm_final_cell_state_alone():
    model, feeds = _recurrent("LSTM", "forward", 0, ("", "", "yc"), initial=True)
    check_vjp(model, feeds, engine="ref")


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_lstm_peepholes(direction):
    model, feeds = _recurrent("LSTM", direction, 0, ("y", "yh"), initial=False, peephole=True)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize("layout", [0, 1])
def test_gru_linear_before_reset_as_torch_exports_it(layout):
    model, feeds = _recurrent(
        "GRU", "bidirectional", layout, ("y", "yh"), initial=True, linear_before_reset=1
    )
    check_vjp(model, feeds, engine="ref")
    if layout == 0:  # ORT runs recurrent layers time-first only
        check_ort_float32(model, feeds)


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"clip": 3.0}, "clip is not supported"),
        ({"input_forget": 1}, "input_forget=1"),
        ({"activations": ["Relu", "Tanh", "Tanh"]}, "default activations"),
    ],
)
def test_unsupported_lstm_variants_are_reported(attrs, match):
    model, _ = _recurrent("LSTM", "forward", 0, ("y",), initial=False, **attrs)
    with pytest.raises(UnsupportedOperatorError, match=match):
        gradient_model(model, "x")

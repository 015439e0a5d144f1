"""ONNX files are read through a size limit and onnx.checker, by OnnxModel and the CLI."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx
from blackbox_xai.models._onnx_file import read_onnx_file


def _relu_model(x_input: str = "x") -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", [x_input], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_valid_file_loads_and_runs(tmp_path):
    onnx.save(_relu_model(), tmp_path / "ok.onnx")
    assert read_onnx_file(tmp_path / "ok.onnx") == (tmp_path / "ok.onnx").read_bytes()
    out = bx.OnnxModel(str(tmp_path / "ok.onnx"))(np.array([[-1.0, 0.5, 2.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.5, 2.0]])


def test_a_file_failing_the_checker_is_refused_by_onnx_model(tmp_path):
    onnx.save(_relu_model("nowhere"), tmp_path / "bad.onnx")
    with pytest.raises(ValueError, match=r"bad.onnx fails the ONNX checker: .*nowhere"):
        bx.OnnxModel(str(tmp_path / "bad.onnx"))
    # The same bytes passed directly skip the file checks (ORT then refuses them).
    with pytest.raises(ValueError, match="ONNX Runtime could not load the model"):
        bx.OnnxModel((tmp_path / "bad.onnx").read_bytes())


def test_size_limit_and_non_onnx_files(tmp_path):
    onnx.save(_relu_model(), tmp_path / "ok.onnx")
    size = (tmp_path / "ok.onnx").stat().st_size
    with pytest.raises(ValueError, match=r"ok.onnx is .* MB, more than the limit of 1e-05 MB"):
        read_onnx_file(tmp_path / "ok.onnx", max_mb=1e-5)
    assert len(read_onnx_file(tmp_path / "ok.onnx", max_mb=size / 2**20)) == size
    (tmp_path / "junk.onnx").write_bytes(b"\xff\x00 not protobuf")
    with pytest.raises(ValueError, match="junk.onnx is not an ONNX model"):
        bx.OnnxModel(str(tmp_path / "junk.onnx"))
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.onnx is not an ONNX model \(no graph\)"):
        read_onnx_file(tmp_path / "empty.onnx")


def test_external_data_is_checked_through_the_file(tmp_path):
    model = _relu_model()
    weight = numpy_helper.from_array(np.ones((3,), np.float32), "w")
    model.graph.initializer.append(weight)
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="ext.bin", size_threshold=0)  # fmt: skip
    read_onnx_file(tmp_path / "ext.onnx")  # the data file sits beside the model: accepted
    (tmp_path / "ext.bin").unlink()
    with pytest.raises(ValueError, match="ext.onnx fails the ONNX checker"):
        read_onnx_file(tmp_path / "ext.onnx")

"""Reading an ONNX file defensively: a size limit, then ``onnx.checker``.

Model files are often downloaded; a file that is too large, is not an ONNX model, or
breaks the ONNX specification is refused with a one-line reason before ONNX Runtime sees
it. ``OnnxModel`` reads paths through here, and so does the command line (which lets the
user raise the size limit).
"""

from __future__ import annotations

import os

from ..utils.optional import import_optional


def read_onnx_file(path: str | os.PathLike[str], max_mb: float = 2048.0) -> bytes:
    """The bytes of the ONNX model at ``path``, checked.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    max_mb : float
        Largest file size read, in MB (2**20 bytes); larger files are refused before
        being read.

    Returns
    -------
    bytes
        The serialized model.

    Raises
    ------
    ValueError
        The file is too large, cannot be read, is not an ONNX model, or fails
        ``onnx.checker.check_model``.
    """
    onnx = import_optional("onnx")
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
    except OSError as exc:
        raise ValueError(f"could not read the ONNX file {name!r}: {exc.strerror}.") from exc
    if size > max_mb * 2**20:
        raise ValueError(
            f"{name} is {size / 2**20:.3g} MB, more than the limit of {max_mb:g} MB; "
            "raise the limit (--max-model-mb) if you trust the file."
        )
    with open(name, "rb") as fh:
        data = fh.read()
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:
        raise ValueError(f"{name} is not an ONNX model (it does not parse: {exc}).") from exc
    if not proto.graph.node and not proto.graph.output:
        # protobuf parses many non-ONNX byte strings into an empty message.
        raise ValueError(f"{name} is not an ONNX model (no graph).")
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    try:
        # By path when tensors live in other files: the checker then resolves (and
        # validates) their locations relative to the model's folder.
        onnx.checker.check_model(name if external else proto)
    except Exception as exc:
        first = " ".join(str(exc).split())
        raise ValueError(f"{name} fails the ONNX checker: {first}") from exc
    if not external:
        return data
    # The weights kept in files beside the model are read in, so the model travels as
    # one byte string (sessions, pickles, parallel workers). onnx reads them relative to
    # the model's folder and refuses locations that escape it (``../``, absolute paths).
    folder = os.path.dirname(os.path.abspath(name))
    try:
        onnx.load_external_data_for_model(proto, folder)
    except Exception as exc:
        raise ValueError(
            f"the external data of the ONNX file {name!r} could not be read from {folder!r}: {exc}"
        ) from exc
    return bytes(proto.SerializeToString())

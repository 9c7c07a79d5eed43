"""Expose an intermediate tensor of an ONNX model as an extra graph output, without the
``onnx`` package: an ONNX file is a protobuf ``ModelProto``, and adding an output is
appending one ``ValueInfoProto`` to its graph. Used by BM42 to read the last layer's
attention probabilities from the same encoder file the embedder runs.

Wire format (protobuf): a field is a varint key ``(number << 3) | wire_type`` followed by
a varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5).
``ModelProto.graph`` is field 7; ``GraphProto.node`` 1 and ``.output`` 12;
``NodeProto.output`` 2 and ``.op_type`` 4; ``ValueInfoProto.name`` 1 and ``.type`` 2;
``TypeProto.tensor_type`` 1; ``TypeProto.Tensor.elem_type`` 1 (1 = float32).

>>> graph = _field(1, _field(2, b"probs") + _field(4, b"Softmax"))
>>> model = _field(7, graph)
>>> last_node_output(model, "Softmax")
'probs'
>>> graph_outputs(with_output(model, "probs"))
['probs']
"""

from __future__ import annotations

from collections.abc import Iterator

from blendrank.errors import ModelError

_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_OUTPUT = 7, 1, 12
_NODE_OUTPUT, _NODE_OP_TYPE = 2, 4
_FLOAT = 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise ModelError("truncated ONNX file (a protobuf varint runs past the end)")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, int, int]]:
    """(field number, key offset, value start, value end) of each field in
    ``data[start:end]``; the value of a length-delimited field is its bytes."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        key_at = at
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, value_end = _read_varint(data, at)
            value_start = at
        elif wire == 1:
            value_start, value_end = at, at + 8
        elif wire == 2:
            length, value_start = _read_varint(data, at)
            value_end = value_start + length
        elif wire == 5:
            value_start, value_end = at, at + 4
        else:
            raise ModelError(f"not an ONNX file: protobuf wire type {wire} at byte {key_at}")
        if value_end > end:
            raise ModelError("truncated ONNX file (a protobuf field runs past its message)")
        yield number, key_at, value_start, value_end
        at = value_end


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _graph_span(model: bytes) -> tuple[int, int, int]:
    for number, key_at, start, end in _fields(model):
        if number == _MODEL_GRAPH:
            return key_at, start, end
    raise ModelError("the ONNX file has no graph")


def last_node_output(model: bytes, op_type: str) -> str:
    """The first output of the last node of ``op_type`` (nodes are topologically sorted)."""
    _, start, end = _graph_span(model)
    found = None
    for number, _, node_start, node_end in _fields(model, start, end):
        if number != _GRAPH_NODE:
            continue
        op, first_output = None, None
        for field, _, value_start, value_end in _fields(model, node_start, node_end):
            if field == _NODE_OP_TYPE:
                op = model[value_start:value_end].decode()
            elif field == _NODE_OUTPUT and first_output is None:
                first_output = model[value_start:value_end].decode()
        if op == op_type and first_output is not None:
            found = first_output
    if found is None:
        raise ModelError(f"the ONNX model has no {op_type} node")
    return found


def graph_outputs(model: bytes) -> list[str]:
    _, start, end = _graph_span(model)
    names = []
    for number, _, value_start, value_end in _fields(model, start, end):
        if number == _GRAPH_OUTPUT:
            for field, _, name_start, name_end in _fields(model, value_start, value_end):
                if field == 1:
                    names.append(model[name_start:name_end].decode())
    return names


def with_output(model: bytes, name: str) -> bytes:
    """``model`` with the float32 tensor ``name`` added to its graph outputs."""
    if name in graph_outputs(model):
        return model
    key_at, start, end = _graph_span(model)
    tensor_type = _varint(1 << 3 | 0) + _varint(_FLOAT)
    value_info = _field(1, name.encode()) + _field(2, _field(1, tensor_type))
    graph = model[start:end] + _field(_GRAPH_OUTPUT, value_info)
    return model[:key_at] + _field(_MODEL_GRAPH, graph) + model[end:]

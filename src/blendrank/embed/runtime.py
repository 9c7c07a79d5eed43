"""Where an ONNX encoder runs: ONNX Runtime (core) or OpenVINO (``blendrank[openvino]``).

Both take the same feed (``input_ids``, ``attention_mask``, ``token_type_ids`` as int64)
and return the model's first matching output. ``backend="auto"`` picks OpenVINO when it
is installed: on a 2-core Xeon with AMX it embeds SciFact 3.9x faster than ONNX Runtime
from the same int8 ONNX file (2.5x sentence-transformers), same NDCG@10 within 0.0003,
with a third less peak memory (docs/benchmarks.md#bi-encoder-embedding-speed).

``precision`` is OpenVINO's inference precision: ``"auto"`` leaves it to the CPU plugin
(bfloat16 where the CPU has AVX512-BF16 or AMX, else f32), ``"f32"`` and ``"bf16"``
force one. ONNX Runtime runs the file as it is (the default model is int8).

>>> resolve_backend("onnx")
'onnx'
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.errors import InvalidInputError, ModelError

BACKENDS = ("auto", "onnx", "openvino")
PRECISIONS = ("auto", "f32", "bf16")
_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


def resolve_backend(backend: str) -> str:
    """``"auto"`` -> ``"openvino"`` when the package is importable, else ``"onnx"``."""
    if backend not in BACKENDS:
        raise InvalidInputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    return "openvino" if importlib.util.find_spec("openvino") is not None else "onnx"


class OrtEncoder:
    """An ONNX Runtime session: inputs with their int types, outputs by name and rank."""

    backend = "onnx"
    precision = "file"

    def __init__(self, path: Path, threads: int, *, arena: bool = True) -> None:
        self.session = make_ort_session(path, threads, arena=arena)
        self.inputs = [
            (node.name, _INT_TYPES.get(node.type, np.int64)) for node in self.session.get_inputs()
        ]
        self.outputs = {node.name: list(node.shape) for node in self.session.get_outputs()}

    def __call__(self, feed: dict[str, np.ndarray], output: str) -> np.ndarray:
        return np.asarray(self.session.run([output], feed)[0])


class OpenVinoEncoder:
    """The same ONNX file compiled by OpenVINO's CPU plugin (one synchronous request)."""

    backend = "openvino"

    def __init__(self, path: Path, threads: int, *, precision: str = "auto") -> None:
        ov = require("openvino", "openvino", "the OpenVINO embedding backend")
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
        if precision != "auto":
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            self.model = ov.Core().compile_model(str(path), "CPU", config)
        except Exception as exc:  # OpenVINO raises its own untyped errors
            raise ModelError(f"OpenVINO cannot load {path}: {exc}") from exc
        hint = self.model.get_property("INFERENCE_PRECISION_HINT")
        self.precision = str(getattr(hint, "get_type_name", lambda: hint)())
        self.inputs = [(port.get_any_name(), np.int64) for port in self.model.inputs]
        self._lock = threading.Lock()
        self.outputs: dict[str, list[Any]] = {}
        self._ports: dict[str, Any] = {}
        for port in self.model.outputs:
            shape = port.get_partial_shape()
            dims = [d.get_length() if d.is_static else None for d in shape]
            for name in port.get_names():
                self.outputs[name] = dims
                self._ports[name] = port

    def __call__(self, feed: dict[str, np.ndarray], output: str) -> np.ndarray:
        # The compiled model's own request is not thread-safe (ONNX Runtime's run is);
        # callers take turns, each with all the threads, and get their own copy.
        with self._lock:
            return np.array(self.model(feed)[self._ports[output]])


def make_encoder(path: Path, threads: int, backend: str, precision: str) -> Any:
    if precision not in PRECISIONS:
        raise InvalidInputError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    resolved = resolve_backend(backend)
    if resolved == "openvino":
        return OpenVinoEncoder(path, threads, precision=precision)
    if precision != "auto":
        raise InvalidInputError(
            f"precision={precision!r} is OpenVINO's; ONNX Runtime runs the model file's own "
            "precision (pass backend='openvino', or precision='auto')"
        )
    return OrtEncoder(path, threads)


def make_ort_session(path: Path, threads: int, *, arena: bool = True) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    # ORT's worker threads spin for a while after each run; on a small CPU they then take
    # the cores from the dense search that follows a query's embedding (measured: hybrid
    # p50 10.1 -> 6.4 ms on 2 cores, the embedding itself 6.5 -> 5.4 ms).
    # BLENDRANK_ORT_SPIN=1 turns spinning back on.
    if os.environ.get("BLENDRANK_ORT_SPIN", "0") != "1":
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from exc

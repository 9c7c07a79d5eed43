"""The two engines a cross-encoder runs on: an ONNX Runtime session (CPU default) and a
PyTorch model (fp16 on CUDA, fp32 on CPU). Both map padded int64 batches to logits.

>>> run = OnnxRunner(onnx_path, threads=2)                   # doctest: +SKIP
>>> run(input_ids, attention_mask, token_type_ids).shape     # doctest: +SKIP
(32,)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.errors import ModelError
from blendrank.rerank.cross_encoder.export import load_torch_model
from blendrank.rerank.cross_encoder.model import ModelSpec


class OnnxRunner:
    """ONNX Runtime session; ``threads`` sets intra-op threads (None: ORT's default)."""

    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from exc
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.path = path

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {name: given[name] for name in self.inputs}
        logits = self.session.run(None, feed)[0]
        return np.asarray(logits, dtype=np.float32).reshape(len(ids), -1)[:, 0]


class TorchRunner:
    """The Hugging Face model under PyTorch: fp16 on CUDA when available, else fp32 CPU."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str | None = None,
        threads: int | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        torch = require("torch", "torch", "the torch cross-encoder backend")
        self.torch = torch
        if threads is not None:
            torch.set_num_threads(threads)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model: Any = load_torch_model(spec, trust_remote_code=trust_remote_code)
        if self.device.type == "cuda":
            model = model.half()
        self.model = model.to(self.device)
        self.use_types = spec.uses_token_type_ids

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        torch = self.torch
        inputs = {
            "input_ids": torch.from_numpy(ids).to(self.device),
            "attention_mask": torch.from_numpy(mask).to(self.device),
        }
        if self.use_types:
            inputs["token_type_ids"] = torch.from_numpy(types).to(self.device)
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return logits.float().cpu().numpy().reshape(len(ids), -1)[:, 0]


class OpenVinoRunner:
    """OpenVINO on the CPU, from the unfused ONNX export or an int8 ``model.xml``.
    ``precision="f32"`` keeps sentence-transformers parity; ``"bf16"`` uses bfloat16
    matmuls where the CPU has them (AVX512-BF16/AMX): about 3x faster again, scores within
    ~1e-2 on a trained model; ``None`` leaves the choice to the plugin (bf16 where
    available, else f32).

    With two or more threads the model is compiled for two streams, each with half the
    threads, and :meth:`run_batches` keeps both busy with small batches: measured on 2
    cores, 20 pairs of 88 tokens as 4 batches on 2 streams took 55 ms against 78 ms as one
    batch on one 2-thread stream (docs/rerank-speed.md)."""

    #: padded tokens per batch: small batches, two at a time, beat one large batch here
    token_budget = 1024

    def __init__(
        self, path: Path, *, threads: int | None = None, precision: str | None = "f32"
    ) -> None:
        ov = require("openvino", "openvino", "the OpenVINO cross-encoder backend")
        self._ov = ov
        workers = threads or os.cpu_count() or 1
        self.streams = 2 if workers >= 2 else 1
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "THROUGHPUT" if self.streams > 1 else "LATENCY",
            "NUM_STREAMS": self.streams,
            "INFERENCE_NUM_THREADS": workers,
        }
        if precision is not None:
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            self.model = ov.Core().compile_model(str(path), "CPU", config)
        except Exception as exc:
            raise ModelError(f"OpenVINO cannot load {path}: {exc}") from exc
        self.inputs = [port.get_any_name() for port in self.model.inputs]
        self._queue: Any = None
        self._lock = threading.Lock()  # one caller at a time owns the requests

    def _feed(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> dict[str, Any]:
        given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: given[name] for name in self.inputs}

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        with self._lock:  # the compiled model's own request is not thread-safe
            logits = np.array(self.model(self._feed(ids, mask, types))[0], dtype=np.float32)
        return logits.reshape(len(ids), -1)[:, 0]

    def run_batches(
        self, batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        """Logits of every batch, the batches spread over the streams."""
        if self.streams == 1 or len(batches) == 1:
            return [self(*batch) for batch in batches]
        out: list[Any] = [None] * len(batches)

        def done(request: Any, position: int) -> None:
            logits = np.asarray(request.get_output_tensor(0).data, dtype=np.float32)
            out[position] = logits.reshape(len(batches[position][0]), -1)[:, 0].copy()

        with self._lock:
            if self._queue is None:
                self._queue = self._ov.AsyncInferQueue(self.model, self.streams)
            self._queue.set_callback(done)
            for position, batch in enumerate(batches):
                self._queue.start_async(self._feed(*batch), position)
            self._queue.wait_all()
        return out

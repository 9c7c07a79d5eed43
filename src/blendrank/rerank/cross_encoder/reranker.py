"""Cross-encoder reranking: the query and each document go through one transformer
together and come out as one relevance score. Same scores as sentence-transformers'
``CrossEncoder.predict`` (within 1e-4), faster on CPU through ONNX Runtime, and no
silent truncation: documents longer than the window are split and their windows'
scores aggregated.

>>> rf = CrossEncoderReranker("/models/ms-marco-MiniLM-L-6-v2", quantize="int8")  # doctest: +SKIP
>>> results = rf("what is bm25?", ["BM25 ranks.", "Cats."], top_k=1)  # doctest: +SKIP
>>> results[0].index, results.info["split_documents"]                 # doctest: +SKIP
(0, 0)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.models.tokenizer import load_tokenizer
from blendrank.rerank.base import GroupScores, Reranker, Scale, ScoreCache, validate_query
from blendrank.rerank.cross_encoder.backends import OnnxRunner, OpenVinoRunner, TorchRunner
from blendrank.rerank.cross_encoder.batching import pad_batch, token_budget_batches
from blendrank.rerank.cross_encoder.export import onnx_model_file
from blendrank.rerank.cross_encoder.model import read_model_spec, resolve_model_path
from blendrank.rerank.cross_encoder.openvino_int8 import openvino_int8_file
from blendrank.rerank.cross_encoder.windows import (
    Aggregate,
    LongDocuments,
    aggregate_windows,
    encode_pairs,
)

Backend = Literal["auto", "onnx", "torch", "openvino"]
Activation = Literal["auto", "sigmoid", "identity"]
#: padded tokens per batch when batch_size is not given (e.g. 32 pairs of 128 tokens)
TOKEN_BUDGET = 4096
#: the scale of the scores an output activation gives
_ACTIVATION_SCALES: dict[str, Scale] = {
    "sigmoid": "probability",
    "identity": "logit",
    "tanh": "tanh",
}


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    """Apply the model's output activation (``sigmoid``, ``identity`` or ``tanh``).

    >>> [round(float(x), 4) for x in activate(np.array([0.0, 2.0]), "sigmoid")]
    [0.5, 0.8808]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if activation == "sigmoid":
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    if activation == "tanh":
        return np.tanh(logits).astype(np.float32)
    return logits.astype(np.float32)


def pick_backend(quantize: str | None, device: str | None, calibrated: bool) -> Backend:
    """What ``backend="auto"`` runs: torch for an accelerator, OpenVINO where it is
    installed and can run ``quantize`` (fp32 and bf16; int8 needs nncf too), else ONNX
    Runtime (which refuses bf16 with a clear error).

    >>> pick_backend(None, "cuda", False)
    'torch'
    """
    if device not in (None, "cpu"):
        return "torch"
    if quantize == "bf16" or (calibrated and quantize == "int8"):
        return "openvino"  # only OpenVINO runs these: a missing package is named then
    has = importlib.util.find_spec
    if has("openvino") is None or (quantize == "int8" and has("nncf") is None):
        return "onnx"
    return "openvino"


def _check_choice(name: str, value: object, choices: tuple[object, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {choices}, got {value!r}")


def _check_positive(name: str, value: int | None, minimum: int = 1) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInputError(f"{name} must be an integer or None, got {value!r}")
    if value is not None and value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {value}")


class CrossEncoderReranker(Reranker):
    """Rerank with a sequence-classification cross-encoder (ms-marco MiniLM, bge-reranker,
    jina-reranker, ...) from a local folder or a Hugging Face hub id.

    ``backend="auto"`` (default) picks the fastest exact runtime installed: OpenVINO fp32
    where ``openvino`` is installed (1.1x ONNX Runtime fp32 on an AMD EPYC, 1.2x to 1.6x on
    an AMX Xeon, same scores), else ONNX Runtime; PyTorch for a CUDA ``device``. With
    ``quantize``, auto picks OpenVINO for bf16 (only it has bf16) and for int8 when
    ``nncf`` is installed too, else ONNX Runtime's dynamic int8. ``backend="onnx"`` exports
    the model to ONNX once, cached under ``$BLENDRANK_CACHE/onnx/``; ``quantize="int8"``
    quantises it (about 2x faster on CPU, rankings nearly unchanged). ``backend="torch"``
    runs PyTorch (fp16 on CUDA).
    ``backend="openvino"`` (``pip install openvino``) runs the ONNX export with OpenVINO:
    fp32 by default (ST parity), ``quantize="bf16"`` for bfloat16 on CPUs that have it,
    ``quantize="int8"`` (``pip install 'blendrank[openvino-int8]'``) for NNCF static int8,
    calibrated once on generic text or on your ``calibration_pairs`` (a few dozen
    (query, document) pairs): the fastest CPU option measured (docs/rerank-speed.md).
    ``long_documents="split"`` scores overlapping windows of long documents (the query in
    each) and aggregates them with ``aggregate``; ``window_stride`` is how many document
    tokens consecutive windows share (default: a quarter of the window's document room).
    ``"truncate"`` cuts long pairs exactly as sentence-transformers does.

    >>> rf = CrossEncoderReranker(folder, threads=2)               # doctest: +SKIP
    >>> rf.score("query", ["doc one", "doc two"]).shape            # doctest: +SKIP
    (2,)
    """

    supports_groups = True

    def __init__(
        self,
        model: str | Path,
        *,
        backend: Backend = "auto",
        quantize: Literal[None, "int8", "bf16"] = None,
        max_length: int | None = None,
        activation: Activation = "auto",
        batch_size: int | None = None,
        threads: int | None = None,
        long_documents: LongDocuments = "split",
        aggregate: Aggregate = "max",
        window_stride: int | None = None,
        device: str | None = None,
        cache: ScoreCache | None = None,
        optimize: bool = True,
        trust_remote_code: bool = False,
        calibration_pairs: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(cache=cache)
        _check_choice("backend", backend, ("auto", "onnx", "torch", "openvino"))
        _check_choice("quantize", quantize, (None, "int8", "bf16"))
        if backend == "auto":
            backend = pick_backend(quantize, device, calibration_pairs is not None)
        _check_choice("activation", activation, ("auto", "sigmoid", "identity"))
        _check_choice("long_documents", long_documents, ("split", "truncate"))
        _check_choice("aggregate", aggregate, ("max", "mean", "first"))
        _check_positive("batch_size", batch_size)
        _check_positive("threads", threads)
        _check_positive("max_length", max_length, 8)
        _check_positive("window_stride", window_stride, 0)
        if backend == "torch" and quantize is not None:
            raise InvalidInputError(f"quantize={quantize!r} needs backend='onnx' or 'openvino'")
        if quantize == "bf16" and backend != "openvino":
            raise InvalidInputError("quantize='bf16' needs backend='openvino'")
        if calibration_pairs is not None and (backend, quantize) != ("openvino", "int8"):
            raise InvalidInputError(
                "calibration_pairs are for backend='openvino', quantize='int8' (static int8); "
                f"got backend={backend!r}, quantize={quantize!r}"
            )
        if backend != "torch" and device not in (None, "cpu"):
            raise InvalidInputError(
                f"backend={backend!r} runs on the CPU; for device={device!r} pass backend='torch'"
            )
        self.spec = read_model_spec(resolve_model_path(model))
        if max_length is not None and max_length > self.spec.max_length:
            raise InvalidInputError(
                f"max_length={max_length} exceeds the model's limit of {self.spec.max_length} "
                "tokens; pass a smaller max_length (long documents are split, not lost)"
            )
        self.backend = backend
        self.quantize = quantize
        self.max_length: int = max_length or self.spec.max_length
        self.activation = self.spec.activation if activation == "auto" else activation
        self.scale: Scale = _ACTIVATION_SCALES.get(self.activation, "score")
        self.batch_size = batch_size
        self.threads = threads
        self.long_documents = long_documents
        self.aggregate = aggregate
        self.window_stride = window_stride
        self.optimize = optimize
        self.name = f"cross-encoder:{self.spec.path.name}"
        self.tokenizer_folder = self.spec.path
        self._tokenizer = load_tokenizer(self.spec.path)
        self._lock = threading.Lock()  # the tokenizer's truncation setting is shared state
        self._calibration: str | None = None
        if backend == "onnx":
            self.onnx_path: Path | None = onnx_model_file(
                self.spec,
                quantize=quantize,  # type: ignore[arg-type]  # bf16 was refused above for onnx
                optimize=optimize,
                trust_remote_code=trust_remote_code,
            )
            self._run: Any = OnnxRunner(self.onnx_path, threads=threads)
            self.precision: str = quantize or "fp32"
        elif backend == "openvino" and quantize == "int8":
            self.onnx_path = openvino_int8_file(
                self.spec, pairs=calibration_pairs, trust_remote_code=trust_remote_code
            )
            # the plugin's own precision for what stays float: bf16 where the CPU has it
            self._run = OpenVinoRunner(self.onnx_path, threads=threads, precision=None)
            self.precision = "int8"
            self._calibration = self.onnx_path.parent.name  # fingerprint of weights and pairs
        elif backend == "openvino":
            # OpenVINO reads the plain export: ORT's fused ops are not standard ONNX
            self.onnx_path = onnx_model_file(
                self.spec, optimize=False, trust_remote_code=trust_remote_code
            )
            self._run = OpenVinoRunner(
                self.onnx_path, threads=threads, precision="bf16" if quantize else "f32"
            )
            self.precision = quantize or "fp32"
        else:
            self.onnx_path = None
            self._run = TorchRunner(
                self.spec, device=device, threads=threads, trust_remote_code=trust_remote_code
            )
            self.precision = "fp16" if self._run.device.type == "cuda" else "fp32"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "name": self.name,
            "model": str(self.spec.path),
            "weights": self.spec.weights_hash,
            "backend": self.backend,
            "precision": self.precision,
            "optimize": self.optimize,
            "max_length": self.max_length,
            "activation": self.activation,
            "long_documents": self.long_documents,
            "aggregate": self.aggregate,
            "window_stride": self.window_stride,
            **({"calibration": self._calibration} if self._calibration else {}),
        }

    @property
    def fingerprint(self) -> str:
        """Covers the weights, backend, precision, max length, activation and window settings."""
        payload = json.dumps(self.config(), sort_keys=True, default=str)
        return f"{self.name}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.score_groups([(query, texts)])[0]

    def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        """Scores of several ``(query, texts)`` groups in one pass: the windows of every
        group share the length-sorted token-budget batches, so many small requests cost
        about as much as one large one (the HTTP service's micro-batcher relies on it).
        Each array equals :meth:`score` of its group (up to padding-level float noise).
        ``info``: ``split_documents`` (documents longer than the window), ``windows``
        (pairs the model ran), ``query_truncated`` when a query alone filled the window.

        >>> a, b = rf.score_groups([("q1", ["x", "y"]), ("q2", ["z"])])  # doctest: +SKIP
        >>> a.shape, b.shape                                              # doctest: +SKIP
        ((2,), (1,))
        """
        checked = [(validate_query(query), texts) for query, texts in groups]
        with self._lock:
            encoded = [
                encode_pairs(
                    self._tokenizer,
                    query,
                    texts,
                    max_length=self.max_length,
                    long_documents=self.long_documents,
                    overlap=self.window_stride,
                )
                for query, texts in checked
            ]
        ids = [row for windows in encoded for row in windows.ids]
        type_ids = [row for windows in encoded for row in windows.type_ids]
        logits = np.empty(len(ids), dtype=np.float32)
        budget = getattr(self._run, "token_budget", TOKEN_BUDGET)
        batches = token_budget_batches(
            [len(row) for row in ids], max_tokens=budget, max_rows=self.batch_size
        )
        padded = [pad_batch(ids, type_ids, b, pad_id=self.spec.pad_token_id) for b in batches]
        if hasattr(self._run, "run_batches"):
            for batch, batch_logits in zip(batches, self._run.run_batches(padded), strict=True):
                logits[batch] = batch_logits
        else:
            for batch, arrays in zip(batches, padded, strict=True):
                logits[batch] = self._run(*arrays)
        activated = activate(logits, self.activation)
        out: list[np.ndarray] = []
        start = 0
        for windows in encoded:
            n = len(windows.owner) and int(windows.owner.max()) + 1
            stop = start + len(windows.ids)
            out.append(aggregate_windows(activated[start:stop], windows.owner, n, self.aggregate))
            start = stop
        info: dict[str, Any] = {
            "split_documents": sum(w.split_documents for w in encoded),
            "windows": len(ids),
        }
        if any(w.query_truncated for w in encoded):
            info["query_truncated"] = True
        return GroupScores(out, info)

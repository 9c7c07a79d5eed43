"""pymilvus' reranker functions, on blendrank's models: change the import and keep the code.

>>> from blendrank.compat.pymilvus import CrossEncoderRerankFunction  # doctest: +SKIP
>>> rf = CrossEncoderRerankFunction(model_name="cross-encoder/ms-marco-MiniLM-L-6-v2",
...                                 device="cpu")                        # doctest: +SKIP
>>> rf(query, documents, top_k=3)   # [RerankResult(text, score, index), ...]  # doctest: +SKIP

The constructors take pymilvus' arguments and defaults (``model_name``, ``device``,
``batch_size``, ``use_fp16``, ``api_key``, ...), and the call is pymilvus': ``top_k``
defaults to 5 and a ``top_k`` beyond the list returns every document. Where an argument
cannot be honoured here it says so with a warning and runs the nearest thing (``use_fp16``
or ``device="cuda"`` on a machine without a GPU run on the CPU in fp32). Model names are
loaded as blendrank loads any cross-encoder: a local folder, an installed model package,
or the Hugging Face hub when the machine has a network.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker
from blendrank.types import RerankResult

__all__ = [
    "BGERerankFunction",
    "CohereRerankFunction",
    "CrossEncoderRerankFunction",
    "JinaRerankFunction",
    "RerankResult",
    "VoyageRerankFunction",
]


class _RerankFunction:
    """``rf(query, documents, top_k=5)`` over a blendrank reranker (``.reranker``)."""

    reranker: Reranker

    def __call__(self, query: str, documents: Sequence[Any], top_k: int = 5) -> list[Any]:
        if isinstance(top_k, int) and not isinstance(top_k, bool) and top_k > len(documents):
            top_k = len(documents)  # pymilvus returns them all
        if not documents:
            return []
        return list(self.reranker(query, list(documents), top_k=top_k))


def _cpu_device(device: str | None, use_fp16: bool, who: str) -> tuple[str | None, str]:
    """(device, backend) to run on; a warning where pymilvus' request cannot be met."""
    wants_gpu = isinstance(device, str) and device.startswith("cuda")
    has_gpu = False
    if wants_gpu or use_fp16:
        try:
            import torch

            has_gpu = bool(torch.cuda.is_available())
        except ImportError:
            has_gpu = False
    if wants_gpu and has_gpu:
        return device, "torch"
    if wants_gpu:
        warnings.warn(
            f"{who}: device={device!r} asked for, but no CUDA device is usable here "
            "(torch missing or no GPU); running on the CPU with ONNX Runtime",
            stacklevel=3,
        )
    if use_fp16 and not has_gpu:
        warnings.warn(
            f"{who}: use_fp16=True needs a GPU; running in fp32 on the CPU (for a faster "
            "CPU path use blendrank's CrossEncoderReranker(quantize='int8'))",
            stacklevel=3,
        )
    return None, "onnx"


class CrossEncoderRerankFunction(_RerankFunction):
    """pymilvus' ``CrossEncoderRerankFunction`` (sentence-transformers cross-encoders)."""

    def __init__(
        self,
        model_name: str = "",
        device: str = "cpu",
        batch_size: int = 32,
        activation_fct: Any = None,
        **kwargs: Any,
    ) -> None:
        from blendrank.rerank.cross_encoder import CrossEncoderReranker

        run_on, backend = _cpu_device(device, False, "CrossEncoderRerankFunction")
        activation: Any = "auto" if activation_fct is None else _activation(activation_fct)
        self.model_name = model_name
        self.reranker = CrossEncoderReranker(
            model_name,
            backend=kwargs.pop("backend", backend),
            device=run_on,
            batch_size=batch_size,
            activation=activation,
            **kwargs,
        )


class BGERerankFunction(_RerankFunction):
    """pymilvus' ``BGERerankFunction`` (BAAI bge-reranker cross-encoders; ``normalize``
    maps scores through a sigmoid, as FlagEmbedding does)."""

    def __init__(
        self,
        model_name: str = "BAAI/bge-reranker-v2-m3",
        use_fp16: bool = True,
        batch_size: int = 32,
        normalize: bool = True,
        device: str | None = None,
        **kwargs: Any,
    ) -> None:
        from blendrank.rerank.cross_encoder import CrossEncoderReranker

        run_on, backend = _cpu_device(device, use_fp16, "BGERerankFunction")
        self.model_name = model_name
        self.reranker = CrossEncoderReranker(
            model_name,
            backend=kwargs.pop("backend", backend),
            device=run_on,
            batch_size=batch_size,
            activation="sigmoid" if normalize else "identity",
            **kwargs,
        )


class _Hosted(_RerankFunction):
    provider = ""
    default_model = ""

    def __init__(
        self, model_name: str | None = None, api_key: str | None = None, **kwargs: Any
    ) -> None:
        from blendrank.rerank.hosted import HostedReranker

        for ignored in ("return_documents", "max_chunks_per_doc", "truncation"):
            kwargs.pop(ignored, None)  # results carry the text either way; long texts: the API's
        self.model_name = model_name or self.default_model
        self.reranker = HostedReranker(self.provider, self.model_name, api_key=api_key, **kwargs)


class CohereRerankFunction(_Hosted):
    """pymilvus' ``CohereRerankFunction`` (key: ``api_key`` or ``$COHERE_API_KEY``)."""

    provider, default_model = "cohere", "rerank-english-v3.0"


class VoyageRerankFunction(_Hosted):
    """pymilvus' ``VoyageRerankFunction`` (key: ``api_key`` or ``$VOYAGE_API_KEY``)."""

    provider, default_model = "voyage", "rerank-lite-1"


class JinaRerankFunction(_Hosted):
    """pymilvus' ``JinaRerankFunction`` (key: ``api_key`` or ``$JINA_API_KEY``)."""

    provider, default_model = "jina", "jina-reranker-v2-base-multilingual"


def _activation(function: Any) -> str:
    name = getattr(function, "__name__", type(function).__name__).lower()
    if "sigmoid" in name:
        return "sigmoid"
    if "identity" in name:
        return "identity"
    raise InvalidInputError(
        f"activation_fct={function!r}: blendrank applies 'sigmoid' or 'identity'; pass "
        "torch.nn.Sigmoid() / torch.nn.Identity(), or None for the model's own"
    )

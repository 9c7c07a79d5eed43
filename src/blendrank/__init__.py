"""blendrank: hybrid retrieval (BM25 + dense, fused, filtered) and reranking for RAG."""

from __future__ import annotations

from blendrank._version import __version__
from blendrank.errors import BlendrankError, InvalidInputError
from blendrank.types import Chunk, Document, Hit, RerankResult

__all__ = [
    "BlendrankError",
    "Chunk",
    "Document",
    "Hit",
    "Index",
    "InvalidInputError",
    "RerankResult",
    "__version__",
]


def __getattr__(name: str):  # lazy: keep `import blendrank` cheap
    if name == "Index":
        from blendrank.index.embedded import Index

        return Index
    raise AttributeError(name)

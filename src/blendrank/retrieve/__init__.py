"""First-stage retrieval behind one protocol: :class:`Retriever` (``name``,
``retrieve(query, k) -> Ranking``) and :class:`HybridRetriever`, which runs named
retrievers with the same query and fuses their rankings."""

from __future__ import annotations

from blendrank.retrieve.base import Retriever, RetrieverBase, check_k
from blendrank.retrieve.hybrid import HybridRetriever

__all__ = ["HybridRetriever", "Retriever", "RetrieverBase", "check_k"]

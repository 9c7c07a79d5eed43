"""LangChain: a document compressor over any blendrank reranker and a retriever over any
blendrank store (the embedded index or an engine) or pipeline.

>>> from blendrank.integrations.langchain import BlendrankRetriever, BlendrankReranker
>>> retriever = BlendrankRetriever(store=Index.open("kb-index"), k=20,
...                                search_kwargs={"mode": "hybrid"})       # doctest: +SKIP
>>> compressor = BlendrankReranker(reranker=load_reranker("cross"), top_n=5)  # doctest: +SKIP
>>> ContextualCompressionRetriever(base_compressor=compressor,
...                                base_retriever=retriever)              # doctest: +SKIP

Each returned ``Document`` keeps its metadata and adds ``relevance_score`` (the
compressor) or ``score``, ``scores`` (each retriever's own), ``doc_id`` and ``chunk_id``
(the retriever).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blendrank._optional import require

require("langchain_core", "langchain", "the LangChain integration")

from langchain_core.callbacks import CallbackManagerForRetrieverRun, Callbacks  # noqa: E402
from langchain_core.documents import BaseDocumentCompressor, Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402

from blendrank.integrations._search import search_hits  # noqa: E402

__all__ = ["BlendrankReranker", "BlendrankRetriever"]


class BlendrankReranker(BaseDocumentCompressor):
    """Reorders (and cuts to ``top_n``) the documents a LangChain retriever found, by any
    blendrank reranker (``reranker``: a Reranker or a spec string for ``load_reranker``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reranker: Any
    top_n: int | None = Field(default=3, ge=1)

    def model_post_init(self, _context: Any) -> None:
        if isinstance(self.reranker, str):
            from blendrank.rerank import load_reranker

            self.reranker = load_reranker(self.reranker)

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        if not documents:
            return []
        texts = [d.page_content for d in documents]
        results = self.reranker(query, texts, self.top_n)
        out = []
        for result in results:
            source = documents[result.index]
            out.append(
                Document(
                    page_content=source.page_content,
                    metadata={**source.metadata, "relevance_score": float(result.score)},
                    id=source.id,
                )
            )
        return out


class BlendrankRetriever(BaseRetriever):
    """Searches a blendrank store or pipeline. ``k``: how many; ``filter``: blendrank's
    metadata filter; ``search_kwargs``: any other option of ``search`` (``mode``,
    ``fusion``, ``rerank``...). ``invoke(query, k=..., filter=...)`` overrides per call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    k: int = Field(default=4, ge=1)
    filter: dict[str, Any] | None = None
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = kwargs.pop("k", self.k)
        filter_ = kwargs.pop("filter", self.filter)
        options = {**self.search_kwargs, **kwargs}
        hits = search_hits(self.store, query, k, filter_, options)
        return [
            Document(
                page_content=hit.text,
                metadata={
                    **hit.metadata,
                    "doc_id": hit.doc_id,
                    "chunk_id": hit.chunk_id or hit.id,
                    "title": hit.title,
                    "score": float(hit.score),
                    "scores": dict(hit.scores),
                },
                id=hit.id,
            )
            for hit in hits
        ]

"""LlamaIndex: a node postprocessor over any blendrank reranker and a retriever over any
blendrank store (the embedded index or an engine) or pipeline.

>>> from blendrank.integrations.llamaindex import BlendrankRerank, BlendrankLlamaRetriever
>>> engine = RetrieverQueryEngine.from_args(
...     BlendrankLlamaRetriever(Index.open("kb-index"), top_k=20),
...     node_postprocessors=[BlendrankRerank(reranker="cross", top_n=5)])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from blendrank._optional import require

require("llama_index.core", "llamaindex", "the LlamaIndex integration")

from llama_index.core.bridge.pydantic import ConfigDict, Field  # noqa: E402
from llama_index.core.postprocessor.types import BaseNodePostprocessor  # noqa: E402
from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode  # noqa: E402

from blendrank.integrations._search import search_hits  # noqa: E402

__all__ = ["BlendrankLlamaRetriever", "BlendrankRerank"]


class BlendrankRerank(BaseNodePostprocessor):
    """Reorders (and cuts to ``top_n``) retrieved nodes by any blendrank reranker
    (``reranker``: a Reranker or a spec string for ``load_reranker``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reranker: Any = Field(description="a blendrank Reranker or a reranker spec")
    top_n: int = Field(default=3, ge=1)

    def model_post_init(self, _context: Any) -> None:
        if isinstance(self.reranker, str):
            from blendrank.rerank import load_reranker

            self.reranker = load_reranker(self.reranker)

    @classmethod
    def class_name(cls) -> str:
        return "BlendrankRerank"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("BlendrankRerank needs the query (query_bundle or query_str)")
        if not nodes:
            return []
        texts = [n.node.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]
        results = self.reranker(query_bundle.query_str, texts, self.top_n)
        return [NodeWithScore(node=nodes[r.index].node, score=float(r.score)) for r in results]


class BlendrankLlamaRetriever(BaseRetriever):
    """Searches a blendrank store or pipeline: ``top_k`` hits, blendrank's ``filter``,
    any other ``search`` option as keyword arguments (``mode="hybrid"``...)."""

    def __init__(
        self,
        store: Any,
        top_k: int = 4,
        filter: dict[str, Any] | None = None,
        **search_kwargs: Any,
    ) -> None:
        super().__init__()
        self.store, self.top_k, self.filter, self.search_kwargs = (
            store,
            top_k,
            filter,
            search_kwargs,
        )

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = search_hits(
            self.store, query_bundle.query_str, self.top_k, self.filter, dict(self.search_kwargs)
        )
        return [
            NodeWithScore(
                node=TextNode(
                    id_=hit.id,
                    text=hit.text,
                    metadata={
                        **hit.metadata,
                        "doc_id": hit.doc_id,
                        "title": hit.title,
                        "scores": dict(hit.scores),
                    },
                ),
                score=float(hit.score),
            )
            for hit in hits
        ]

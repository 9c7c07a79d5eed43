"""What the routes share: the served models and their micro-batchers, the index, the
limits, the metrics. No web framework here; routes translate HTTP to these calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from blendrank.errors import InvalidInputError
from blendrank.service.batcher import MicroBatcher
from blendrank.service.config import ServiceConfig
from blendrank.service.errors import Redactor, ServiceError, too_large, unavailable
from blendrank.service.index_service import IndexService, StoreService
from blendrank.service.metrics import ServiceMetrics
from blendrank.service.registry import ModelRegistry, ServedModel
from blendrank.service.scoring import batch_function
from blendrank.types import Ranking


class ServiceState:
    """Models, batchers, index and limits of one app instance."""

    def __init__(
        self,
        models: ModelRegistry,
        index: IndexService | StoreService | None,
        config: ServiceConfig,
        metrics: ServiceMetrics,
    ) -> None:
        self.models = models
        self.index = index
        self.config = config
        self.metrics = metrics
        self.closing = False
        self.redact = Redactor(_private_places(models, index))
        self.batchers = {
            model.name: MicroBatcher(
                model.name,
                batch_function(model, metrics),
                batching=config.batching and model.batched,
                # a pair scorer's large request is queued in parts, so the parts not yet
                # scored are dropped when it times out or its client goes away
                split_pairs=config.max_batch_pairs if model.batched else None,
                max_batch_pairs=config.max_batch_pairs,
                max_wait_s=config.max_wait_ms / 1000.0,
                max_queue_pairs=config.max_queue_pairs,
                metrics=metrics,
            )
            for model in models
        }

    # ---- input limits ------------------------------------------------------------------

    def check_query(self, query: str) -> str:
        limit = self.config.max_document_chars
        if len(query) > limit:
            raise too_large(
                f"query has {len(query)} characters; this server accepts at most {limit} "
                "(--max-document-chars)"
            )
        if not query.strip():
            raise ServiceError(400, "query is blank; pass the text to rank documents for")
        return query

    def check_documents(self, texts: Sequence[str], field: str = "documents") -> None:
        """413 when there are too many documents or one is too long."""
        if len(texts) > self.config.max_documents:
            raise too_large(
                f"{len(texts)} {field} in one request; this server accepts at most "
                f"{self.config.max_documents} (--max-documents): split the request"
            )
        limit = self.config.max_document_chars
        for position, text in enumerate(texts):
            if len(text) > limit:
                raise too_large(
                    f"{field}[{position}] has {len(text)} characters; this server accepts at "
                    f"most {limit} per document (--max-document-chars): shorten or split it"
                )

    def require_index(self) -> IndexService | StoreService:
        if self.index is None:
            raise ServiceError(
                404,
                "this server has no index; start it with `blendrank serve --index DIR`",
                error_type="no_index",
            )
        return self.index

    # ---- scoring -------------------------------------------------------------------------

    def check_budget(self, query: str, texts: Sequence[str]) -> None:
        """413 when scoring ``texts`` for ``query`` would take more model work than one
        request may ask for (so it is refused before it can hold the model for minutes)."""
        tokens = sum(len(query) + len(t) for t in texts) // 4
        limit = self.config.max_request_tokens
        if tokens > limit:
            raise too_large(
                f"this request needs about {tokens:,} tokens of model work (query and "
                f"documents, estimated as characters / 4); this server takes at most "
                f"{limit:,} per request (--max-request-tokens): send fewer or shorter "
                "documents, or split the request"
            )

    async def rank(self, model: ServedModel, query: str, texts: Sequence[str]) -> Ranking:
        """The documents ranked by ``model``, through its micro-batcher."""
        if self.closing:
            raise unavailable("the server is shutting down; retry on another instance", 1)
        self.check_budget(query, texts)
        return await self.batchers[model.name].submit(query, texts, self.config.request_timeout_s)

    def prepare_texts(
        self, model: ServedModel, texts: list[str], max_tokens_per_doc: int | None
    ) -> list[str]:
        if max_tokens_per_doc is None:
            return texts
        try:
            return model.truncate(texts, max_tokens_per_doc)
        except (TypeError, ValueError) as exc:  # a tokenizer refusing odd input
            raise InvalidInputError(f"cannot tokenize the documents: {exc}") from exc

    async def close(self) -> None:
        """Refuse new work, finish queued scoring and the write in progress."""
        self.closing = True
        timeout = self.config.shutdown_timeout_s
        await asyncio.gather(*(b.close(timeout) for b in self.batchers.values()))
        if self.index is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.index.close)


def _private_places(
    models: ModelRegistry, index: IndexService | StoreService | None
) -> dict[str, str]:
    """Folders whose paths error messages must not show, with what to say instead."""
    from pathlib import Path

    from blendrank.models.cache import cache_root

    places = {str(cache_root()): "<model cache>"}
    for model in models:
        folder = model.reranker.tokenizer_folder
        if folder is not None:
            places[str(folder)] = f"<model {model.name}>"
    if index is not None:
        places[index.path] = "<index folder>"
    places[str(Path.home())] = "~"
    return places

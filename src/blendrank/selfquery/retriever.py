"""Self-query as a first stage: the extractor reads a filter out of the question, then
the wrapped retriever runs with it.

- ``"filter"``: a hard filter (ANDed with the query's own) over the rest of the question;
- ``"boost"``: nothing is excluded: the question's ranking and the ranking of the
  documents matching the extracted filter are fused by RRF, so matching documents rise.

The extraction (filter, rest of the question, matches) is in the ranking's
``info["self_query"]``.
"""

from __future__ import annotations

import time
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.retrieve.base import Retriever, RetrieverBase, check_k
from blendrank.retrieve.hybrid import HybridRetriever
from blendrank.types import Query, Ranking

SELF_QUERY_MODES = ("off", "filter", "boost")


class SelfQueryRetriever(RetrieverBase):
    def __init__(
        self,
        retriever: Retriever,
        extractor: Any,
        mode: str = "filter",
        *,
        per: str = "chunk",
        depth: int = 100,
        rrf_k: int = 60,
    ) -> None:
        if mode not in ("filter", "boost"):
            raise InvalidInputError(f"self-query mode must be 'filter' or 'boost', got {mode!r}")
        if not callable(getattr(extractor, "extract", None)):
            raise InvalidInputError(
                f"extractor must have extract(question) (RuleExtractor, LLMExtractor), got "
                f"{type(extractor).__name__}"
            )
        self.retriever, self.extractor, self.mode = retriever, extractor, mode
        self.name = getattr(retriever, "name", "first_stage")
        self.depth = depth
        # fuses the question's ranking with the matching documents' (boost)
        self._boost = HybridRetriever(
            {"question": retriever, "matching": retriever}, "rrf", rrf_k=rrf_k, per=per, depth=depth
        )

    def retrieve(self, query: Query, k: int) -> Ranking:
        k = check_k(k)
        start = time.perf_counter()
        found = self.extractor.extract(query.text)
        seconds = time.perf_counter() - start
        info = {**found.to_dict(), "mode": self.mode}
        if not found.filter:
            ranking = self.retriever.retrieve(query, k)
        else:
            both = found.filter if query.filter is None else {"and": [query.filter, found.filter]}
            if self.mode == "filter":
                ranking = self.retriever.retrieve(Query(found.query, both, query.id), k)
            else:
                depth = max(k, self.depth)
                base = self.retriever.retrieve(query, depth)
                matching = self.retriever.retrieve(Query(query.text, both, query.id), depth)
                timings = dict(base.info.get("timings") or {})
                ranking = self._boost.fuse(
                    {"question": base, "matching": matching}, k, depth, timings
                )
        timings = ranking.info.setdefault("timings", {})
        timings["self_query"] = timings.get("self_query", 0.0) + seconds
        ranking.info["self_query"] = info
        return ranking

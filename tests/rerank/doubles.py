"""Test doubles shared by the combinator tests (cascade, ensemble, MMR, threshold, blend)."""

from __future__ import annotations

import numpy as np

from blendrank.rerank import Reranker


class TableReranker(Reranker):
    """Scores looked up in a fixed table: lets each test choose every score."""

    def __init__(self, table: dict[str, float], name: str = "table", cache=None):
        super().__init__(cache=cache)
        self.table, self.name = table, name
        self.calls: list[list[str]] = []

    def score(self, query, texts):
        self.calls.append(list(texts))
        return np.array([self.table[t] for t in texts], dtype=np.float32)

"""The base reranker: declared limits honoured, the cache in front of the model, one
ranking type out of ``rerank`` and pymilvus results out of a call."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import LRUScoreCache, Reranker
from blendrank.types import Hit, Ranking


class Recording(Reranker):
    """Scores = text length; records the size of every model call."""

    name = "recording"
    max_documents_per_call = 3

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: list[int] = []

    def score(self, query, texts):
        self.calls.append(len(texts))
        return np.array([len(t) for t in texts], dtype=np.float32)


TEXTS = ["a" * n for n in (5, 1, 7, 3, 2, 6, 4)]


def test_calls_larger_than_the_declared_maximum_are_split() -> None:
    rf = Recording()
    results = rf("q", TEXTS)
    assert rf.calls == [3, 3, 1]
    assert [r.index for r in results] == [2, 5, 0, 6, 3, 4, 1]


def test_the_cache_sends_only_missing_texts_to_the_model() -> None:
    rf = Recording(cache=LRUScoreCache(100))
    rf("q", TEXTS[:4])
    results = rf("q", TEXTS)
    assert rf.calls == [3, 1, 3]  # then only the 3 new texts
    assert results.info["cache_hits"] == 4


def test_rerank_takes_hits_and_returns_a_ranking() -> None:
    hits = [Hit(f"h{i}", f"d{i}", 0.0, t, scores={"bm25": 1.0}) for i, t in enumerate(TEXTS)]
    ranking = Recording().rerank("q", hits, top_k=3)
    assert isinstance(ranking, Ranking)
    assert ranking.ids == ("h2", "h5", "h0")
    assert ranking[0].scores == {"bm25": 1.0, "rerank": 7.0} and ranking[0].ranks["rerank"] == 1
    with pytest.raises(InvalidInputError, match="rerank\\(\\) takes search hits"):
        Recording().rerank("q", ["plain text"])  # type: ignore[list-item]


def test_a_reranker_must_implement_score_or_rerank() -> None:
    class Nothing(Reranker):
        pass

    with pytest.raises(NotImplementedError, match="must implement score\\(\\) or rerank\\(\\)"):
        Nothing()("q", ["x"])


def test_nan_scores_are_a_clear_error() -> None:
    class Broken(Reranker):
        name = "broken"

        def score(self, query, texts):
            return np.full(len(texts), np.nan, dtype=np.float32)

    with pytest.raises(RuntimeError, match="broken returned NaN scores"):
        Broken()("q", ["x", "y"])

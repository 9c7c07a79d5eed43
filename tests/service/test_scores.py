"""The score scales of the HTTP formats, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker, positions, ranking_by_position, scores_by_position
from blendrank.service.config import ServiceConfig
from blendrank.service.scores import raw_scores, relevance_scores


def test_relevance_is_in_0_1_and_keeps_the_order() -> None:
    logits = np.array([-3.0, 0.0, 3.0])
    assert relevance_scores(logits, "logit") == pytest.approx([0.047426, 0.5, 0.952574], 1e-5)
    assert relevance_scores(np.array([0.2, 0.9]), "probability").tolist() == [0.2, 0.9]
    assert relevance_scores(np.array([-1.0, 0.0, 1.0]), "cosine").tolist() == [0.0, 0.5, 1.0]
    assert relevance_scores(np.array([-1.0, 1.0]), "tanh").tolist() == [0.0, 1.0]


def test_raw_scores_undo_the_activation() -> None:
    assert raw_scores(np.array([0.5, 0.8807971]), "probability") == pytest.approx([0, 2], 1e-5)
    assert raw_scores(np.array([1.0]), "probability")[0] == pytest.approx(16.64, abs=0.01)
    assert raw_scores(np.array([-2.0, 5.0]), "logit").tolist() == [-2.0, 5.0]


def test_ranking_top_and_positions() -> None:
    ranking = ranking_by_position([2, 0, 1], [0.9, 0.5, 0.1])
    assert positions(ranking.top(2)) == [2, 0]
    assert scores_by_position(ranking, 3).tolist() == [0.5, 0.1, 0.9]


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"max_documents": 0}, "max_documents"),
        ({"max_wait_ms": -1}, "max_wait_ms"),
        ({"max_queue_pairs": 10, "max_documents": 20}, "could never be queued"),
        ({"api_keys": ("",)}, "api_keys"),
    ],
)
def test_config_refuses_bad_settings(settings: dict, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        ServiceConfig(**settings)


class ProbabilityTable(Reranker):
    """Scores looked up in a table and declared as probabilities, as every hosted rerank
    API returns them (Cohere, Jina, Voyage)."""

    name = "probabilities"
    scale = "probability"

    def __init__(self, table: dict[str, float]) -> None:
        super().__init__()
        self.table = table

    def score(self, query, texts):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_a_probability_scale_reranker_is_served_unchanged(start_server) -> None:
    """Before declared scales the service guessed "logit" and served 0.99 as 0.729."""
    import httpx

    server = start_server({"api": ProbabilityTable({"good": 0.99, "bad": 0.01})})
    body = {"model": "api", "query": "q", "documents": ["bad", "good"]}
    cohere = httpx.post(f"{server.url}/v2/rerank", json=body, timeout=30).json()
    scores = [(r["index"], r["relevance_score"]) for r in cohere["results"]]
    assert scores == [(1, pytest.approx(0.99, abs=1e-6)), (0, pytest.approx(0.01, abs=1e-6))]
    tei = httpx.post(
        f"{server.url}/rerank", json={"model": "api", "query": "q", "texts": ["bad", "good"]}
    ).json()
    assert [(r["index"], round(r["score"], 6)) for r in tei] == [(1, 0.99), (0, 0.01)]

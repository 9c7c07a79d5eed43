"""BiEncoderReranker: cosine maths on fixed vectors, and the real default model."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.embed.base import Embedder
from blendrank.errors import InvalidInputError
from blendrank.rerank import BiEncoderReranker, LRUScoreCache, cosine_scores
from blendrank.types import Hit


class FixedVectors(Embedder):
    """Embeds each text as a fixed vector from a table (geometry test double)."""

    def __init__(self, table):
        self.table = table

    def _embed_batch(self, texts, kind):
        return np.array([self.table[t] for t in texts], dtype=np.float64)

    def config(self):
        return {"type": "fixed", "table": sorted(self.table)}


@pytest.fixture(scope="module")
def minilm():
    return BiEncoderReranker("all-MiniLM-L6-v2")


def test_cosine_on_fixed_vectors():
    # q = (1, 0): cos with (3, 4) = .6, (0, 1) = 0, (-1, 0) = -1
    embedder = FixedVectors({"q": [1, 0], "a": [3, 4], "b": [0, 1], "c": [-1, 0]})
    results = BiEncoderReranker(embedder)("q", ["b", "c", "a"])
    assert [(r.text, round(r.score, 6)) for r in results] == [("a", 0.6), ("b", 0.0), ("c", -1.0)]


def test_cosine_scores_handles_zero_rows():
    scores = cosine_scores(np.array([1.0, 0.0]), np.array([[0.0, 0.0], [2.0, 0.0]]))
    assert scores.tolist() == [0.0, 1.0]


def test_real_model_puts_relevant_sentence_first(minilm):
    docs = [
        "The stock market closed lower on Friday.",
        "Cats purr by vibrating the muscles of their larynx.",
        "Preheat the oven to 180 degrees before baking.",
    ]
    results = minilm("why do cats purr?", docs)
    assert results[0].index == 1
    assert results[0].score > 0.5 > results[1].score
    assert results.info == {"reranker": "bi:all-MiniLM-L6-v2", "documents": 3, "cache_hits": 0}


def test_precomputed_vectors_give_the_same_scores(minilm):
    docs = ["Cats purr when content.", "Dogs bark at the mail carrier."]
    vectors = minilm.embedder.embed_documents(docs)
    by_model = minilm.score("cat purring", docs)
    by_vectors = minilm.score_vectors("cat purring", vectors)
    assert by_vectors == pytest.approx(by_model, abs=1e-5)
    via_vectors = minilm.rerank_vectors("cat purring", docs, vectors, top_k=1)
    assert via_vectors[0].index == 0 and via_vectors.info["precomputed_vectors"] is True
    hits = [Hit(id=f"h{i}", doc_id=f"d{i}", score=0.0, text=t) for i, t in enumerate(docs)]
    reranked = minilm.rerank("dog barking", hits, vectors=vectors)
    assert [h.id for h in reranked] == ["h1", "h0"]
    assert reranked[0].scores["rerank"] == pytest.approx(
        float(minilm.score("dog barking", docs)[1])
    )


def test_vector_errors(minilm):
    with pytest.raises(InvalidInputError, match="dimension 3"):
        minilm.score_vectors("q", np.ones((2, 3)))
    with pytest.raises(InvalidInputError, match="2-D"):
        minilm.score_vectors("q", np.ones(384))
    with pytest.raises(InvalidInputError, match="2 vectors for 1 documents"):
        minilm.rerank_vectors("q", ["one"], np.ones((2, 384)))


def test_cache_serves_repeat_queries():
    cache = LRUScoreCache()
    embedder = FixedVectors({"q": [1, 0], "a": [3, 4], "b": [0, 1]})
    rf = BiEncoderReranker(embedder, cache=cache)
    rf("q", ["a", "b"])
    again = rf("q", ["b", "a"])
    assert again.info["cache_hits"] == 2 and again[0].text == "a"


def test_bad_embedder_spec():
    with pytest.raises(InvalidInputError):
        BiEncoderReranker(None)
    with pytest.raises(InvalidInputError):
        BiEncoderReranker(42)

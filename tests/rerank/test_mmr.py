"""Maximal Marginal Relevance on hand-made 2-D geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blendrank.embed.base import Embedder
from blendrank.errors import InvalidInputError
from blendrank.rerank import MMRReranker, maximal_marginal_relevance
from blendrank.types import Hit

from .doubles import TableReranker


class FixedVectors(Embedder):
    """Embeds each text as a fixed vector from a table (geometry test double)."""

    def __init__(self, table):
        self.table = table

    def _embed_batch(self, texts, kind):
        return np.array([self.table[t] for t in texts], dtype=np.float64)

    def config(self):
        return {"type": "fixed", "table": sorted(self.table)}


# query q = (.8, .6); d1 = (1, 0); d2 = (.995, .099875) a near-duplicate of d1; d3 = (0, 1)
# relevance (cosine to q): d1 .8, d2 .855925, d3 .6
# similarity: d1.d2 = .995, d1.d3 = 0, d2.d3 = .099875
GEOMETRY = {
    "q": [0.8, 0.6],
    "d1": [1.0, 0.0],
    "d2": [0.995, math.sqrt(1 - 0.995**2)],
    "d3": [0.0, 1.0],
}


def test_mmr_skips_the_near_duplicate():
    # lambda .5. pick 1: .5*rel -> d1 .4, d2 .4279625, d3 .3 -> d2 (gain .4279625)
    # pick 2: d1 .4 - .5*.995 = -.0975; d3 .3 - .5*.099875 = .2500625 -> d3
    # pick 3: d1, gain -.0975
    rf = MMRReranker(None, FixedVectors(GEOMETRY), lambda_=0.5)
    results = rf("q", ["d1", "d2", "d3"])
    assert [r.text for r in results] == ["d2", "d3", "d1"]
    assert [r.score for r in results] == pytest.approx([0.4279625, 0.2500625, -0.0975], abs=1e-6)


def test_lambda_one_is_relevance_order():
    rf = MMRReranker(None, FixedVectors(GEOMETRY), lambda_=1.0)
    assert [r.text for r in rf("q", ["d1", "d2", "d3"])] == ["d2", "d1", "d3"]


def test_relevance_from_base_reranker_is_minmax_normalised():
    # base scores d1 10, d2 0, d3 5 -> minmax rel 1, 0, .5.  lambda .5:
    # pick 1: d1 .5; pick 2: d2 0 - .5*.995 = -.4975, d3 .25 - 0 = .25 -> d3; then d2
    base = TableReranker({"d1": 10.0, "d2": 0.0, "d3": 5.0})
    rf = MMRReranker(base, FixedVectors(GEOMETRY), lambda_=0.5)
    results = rf("q", ["d1", "d2", "d3"])
    assert [r.text for r in results] == ["d1", "d3", "d2"]
    assert [r.score for r in results] == pytest.approx([0.5, 0.25, -0.4975], abs=1e-6)


def test_equal_gains_still_strictly_decrease_in_selection_order():
    # three equally relevant orthogonal documents: every pick has gain .5
    order, gains = maximal_marginal_relevance(np.ones(3), np.eye(3), 0.5)
    assert order.tolist() == [0, 1, 2]
    assert gains[0] > gains[1] > gains[2]
    assert gains.tolist() == pytest.approx([0.5, 0.5, 0.5], abs=1e-6)


def test_precomputed_vectors_on_hits():
    # the hits' texts are not in the embedder's table: only the query gets embedded
    rf = MMRReranker(None, FixedVectors({"q": GEOMETRY["q"]}), lambda_=0.5)
    hits = [Hit(id=f"h{i}", doc_id=f"h{i}", score=0.0, text=f"text {i}") for i in range(3)]
    vectors = np.array([GEOMETRY["d1"], GEOMETRY["d2"], GEOMETRY["d3"]])
    out = rf.rerank("q", hits, top_k=2, vectors=vectors)
    assert [h.id for h in out] == ["h1", "h2"]
    assert out[0].ranks["rerank"] == 1
    with pytest.raises(InvalidInputError, match="one row per hit"):
        rf.rerank("q", hits, vectors=vectors[:2])


@pytest.mark.parametrize("lam", [-0.5, 1.01, "0.5", None])
def test_bad_lambda(lam):
    with pytest.raises(InvalidInputError, match="lambda_"):
        MMRReranker(None, FixedVectors(GEOMETRY), lambda_=lam)

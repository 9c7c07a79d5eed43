"""The contract every reranker must honour, run against each reranker class.

A cross-encoder joins when ``blendrank.rerank.cross_encoder`` imports and a tiny test
model fixture (``tiny_ce_folder``, tests/rerank/conftest.py) is available; otherwise it is skipped.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import (
    BiEncoderReranker,
    CascadeReranker,
    EnsembleReranker,
    MMRReranker,
    SelectiveReranker,
    ThresholdReranker,
)
from blendrank.rerank.base import Reranker
from blendrank.types import Document, Hit


class WordOverlapReranker(Reranker):
    """A real (if simple) lexical scorer: how many query words occur in the text."""

    name = "overlap"

    def score(self, query, texts):
        words = set(query.lower().split())
        return np.array([len(words & set(t.lower().split())) for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def bi():
    return BiEncoderReranker("all-MiniLM-L6-v2")


FACTORIES = {
    "bi_encoder": lambda bi, request: bi,
    "cascade": lambda bi, request: CascadeReranker(bi, WordOverlapReranker(), top_n=3),
    "ensemble_weighted": lambda bi, request: EnsembleReranker([bi, WordOverlapReranker()]),
    "ensemble_rrf": lambda bi, request: EnsembleReranker([bi, WordOverlapReranker()], method="rrf"),
    "mmr": lambda bi, request: MMRReranker(None, bi.embedder, lambda_=0.7),
    "mmr_base": lambda bi, request: MMRReranker(WordOverlapReranker(), bi.embedder),
    "threshold": lambda bi, request: ThresholdReranker(bi, min_score=-1e9),
    "selective": lambda bi, request: SelectiveReranker(bi, margin=0.5),
    "cross_encoder": lambda bi, request: _cross_encoder(request),
}


def _cross_encoder(request):
    try:
        from blendrank.rerank.cross_encoder import CrossEncoderReranker
    except ImportError:
        pytest.skip("blendrank.rerank.cross_encoder is not importable")
    try:
        folder = request.getfixturevalue("tiny_ce_folder")
    except pytest.FixtureLookupError:
        pytest.skip("no tiny cross-encoder fixture (tiny_ce_folder) available")
    return CrossEncoderReranker(folder)


@pytest.fixture(params=sorted(FACTORIES))
def reranker(request, bi):
    return FACTORIES[request.param](bi, request)


QUERY = "how do cats purr"
DOCS = [
    "Dogs bark at the mail carrier.",
    "Cats purr by vibrating their larynx.",
    "The stock market closed lower.",
    "Cats purr by vibrating their larynx.",  # exact duplicate of #1: a tie
    "Kittens purr while nursing.",
]


def test_scores_sorted_and_indices_point_at_texts(reranker):
    results = reranker(QUERY, DOCS)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r.index for r in results) == list(range(len(DOCS)))
    assert all(DOCS[r.index] == r.text for r in results)


def test_ties_are_deterministic(reranker):
    first = [r.index for r in reranker(QUERY, DOCS)]
    assert first == [r.index for r in reranker(QUERY, DOCS)]
    assert first.index(1) < first.index(3)  # equal texts: the earlier one first


def test_caller_list_not_mutated(reranker):
    docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(DOCS)]
    before = copy.deepcopy(docs)
    results = reranker(QUERY, docs)
    assert docs == before
    assert all(r.id == f"d{r.index}" for r in results)


def test_top_k_respected(reranker):
    assert len(reranker(QUERY, DOCS, top_k=2)) == 2
    assert len(reranker(QUERY, DOCS, top_k=1)) == 1


def test_rerank_hits_keeps_first_stage_scores(reranker):
    hits = [
        Hit(id=f"h{i}", doc_id=f"d{i}", score=1.0 / (i + 1), text=t, scores={"bm25": float(i)})
        for i, t in enumerate(DOCS)
    ]
    out = reranker.rerank_hits(QUERY, hits, top_k=3)
    assert len(out) == 3
    assert [h.score for h in out] == sorted((h.score for h in out), reverse=True)
    assert all(h.scores["bm25"] == float(h.id[1:]) for h in out)


@pytest.mark.parametrize(
    "documents, top_k, message",
    [
        ([], None, "empty"),
        ("just a string", None, "list"),
        ([1, 2], None, r"documents\[0\]"),
        ([{"title": "no text"}], None, "'text'"),
        (DOCS, 0, "top_k must be >= 1"),
        (DOCS, 6, "larger than the number of documents"),
    ],
)
def test_bad_input(reranker, documents, top_k, message):
    with pytest.raises(InvalidInputError, match=message):
        reranker(QUERY, documents, top_k)


def test_bad_query(reranker):
    with pytest.raises(InvalidInputError, match="query"):
        reranker("  ", DOCS)

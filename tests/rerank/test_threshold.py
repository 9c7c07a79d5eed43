"""ThresholdReranker: cut at min_score, keep at least min_keep."""

from __future__ import annotations

import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import ThresholdReranker

from .doubles import TableReranker

# binary fractions, exact in float32
BASE = TableReranker({"a": 0.75, "b": 0.5, "c": 0.25, "d": 0.125})
DOCS = ["c", "a", "d", "b"]


def texts(results):
    return [r.text for r in results]


def test_keeps_scores_at_or_above_threshold():
    results = ThresholdReranker(BASE, min_score=0.5)("q", DOCS)
    assert texts(results) == ["a", "b"]  # b == 0.5 stays
    assert results.info["dropped"] == 2 and results.info["min_score"] == 0.5


def test_min_keep_keeps_the_best():
    assert texts(ThresholdReranker(BASE, min_score=0.9)("q", DOCS)) == ["a"]
    assert texts(ThresholdReranker(BASE, min_score=0.9, min_keep=3)("q", DOCS)) == ["a", "b", "c"]
    assert texts(ThresholdReranker(BASE, min_score=0.9, min_keep=0)("q", DOCS)) == []


def test_top_k_first_then_threshold():
    rf = ThresholdReranker(BASE, min_score=0.2, min_keep=3)
    assert texts(rf("q", DOCS, top_k=2)) == ["a", "b"]  # min_keep never exceeds top_k
    assert texts(rf("q", DOCS, top_k=4)) == ["a", "b", "c"]


def test_rerank_of_hits_filters_too():
    from blendrank.types import Hit

    hits = [Hit(id=t, doc_id=t, score=0.0, text=t) for t in DOCS]
    out = ThresholdReranker(BASE, min_score=0.3).rerank("q", hits)
    assert [h.id for h in out] == ["a", "b"]
    assert out[1].scores["rerank"] == 0.5


@pytest.mark.parametrize(
    "kwargs", [{"min_score": float("nan")}, {"min_score": "0.5"}, {"min_score": 0, "min_keep": -1}]
)
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInputError):
        ThresholdReranker(BASE, **kwargs)


def test_wraps_base_rerank_unchanged():
    from blendrank.rerank import SelectiveReranker
    from blendrank.types import Hit

    # first-stage scores [8, 2, 1, 0]: minmax gap .75 >= .5, so the selective base skips
    # the model; the threshold then cuts the first-stage scores at 1.5
    first_stage = [8.0, 2.0, 1.0, 0.0]
    hits = [Hit(id=t, doc_id=t, score=s, text=t) for t, s in zip(DOCS, first_stage, strict=True)]
    rf = ThresholdReranker(SelectiveReranker(BASE, margin=0.5), min_score=1.5)
    out = rf.rerank("q", hits)
    assert [(h.id, h.score) for h in out] == [("c", 8.0), ("a", 2.0)]
    assert "rerank" not in out[0].scores
    assert out.info["skipped"] is True and out.info["dropped"] == 2

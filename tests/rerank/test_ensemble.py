"""EnsembleReranker: weighted means of normalised scores and weighted RRF, by hand."""

from __future__ import annotations

import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import EnsembleReranker, LRUScoreCache

from .doubles import TableReranker

A = TableReranker({"a": 3.0, "b": 1.0, "c": 2.0}, "A")
B = TableReranker({"a": 0.0, "b": 10.0, "c": 5.0}, "B")


def test_weighted_minmax():
    # minmax A = [1, 0, .5], B = [0, 1, .5]; weights 1, 3:
    # a = (1 + 0)/4 = .25, b = (0 + 3)/4 = .75, c = (.5 + 1.5)/4 = .5
    results = EnsembleReranker([A, B], weights=[1, 3])("q", ["a", "b", "c"])
    assert [(r.text, round(r.score, 6)) for r in results] == [("b", 0.75), ("c", 0.5), ("a", 0.25)]


def test_weighted_equal_weights_tie_keeps_input_order():
    # equal weights: every document averages to .5; ties keep input order
    results = EnsembleReranker([A, B])("q", ["c", "a", "b"])
    assert [r.text for r in results] == ["c", "a", "b"]
    assert {r.score for r in results} == {0.5}


def test_rrf_unweighted_and_weighted():
    # ranks A: a1 c2 b3; B: b1 c2 a3.  k=60
    # a = 1/61 + 1/63 = .0322659, b = 1/63 + 1/61 (tie with a), c = 2/62 = .0322581
    results = EnsembleReranker([A, B], method="rrf")("q", ["a", "b", "c"])
    assert [r.text for r in results] == ["a", "b", "c"]
    assert results[0].score == pytest.approx(1 / 61 + 1 / 63, rel=1e-6)
    assert results[2].score == pytest.approx(2 / 62, rel=1e-6)
    # weights 2, 1: a = 2/61 + 1/63 = .048660, c = 3/62 = .048387, b = 2/63 + 1/61 = .048139
    results = EnsembleReranker([A, B], weights=[2, 1], method="rrf")("q", ["a", "b", "c"])
    assert [r.text for r in results] == ["a", "c", "b"]
    assert results[1].score == pytest.approx(3 / 62, rel=1e-6)


def test_zscore_and_members_use_their_caches():
    cache = LRUScoreCache()
    cached_a = TableReranker(A.table, "A", cache=cache)
    ensemble = EnsembleReranker([cached_a, B], normalization="zscore", weights=[1, 0])
    first = ensemble("q", ["a", "b", "c"])
    second = ensemble("q", ["a", "b", "c"])
    # weight 0 on B: A's z-scores [1.2247, -1.2247, 0] alone decide
    assert [r.text for r in second] == ["a", "c", "b"]
    assert second[0].score == pytest.approx(1.224745, abs=1e-5)
    assert (first.info["cache_hits"], second.info["cache_hits"]) == (0, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rerankers": []}, "empty"),
        ({"rerankers": [A, "B"]}, r"rerankers\[1\]"),
        ({"weights": [1]}, "1 weights for 2"),
        ({"weights": [1, -1]}, ">= 0"),
        ({"weights": [0, 0]}, "sum to 0"),
        ({"method": "borda"}, "method"),
        ({"rrf_k": -1}, "rrf_k"),
        ({"normalization": "max"}, "normalization"),
    ],
)
def test_bad_settings(kwargs, message):
    settings = {"rerankers": [A, B], **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        EnsembleReranker(**settings)

"""Reciprocal rank fusion, scores worked out as exact fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest

from blendrank.errors import InvalidInputError
from blendrank.fuse.rrf import reciprocal_rank_fusion


def exact(*fractions: Fraction) -> object:
    # the terms 1/61, 1/62 are rounded to doubles before summing, so allow one ulp or so
    return pytest.approx(float(sum(fractions)), rel=1e-15, abs=0)


def test_two_lists_of_three_ids_k60():
    # bm25:  a=1, b=2, c=3        dense: b=1, c=2, d=3
    # a = 1/61                 = 0.016393...
    # b = 1/62 + 1/61 = 123/3782 = 0.032522...
    # c = 1/63 + 1/62 = 125/3906 = 0.032002...
    # d = 1/63                 = 0.015873...
    fused = reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["b", "c", "d"]})
    assert [doc for doc, _ in fused] == ["b", "c", "a", "d"]
    scores = dict(fused)
    assert scores["b"] == exact(Fraction(123, 3782))
    assert scores["c"] == exact(Fraction(125, 3906))
    assert scores["a"] == exact(Fraction(1, 61))
    assert scores["d"] == exact(Fraction(1, 63))


def test_symmetric_ranks_tie_exactly_and_sort_by_id():
    # each id is at ranks 1, 2 and 3 once: 1/61 + 1/62 + 1/63 for all three, in any order
    runs = {"r1": ["q", "p", "r"], "r2": ["r", "q", "p"], "r3": ["p", "r", "q"]}
    fused = reciprocal_rank_fusion(runs)
    assert [doc for doc, _ in fused] == ["p", "q", "r"]
    assert len({score for _, score in fused}) == 1
    assert fused[0][1] == exact(Fraction(1, 61), Fraction(1, 62), Fraction(1, 63))


def test_weights_and_k_zero():
    # k = 0: a = 2/1 + 0.5/2 = 2.25 ; b = 2/2 + 0.5/1 = 1.5
    fused = reciprocal_rank_fusion(
        {"x": ["a", "b"], "y": ["b", "a"]}, k=0, weights={"x": 2, "y": 0.5}
    )
    assert fused == [("a", 2.25), ("b", 1.5)]


def test_unmentioned_runs_weigh_one():
    # k = 1: a = 3 * 1/2 = 1.5 ; b = 1 * 1/2 = 0.5
    fused = reciprocal_rank_fusion({"x": ["a"], "y": ["b"]}, k=1, weights={"x": 3.0})
    assert fused == [("a", 1.5), ("b", 0.5)]


def test_zero_weight_keeps_the_ids_with_zero_score():
    fused = reciprocal_rank_fusion({"x": ["a"], "y": ["b"]}, k=1, weights={"y": 0})
    assert fused == [("a", 0.5), ("b", 0.0)]


def test_a_repeated_id_counts_once_at_its_best_rank():
    # a at rank 1 (its later repeat at position 3 is ignored), b at rank 2: k = 1
    assert reciprocal_rank_fusion({"x": ["a", "b", "a"]}, k=1) == [("a", 0.5), ("b", 1 / 3)]


def test_empty_inputs():
    assert reciprocal_rank_fusion({}) == []
    assert reciprocal_rank_fusion({"x": [], "y": ["a"]}, k=1) == [("a", 0.5)]


def test_inputs_are_not_mutated():
    runs = {"x": ["a", "b"], "y": ["b"]}
    weights = {"x": 2.0}
    reciprocal_rank_fusion(runs, weights=weights)
    assert runs == {"x": ["a", "b"], "y": ["b"]} and weights == {"x": 2.0}


@pytest.mark.parametrize("k", [-1, True, "60", float("inf")])
def test_bad_k_is_rejected(k):
    with pytest.raises(InvalidInputError, match="k must be"):
        reciprocal_rank_fusion({"x": ["a"]}, k=k)


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [
        ({"z": 1.0}, "not among the runs: 'x'"),
        ({"x": -0.5}, ">= 0"),
        ({"x": float("nan")}, ">= 0"),
        ({"x": "1"}, "must be a number"),
    ],
)
def test_bad_weights_are_rejected(weights, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        reciprocal_rank_fusion({"x": ["a"]}, weights=weights)


def test_a_string_is_not_a_run():
    with pytest.raises(InvalidInputError, match="sequence of ids"):
        reciprocal_rank_fusion({"x": "abc"})  # type: ignore[dict-item]

"""Distribution-based score fusion: mean +- 3 sample std, clipped."""

from __future__ import annotations

import pytest

from blendrank.fuse.dbsf import distribution_based_fusion


def test_three_scores():
    # mean 2, sample std 1 -> bounds [-1, 5], width 6
    # a (1) -> 2/6 = 1/3 ; b (2) -> 3/6 = 1/2 ; c (3) -> 4/6 = 2/3
    fused = distribution_based_fusion({"x": (["a", "b", "c"], [1.0, 2.0, 3.0])})
    assert [doc for doc, _ in fused] == ["c", "b", "a"]
    assert dict(fused) == pytest.approx({"a": 1 / 3, "b": 1 / 2, "c": 2 / 3})


def test_an_outlier_beyond_three_sigma_is_clipped_to_one():
    # ten 0s and one 1: mean 1/11, sample variance (10/121 + 100/121) / 10 = 1/11,
    # std 1/sqrt(11) = 0.3015 ; upper bound 1/11 + 3/sqrt(11) = 0.9954 < 1 -> clipped to 1.0
    # a zero: (0 - (1/11 - 3/sqrt(11))) / (6/sqrt(11)) = 0.5 - sqrt(11)/66 = 0.44975
    ids = [f"z{i}" for i in range(10)] + ["top"]
    fused = dict(distribution_based_fusion({"x": (ids, [0.0] * 10 + [1.0])}))
    assert fused["top"] == 1.0
    assert fused["z0"] == pytest.approx(0.5 - 11**0.5 / 66)


def test_one_score_or_no_spread_is_one_half_and_absent_is_zero():
    # x: a alone -> 0.5 ; y: b, c equal -> 0.5 each ; weights y 2 -> b, c = 1.0 ; a = 0.5
    runs = {"x": (["a"], [7.0]), "y": (["b", "c"], [3.0, 3.0])}
    fused = distribution_based_fusion(runs, weights={"y": 2.0})
    assert fused == [("b", 1.0), ("c", 1.0), ("a", 0.5)]


def test_sum_over_runs():
    # x: a 1/3, b 1/2, c 2/3 (as above) ; y: scores (10, 20) -> mean 15, std 7.0711,
    # c: (10 - 15 + 21.2132) / 42.4264 = 0.38215 ; d: 0.61785
    runs = {"x": (["a", "b", "c"], [1.0, 2.0, 3.0]), "y": (["c", "d"], [10.0, 20.0])}
    fused = dict(distribution_based_fusion(runs))
    assert fused["c"] == pytest.approx(2 / 3 + 0.5 - 1 / (6 * 2**0.5))
    assert fused["d"] == pytest.approx(0.5 + 1 / (6 * 2**0.5))
    assert fused["a"] == pytest.approx(1 / 3)


def test_empty():
    assert distribution_based_fusion({"x": ([], [])}) == []

"""Linear fusion: minmax / zscore / none, weights, absent documents."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.fuse.linear import linear_fusion

RUNS = {
    "bm25": (["a", "b", "c"], [10.0, 5.0, 0.0]),
    "dense": (["b", "d"], [0.8, 0.6]),
}


def test_minmax_absent_contributes_zero():
    # bm25 minmax: a 1, b 0.5, c 0      dense minmax: b 1, d 0
    # a = 1 ; b = 0.5 + 1 = 1.5 ; c = 0 ; d = 0   (c and d tie -> by id)
    assert linear_fusion(RUNS) == [("b", 1.5), ("a", 1.0), ("c", 0.0), ("d", 0.0)]


def test_weights():
    # a = 0.3 * 1 = 0.3 ; b = 0.3 * 0.5 + 0.7 * 1 = 0.85 ; c = d = 0
    fused = linear_fusion(RUNS, weights={"bm25": 0.3, "dense": 0.7})
    assert [doc for doc, _ in fused] == ["b", "a", "c", "d"]
    assert dict(fused) == pytest.approx({"a": 0.3, "b": 0.85, "c": 0.0, "d": 0.0})


def test_zscore_absent_counts_as_the_runs_worst():
    # bm25: mean 5, population std sqrt(50/3) -> a +sqrt(3/2), b 0, c -sqrt(3/2)
    # dense: mean 0.7, std 0.1 -> b +1, d -1
    # absent: a and c from dense get dense's minimum -1; d from bm25 gets -sqrt(3/2)
    # a = 1.2247 - 1 = 0.2247 ; b = 0 + 1 = 1 ; c = -1.2247 - 1 ; d = -1.2247 - 1 (exact tie)
    fused = linear_fusion(RUNS, normalization="zscore")
    root = np.sqrt(1.5)
    assert [doc for doc, _ in fused] == ["b", "a", "c", "d"]
    assert dict(fused) == pytest.approx({"a": root - 1, "b": 1.0, "c": -root - 1, "d": -root - 1})
    assert fused[2][1] == fused[3][1]


def test_none_sums_raw_scores():
    # a = 10 ; b = 5 + 0.8 = 5.8 ; c = 0 ; d = 0.6
    fused = linear_fusion(RUNS, normalization="none")
    assert [doc for doc, _ in fused] == ["a", "b", "d", "c"]
    assert dict(fused) == pytest.approx({"a": 10.0, "b": 5.8, "c": 0.0, "d": 0.6})


def test_ties_break_by_id():
    fused = linear_fusion({"x": (["z", "y", "x"], [1.0, 1.0, 1.0])})
    assert fused == [("x", 1.0), ("y", 1.0), ("z", 1.0)]


def test_a_repeated_id_keeps_its_highest_score():
    # dedup -> a 3, b 1 -> minmax a 1, b 0
    assert linear_fusion({"x": (["a", "b", "a"], [2.0, 1.0, 3.0])}) == [("a", 1.0), ("b", 0.0)]


def test_empty_runs():
    assert linear_fusion({}) == []
    assert linear_fusion({"x": ([], []), "y": (["a"], [0.3])}) == [("a", 1.0)]
    assert linear_fusion({"x": ([], []), "y": (["a"], [0.3])}, normalization="zscore") == [
        ("a", 0.0)
    ]


def test_numpy_inputs_and_no_mutation():
    ids = ["a", "b"]
    scores = np.array([2.0, 1.0])
    runs = {"x": (ids, scores)}
    linear_fusion(runs, normalization="zscore")
    assert ids == ["a", "b"] and scores.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    ("runs", "fragment"),
    [
        ({"x": (["a", "b"], [1.0])}, "2 ids but 1 scores"),
        ({"x": (["a"], [float("nan")])}, "finite"),
        ({"x": ({"a": 1}, [1.0])}, "ids must be a sequence"),
        ({"x": ("ab", [1.0, 2.0])}, "pair \\(ids, scores\\)"),
        ({"x": ["a", "b"]}, "pair \\(ids, scores\\)"),
        ([("x", (["a"], [1.0]))], "runs must be a dict"),
    ],
)
def test_malformed_runs_are_rejected(runs, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        linear_fusion(runs)


def test_unknown_normalization():
    with pytest.raises(InvalidInputError, match="unknown normalization 'l2'"):
        linear_fusion(RUNS, normalization="l2")

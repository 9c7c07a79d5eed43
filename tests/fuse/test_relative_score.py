"""Relative score fusion (Weaviate): min-max per list, weighted sum."""

from __future__ import annotations

import pytest

from blendrank.fuse.linear import linear_fusion
from blendrank.fuse.relative_score import relative_score_fusion


def test_weaviate_style_alpha():
    # dense min-max: a (0.9) 1, b (0.7) 0.5, c (0.5) 0 ; bm25 min-max: c (12) 1, a (4) 0
    # alpha 0.75: a = 0.75*1 + 0.25*0 = 0.75 ; b = 0.75*0.5 = 0.375 ; c = 0 + 0.25*1 = 0.25
    runs = {"dense": (["a", "b", "c"], [0.9, 0.7, 0.5]), "bm25": (["c", "a"], [12.0, 4.0])}
    fused = relative_score_fusion(runs, weights={"dense": 0.75, "bm25": 0.25})
    assert [doc for doc, _ in fused] == ["a", "b", "c"]
    assert dict(fused) == pytest.approx({"a": 0.75, "b": 0.375, "c": 0.25})


def test_equals_linear_minmax():
    runs = {"x": (["a", "b", "c"], [3.0, 1.0, 2.0]), "y": (["c", "d"], [5.0, 5.0])}
    assert relative_score_fusion(runs) == linear_fusion(runs, normalization="minmax")


def test_all_equal_list_maps_to_one():
    # both ids are the best of an all-equal list: 1.0 each, tie broken by id
    assert relative_score_fusion({"x": (["b", "a"], [0.2, 0.2])}) == [("a", 1.0), ("b", 1.0)]

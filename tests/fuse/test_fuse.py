"""fuse(): dispatch by name, parameter checks, shared invariants, speed, ranx parity."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.fuse import (
    FUSION_METHODS,
    distribution_based_fusion,
    fuse,
    linear_fusion,
    reciprocal_rank_fusion,
    relative_score_fusion,
)

RUNS = {
    # deliberately not sorted by score: rrf must rank by score, not by position
    "bm25": (["c", "a", "b"], [1.0, 9.0, 4.0]),
    "dense": (["b", "d"], [0.7, 0.9]),
}


def test_methods_tuple():
    assert FUSION_METHODS == ("rrf", "linear", "relative_score", "dbsf")


def test_rrf_ranks_each_run_by_score():
    # bm25 by score: a, b, c ; dense by score: d, b ; k = 60
    # b = 1/62 + 1/62 ; a = 1/61 ; d = 1/61 ; c = 1/63 -> a and d tie, a first
    fused = fuse("rrf", RUNS)
    assert fused == reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["d", "b"]})
    assert [doc for doc, _ in fused] == ["b", "a", "d", "c"]


def test_rrf_equal_scores_keep_the_given_order():
    # equal scores: x keeps rank 1 and y rank 2 as given (k = 1: x 1/2, y 1/3)
    assert fuse("rrf", {"r": (["x", "y"], [5.0, 5.0])}, k=1) == [("x", 0.5), ("y", 1 / 3)]


def test_each_method_dispatches_to_its_function():
    weights = {"bm25": 0.4}
    assert fuse("linear", RUNS, weights=weights, normalization="zscore") == linear_fusion(
        RUNS, weights=weights, normalization="zscore"
    )
    assert fuse("relative_score", RUNS, weights=weights) == relative_score_fusion(RUNS, weights)
    assert fuse("dbsf", RUNS, weights=weights) == distribution_based_fusion(RUNS, weights)
    assert fuse("rrf", RUNS, k=10, weights=weights) == reciprocal_rank_fusion(
        {"bm25": ["a", "b", "c"], "dense": ["d", "b"]}, k=10, weights=weights
    )


def test_unknown_method_lists_valid_ones():
    with pytest.raises(InvalidInputError, match="'rrf', 'linear', 'relative_score', 'dbsf'"):
        fuse("combmnz", RUNS)


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("rrf", {"normalization": "minmax"}, "valid parameters: k, weights"),
        ("linear", {"k": 60}, "valid parameters: weights, normalization"),
        ("dbsf", {"alpha": 0.5}, "valid parameters: weights"),
    ],
)
def test_unknown_parameter_lists_valid_ones(method, params, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        fuse(method, RUNS, **params)


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_weights_are_validated_for_every_method(method):
    with pytest.raises(InvalidInputError, match="not among the runs"):
        fuse(method, RUNS, weights={"splade": 1.0})
    with pytest.raises(InvalidInputError, match=">= 0"):
        fuse(method, RUNS, weights={"bm25": -1.0})


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_invariants_sorted_deterministic_unmutated(method):
    rng = random.Random(7)
    pool = [f"d{i:03d}" for i in range(80)]
    runs = {
        name: (rng.sample(pool, 40), [round(rng.random(), 1) for _ in range(40)])  # many ties
        for name in ("bm25", "dense", "splade")
    }
    before = copy.deepcopy(runs)
    fused = fuse(method, runs)
    assert runs == before
    keys = [(-score, doc) for doc, score in fused]
    assert keys == sorted(keys)  # score descending, then id ascending
    assert {doc for doc, _ in fused} == {doc for ids, _ in runs.values() for doc in ids}
    reordered = dict(reversed(list(runs.items())))
    assert fuse(method, reordered) == fused  # the order of the runs does not matter
    assert all(isinstance(score, float) for _, score in fused)


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_empty_runs(method):
    assert fuse(method, {}) == []
    assert fuse(method, {"bm25": ([], [])}) == []


@pytest.mark.slow
def test_parity_with_ranx():
    ranx = pytest.importorskip(
        "ranx", reason="ranx (extra 'eval') is not installed"
    )  # numba compilation takes a minute or more
    rng = np.random.default_rng(3)
    pool = [f"d{i}" for i in range(300)]
    runs = {
        name: ([pool[i] for i in rng.choice(300, 100, replace=False)], rng.random(100).tolist())
        for name in ("bm25", "dense")
    }
    ranx_runs = [
        ranx.Run({"q": dict(zip(ids, scores, strict=True))}, name=name)
        for name, (ids, scores) in runs.items()
    ]
    theirs = ranx.fuse(ranx_runs, method="rrf", norm=None, params={"k": 60}).to_dict()["q"]
    assert dict(fuse("rrf", runs)) == pytest.approx(theirs, rel=1e-9)
    theirs = ranx.fuse(
        ranx_runs, method="wsum", norm="min-max", params={"weights": [0.3, 0.7]}
    ).to_dict()["q"]
    ours = dict(fuse("linear", runs, weights={"bm25": 0.3, "dense": 0.7}))
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)

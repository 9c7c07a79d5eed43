"""Paired tests and Holm correction on hand-made score lists."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate.significance import (
    compare_to_baseline,
    holm_bonferroni,
    paired_t_test,
    permutation_test,
)


def test_exact_permutation_small_sample():
    # differences (+0.1, +0.1, +0.1): of the 2**3 = 8 sign patterns only "+++" and "---"
    # reach |mean| >= 0.1, so p = 2/8 = 0.25 (enumerated, no randomness)
    assert permutation_test([0.2, 0.3, 0.4], [0.1, 0.2, 0.3]) == pytest.approx(0.25)
    # differences (+1, -1): patterns give means 0, 0, +1... -> |mean| >= 0 always: p = 1
    assert permutation_test([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)


def test_random_permutation_is_seeded_and_bounded():
    rng = np.random.default_rng(7)
    a = rng.random(40)
    b = a - 0.05 + rng.normal(0, 0.05, 40)  # a is better by ~0.05
    p1 = permutation_test(a, b, permutations=10_000, seed=0)
    p2 = permutation_test(a, b, permutations=10_000, seed=0)
    assert p1 == p2  # reproducible
    assert 1 / 10_001 <= p1 < 0.01  # (count + 1) / (n + 1) never reaches 0
    # a clear null (identical systems) is never significant
    assert permutation_test(a, a, permutations=2_000, seed=1) == 1.0


def test_t_test_matches_hand_computation():
    # d = a - b = (1, 2, 3): mean 2, sd 1, t = 2 / (1 / sqrt(3)) = 3.4641, df = 2
    # two-sided p = 2 * (1 - F_t2(3.4641)); F_t2(t) = 1/2 + t / (2 sqrt(t^2 + 2))
    #   = 1/2 + 3.4641 / (2 * sqrt(14)) = 0.962910 -> p = 0.074180
    p = paired_t_test([2.0, 3.0, 4.0], [1.0, 1.0, 1.0])
    assert p == pytest.approx(2 * (0.5 - 3.4641016 / (2 * np.sqrt(14))), abs=1e-6)


def test_t_test_degenerate_differences():
    assert paired_t_test([0.5, 0.5], [0.5, 0.5]) == 1.0  # no difference at all
    assert paired_t_test([0.6, 0.7], [0.5, 0.6]) == 0.0  # constant non-zero shift


def test_holm_by_hand():
    # sorted p: 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> monotone 0.06)
    assert holm_bonferroni([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm_bonferroni([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm_bonferroni([]) == []


def test_compare_to_baseline_deltas_and_counts():
    per_query = {
        "base": {"q1": 0.5, "q2": 0.5, "q3": 0.5, "q4": 0.5},
        "better": {"q1": 0.9, "q2": 0.8, "q3": 0.5, "q4": 0.4},
        "same": {"q1": 0.5, "q2": 0.5, "q3": 0.5, "q4": 0.5},
    }
    rows = {c.system: c for c in compare_to_baseline(per_query, "base", "ndcg@10")}
    better = rows["better"]
    assert better.deltas == pytest.approx({"q1": 0.4, "q2": 0.3, "q3": 0.0, "q4": -0.1})
    assert (better.wins, better.losses, better.ties) == (2, 1, 1)
    assert better.delta == pytest.approx(0.15)
    # exact test over 16 sign patterns of (0.4, 0.3, 0, -0.1): |mean| >= 0.15 for the
    # patterns with +0.4 and +0.3 together or both negated -> 4 of 16... counted by numpy
    assert 0 < better.p_permutation <= 1
    assert better.p_permutation_holm >= better.p_permutation  # correction never lowers p
    assert rows["same"].p_permutation == 1.0 and not rows["same"].significant


def test_compare_needs_the_baseline():
    with pytest.raises(InvalidInputError, match="baseline 'x' has no scores"):
        compare_to_baseline({"a": {"q": 1.0}}, "x", "ndcg@10")


def test_unpaired_input_is_rejected():
    with pytest.raises(InvalidInputError, match="equal length"):
        permutation_test([1.0, 2.0], [1.0])

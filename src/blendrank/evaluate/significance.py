"""Paired significance tests between systems, over the same queries.

* :func:`paired_t_test` — Student's paired t-test (scipy), two-sided.
* :func:`permutation_test` — Fisher's randomisation test on paired differences:
  under H0 each query's two scores are exchangeable, so the sign of each difference
  is flipped at random; p = (#{|mean perm diff| >= |observed|} + 1) / (n_perm + 1)
  (Smucker, Allan & Carterette, CIKM 2007). Vectorised, fixed seed: reproducible.
* :func:`holm_bonferroni` — Holm's step-down correction for a family of tests.

>>> a = [0.5, 0.6, 0.7, 0.8]; b = [0.4, 0.5, 0.6, 0.7]
>>> round(permutation_test(a, b, permutations=1000, seed=0), 3)   # 2 of 16 sign patterns
0.125
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.errors import InvalidInputError


def _paired(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise InvalidInputError(
            f"paired tests need two 1-D score lists of equal length, got {x.shape} and {y.shape}"
        )
    if x.size < 2:
        raise InvalidInputError("paired tests need at least 2 queries")
    return x, y


def paired_t_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of the paired t-test; 1.0 when every difference is equal to 0,
    and 0.0 when the differences are all equal and non-zero (zero variance)."""
    x, y = _paired(a, b)
    diff = x - y
    if np.allclose(diff, diff[0]):
        return 1.0 if np.isclose(diff[0], 0.0) else 0.0
    stats = require("scipy.stats", "eval", "paired t-tests")
    return float(stats.ttest_rel(x, y).pvalue)


def permutation_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    permutations: int = 10_000,
    seed: int = 0,
    chunk: int = 2_000,
) -> float:
    """Two-sided randomisation (sign-flip) test of mean(a - b) = 0.

    When ``2**n <= permutations`` every sign pattern is enumerated (an exact test, no
    randomness); otherwise ``permutations`` random patterns from ``seed`` are drawn, in
    chunks of ``chunk`` so memory stays small.
    """
    x, y = _paired(a, b)
    if permutations < 1:
        raise InvalidInputError(f"permutations must be >= 1, got {permutations}")
    diff = x - y
    n = diff.size
    observed = abs(diff.mean())
    tolerance = 1e-12
    if 2**n <= permutations:
        # Exact: all 2**n sign vectors, as rows of bits.
        patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        means = np.abs(((1 - 2 * patterns) * diff).mean(axis=1))
        return float(np.mean(means >= observed - tolerance))
    rng = np.random.default_rng(seed)
    extreme = 0
    done = 0
    while done < permutations:
        size = min(chunk, permutations - done)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        extreme += int(np.count_nonzero(np.abs(signs @ diff) / n >= observed - tolerance))
        done += size
    return (extreme + 1) / (permutations + 1)


def holm_bonferroni(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given), monotone and capped at 1.

    >>> holm_bonferroni([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return [float(round(v, 12)) for v in out]


@dataclass(frozen=True)
class Comparison:
    """``system`` vs ``baseline`` on ``metric``: means, mean delta, wins/losses/ties,
    raw and Holm-adjusted p-values, and per-query deltas (system - baseline)."""

    metric: str
    baseline: str
    system: str
    baseline_mean: float
    system_mean: float
    delta: float
    wins: int
    losses: int
    ties: int
    p_ttest: float
    p_permutation: float
    p_ttest_holm: float
    p_permutation_holm: float
    significant: bool
    deltas: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_to_baseline(
    per_query: Mapping[str, Mapping[str, float]],
    baseline: str,
    metric: str,
    *,
    permutations: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[Comparison]:
    """Compare every system in ``per_query`` ({system: {qid: value}}) with ``baseline``.

    The other systems form one family: both tests' p-values are Holm-corrected over it,
    and ``significant`` means the Holm-adjusted permutation p-value is < ``alpha``.
    """
    if baseline not in per_query:
        raise InvalidInputError(
            f"baseline {baseline!r} has no scores; systems: {', '.join(per_query)}"
        )
    query_ids = list(per_query[baseline])
    base = np.array([per_query[baseline][q] for q in query_ids])
    rows = []
    for system, values in per_query.items():
        if system == baseline:
            continue
        missing = [q for q in query_ids if q not in values]
        if missing:
            raise InvalidInputError(f"{system!r} has no {metric} for queries {missing[:5]}")
        other = np.array([values[q] for q in query_ids])
        diff = other - base
        rows.append(
            (
                system,
                other,
                diff,
                paired_t_test(other, base),
                permutation_test(other, base, permutations=permutations, seed=seed),
            )
        )
    t_holm = holm_bonferroni([r[3] for r in rows])
    p_holm = holm_bonferroni([r[4] for r in rows])
    return [
        Comparison(
            metric=metric,
            baseline=baseline,
            system=system,
            baseline_mean=float(base.mean()),
            system_mean=float(other.mean()),
            delta=float(diff.mean()),
            wins=int(np.sum(diff > 1e-12)),
            losses=int(np.sum(diff < -1e-12)),
            ties=int(np.sum(np.abs(diff) <= 1e-12)),
            p_ttest=pt,
            p_permutation=pp,
            p_ttest_holm=t_holm[i],
            p_permutation_holm=p_holm[i],
            significant=bool(p_holm[i] < alpha),
            deltas={q: float(d) for q, d in zip(query_ids, diff, strict=True)},
        )
        for i, (system, other, diff, pt, pp) in enumerate(rows)
    ]

"""Latency summaries: p50/p95/p99 per stage, from per-query ``timings`` dicts.

>>> s = summarize([0.010, 0.020, 0.030, 0.040])
>>> round(s.p50 * 1000, 1), s.n
(25.0, 4)
>>> sorted(stage_latencies([{"bm25": 0.001, "fuse": 0.0}, {"bm25": 0.003}]))
['bm25', 'fuse', 'total']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: the stages an Index search reports, in pipeline order (others follow, sorted)
STAGE_ORDER = ("embed_query", "bm25", "dense", "fuse", "rerank")


@dataclass(frozen=True)
class LatencyStats:
    """Seconds: median, 95th and 99th percentile (linear interpolation), mean, count."""

    p50: float
    p95: float
    p99: float
    mean: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def ms(self) -> dict[str, float]:
        """The percentiles in milliseconds, rounded to 0.01 ms, for reports."""
        return {k: round(v * 1000, 2) for k, v in asdict(self).items() if k != "n"}


def summarize(seconds: Sequence[float]) -> LatencyStats:
    """Percentiles of a sample of durations (seconds); empty -> all zero, n=0."""
    values = np.asarray(list(seconds), dtype=np.float64)
    if values.size == 0:
        return LatencyStats(0.0, 0.0, 0.0, 0.0, 0)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return LatencyStats(float(p50), float(p95), float(p99), float(values.mean()), int(values.size))


def stage_latencies(
    timings: Sequence[Mapping[str, float]], totals: Sequence[float] | None = None
) -> dict[str, LatencyStats]:
    """Per-stage statistics over queries, plus ``"total"`` per query.

    ``totals`` are measured wall-clock seconds per query; without them the total is the
    sum of the query's stages. A stage a query did not run is not counted for it.
    """
    stages = sorted(
        {s for t in timings for s in t},
        key=lambda s: (STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER), s),
    )
    out = {s: summarize([t[s] for t in timings if s in t]) for s in stages}
    out["total"] = summarize(
        list(totals) if totals is not None else [sum(t.values()) for t in timings]
    )
    return out

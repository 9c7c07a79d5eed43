from __future__ import annotations

import pytest

from blendrank.evaluate.latency import stage_latencies, summarize


def test_percentiles_by_hand():
    # 1..100 ms: linear interpolation -> p50 = 50.5, p95 = 95.05, p99 = 99.01
    stats = summarize([i / 1000 for i in range(1, 101)])
    assert stats.p50 == pytest.approx(0.0505)
    assert stats.p95 == pytest.approx(0.09505)
    assert stats.p99 == pytest.approx(0.09901)
    assert stats.n == 100 and stats.ms()["p50"] == 50.5


def test_stages_in_pipeline_order_and_totals():
    timings = [{"rerank": 0.02, "bm25": 0.001}, {"bm25": 0.003, "embed_query": 0.01}]
    out = stage_latencies(timings)
    assert list(out) == ["embed_query", "bm25", "rerank", "total"]
    assert out["bm25"].p50 == pytest.approx(0.002)  # median of 1 ms and 3 ms
    assert out["embed_query"].n == 1  # a stage a query skipped is not counted as 0
    assert out["total"].p50 == pytest.approx((0.021 + 0.013) / 2)
    measured = stage_latencies(timings, totals=[0.05, 0.07])
    assert measured["total"].mean == pytest.approx(0.06)


def test_empty_sample():
    assert summarize([]).n == 0

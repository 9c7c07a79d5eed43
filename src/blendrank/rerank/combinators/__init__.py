"""Rerankers built from other rerankers: cascade, blend (interpolation with the first
stage), ensemble, MMR (diversity), threshold, selective (skip when the first stage is
sure). Each overrides ``rerank`` and calls its inner rerankers' ``rerank``."""

from __future__ import annotations

from blendrank.rerank.combinators.blend import BlendReranker
from blendrank.rerank.combinators.cascade import CascadeReranker, cascade_scores
from blendrank.rerank.combinators.ensemble import (
    EnsembleReranker,
    ensemble_rrf,
    ensemble_weighted,
)
from blendrank.rerank.combinators.mmr import MMRReranker, maximal_marginal_relevance
from blendrank.rerank.combinators.selective import SelectiveReranker, first_stage_decision
from blendrank.rerank.combinators.threshold import ThresholdReranker

__all__ = [
    "BlendReranker",
    "CascadeReranker",
    "EnsembleReranker",
    "MMRReranker",
    "SelectiveReranker",
    "ThresholdReranker",
    "cascade_scores",
    "ensemble_rrf",
    "ensemble_weighted",
    "first_stage_decision",
    "maximal_marginal_relevance",
]

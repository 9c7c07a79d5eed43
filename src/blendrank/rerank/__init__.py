"""Rerankers: one contract (:class:`Reranker`, implement ``score``), models and
combinators built on it, and score caches.

>>> from blendrank.rerank import BiEncoderReranker, load_reranker
>>> rf = load_reranker("bi:all-MiniLM-L6-v2")
>>> [r.index for r in rf("cat sounds", ["Stocks fell.", "Cats purr and meow."])]
[1, 0]

``CrossEncoderReranker`` is imported on first use, so ``import blendrank.rerank``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blendrank.errors import ModelError
from blendrank.rerank.base import Reranker, RerankResults, ScoreCache, cache_key
from blendrank.rerank.bi_encoder import BiEncoderReranker, cosine_scores
from blendrank.rerank.cache import LRUScoreCache, SQLiteScoreCache
from blendrank.rerank.combinators.blend import BlendReranker
from blendrank.rerank.combinators.cascade import CascadeReranker, cascade_scores
from blendrank.rerank.combinators.ensemble import EnsembleReranker, ensemble_rrf, ensemble_weighted
from blendrank.rerank.combinators.mmr import MMRReranker, maximal_marginal_relevance
from blendrank.rerank.combinators.selective import SelectiveReranker, first_stage_decision
from blendrank.rerank.combinators.threshold import ThresholdReranker

if TYPE_CHECKING:
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

__all__ = [
    "BiEncoderReranker",
    "BlendReranker",
    "CascadeReranker",
    "CrossEncoderReranker",
    "EnsembleReranker",
    "LRUScoreCache",
    "MMRReranker",
    "RerankResults",
    "Reranker",
    "SQLiteScoreCache",
    "ScoreCache",
    "SelectiveReranker",
    "ThresholdReranker",
    "cache_key",
    "cascade_scores",
    "cosine_scores",
    "ensemble_rrf",
    "ensemble_weighted",
    "first_stage_decision",
    "load_reranker",
    "maximal_marginal_relevance",
]


def __getattr__(name: str) -> Any:
    if name == "CrossEncoderReranker":
        try:
            return _cross_encoder_class()
        except ModelError as exc:  # hasattr() and `import *` expect AttributeError
            raise AttributeError(str(exc)) from exc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _cross_encoder_class() -> Any:
    try:
        from blendrank.rerank.cross_encoder import CrossEncoderReranker
    except ModuleNotFoundError as exc:
        if exc.name != "blendrank.rerank.cross_encoder":
            raise
        raise ModelError(
            "cross-encoder reranking is not available in this installation "
            "(blendrank.rerank.cross_encoder is missing); use 'bi:<embedder>' instead"
        ) from exc
    return CrossEncoderReranker


def load_reranker(spec: str | Reranker, **options: Any) -> Reranker:
    """A reranker from a spec string; see :func:`blendrank.registry.load_reranker`."""
    from blendrank.registry import load_reranker as load

    return load(spec, **options)  # type: ignore[no-any-return]

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

import inspect
from typing import TYPE_CHECKING, Any

from blendrank.errors import InvalidInputError, ModelError
from blendrank.rerank.base import Reranker, RerankResults, ScoreCache, cache_key
from blendrank.rerank.bi_encoder import BiEncoderReranker, cosine_scores
from blendrank.rerank.blend import BlendReranker
from blendrank.rerank.cache import LRUScoreCache, SQLiteScoreCache
from blendrank.rerank.cascade import CascadeReranker, cascade_scores
from blendrank.rerank.ensemble import EnsembleReranker, ensemble_rrf, ensemble_weighted
from blendrank.rerank.mmr import MMRReranker, maximal_marginal_relevance
from blendrank.rerank.selective import SelectiveReranker, first_stage_decision
from blendrank.rerank.threshold import ThresholdReranker

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
    """A reranker from a spec string (a :class:`Reranker` is returned as is).

    - ``"bi:<embedder spec>"`` -> :class:`BiEncoderReranker` (``"bi:all-MiniLM-L6-v2"``)
    - ``"cross:<folder or hub id>"`` or any other string -> ``CrossEncoderReranker``
      (a local model folder or a Hugging Face hub id such as
      ``"cross-encoder/ms-marco-MiniLM-L-6-v2"``)

    ``options`` go to the class's constructor (``backend="openvino"``, ``quantize="int8"``,
    ``max_length=256``...); an option the class does not take is an InvalidInputError
    naming the ones it does (evaluation configs pass ``reranker_params`` here).
    """
    if isinstance(spec, Reranker):
        if options:
            raise InvalidInputError(
                f"options {sorted(options)} cannot apply to an already built reranker; "
                "pass them to its constructor"
            )
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(
            f"reranker spec must be a non-empty string like 'bi:all-MiniLM-L6-v2' or a "
            f"cross-encoder folder; got {spec!r}"
        )
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if sep and kind.lower() in ("bi", "cross"):
        if not rest.strip():
            raise InvalidInputError(f"reranker spec {spec!r} names no model after {kind!r}:")
        if kind.lower() == "bi":
            return _construct(BiEncoderReranker, rest.strip(), options)
        spec = rest.strip()
    return _construct(_cross_encoder_class(), spec, options)


def _construct(cls: Any, model: str, options: dict[str, Any]) -> Reranker:
    accepted = [
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidInputError(
            f"{cls.__name__} takes no option(s) {unknown}; it takes: {', '.join(accepted)}"
        )
    return cls(model, **options)

"""Search options, validated once at the boundary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blendrank._unicode import require_unicode
from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker

#: default chunking in tokens of the embedder's tokenizer; a chunk longer than the model
#: window is embedded as windows (docs/benchmarks.md, "Chunk size and long chunks")
CHUNK_SIZE = 512
CHUNK_OVERLAP = 128

MODES = ("hybrid", "bm25", "dense")
PER = ("chunk", "document")
FUSIONS = ("rrf", "linear", "relative_score", "dbsf")
NORMALIZATIONS = ("minmax", "zscore")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise InvalidInputError(f"{name} must be >= 1, got {value}")
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


@dataclass(frozen=True)
class SearchOptions:
    top_k: int = 10
    mode: str = "hybrid"
    fusion: str = "rrf"
    rrf_k: int = 60
    weights: Mapping[str, float] | None = None
    normalization: str = "minmax"
    per: str = "chunk"
    candidates: int = 100
    rerank: Any = None
    rerank_candidates: int | None = None

    def __post_init__(self) -> None:
        _positive_int("top_k", self.top_k)
        _positive_int("candidates", self.candidates)
        _positive_int("rrf_k", self.rrf_k)
        _choice("mode", self.mode, MODES)
        _choice("per", self.per, PER)
        _choice("fusion", self.fusion, FUSIONS)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        if self.rerank_candidates is not None:
            _positive_int("rerank_candidates", self.rerank_candidates)
        if self.rerank is not None and not isinstance(self.rerank, Reranker):
            raise InvalidInputError(
                "rerank must be a blendrank Reranker (e.g. blendrank.rerank.load_reranker(...)), "
                f"got {type(self.rerank).__name__}"
            )
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                raise InvalidInputError('weights must be a dict like {"bm25": 0.3, "dense": 0.7}')
            unknown = set(self.weights) - {"bm25", "dense"}
            if unknown:
                raise InvalidInputError(
                    f"weights name unknown retrievers {sorted(unknown)}; use 'bm25' and 'dense'"
                )
            for name, w in self.weights.items():
                if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                    raise InvalidInputError(f"weight for {name!r} must be a number >= 0, got {w!r}")

    @property
    def depth(self) -> int:
        """First-stage depth per retriever: enough for the fused top_k and the reranker."""
        return max(self.candidates, self.top_k, self.rerank_candidates or 0)

    def fusion_params(self) -> dict[str, Any]:
        weights = dict(self.weights) if self.weights is not None else None
        if self.fusion == "rrf":
            return {"k": self.rrf_k, "weights": weights}
        if self.fusion == "linear":
            return {"weights": weights, "normalization": self.normalization}
        return {"weights": weights}


def validate_query(query: Any) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise InvalidInputError("query is empty; pass the text to search for")
    return require_unicode(query, "query")

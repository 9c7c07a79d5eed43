"""Search options and their allowed values, defined once. ``Index.search``, the pipeline,
the CLI's ``blendrank search`` flags, the HTTP ``/search`` schema and evaluation configs
all take their defaults, choices and bounds from :data:`SEARCH_OPTIONS`.

>>> SearchOptions(mode="bm25").depth
100
>>> SearchOptions(mode="sparse")
Traceback (most recent call last):
...
blendrank.errors.InvalidInputError: mode must be one of hybrid, bm25, dense; got 'sparse'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.fuse import FUSION_METHODS
from blendrank.rerank.base import Reranker
from blendrank.retrieve.hybrid import PER, HybridRetriever

MODES = ("hybrid", "bm25", "dense")
NORMALIZATIONS = ("minmax", "zscore")
#: the retrievers of the embedded index, which ``weights`` may name
INDEX_RETRIEVERS = ("bm25", "dense")


@dataclass(frozen=True)
class SearchOption:
    """One scalar option: its default, allowed values (``choices``) or integer bounds
    (``minimum``; ``maximum`` is the most a server accepts in one request)."""

    name: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        if self.choices is not None:
            if value not in self.choices:
                raise InvalidInputError(
                    f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}"
                )
            return value
        if value is None and self.default is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{self.name} must be an integer, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise InvalidInputError(f"{self.name} must be >= {self.minimum}, got {value}")
        return value


SEARCH_OPTIONS: dict[str, SearchOption] = {
    option.name: option
    for option in (
        SearchOption("top_k", 10, "results to return", minimum=1, maximum=1000),
        SearchOption("mode", "hybrid", "BM25 and dense fused, or one of them alone", choices=MODES),
        SearchOption("fusion", "rrf", "how the retrievers' lists are fused", FUSION_METHODS),
        SearchOption("rrf_k", 60, "RRF's k (score = sum 1 / (k + rank))", minimum=1, maximum=10**6),
        SearchOption(
            "normalization", "minmax", "score normalisation of linear fusion", NORMALIZATIONS
        ),
        SearchOption("per", "chunk", "one hit per chunk, or per document (its best)", PER),
        SearchOption(
            "candidates", 100, "first-stage depth of each retriever", minimum=1, maximum=10_000
        ),
        SearchOption(
            "rerank_candidates",
            None,
            "how many first-stage hits the reranker sees (default: candidates)",
            minimum=1,
            maximum=10_000,
        ),
    )
}


def default(name: str) -> Any:
    return SEARCH_OPTIONS[name].default


@dataclass(frozen=True)
class SearchOptions:
    """Every search option, validated against :data:`SEARCH_OPTIONS` at the boundary."""

    top_k: int = default("top_k")
    mode: str = default("mode")
    fusion: str = default("fusion")
    rrf_k: int = default("rrf_k")
    weights: Mapping[str, float] | None = None
    normalization: str = default("normalization")
    per: str = default("per")
    candidates: int = default("candidates")
    rerank: Reranker | None = None
    rerank_candidates: int | None = default("rerank_candidates")

    def __post_init__(self) -> None:
        for name, option in SEARCH_OPTIONS.items():
            option.check(getattr(self, name))
        if self.rerank is not None and not isinstance(self.rerank, Reranker):
            raise InvalidInputError(
                "rerank must be a blendrank Reranker (e.g. blendrank.rerank.load_reranker(...)), "
                f"got {type(self.rerank).__name__}"
            )
        check_index_weights(self.weights)

    @property
    def depth(self) -> int:
        """First-stage depth per retriever: enough for the fused top_k and the reranker."""
        return max(self.candidates, self.top_k, self.rerank_candidates or 0)


def check_index_weights(weights: Any) -> None:
    """``weights`` for the embedded index's retrievers, or a clear error."""
    if weights is None:
        return
    if not isinstance(weights, Mapping):
        raise InvalidInputError('weights must be a dict like {"bm25": 0.3, "dense": 0.7}')
    unknown = set(weights) - set(INDEX_RETRIEVERS)
    if unknown:
        raise InvalidInputError(
            f"weights name unknown retrievers {sorted(unknown)}; use 'bm25' and 'dense'"
        )
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise InvalidInputError(f"weight for {name!r} must be a number >= 0, got {w!r}")


def fused_retriever(retrievers: Mapping[str, Any], opts: SearchOptions) -> HybridRetriever:
    """The retrievers ``opts.mode`` names ("hybrid": bm25 and dense), fused as ``opts``
    says; the caller has checked that each named one exists."""
    names = ["bm25", "dense"] if opts.mode == "hybrid" else [opts.mode]
    weights = opts.weights
    if weights is not None:
        weights = {name: w for name, w in weights.items() if name in names}
    return HybridRetriever(
        {name: retrievers[name] for name in names},
        opts.fusion,
        weights=weights,
        rrf_k=opts.rrf_k,
        normalization=opts.normalization,
        per=opts.per,
        depth=opts.depth,
    )

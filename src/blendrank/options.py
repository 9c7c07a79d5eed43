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
from blendrank.selfquery.retriever import SELF_QUERY_MODES

MODES = ("hybrid", "bm25", "dense")
NORMALIZATIONS = ("minmax", "zscore")
#: the retrievers every embedded index has (``retrievers`` and ``weights`` may also name
#: the ones it was given: ``"e5"``, ``"bm42"``, ...)
INDEX_RETRIEVERS = ("bm25", "dense")
#: what ``mode`` means as a set of retrievers
MODE_RETRIEVERS = {"hybrid": ("bm25", "dense"), "bm25": ("bm25",), "dense": ("dense",)}


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
            "self_query",
            "off",
            "read a metadata filter from the question: off, filter (hard) or boost (soft)",
            choices=SELF_QUERY_MODES,
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
    retrievers: tuple[str, ...] | None = None
    self_query: str = default("self_query")
    extractor: Any = None

    def __post_init__(self) -> None:
        for name, option in SEARCH_OPTIONS.items():
            option.check(getattr(self, name))
        object.__setattr__(self, "retrievers", check_retriever_names(self.retrievers))
        if self.rerank is not None and not isinstance(self.rerank, Reranker):
            raise InvalidInputError(
                "rerank must be a blendrank Reranker (e.g. blendrank.rerank.load_reranker(...)), "
                f"got {type(self.rerank).__name__}"
            )
        check_index_weights(self.weights)

    @property
    def names(self) -> tuple[str, ...]:
        """The retrievers to run: ``retrievers`` when given, else those of ``mode``."""
        return self.retrievers if self.retrievers is not None else MODE_RETRIEVERS[self.mode]

    @property
    def depth(self) -> int:
        """First-stage depth per retriever: enough for the fused top_k and the reranker."""
        return max(self.candidates, self.top_k, self.rerank_candidates or 0)


def check_retriever_names(names: Any) -> tuple[str, ...] | None:
    """``retrievers`` as a tuple of distinct names, or a clear error.

    >>> check_retriever_names(["bm25", "bm42"])
    ('bm25', 'bm42')
    >>> check_retriever_names("bm25,dense,e5")
    ('bm25', 'dense', 'e5')
    """
    if names is None:
        return None
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if not isinstance(names, (list, tuple)) or not names:
        raise InvalidInputError(
            f'retrievers must be a non-empty list of names like ["bm25", "dense", "bm42"], '
            f"got {names!r}"
        )
    for name in names:
        if not isinstance(name, str) or not name or name == "fused":
            raise InvalidInputError(f"retriever names must be non-empty strings, got {name!r}")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"retrievers lists a name twice: {list(names)}")
    return tuple(names)


def check_index_weights(weights: Any) -> None:
    """``weights`` by retriever name (``bm25``, ``dense``, ``e5``, ...), or a clear error;
    the index checks that it has the retrievers they name."""
    if weights is None:
        return
    if not isinstance(weights, Mapping):
        raise InvalidInputError('weights must be a dict like {"bm25": 0.3, "dense": 0.7}')
    for name, w in weights.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"weights are keyed by retriever name, got {name!r}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise InvalidInputError(f"weight for {name!r} must be a number >= 0, got {w!r}")


def fused_retriever(
    retrievers: Mapping[str, Any], opts: SearchOptions, how_to_add: str = ""
) -> HybridRetriever:
    """The retrievers ``opts`` names (``retrievers``, else ``mode``: "hybrid" is bm25 and
    dense), fused as ``opts`` says. A name the index lacks is an InvalidInputError that
    lists the ones it has (and ``how_to_add`` more)."""
    names = opts.names
    missing = [n for n in names if n not in retrievers]
    if missing:
        hint = f"; {how_to_add}" if how_to_add else ""
        raise InvalidInputError(
            f"this index has no retriever {', '.join(map(repr, missing))}; it has "
            f"{', '.join(retrievers)}{hint}"
        )
    weights = opts.weights
    if weights is not None:
        unknown = sorted(set(weights) - set(retrievers))
        if unknown:
            raise InvalidInputError(
                f"weights name retrievers this index does not have: {unknown}; it has "
                f"{', '.join(retrievers)}"
            )
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

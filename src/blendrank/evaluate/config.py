"""Evaluation configs (YAML or TOML): pipelines to compare, metrics, significance, tuning.

Every options object rejects unknown keys and lists the valid ones. Example
(``pipelines.yaml``)::

    metrics: [ndcg@10, recall@100, mrr@10]
    relevance_level: 1          # TREC DL: 2
    defaults: {chunk_size: 256, chunk_overlap: 32, top_k: 100}
    pipelines:
      - {name: bm25, mode: bm25}
      - {name: hybrid, mode: hybrid, fusion: rrf, rrf_k: 60}
      - {name: hybrid+bi, mode: hybrid, reranker: "bi:all-MiniLM-L6-v2", top_n: 50}

>>> cfg = EvalConfig.from_mapping({"pipelines": [{"name": "bm25", "mode": "bm25"}]})
>>> cfg.pipelines[0].index_settings()["embedder"] is None
True
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.evaluate.metrics import DEFAULT_METRICS, validate_metric, validate_metrics
from blendrank.index.extra import KNOWN as KNOWN_RETRIEVERS
from blendrank.options import MODE_RETRIEVERS, SEARCH_OPTIONS, check_retriever_names, default

PIPELINE_TYPES = ("index", "run", "rerank_run")
MODES = SEARCH_OPTIONS["mode"].choices or ()
FUSIONS = SEARCH_OPTIONS["fusion"].choices or ()
#: other spellings accepted in configs and tuning grids
ALIASES = {"top_n": "rerank_candidates", "rerank": "reranker"}
#: the settings that change what is indexed: pipelines differing here get their own index
INDEX_KEYS = (
    "embedder",
    "analyzer",
    "chunk_size",
    "chunk_overlap",
    "bm25_k1",
    "bm25_b",
    "ann",
    "store",
)
#: the settings an engine store (``store: URI``) is created with; the engine analyses text
#: and builds its vector index itself
STORE_KEYS = ("embedder", "chunk_size", "chunk_overlap")


def check_keys(given: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
    """Raise naming the unknown keys and listing the valid ones."""
    if not isinstance(given, Mapping):
        raise InvalidInputError(
            f"{where} must be a mapping of settings, got {type(given).__name__}"
        )
    unknown = [k for k in given if k not in valid]
    if unknown:
        raise InvalidInputError(
            f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; "
            f"valid keys: {', '.join(sorted(valid))}"
        )


def _int(where: str, name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")


def _number(where: str, name: str, value: Any, low: float, high: float | None = None) -> None:
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or value < low
    if bad or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidInputError(f"{where}: {name} must be a number {bound}, got {value!r}")


def _choice(where: str, name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidInputError(
            f"{where}: {name} must be one of {', '.join(choices)}; got {value!r}"
        )


@dataclass(frozen=True)
class PipelineConfig:
    """One system to evaluate.

    ``type``: ``"index"`` (search a blendrank Index built from the corpus), ``"run"``
    (score a TREC run file as it is) or ``"rerank_run"`` (rerank the candidates of a run
    file with ``reranker``; no index). ``alpha`` is a shortcut for
    ``weights={"bm25": 1 - alpha, "dense": alpha}``; ``top_n`` for ``rerank_candidates``.
    ``rerank_blend``: blend the reranker with the first stage
    (:class:`~blendrank.rerank.BlendReranker` weight; tune it on a train split).
    ``retrievers``: the index's retrievers to fuse instead of ``mode`` (a list such as
    ``[bm25, dense, e5, bm42]``; tunable in a grid); retrievers other than bm25 and dense
    are added to the index when it lacks them: ``e5`` and ``bm42`` by name, others from
    ``index_retrievers`` (name -> spec, as ``Index.create(retrievers=...)`` takes).
    ``self_query``: read a filter from each question (``filter`` or ``boost``, see
    :meth:`blendrank.Index.search`).
    ``store``: search an engine store (a URI such as ``qdrant+edge:kb`` or
    ``postgresql://...?table=kb``, see docs/backends.md) instead of an index folder built
    under ``work_dir``; it is created and filled with the corpus when it lacks it.
    """

    name: str
    type: str = "index"
    mode: str = default("mode")
    fusion: str = default("fusion")
    rrf_k: int = default("rrf_k")
    weights: dict[str, float] | None = None
    alpha: float | None = None
    normalization: str = default("normalization")
    per: str = "document"
    candidates: int = default("candidates")
    top_k: int = 100
    reranker: str | None = None
    reranker_params: dict[str, Any] = field(default_factory=dict)
    rerank_candidates: int | None = None
    rerank_blend: float | None = None
    embedder: str | None = "all-MiniLM-L6-v2"
    analyzer: str = "auto"
    chunk_size: int = 512
    chunk_overlap: int = 128
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    ann: bool = False
    store: str | None = None
    run: str | None = None
    depth: int | None = None
    retrievers: tuple[str, ...] | None = None
    index_retrievers: dict[str, Any] | None = None
    self_query: str = default("self_query")

    def __post_init__(self) -> None:
        where = f"pipeline {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInputError(f"every pipeline needs a non-empty 'name', got {self.name!r}")
        _choice(where, "type", self.type, PIPELINE_TYPES)
        _choice(where, "mode", self.mode, MODES)
        _choice(where, "fusion", self.fusion, FUSIONS)
        _choice(where, "self_query", self.self_query, SEARCH_OPTIONS["self_query"].choices or ())
        if self.per != "document":
            raise InvalidInputError(
                f"{where}: evaluation ranks documents (qrels judge documents), so per must be "
                f"'document'; got {self.per!r}"
            )
        for name in ("rrf_k", "candidates", "top_k", "chunk_size"):
            _int(where, name, getattr(self, name))
        _int(where, "chunk_overlap", self.chunk_overlap, 0)
        for name in ("rerank_candidates", "depth"):
            if getattr(self, name) is not None:
                _int(where, name, getattr(self, name))
        _number(where, "bm25_k1", self.bm25_k1, 0.0)
        _number(where, "bm25_b", self.bm25_b, 0.0, 1.0)
        if self.rerank_blend is not None:
            _number(where, "rerank_blend", self.rerank_blend, 0.0, 1.0)
            if not self.reranker:
                raise InvalidInputError(f"{where}: rerank_blend needs a 'reranker'")
        if self.alpha is not None:
            _number(where, "alpha", self.alpha, 0.0, 1.0)
            if self.weights is not None:
                raise InvalidInputError(f"{where}: give either alpha or weights, not both")
        object.__setattr__(self, "retrievers", check_retriever_names(self.retrievers))
        extra = self.extra_retrievers()  # every name is known or given a spec
        if self.weights is not None:
            check_keys(self.weights, ("bm25", "dense", *extra), f"{where} weights")
        if extra and self.store is not None:
            raise InvalidInputError(
                f"{where}: retrievers {sorted(extra)} are for an index folder; an engine "
                "store has bm25 and dense"
            )
        if not isinstance(self.reranker_params, Mapping):
            raise InvalidInputError(f"{where}: reranker_params must be a mapping")
        if self.store is not None:
            if not isinstance(self.store, str) or not self.store.strip():
                raise InvalidInputError(f"{where}: store must be a store URI, got {self.store!r}")
            if self.type != "index":
                raise InvalidInputError(f"{where}: 'store' is only for type index")
        if self.type == "index" and self.run is not None:
            raise InvalidInputError(f"{where}: 'run' is only for type run or rerank_run")
        if self.type != "index" and not self.run:
            raise InvalidInputError(f"{where}: type {self.type!r} needs 'run' (a TREC run file)")
        if self.type == "rerank_run" and not self.reranker:
            raise InvalidInputError(f"{where}: type rerank_run needs a 'reranker' spec")
        if self.type == "run" and self.reranker:
            raise InvalidInputError(f"{where}: type run scores a file as is; use rerank_run")
        uses_dense = "dense" in (self.retrievers or MODE_RETRIEVERS[self.mode])
        if uses_dense and self.type == "index" and self.embedder is None:
            raise InvalidInputError(f"{where}: mode {self.mode!r} needs an embedder")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> PipelineConfig:
        valid = [f.name for f in fields(cls)] + list(ALIASES)
        merged: dict[str, Any] = {}
        for source, where in (
            (defaults or {}, "defaults"),
            (data, f"pipeline {data.get('name')!r}"),
        ):
            check_keys(source, valid, where)
            merged.update({ALIASES.get(k, k): v for k, v in source.items()})
        if "name" not in merged:
            raise InvalidInputError(f"a pipeline has no 'name': {dict(data)}")
        return cls(**merged)

    def with_params(self, params: Mapping[str, Any]) -> PipelineConfig:
        """A copy with ``params`` (validated names, aliases allowed) replacing fields."""
        valid = [f.name for f in fields(self) if f.name not in ("name", "type")] + list(ALIASES)
        check_keys(params, valid, "tuning parameters")
        changes = {ALIASES.get(k, k): v for k, v in params.items()}
        if "weights" in changes and self.alpha is not None and "alpha" not in changes:
            changes["alpha"] = None
        if "alpha" in changes and self.weights is not None and "weights" not in changes:
            changes["weights"] = None
        return replace(self, **changes)

    def search_weights(self) -> dict[str, float] | None:
        if self.alpha is not None:
            return {"bm25": 1.0 - float(self.alpha), "dense": float(self.alpha)}
        return dict(self.weights) if self.weights is not None else None

    def extra_retrievers(self) -> dict[str, Any]:
        """The retrievers beside bm25 and dense this pipeline needs: name -> spec (None:
        a name the index knows, ``e5`` or ``bm42``)."""
        given = dict(self.index_retrievers or {})
        out = {}
        for name in self.retrievers or ():
            if name in ("bm25", "dense"):
                continue
            if name not in given and name not in KNOWN_RETRIEVERS:
                raise InvalidInputError(
                    f"pipeline {self.name!r}: retriever {name!r} is neither "
                    f"{', '.join(KNOWN_RETRIEVERS)} nor given in index_retrievers "
                    "(name: spec)"
                )
            out[name] = given.get(name)
        return out

    def index_settings(self) -> dict[str, Any]:
        """Index.create arguments plus ``retrievers`` (name -> spec), which the index cache
        adds to an index it has when missing; a BM25-only pipeline needs no embeddings."""
        settings = {k: getattr(self, k) for k in INDEX_KEYS}
        if "dense" not in (self.retrievers or MODE_RETRIEVERS[self.mode]):
            settings["embedder"] = None
        settings["retrievers"] = self.extra_retrievers()
        return settings


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how to compare. ``baseline`` (default: the first pipeline)
    is what every other pipeline is tested against; ``permutations``/``seed`` drive the
    randomisation test; ``significance_level`` is the family-wise alpha (Holm)."""

    pipelines: tuple[PipelineConfig, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    relevance_level: int = 1
    baseline: str | None = None
    significance_metric: str = "ndcg@10"
    significance_level: float = 0.05
    permutations: int = 10_000
    seed: int = 0
    error_queries: int = 10
    error_cutoff: int = 10
    text_chars: int = 200
    work_dir: str = ".blendrank-eval"

    def __post_init__(self) -> None:
        if not self.pipelines:
            raise InvalidInputError("the config lists no pipelines; add 'pipelines: [...]'")
        names = [p.name for p in self.pipelines]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInputError(f"pipeline names must be unique; repeated: {', '.join(dupes)}")
        if self.baseline is not None and self.baseline not in names:
            raise InvalidInputError(
                f"baseline {self.baseline!r} is not a pipeline; pipelines: {', '.join(names)}"
            )
        validate_metrics(list(self.metrics))
        validate_metric(self.significance_metric)
        _int("config", "relevance_level", self.relevance_level)
        _int("config", "permutations", self.permutations, 100)
        _int("config", "seed", self.seed, 0)
        _int("config", "error_queries", self.error_queries, 0)
        _int("config", "error_cutoff", self.error_cutoff)
        _int("config", "text_chars", self.text_chars)
        _number("config", "significance_level", self.significance_level, 0.0, 1.0)

    @property
    def baseline_name(self) -> str:
        return self.baseline or self.pipelines[0].name

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EvalConfig:
        valid = [f.name for f in fields(cls)] + ["defaults"]
        check_keys(data, valid, "the evaluation config")
        raw = dict(data)
        defaults = raw.pop("defaults", None) or {}
        pipelines = raw.pop("pipelines", None)
        if not isinstance(pipelines, Sequence) or isinstance(pipelines, (str, bytes)):
            raise InvalidInputError("'pipelines' must be a list of pipeline mappings")
        raw["pipelines"] = tuple(PipelineConfig.from_mapping(p, defaults) for p in pipelines)
        if "metrics" in raw:
            raw["metrics"] = tuple(validate_metrics(raw["metrics"]))
        raw["significance_metric"] = validate_metric(raw.get("significance_metric", "ndcg@10"))
        return cls(**raw)

    def with_overrides(self, **changes: Any) -> EvalConfig:
        clean = {k: v for k, v in changes.items() if v is not None}
        if "metrics" in clean:
            clean["metrics"] = tuple(validate_metrics(clean["metrics"]))
        return replace(self, **clean)


@dataclass(frozen=True)
class TuneConfig:
    """Grid search: try every combination of ``grid`` on ``tune_split`` with the base
    ``pipeline``, keep the best by ``metric``, report it on ``report_split``."""

    pipeline: PipelineConfig
    grid: dict[str, tuple[Any, ...]]
    metric: str = "ndcg@10"
    tune_split: str = "train"
    report_split: str = "test"
    metrics: tuple[str, ...] = DEFAULT_METRICS
    relevance_level: int = 1
    work_dir: str = ".blendrank-eval"

    def __post_init__(self) -> None:
        if self.tune_split == self.report_split:
            raise InvalidInputError(
                f"refusing to tune and report on the same split ({self.tune_split!r}): the "
                "reported figure would be optimistic; tune on e.g. 'train', report on 'test'"
            )
        if not self.grid:
            raise InvalidInputError("the grid is empty; e.g. grid: {alpha: [0.3, 0.5, 0.7]}")
        for name, values in self.grid.items():
            if not isinstance(values, tuple) or not values:
                raise InvalidInputError(f"grid parameter {name!r} needs a non-empty list of values")
        self.pipeline.with_params({k: v[0] for k, v in self.grid.items()})  # validates names
        validate_metric(self.metric)
        validate_metrics(list(self.metrics))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TuneConfig:
        check_keys(data, [f.name for f in fields(cls)], "the tuning config")
        raw = dict(data)
        if "pipeline" not in raw or "grid" not in raw:
            raise InvalidInputError("a tuning config needs 'pipeline' (a mapping) and 'grid'")
        raw["pipeline"] = PipelineConfig.from_mapping(raw["pipeline"])
        grid = raw["grid"]
        if not isinstance(grid, Mapping):
            raise InvalidInputError("'grid' must map parameter names to lists of values")
        raw["grid"] = {
            k: tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in grid.items()
        }
        if "metrics" in raw:
            raw["metrics"] = tuple(validate_metrics(raw["metrics"]))
        raw["metric"] = validate_metric(raw.get("metric", "ndcg@10"))
        return cls(**raw)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a ``.yaml``/``.yml`` or ``.toml`` file into a mapping."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise InvalidInputError(
            f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}"
        ) from None
    except Exception as exc:  # yaml.YAMLError has no common base with ValueError
        raise InvalidInputError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"{path} must hold a mapping at the top level")
    return dict(data)


def load_eval_config(path: str | Path) -> EvalConfig:
    return EvalConfig.from_mapping(read_config_file(path))


def load_tune_config(path: str | Path) -> TuneConfig:
    return TuneConfig.from_mapping(read_config_file(path))

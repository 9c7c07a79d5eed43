"""What pipelines share across an evaluation: built indexes (cached on disk under a
work dir, keyed by the corpus and the index settings) and loaded rerankers.

>>> plan = index_plan([PipelineConfig("a", mode="bm25"), PipelineConfig("b", mode="hybrid")])
>>> plan["a"] == plan["b"]   # BM25 borrows the hybrid index: one build
True
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.evaluate.config import INDEX_KEYS, STORE_KEYS, PipelineConfig
from blendrank.evaluate.datasets import EvalDataset

BUILD_MARKER = "blendrank-eval-build.json"


def corpus_fingerprint(dataset: EvalDataset) -> str:
    """A hash of every document (id, title, text): an index cache key part."""
    digest = hashlib.blake2b(digest_size=8)
    for doc_id in sorted(dataset.corpus):
        doc = dataset.corpus[doc_id]
        for part in (doc.id, doc.title, doc.text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def index_plan(pipelines: list[PipelineConfig]) -> dict[str, dict[str, Any]]:
    """Index settings per index pipeline; BM25-only pipelines borrow a dense index with
    the same non-embedder settings when one is planned anyway."""
    plan = {p.name: p.index_settings() for p in pipelines if p.type == "index"}
    dense = [s for s in plan.values() if s["embedder"] is not None]
    for name, settings in plan.items():
        if settings["embedder"] is None:
            same = [
                d for d in dense if all(d[k] == settings[k] for k in INDEX_KEYS if k != "embedder")
            ]
            if same:  # the dense index, with this pipeline's extra retrievers too
                extra = {**same[0]["retrievers"], **settings["retrievers"]}
                plan[name] = {**same[0], "retrievers": extra}
    return plan


class IndexCache:
    """Builds (once) and opens indexes under ``work_dir``, keyed by corpus and settings."""

    def __init__(self, work_dir: str | Path, *, progress: bool = False) -> None:
        self.work_dir = Path(work_dir)
        self.progress = progress
        self._open: dict[Path, Any] = {}
        self.build_seconds: dict[str, float] = {}

    def path_for(self, dataset: EvalDataset, settings: Mapping[str, Any]) -> Path:
        settings = {k: v for k, v in settings.items() if not (k == "store" and v is None)}
        key = json.dumps(settings, sort_keys=True, default=str)
        digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        return self.work_dir / f"{dataset.name}-{corpus_fingerprint(dataset)}-{digest}"

    def get(self, dataset: EvalDataset, settings: Mapping[str, Any]) -> Any:

        settings = dict(settings)
        store = settings.pop("store", None)
        extra = settings.pop("retrievers", None) or {}
        if store is not None:
            return self._store(dataset, store, settings)
        index = self._index(dataset, settings)
        for name, spec in extra.items():  # one index grows the retrievers its pipelines use
            if name not in (index.settings.get("retrievers") or {}):
                start = time.perf_counter()
                index.add_retriever(name, spec, progress=self.progress)
                key = f"{self.path_for(dataset, settings).name}+{name}"
                self.build_seconds[key] = time.perf_counter() - start
        return index

    def _index(self, dataset: EvalDataset, settings: dict[str, Any]) -> Any:
        from blendrank.index.embedded import Index

        path = self.path_for(dataset, settings)
        if path in self._open:
            return self._open[path]
        if (path / BUILD_MARKER).is_file():
            index = Index.open(path)
        else:
            if path.exists():  # an interrupted build of ours: start again
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            index = Index.create(path, **dict(settings))
            index.add(list(dataset.corpus.values()), progress=self.progress)
            seconds = time.perf_counter() - start
            marker = {
                "settings": dict(settings),
                "documents": len(dataset.corpus),
                "seconds": seconds,
            }
            (path / BUILD_MARKER).write_text(json.dumps(marker, indent=2, default=str))
            self.build_seconds[path.name] = seconds
        self._open[path] = index
        return index

    def close(self) -> None:
        """Close what this cache opened (engine stores hold connections or file locks)."""
        for index in self._open.values():
            close = getattr(index, "close", None)
            if close is not None:
                close()
        self._open.clear()

    def _store(self, dataset: EvalDataset, uri: str, settings: dict[str, Any]) -> Any:
        """An engine store holding the corpus: created (or completed) on first use; an
        ``add`` skips the documents it already holds unchanged."""
        from blendrank.backends import connect

        key = Path(f"store:{uri}")
        if key in self._open:
            return self._open[key]
        wanted = {k: settings[k] for k in STORE_KEYS}
        store = connect(uri, create=True, **wanted)
        have = store.settings
        chunking = have["chunking"]
        stored = {
            "embedder": have["embedder"],
            "chunk_size": chunking["chunk_size"],
            "chunk_overlap": chunking["overlap"],
        }
        from blendrank.embed import make_embedder

        if wanted["embedder"] is not None:
            wanted["embedder"] = make_embedder(wanted["embedder"]).config()
        for name in STORE_KEYS:
            if name == "embedder" and wanted[name] is None:
                continue  # a BM25 pipeline searches a store with vectors as well
            if stored[name] != wanted[name]:
                store.close()
                raise InvalidInputError(
                    f"store {uri} holds another {name} ({stored[name]!r}) than the pipeline "
                    f"asks for ({wanted[name]!r}); use a new store or the same settings"
                )
        start = time.perf_counter()
        counts = store.add(list(dataset.corpus.values()), progress=self.progress)
        if counts["added"] or counts["updated"]:
            self.build_seconds[uri] = time.perf_counter() - start
        self._open[key] = store
        return store


class RerankerCache:
    """One loaded reranker per (spec, params), shared by pipelines and tuning trials."""

    def __init__(self, loader: Callable[..., Any] | None = None) -> None:
        self._loader = loader
        self._loaded: dict[str, Any] = {}

    def get(self, spec: str, params: Mapping[str, Any]) -> Any:
        key = json.dumps([spec, dict(params)], sort_keys=True, default=str)
        if key not in self._loaded:
            loader = self._loader
            if loader is None:
                from blendrank.rerank import load_reranker

                loader = load_reranker
            try:
                self._loaded[key] = loader(spec, **dict(params))
            except TypeError as exc:
                if not params:
                    raise
                raise InvalidInputError(
                    f"reranker {spec!r} does not take reranker_params {sorted(params)}: {exc}"
                ) from None
        return self._loaded[key]

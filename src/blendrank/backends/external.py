"""What every external engine shares with the embedded index: the same documents in
(validated the same way), the same chunking and embedding, the same upsert semantics
(``added`` / ``updated`` / ``unchanged``, a document whose text and title did not change
is not embedded again), the same filters and the same pipeline out.

An engine implements the storage methods of :class:`ExternalIndex` (``_store_*``) and its
retrievers; everything else is here. Document ids never reach an engine expression:
rows are addressed by ``doc_key(id)``, a hex digest.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.index.options import CHUNK_OVERLAP, CHUNK_SIZE
from blendrank.ingest.records import validate_documents
from blendrank.options import SearchOptions, default, fused_retriever
from blendrank.pipeline import Pipeline
from blendrank.rerank.base import Reranker
from blendrank.retrieve.base import Retriever, RetrieverBase, check_k
from blendrank.retrieve.hybrid import HybridRetriever
from blendrank.types import Document, Hit, Query, Ranking

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


class Borrowed:
    """A client the caller made and keeps: every call goes to it, ``close`` leaves it open
    (the caller closes it)."""

    def __init__(self, client: Any) -> None:
        object.__setattr__(self, "_borrowed", client)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._borrowed, name)

    def close(self) -> None:
        pass


def doc_key(doc_id: str) -> str:
    """The engine-side address of a document: 32 hex digits, safe in any expression."""
    return hashlib.blake2b(doc_id.encode("utf-8"), digest_size=16).hexdigest()


def content_hash(doc: Document) -> str:
    return hashlib.blake2b(
        json.dumps([doc.title, doc.text], ensure_ascii=False).encode("utf-8"), digest_size=16
    ).hexdigest()


def metadata_hash(metadata: Mapping[str, Any]) -> str:
    payload = json.dumps(metadata, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class ChunkRow:
    """One chunk as an engine stores it."""

    id: str
    doc_id: str
    n: int
    start: int
    end: int
    text: str  # what the retrievers index (title prepended when configured)
    body: str  # the chunk's own text, returned in hits
    title: str
    metadata: dict[str, Any]
    vector: np.ndarray | None


@dataclass
class StoredDocument:
    """What an engine keeps per document: the document and its hashes."""

    document: Document
    content_hash: str
    metadata_hash: str


class ExternalIndex:
    """Base of the engine backends; see the module docstring. Subclasses set ``settings``
    (embedder config, chunking, title_in_chunks) when they create or open a store."""

    settings: dict[str, Any]
    #: the engine's retrievers by name ("bm25", "dense", ...)
    _retrievers: dict[str, Retriever]

    def __init__(self) -> None:
        self._embedder: Any = None
        self._chunker: Any = None

    # ---- settings shared with the embedded index ---------------------------------------

    @staticmethod
    def make_settings(
        embedder: Any = DEFAULT_EMBEDDER,
        *,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        tokenizer: str | None = None,
        title_in_chunks: bool = True,
    ) -> tuple[dict[str, Any], Any]:
        """(settings to store, the embedder object) for a new store (chunking defaults to
        the embedded index's)."""
        from blendrank.embed import make_embedder
        from blendrank.text.chunking import TokenChunker

        chunk_size = CHUNK_SIZE if chunk_size is None else chunk_size
        chunk_overlap = CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap

        embedder_obj = make_embedder(embedder) if embedder is not None else None
        source = tokenizer or _tokenizer_source(embedder_obj)
        chunker = TokenChunker(source, chunk_size=chunk_size, overlap=chunk_overlap)
        settings = {
            "format": "blendrank-external",
            "format_version": 1,
            "embedder": embedder_obj.config() if embedder_obj is not None else None,
            "chunking": {**chunker.config(), "tokenizer": source},
            "title_in_chunks": bool(title_in_chunks),
        }
        return settings, embedder_obj

    @staticmethod
    def bm25_settings(analyzer: Any, k1: float, b: float) -> dict[str, Any]:
        """The settings of a store that runs blendrank's own BM25 (analyzer, k1, b)."""
        from blendrank.text.analyzer import make_analyzer

        if not (k1 >= 0 and 0 <= b <= 1):
            raise InvalidInputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        return {
            "analyzer": make_analyzer(analyzer).config(),
            "bm25": {"k1": float(k1), "b": float(b)},
        }

    @property
    def embedder(self) -> Any:
        if self._embedder is None and self.settings.get("embedder") is not None:
            from blendrank.embed import make_embedder

            self._embedder = make_embedder(self.settings["embedder"])
        return self._embedder

    @property
    def chunker(self) -> Any:
        if self._chunker is None:
            from blendrank.text.chunking import TokenChunker

            chunking = self.settings["chunking"]
            self._chunker = TokenChunker(
                chunking.get("tokenizer"),
                chunk_size=chunking["chunk_size"],
                overlap=chunking["overlap"],
            )
        return self._chunker

    # ---- writes ------------------------------------------------------------------------

    def add(self, documents: Iterable[Document], *, progress: bool = False) -> dict[str, int]:
        """Add or replace documents (upsert by id), as :meth:`blendrank.Index.add` does.

        Returns counts: ``added``, ``updated``, ``unchanged``, ``chunks`` (embedded anew).
        An engine without multi-row transactions writes a document's chunks before its
        record, so a write cut short is completed by running the same ``add`` again.
        """
        incoming = validate_documents(documents)
        counts = {"added": 0, "updated": 0, "unchanged": 0, "chunks": 0}
        if not incoming:
            return counts
        stored = self._store_documents([doc_key(d.id) for d in incoming])
        rechunk: list[Document] = []
        retag: list[Document] = []
        for doc in incoming:
            old = stored.get(doc_key(doc.id))
            if old is None:
                counts["added"] += 1
                rechunk.append(doc)
            elif old.content_hash != content_hash(doc):
                counts["updated"] += 1
                rechunk.append(doc)
            elif old.metadata_hash != metadata_hash(doc.metadata):
                counts["updated"] += 1
                retag.append(doc)
            else:
                counts["unchanged"] += 1
        rows = self._chunk_rows(rechunk, progress)
        counts["chunks"] = len(rows)
        if rows:
            self._store_chunks(rows)
        by_doc: dict[str, int] = {}
        for row in rows:
            by_doc[row.doc_id] = by_doc.get(row.doc_id, 0) + 1
        # a shorter new version (or a write cut short) leaves no old chunk behind: one
        # trim per distinct chunk count, not one per document
        keep: dict[int, list[str]] = {}
        for doc in rechunk:
            keep.setdefault(by_doc.get(doc.id, 0), []).append(doc_key(doc.id))
        for count, keys in keep.items():
            for start in range(0, len(keys), 256):
                self._store_trim_many(keys[start : start + 256], count)
        if retag:
            self._store_retag(retag)
        changed = [*rechunk, *retag]
        if changed:
            self._store_put_documents(
                [StoredDocument(d, content_hash(d), metadata_hash(d.metadata)) for d in changed]
            )
        return counts

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id; returns how many existed. Unknown ids are ignored."""
        if isinstance(ids, str):
            ids = [ids]
        ids = list(ids)
        for i in ids:
            if not isinstance(i, str):
                raise InvalidInputError(f"document ids must be strings, got {i!r}")
        keys = [doc_key(i) for i in dict.fromkeys(ids)]
        present = self._store_documents(keys)
        if keys:
            # every key, not only whole documents: chunks of a write cut short go too
            self._store_delete(keys)
        return len(present)

    def get(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        if not isinstance(doc_id, str):
            raise InvalidInputError(f"document ids must be strings, got {doc_id!r}")
        found = self._store_documents([doc_key(doc_id)])
        stored = found.get(doc_key(doc_id))
        return None if stored is None else stored.document

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.get(doc_id) is not None

    def _chunk_rows(self, docs: Sequence[Document], progress: bool) -> list[ChunkRow]:
        if not docs:
            return []
        title_in = self.settings["title_in_chunks"]
        rows: list[ChunkRow] = []
        for doc, chunks in zip(docs, self.chunker.chunk_many(list(docs)), strict=True):
            for c in chunks:
                body = doc.text[c.start : c.end]
                text = f"{doc.title}\n{body}" if title_in and doc.title else body
                rows.append(
                    ChunkRow(
                        f"{doc.id}#{c.n}",
                        doc.id,
                        c.n,
                        c.start,
                        c.end,
                        text,
                        body,
                        doc.title,
                        doc.metadata,
                        None,
                    )
                )
        if self.embedder is not None:
            vectors = self.embedder.embed_documents([r.text for r in rows], progress=progress)
            for row, vector in zip(rows, vectors, strict=True):
                row.vector = np.asarray(vector, dtype=np.float32)
        return rows

    # ---- search ------------------------------------------------------------------------

    def retriever(
        self,
        mode: str = default("mode"),
        *,
        fusion: str = default("fusion"),
        rrf_k: int = default("rrf_k"),
        weights: Mapping[str, float] | None = None,
        normalization: str = default("normalization"),
        per: str = default("per"),
        candidates: int = default("candidates"),
        retrievers: Sequence[str] | None = None,
    ) -> HybridRetriever:
        """The engine's retrievers fused by blendrank (every hit keeps each retriever's own
        score and rank): ``mode`` is "hybrid", "bm25" or "dense" (or ``retrievers`` names
        them)."""
        opts = SearchOptions(
            retrievers=retrievers,  # type: ignore[arg-type]
            mode=mode,
            fusion=fusion,
            rrf_k=rrf_k,
            weights=weights,  # type: ignore[arg-type]
            normalization=normalization,
            per=per,
            candidates=candidates,
        )
        return self._retriever(opts)

    def _retriever(self, opts: SearchOptions) -> HybridRetriever:
        if opts.self_query != "off":
            raise InvalidInputError(
                "self_query reads the filter from an index folder's metadata; an engine "
                "store does not support it yet: extract it yourself "
                "(blendrank.selfquery.RuleExtractor) and pass filter="
            )
        return fused_retriever(self._retrievers, opts)

    def pipeline(self, rerank: Reranker | None = None, **options: Any) -> Pipeline:
        opts = SearchOptions(**dict(options, rerank=rerank))
        return Pipeline(
            self._retriever(opts),
            opts.rerank,
            candidates=opts.candidates,
            rerank_candidates=opts.rerank_candidates,
            per=opts.per,
        )

    def search(
        self,
        query: str | Query,
        top_k: int = default("top_k"),
        *,
        filter: Mapping[str, Any] | None = None,
        timings: dict[str, float] | None = None,
        **options: Any,
    ) -> list[Hit]:
        """Search as :meth:`blendrank.Index.search` does (same options)."""
        question = Query.of(query, filter)
        result = self.pipeline(top_k=top_k, **options).run(question, top_k)
        if timings is not None:
            for stage, seconds in result.timings.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
        return list(result.final)

    def search_many(
        self, queries: Sequence[str | Query], top_k: int = 10, **options: Any
    ) -> list[list[Hit]]:
        filter_ = options.pop("filter", None)
        batch = [Query.of(q, filter_) for q in queries]
        pipeline = self.pipeline(top_k=top_k, **options)
        return [list(r.final) for r in pipeline.run_many(batch, top_k)]

    # ---- what an engine implements -------------------------------------------------------

    def _store_documents(self, keys: Sequence[str]) -> dict[str, StoredDocument]:
        raise NotImplementedError

    def _store_put_documents(self, documents: Sequence[StoredDocument]) -> None:
        raise NotImplementedError

    def _store_chunks(self, rows: Sequence[ChunkRow]) -> None:
        raise NotImplementedError

    def _store_trim_chunks(self, key: str, keep: int) -> None:
        """Remove the document's chunks numbered ``keep`` and above."""
        raise NotImplementedError

    def _store_trim_many(self, keys: Sequence[str], keep: int) -> None:
        """:meth:`_store_trim_chunks` for many documents (one engine call if it can)."""
        for key in keys:
            self._store_trim_chunks(key, keep)

    def _store_retag(self, documents: Sequence[Document]) -> None:
        """Give the stored chunks of ``documents`` their new metadata (vectors unchanged)."""
        raise NotImplementedError

    def _store_delete(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def document_batches(self, size: int) -> Iterator[list[Document]]:
        """Every stored document, ``size`` at a time (migrate reads a store with it)."""
        raise NotImplementedError

    def chunk_vectors_of(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """``{indexed chunk text: vector}`` of the documents with these keys."""
        raise NotImplementedError


class EngineRetriever(RetrieverBase):
    """An engine search as a blendrank retriever. Ties are broken by chunk id, also at the
    cut: the search is widened until the k-th score is no longer tied with the last one
    fetched. Subclasses implement :meth:`_prepare` (the query as the engine takes it, e.g.
    its embedding) and :meth:`_search` (``[(chunk fields, score)]``, any order); chunk
    fields are ``id``, ``doc_id``, ``body``, ``title``, ``meta``, ``start``, ``end``."""

    #: the most results one engine search may return
    max_limit = 16_384

    def _prepare(self, query: Query) -> Any:
        raise NotImplementedError

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        raise NotImplementedError

    #: apply the embedded index's exact-phrase rules (:mod:`blendrank.index.phrase`) to
    #: the candidates; the chunk fields then include ``text``, the indexed text
    phrase_boost = False

    def retrieve(self, query: Query, k: int) -> Ranking:
        from blendrank.index.phrase import PHRASE_POOL, PhraseMatcher

        k = check_k(k)
        started = time.perf_counter()
        prepared = self._prepare(query)
        phrased = self.phrase_boost and bool(PhraseMatcher.phrases(query.text))
        depth = max(k, PHRASE_POOL) if phrased else k
        limit = min(self.max_limit, depth + max(10, depth // 2))
        while True:
            hits = self._search(prepared, query, limit)
            complete = len(hits) < limit
            hits.sort(key=lambda h: (-h[1], h[0]["id"]))
            if (
                complete
                or limit >= self.max_limit
                or len(hits) <= depth
                or hits[depth - 1][1] > hits[-1][1]
            ):
                break
            limit = min(self.max_limit, limit * 2)
        if phrased:
            hits = _phrase_adjusted(query.text, hits[:depth])
        info = {
            "complete": complete and len(hits) <= k,  # nothing matches beyond these
            "timings": {self.name: time.perf_counter() - started},
        }
        return Ranking([self._hit(e, s, r) for r, (e, s) in enumerate(hits[:k], 1)], info)

    def _hit(self, entity: dict[str, Any], score: float, rank: int) -> Hit:
        return Hit(
            entity["id"],
            entity["doc_id"],
            score,
            entity["body"],
            entity["title"],
            dict(entity["meta"] or {}),
            entity["id"],
            int(entity["start"]),
            int(entity["end"]),
            {self.name: score},
            {self.name: rank},
        )


def _phrase_adjusted(text: str, hits: list[tuple[dict, float]]) -> list[tuple[dict, float]]:
    """``hits`` (best first, ties by id) re-scored by the exact-phrase rules."""
    from blendrank.index.phrase import PhraseMatcher

    rows = np.arange(len(hits))
    scores = np.array([s for _, s in hits], dtype=np.float64)
    rows, scores = PhraseMatcher(True).adjust(text, rows, scores, lambda i: hits[i][0]["text"])
    return [(hits[int(r)][0], float(s)) for r, s in zip(rows, scores, strict=True)]


def _tokenizer_source(embedder: Any) -> str | None:
    source = getattr(embedder, "tokenizer_path", None)
    return str(source) if source else None

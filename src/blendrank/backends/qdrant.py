"""Qdrant as a blendrank store: ``pip install 'blendrank[qdrant]'``.

Two collections per store: ``NAME`` holds the chunks (a dense vector ``dense``, a sparse
vector ``bm25`` and the payload: text, metadata, the filter payload) and ``NAME_docs`` the
documents (for ``get`` and change detection) and the store's settings. Reached through:

- ``qdrant://HOST:6333/NAME`` (``qdrant+https://`` for TLS): a Qdrant server, cluster or
  Qdrant Cloud, through ``qdrant-client``; the key comes from ``api_key=`` or
  ``$BLENDRANK_QDRANT_API_KEY`` (then ``$QDRANT_API_KEY``);
- ``qdrant+local:PATH?collection=NAME``: ``qdrant-client``'s local mode, its Python
  implementation of the same API, in a folder (for development and tests; one process at
  a time);
- ``qdrant+edge:PATH?collection=NAME``: Qdrant Edge (``qdrant-edge-py``), Qdrant's Rust
  engine in process, one shard per collection under ``PATH``.

Retrievers: ``bm25`` is blendrank's own BM25 (its analyzer) as sparse vectors scored by
Qdrant with its IDF modifier (:mod:`blendrank.backends.sparse`), so it matches the
embedded index's BM25 but for ``avgdl`` being fixed at the first write; ``dense`` is
cosine over the same vectors as the embedded index. blendrank fuses them (each hit keeps
both scores and ranks); :meth:`QdrantIndex.engine_hybrid` runs Qdrant's own prefetch +
fusion (RRF with its k, counting ranks from 0, or DBSF) instead.

Filters are blendrank's filter syntax with its exact semantics, as a Qdrant ``Filter`` over
the filter payload (:mod:`blendrank.backends.filter_keys`): conditions hold only hex keys
and numbers, and values travel as structured fields, never inside an expression.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.backends.external import (
    Borrowed,
    ChunkRow,
    EngineRetriever,
    ExternalIndex,
    StoredDocument,
    doc_key,
)
from blendrank.backends.filter_keys import (
    NEVER_KEY,
    AllOf,
    AnyOf,
    Atom,
    Bound,
    Member,
    split_payload,
    to_atoms,
)
from blendrank.backends.sparse import K1, B, SparseBM25
from blendrank.errors import IndexExistsError, IndexNotFoundError, InvalidInputError
from blendrank.types import Document, Query

API_KEY_ENV = ("BLENDRANK_QDRANT_API_KEY", "QDRANT_API_KEY")
#: the settings live in the documents collection under this point id
SETTINGS_ID = uuid.UUID(int=0)
_BATCH = 256
_CHUNK_FIELDS = ["id", "doc_id", "text", "body", "title", "meta", "start", "end"]


def to_condition(atom: Atom, models: Any) -> Any:
    """A Qdrant condition for ``atom`` built from ``models`` (``qdrant_client.models`` or
    the same classes of ``qdrant_edge``): no NOT is needed beyond ``must_not``."""
    if isinstance(atom, Member):
        match = models.FieldCondition(key="fm", match=models.MatchValue(value=_hex(atom.key)))
        return match if atom.present else models.Filter(must_not=[match])
    if isinstance(atom, Bound):
        value = float(atom.value)
        if isinstance(atom.value, int) and int(value) != atom.value:
            raise InvalidInputError(
                "a date this far from 1970 cannot be compared exactly in Qdrant (its range "
                "conditions are 64-bit floats)"
            )
        return models.FieldCondition(
            key=f"fr.{_hex(atom.key)}", range=models.Range(**{atom.op: value})
        )
    never = models.FieldCondition(key="fm", match=models.MatchValue(value=NEVER_KEY))
    if isinstance(atom, AllOf):
        if not atom.children:
            return models.Filter(must_not=[never])
        return models.Filter(must=[to_condition(c, models) for c in atom.children])
    assert isinstance(atom, AnyOf)
    if not atom.children:
        return never
    return models.Filter(should=[to_condition(c, models) for c in atom.children])


def query_filter(query: Query, models: Any) -> Any:
    """The filter of ``query`` as a Qdrant ``Filter`` (None for none)."""
    if query.expression is None or query.expression.matches_all:
        return None
    condition = to_condition(to_atoms(query.expression.root), models)
    return condition if isinstance(condition, models.Filter) else models.Filter(must=[condition])


def _hex(key: str) -> str:
    if len(key) != 32 or not all(c in "0123456789abcdefmprhn" for c in key):
        raise AssertionError(f"not a payload key: {key!r}")  # never a user value
    return key


def parse_uri(uri: str) -> dict[str, Any]:
    """Where a blendrank Qdrant URI points.

    >>> parse_uri("qdrant+edge:/var/kb?collection=support")
    {'kind': 'edge', 'path': '/var/kb', 'collection': 'support'}
    >>> parse_uri("qdrant://db.internal:6333/support")
    {'kind': 'server', 'url': 'http://db.internal:6333', 'collection': 'support'}
    """
    parts = urllib.parse.urlsplit(uri)
    options = dict(urllib.parse.parse_qsl(parts.query))
    name = options.get("collection", "blendrank")
    if parts.scheme in ("qdrant+local", "qdrant+edge"):
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise InvalidInputError(f"{uri!r} names no folder: write {parts.scheme}:PATH")
        return {"kind": parts.scheme.split("+")[1], "path": path, "collection": name}
    if parts.scheme in ("qdrant", "qdrant+http", "qdrant+https"):
        if not parts.netloc:
            raise InvalidInputError(f"{uri!r} names no host: write qdrant://HOST:6333/NAME")
        scheme = "https" if parts.scheme == "qdrant+https" else "http"
        name = parts.path.strip("/") or name
        return {"kind": "server", "url": f"{scheme}://{parts.netloc}", "collection": name}
    raise InvalidInputError(
        f"{uri!r} is not a Qdrant URI: use qdrant://HOST:6333/NAME, qdrant+local:PATH or "
        "qdrant+edge:PATH"
    )


# ---- two ways to reach Qdrant, one interface --------------------------------------------


class _ClientDriver:
    """``qdrant-client``: a server, a cluster, Qdrant Cloud, or its local mode."""

    kind = "qdrant-client"

    def __init__(self, client: Any):
        from qdrant_client import models

        self.client, self.m = client, models
        self.models = SimpleNamespace(
            Filter=models.Filter,
            FieldCondition=models.FieldCondition,
            MatchValue=models.MatchValue,
            MatchAny=models.MatchAny,
            Range=models.Range,
        )

    def exists(self, name: str) -> bool:
        return bool(self.client.collection_exists(name))

    def create(self, name: str, dim: int | None, chunks: bool) -> None:
        m = self.m
        vectors = {"dense": m.VectorParams(size=dim, distance=m.Distance.COSINE)} if dim else {}
        sparse = {"bm25": m.SparseVectorParams(modifier=m.Modifier.IDF)} if chunks else None
        self.client.create_collection(name, vectors_config=vectors, sparse_vectors_config=sparse)
        if chunks and not _is_local(self.client):  # local mode has no payload indexes
            for field, schema in (
                ("doc_key", m.PayloadSchemaType.KEYWORD),
                ("fm", m.PayloadSchemaType.KEYWORD),
                ("n", m.PayloadSchemaType.INTEGER),
            ):
                self.client.create_payload_index(name, field, field_schema=schema)

    def drop(self, name: str) -> None:
        self.client.delete_collection(name)

    def upsert(self, name: str, points: Sequence[tuple[uuid.UUID, dict, dict]]) -> None:
        m = self.m
        structs = [
            m.PointStruct(id=str(pid), vector=self._vectors(vectors), payload=payload)
            for pid, vectors, payload in points
        ]
        self.client.upsert(name, structs, wait=True)

    def _vector(self, value: Any) -> Any:
        """A dense list as it is; ``(indices, values)`` as Qdrant's sparse vector."""
        if isinstance(value, tuple):
            return self.m.SparseVector(indices=value[0], values=value[1])
        return value

    def _vectors(self, vectors: dict[str, Any]) -> dict[str, Any]:
        return {k: self._vector(v) for k, v in vectors.items()}

    def delete_where(self, name: str, flt: Any) -> None:
        self.client.delete(name, points_selector=self.m.FilterSelector(filter=flt), wait=True)

    def delete_ids(self, name: str, ids: Sequence[uuid.UUID]) -> None:
        selector = self.m.PointIdsList(points=[str(i) for i in ids])
        self.client.delete(name, points_selector=selector, wait=True)

    def set_payload(self, name: str, payload: dict[str, Any], flt: Any) -> None:
        self.client.set_payload(
            name, payload=payload, points=self.m.FilterSelector(filter=flt), wait=True
        )

    def retrieve(self, name: str, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        records = self.client.retrieve(name, ids=[str(i) for i in ids], with_payload=True)
        return [dict(r.payload or {}) for r in records]

    def scroll(
        self, name: str, flt: Any, limit: int, offset: Any, vectors: bool
    ) -> tuple[list[tuple[dict, dict]], Any]:
        records, following = self.client.scroll(
            name,
            scroll_filter=flt,
            limit=limit,
            offset=offset,
            with_payload=True,
            with_vectors=["dense"] if vectors else False,
        )
        return [(dict(r.payload or {}), dict(r.vector or {})) for r in records], following

    def count(self, name: str) -> int:
        return int(self.client.count(name, exact=True).count)

    def query(self, name: str, using: str, vector: Any, flt: Any, limit: int) -> list:
        query = self._vector(vector)
        result = self.client.query_points(
            name,
            query=query,
            using=using,
            query_filter=flt,
            limit=limit,
            with_payload=_CHUNK_FIELDS,
        )
        return [(dict(p.payload or {}), float(p.score)) for p in result.points]

    def fuse(
        self,
        name: str,
        parts: Sequence[tuple[str, Any]],
        flt: Any,
        fusion: str,
        k: int,
        limit: int,
    ) -> list:
        m = self.m
        prefetch = [
            m.Prefetch(
                query=self._vector(v),
                using=using,
                filter=flt,
                limit=limit,
            )
            for using, v in parts
        ]
        query = (
            m.RrfQuery(rrf=m.Rrf(k=k)) if fusion == "rrf" else m.FusionQuery(fusion=m.Fusion.DBSF)
        )
        result = self.client.query_points(
            name, prefetch=prefetch, query=query, limit=limit, with_payload=_CHUNK_FIELDS
        )
        return [(dict(p.payload or {}), float(p.score)) for p in result.points]

    def optimize(self, name: str) -> bool:
        return False  # a server runs its optimizers itself; local mode has none

    def close(self) -> None:
        self.client.close()


def _is_local(client: Any) -> bool:
    return type(getattr(client, "_client", None)).__name__ == "QdrantLocal"


class _EdgeDriver:
    """Qdrant Edge: the Rust engine in process, one shard folder per collection."""

    kind = "qdrant-edge"

    def __init__(self, root: Path):
        import qdrant_edge

        self.E, self.root = qdrant_edge, root
        self.shards: dict[str, Any] = {}
        self.models = SimpleNamespace(
            Filter=qdrant_edge.Filter,
            FieldCondition=qdrant_edge.FieldCondition,
            MatchValue=qdrant_edge.MatchValue,
            MatchAny=qdrant_edge.MatchAny,
            Range=qdrant_edge.RangeFloat,
        )

    def _shard(self, name: str) -> Any:
        if name not in self.shards:
            self.shards[name] = self.E.EdgeShard.load(str(self.root / name))
        return self.shards[name]

    def exists(self, name: str) -> bool:
        folder = self.root / name
        return folder.is_dir() and any(folder.iterdir())

    def create(self, name: str, dim: int | None, chunks: bool) -> None:
        E = self.E
        vectors = (
            {"dense": E.EdgeVectorParams(size=dim, distance=E.Distance.Cosine)} if dim else None
        )
        sparse = {
            "bm25" if chunks else "none": E.EdgeSparseVectorParams(
                modifier=E.Modifier.Idf if chunks else None
            )
        }
        self.root.mkdir(parents=True, exist_ok=True)
        # Qdrant's own defaults, written out: a segment is vacuumed (its deleted points
        # dropped, also from the IDF statistics) once 20% of its 1,000+ vectors are deleted
        optimizers = E.EdgeOptimizersConfig(deleted_threshold=0.2, vacuum_min_vector_number=1000)
        config = E.EdgeConfig(vectors=vectors, sparse_vectors=sparse, optimizers=optimizers)
        shard = self.shards[name] = E.EdgeShard.create(str(self.root / name), config)
        if chunks:  # what writes and filters look up
            for field, schema in (
                ("doc_key", E.PayloadSchemaType.Keyword),
                ("fm", E.PayloadSchemaType.Keyword),
                ("n", E.PayloadSchemaType.Integer),
            ):
                shard.update(E.UpdateOperation.create_field_index(field, schema))

    def drop(self, name: str) -> None:
        import shutil

        shard = self.shards.pop(name, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self.root / name, ignore_errors=True)

    def upsert(self, name: str, points: Sequence[tuple[uuid.UUID, dict, dict]]) -> None:
        E = self.E
        structs = [
            E.Point(
                id=pid,
                vector={
                    k: E.SparseVector(indices=v[0], values=v[1]) if isinstance(v, tuple) else v
                    for k, v in vectors.items()
                },
                payload=payload,
            )
            for pid, vectors, payload in points
        ]
        self._shard(name).update(E.UpdateOperation.upsert_points(structs))

    def delete_where(self, name: str, flt: Any) -> None:
        self._shard(name).update(self.E.UpdateOperation.delete_points_by_filter(flt))

    def delete_ids(self, name: str, ids: Sequence[uuid.UUID]) -> None:
        self._shard(name).update(self.E.UpdateOperation.delete_points(list(ids)))

    def set_payload(self, name: str, payload: dict[str, Any], flt: Any) -> None:
        self._shard(name).update(self.E.UpdateOperation.set_payload_by_filter(flt, payload))

    def retrieve(self, name: str, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        records = self._shard(name).retrieve(list(ids), with_payload=True, with_vector=False)
        return [dict(r.payload or {}) for r in records]

    def scroll(
        self, name: str, flt: Any, limit: int, offset: Any, vectors: bool
    ) -> tuple[list[tuple[dict, dict]], Any]:
        request = self.E.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=flt,
            with_payload=True,
            with_vector=["dense"] if vectors else False,
        )
        records, following = self._shard(name).scroll(request)
        out = []
        for r in records:
            vector = r.vector if isinstance(r.vector, dict) else {}
            out.append((dict(r.payload or {}), dict(vector)))
        return out, following

    def count(self, name: str) -> int:
        return int(self._shard(name).count(self.E.CountRequest(exact=True)))

    def _query(self, using: str, vector: Any) -> Any:
        E = self.E
        if isinstance(vector, tuple):
            vector = E.SparseVector(indices=vector[0], values=vector[1])
        return E.Query.Nearest(vector, using=using)

    def query(self, name: str, using: str, vector: Any, flt: Any, limit: int) -> list:
        request = self.E.QueryRequest(
            limit=limit,
            query=self._query(using, vector),
            filter=flt,
            with_payload=_CHUNK_FIELDS,
        )
        return [(dict(p.payload or {}), float(p.score)) for p in self._shard(name).query(request)]

    def fuse(
        self,
        name: str,
        parts: Sequence[tuple[str, Any]],
        flt: Any,
        fusion: str,
        k: int,
        limit: int,
    ) -> list:
        E = self.E
        prefetches = [
            E.Prefetch(limit=limit, query=self._query(using, v), filter=flt) for using, v in parts
        ]
        request = E.QueryRequest(
            limit=limit,
            query=E.Fusion.Rrf(k=k) if fusion == "rrf" else E.Fusion.Dbsf(),
            prefetches=prefetches,
            with_payload=_CHUNK_FIELDS,
        )
        return [(dict(p.payload or {}), float(p.score)) for p in self._shard(name).query(request)]

    def optimize(self, name: str) -> bool:
        return bool(self._shard(name).optimize())

    def close(self) -> None:
        for shard in self.shards.values():
            shard.flush()
            shard.close()
        self.shards.clear()


# ---- the store -------------------------------------------------------------------------


class QdrantIndex(ExternalIndex):
    """A blendrank store on Qdrant; create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, driver: Any, collection: str, settings: dict[str, Any], uri: str):
        super().__init__()
        self.driver = driver
        self.collection = collection
        self.docs_collection = f"{collection}_docs"
        self.settings = settings
        self.uri = uri
        self.sparse = SparseBM25(
            settings["analyzer"], k1=settings["bm25"]["k1"], b=settings["bm25"]["b"]
        )
        self._retrievers = {"bm25": QdrantBM25(self)}
        if settings.get("embedder") is not None:
            self._retrievers["dense"] = QdrantDense(self)

    @property
    def models(self) -> Any:
        return self.driver.models

    # ---- lifecycle ---------------------------------------------------------------------

    @staticmethod
    def _driver(
        uri: str | None, api_key: str | None, timeout: float | None, client: Any, collection: str
    ) -> tuple[Any, str]:
        if client is not None:  # the caller's QdrantClient, left open on close()
            return _ClientDriver(Borrowed(client)), collection
        if uri is None:
            raise InvalidInputError("pass a Qdrant URI, or client= (a qdrant_client.QdrantClient)")
        where = parse_uri(uri)
        if where["kind"] == "edge":
            require("qdrant_edge", "qdrant", "the Qdrant Edge backend")
            return _EdgeDriver(Path(where["path"])), where["collection"]
        require("qdrant_client", "qdrant", "the Qdrant backend")
        from qdrant_client import QdrantClient

        if where["kind"] == "local":
            return _ClientDriver(QdrantClient(path=where["path"])), where["collection"]
        key = api_key
        for env in API_KEY_ENV:
            key = key or os.environ.get(env) or None
        client = QdrantClient(
            url=where["url"], api_key=key, timeout=None if timeout is None else int(timeout)
        )
        try:
            client.get_collections()  # reachable, and the key is accepted
        except Exception as exc:  # noqa: BLE001 - httpx, grpc and Qdrant's own errors
            client.close()
            from blendrank.errors import RemoteModelError

            raise RemoteModelError(
                f"cannot use the Qdrant server at {where['url']}: {type(exc).__name__}: "
                f"{str(exc).strip()[:300]} (check the host, port, TLS scheme and API key)"
            ) from None
        return _ClientDriver(client), where["collection"]

    @classmethod
    def create(
        cls,
        uri: str | None = None,
        *,
        client: Any = None,
        collection: str = "blendrank",
        embedder: Any = "all-MiniLM-L6-v2",
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        tokenizer: str | None = None,
        title_in_chunks: bool = True,
        analyzer: Any = "auto",
        bm25_k1: float = K1,
        bm25_b: float = B,
        api_key: str | None = None,
        timeout: float | None = 60.0,
        exist_ok: bool = False,
    ) -> QdrantIndex:
        """A new store at ``uri`` (a Qdrant URI, see the module docstring), or in
        ``collection`` of ``client`` (a ``QdrantClient`` you made and close). ``analyzer``,
        ``bm25_k1`` and ``bm25_b`` are the BM25 settings, as for the embedded index."""
        lexical = cls.bm25_settings(analyzer, bm25_k1, bm25_b)
        driver, name = cls._driver(uri, api_key, timeout, client, collection)
        uri = uri or f"(client) {name}"
        try:
            if driver.exists(f"{name}_docs") or driver.exists(name):
                if exist_ok:
                    return cls._opened(driver, name, uri)
                raise IndexExistsError(f"Qdrant collection {name!r} already exists at {uri}")
            settings, embedder_obj = cls.make_settings(
                embedder,
                chunk_size=chunk_size,
                chunk_overlap=chunk_overlap,
                tokenizer=tokenizer,
                title_in_chunks=title_in_chunks,
            )
            settings.update(lexical)
            settings["bm25"]["avgdl"] = None  # set by the first write
            dim = int(embedder_obj.dim) if embedder_obj is not None else None
            driver.create(name, dim, chunks=True)
            try:
                driver.create(f"{name}_docs", None, chunks=False)
                _write_settings(driver, f"{name}_docs", settings)  # last: the store exists
            except BaseException:
                driver.drop(name)  # no half-made store that opens and then fails
                driver.drop(f"{name}_docs")
                raise
        except BaseException:
            driver.close()
            raise
        index = cls(driver, name, settings, uri)
        index._embedder = embedder_obj
        return index

    @classmethod
    def open(
        cls,
        uri: str | None = None,
        *,
        client: Any = None,
        collection: str = "blendrank",
        api_key: str | None = None,
        timeout: float | None = 60.0,
    ) -> QdrantIndex:
        driver, name = cls._driver(uri, api_key, timeout, client, collection)
        return cls._opened(driver, name, uri or f"(client) {name}")

    @classmethod
    def _opened(cls, driver: Any, name: str, uri: str) -> QdrantIndex:
        if not driver.exists(f"{name}_docs"):
            driver.close()
            raise IndexNotFoundError(
                f"no blendrank store {name!r} at {uri} (create it with "
                "`blendrank index URI FILES...` or QdrantIndex.create)"
            )
        found = driver.retrieve(f"{name}_docs", [SETTINGS_ID])
        try:
            settings = json.loads(found[0]["blendrank_settings"])
            if settings.get("format") != "blendrank-external":
                raise ValueError
        except (IndexError, KeyError, TypeError, ValueError):
            driver.close()
            raise IndexNotFoundError(
                f"Qdrant collection {name!r} at {uri} was not made by blendrank"
            ) from None
        return cls(driver, name, settings, uri)

    def optimize(self) -> bool:
        """Run Qdrant Edge's segment optimizers now (vacuuming deleted points, which its
        BM25 IDF counts until then); a server runs them by itself. True if any ran."""
        ran = [self.driver.optimize(name) for name in (self.collection, self.docs_collection)]
        return any(ran)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> QdrantIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.driver.count(self.docs_collection) - 1  # less the settings point

    def info(self) -> dict[str, Any]:
        return {
            "backend": "qdrant",
            "driver": self.driver.kind,
            "uri": self.uri,
            "collection": self.collection,
            "documents": len(self),
            "chunks": self.driver.count(self.collection),
            "settings": {k: v for k, v in self.settings.items() if k not in ("format",)},
        }

    # ---- filters on our own fields (values as structured fields, never spliced) -------

    def _of_documents(self, keys: Sequence[str], *more: Any) -> Any:
        m = self.models
        keys = [_hex_doc(k) for k in keys]
        match = m.MatchValue(value=keys[0]) if len(keys) == 1 else m.MatchAny(any=list(keys))
        return m.Filter(must=[m.FieldCondition(key="doc_key", match=match), *more])

    # ---- storage -----------------------------------------------------------------------

    def _store_documents(self, keys: Sequence[str]) -> dict[str, StoredDocument]:
        out: dict[str, StoredDocument] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _BATCH):
            batch = unique[start : start + _BATCH]
            for p in self.driver.retrieve(self.docs_collection, [_point_of(k) for k in batch]):
                doc = Document(p["doc_id"], p["text"], p["title"], dict(p["meta"] or {}))
                out[p["doc_key"]] = StoredDocument(doc, p["content_hash"], p["metadata_hash"])
        return out

    def _store_put_documents(self, documents: Sequence[StoredDocument]) -> None:
        points: list[tuple[uuid.UUID, dict, dict]] = []
        for stored in documents:
            doc = stored.document
            key = doc_key(doc.id)
            payload = {
                "doc_key": key,
                "doc_id": doc.id,
                "title": doc.title,
                "text": doc.text,
                "meta": doc.metadata,
                "content_hash": stored.content_hash,
                "metadata_hash": stored.metadata_hash,
            }
            points.append((_point_of(key), {}, payload))
        for start in range(0, len(points), _BATCH):
            self.driver.upsert(self.docs_collection, points[start : start + _BATCH])

    def _store_chunks(self, rows: Sequence[ChunkRow]) -> None:
        bm25 = self.settings["bm25"]
        if bm25["avgdl"] is None:  # fixed by the first write (see blendrank.backends.sparse)
            lengths = self.sparse.lengths([r.text for r in rows])
            bm25["avgdl"] = max(1.0, float(np.mean(lengths))) if lengths else 1.0
            _write_settings(self.driver, self.docs_collection, self.settings)
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            sparse = self.sparse.documents([r.text for r in batch], bm25["avgdl"])
            points = []
            for row, vector in zip(batch, sparse, strict=True):
                members, ranges = split_payload(row.metadata)
                payload = {
                    "id": row.id,
                    "doc_key": doc_key(row.doc_id),
                    "doc_id": row.doc_id,
                    "n": row.n,
                    "start": row.start,
                    "end": row.end,
                    "text": row.text,
                    "body": row.body,
                    "title": row.title,
                    "meta": row.metadata,
                    "fm": members,
                    "fr": ranges,
                }
                vectors: dict[str, Any] = {"bm25": vector}
                if row.vector is not None:
                    vectors["dense"] = row.vector.tolist()
                points.append((_chunk_point(row.id), vectors, payload))
            self.driver.upsert(self.collection, points)

    def _store_trim_chunks(self, key: str, keep: int) -> None:
        self._store_trim_many([key], keep)

    def _store_trim_many(self, keys: Sequence[str], keep: int) -> None:
        m = self.models
        later = m.FieldCondition(key="n", range=m.Range(gte=float(keep)))
        self.driver.delete_where(self.collection, self._of_documents(keys, later))

    def _store_retag(self, documents: Sequence[Document]) -> None:
        for doc in documents:
            members, ranges = split_payload(doc.metadata)
            payload = {"meta": doc.metadata, "fm": members, "fr": ranges}
            self.driver.set_payload(self.collection, payload, self._of_documents([doc_key(doc.id)]))

    def _store_delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            self.driver.delete_where(self.collection, self._of_documents(batch))
            self.driver.delete_ids(self.docs_collection, [_point_of(k) for k in batch])

    # ---- reading everything back (migrate) --------------------------------------------

    def document_batches(self, size: int) -> Iterator[list[Document]]:
        """Every stored document, ``size`` at a time (in no particular order)."""
        offset = None
        while True:
            records, offset = self.driver.scroll(self.docs_collection, None, size, offset, False)
            docs = [
                Document(p["doc_id"], p["text"], p["title"], dict(p["meta"] or {}))
                for p, _ in records
                if "doc_id" in p
            ]
            if docs:
                yield docs
            if offset is None:
                return

    def chunk_vectors_of(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """``{indexed chunk text: vector}`` of the documents with these keys."""
        if "dense" not in self._retrievers or not keys:
            return {}
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _BATCH):
            flt = self._of_documents(keys[start : start + _BATCH])
            offset = None
            while True:
                records, offset = self.driver.scroll(self.collection, flt, _BATCH, offset, True)
                for payload, vectors in records:
                    out[payload["text"]] = np.asarray(vectors["dense"], dtype=np.float32)
                if offset is None:
                    break
        return out

    # ---- engine-side fusion ------------------------------------------------------------

    def engine_hybrid(self, fusion: str = "rrf", *, rrf_k: int = 60) -> QdrantEngineHybrid:
        """Qdrant's own prefetch + fusion over its BM25 and dense searches: ``"rrf"``
        (Qdrant's RRF, sum of 1 / (k + rank), ranks from 0) or ``"dbsf"``. One round trip,
        but hits carry only the fused score."""
        if "dense" not in self._retrievers:
            raise InvalidInputError("engine hybrid search needs a store with an embedder")
        if fusion not in ("rrf", "dbsf"):
            raise InvalidInputError(f"Qdrant fusion must be 'rrf' or 'dbsf', got {fusion!r}")
        if isinstance(rrf_k, bool) or not isinstance(rrf_k, int) or rrf_k < 1:
            raise InvalidInputError(f"rrf_k must be an integer >= 1, got {rrf_k!r}")
        return QdrantEngineHybrid(self, fusion, rrf_k)


class _QdrantRetriever(EngineRetriever):
    using = ""

    def __init__(self, store: QdrantIndex):
        self.store = store

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        store = self.store
        flt = query_filter(query, store.models)
        return store.driver.query(store.collection, self.using, prepared, flt, limit)


class QdrantBM25(_QdrantRetriever):
    """blendrank's BM25 as sparse vectors, IDF applied by Qdrant."""

    name = "bm25"
    using = "bm25"
    phrase_boost = True

    def _prepare(self, query: Query) -> Any:
        return self.store.sparse.query(query.text)

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        if not prepared[0]:
            return []  # no term of the query is indexable
        return super()._search(prepared, query, limit)


class QdrantDense(_QdrantRetriever):
    """Cosine over the chunks' vectors."""

    name = "dense"
    using = "dense"

    def _prepare(self, query: Query) -> Any:
        vector = self.store.embedder.embed_queries([query.text])[0]
        return np.asarray(vector, dtype=np.float32).tolist()


class QdrantEngineHybrid(_QdrantRetriever):
    """Qdrant's prefetch + fusion (see :meth:`QdrantIndex.engine_hybrid`)."""

    def __init__(self, store: QdrantIndex, fusion: str, rrf_k: int):
        super().__init__(store)
        self.fusion, self.rrf_k = fusion, rrf_k
        self.name = f"qdrant_{fusion}"

    def _prepare(self, query: Query) -> Any:
        sparse = self.store.sparse.query(query.text)
        vector = self.store.embedder.embed_queries([query.text])[0]
        parts: list[tuple[str, Any]] = [("dense", np.asarray(vector, np.float32).tolist())]
        return ([("bm25", sparse)] if sparse[0] else []) + parts

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        store = self.store
        flt = query_filter(query, store.models)
        return store.driver.fuse(store.collection, prepared, flt, self.fusion, self.rrf_k, limit)


def _point_of(key: str) -> uuid.UUID:
    return uuid.UUID(hex=_hex_doc(key))


def _chunk_point(chunk_id: str) -> uuid.UUID:
    return uuid.UUID(hex=doc_key(chunk_id))


def _hex_doc(key: str) -> str:
    if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
        raise AssertionError(f"not a document key: {key!r}")
    return key


def _write_settings(driver: Any, collection: str, settings: dict[str, Any]) -> None:
    driver.upsert(collection, [(SETTINGS_ID, {}, {"blendrank_settings": json.dumps(settings)})])

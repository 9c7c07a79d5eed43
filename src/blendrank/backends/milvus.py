"""Milvus as a blendrank store: ``pip install 'blendrank[milvus]'``.

Two collections per store: ``NAME`` holds the chunks (text with Milvus' own BM25
full-text function, dense vectors, metadata, the filter payload) and ``NAME_docs`` the
documents (for ``get`` and change detection). Reached through pymilvus:

- ``milvus+lite:PATH.db?collection=NAME``: milvus-lite, the Milvus C++ core in process;
- ``milvus://HOST:19530/NAME`` (``milvus+https://`` for TLS): a Milvus server, standalone
  or distributed; the token comes from ``token=`` or ``$BLENDRANK_MILVUS_TOKEN``.

Retrievers: ``bm25`` (Milvus' BM25 over its ``english`` analyzer: its own tokenizer,
stemmer and stop words, so scores differ from the embedded index's BM25) and ``dense``
(inner product of the normalised vectors, i.e. cosine, as the embedded index computes).
blendrank fuses them (per-retriever scores kept); :meth:`MilvusIndex.engine_hybrid`
runs Milvus' own ``hybrid_search`` with its RRF or weighted ranker instead.

Filters are blendrank's filter syntax with its exact semantics, rendered over the filter
payload (:mod:`blendrank.backends.filter_keys`): expressions hold only hex keys and
numbers, never a user value, and need no NOT (milvus-lite 2.5 has none).
"""

from __future__ import annotations

import json
import os
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping, Sequence
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
    Atom,
    Bound,
    Member,
    filter_payload,
    to_atoms,
)
from blendrank.errors import IndexExistsError, IndexNotFoundError, InvalidInputError
from blendrank.types import Document, Query

TOKEN_ENV = "BLENDRANK_MILVUS_TOKEN"
#: Milvus' largest VARCHAR, in bytes
MAX_VARCHAR = 65_535
#: document text is stored in parts of this many characters (4 bytes each at most)
DOC_PART_CHARS = 16_000
MAX_LIMIT = 16_384
_BATCH = 256
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_OUTPUT = ["id", "doc_id", "text", "body", "title", "meta", "start", "end"]


def render(atom: Atom) -> str:
    """A Milvus boolean expression over the ``bf`` JSON field (no NOT, no user values).

    >>> from blendrank.backends.filter_keys import Member
    >>> render(AllOf((Member("m" + "0" * 31, True), Bound("r" + "1" * 31, "gte", 3.0))))
    ... # doctest: +NORMALIZE_WHITESPACE
    '(bf["m0000000000000000000000000000000"] == 1
      and bf["r1111111111111111111111111111111"] >= 3.0)'
    """
    if isinstance(atom, Member):
        return f'bf["{_hex(atom.key)}"] {"==" if atom.present else "!="} 1'
    if isinstance(atom, Bound):
        value = atom.value if isinstance(atom.value, int) else float(atom.value)
        return f'bf["{_hex(atom.key)}"] {_OPS[atom.op]} {value!r}'
    if isinstance(atom, AllOf):
        if not atom.children:
            return f'bf["{NEVER_KEY}"] != 1'
        return "(" + " and ".join(render(c) for c in atom.children) + ")"
    if not atom.children:
        return f'bf["{NEVER_KEY}"] == 1'
    return "(" + " or ".join(render(c) for c in atom.children) + ")"


def _hex(key: str) -> str:
    if len(key) != 32 or not all(c in "0123456789abcdefmprhn" for c in key):
        raise AssertionError(f"not a payload key: {key!r}")  # never a user value
    return key


def expression(query: Query) -> str:
    """The filter of ``query`` as a Milvus expression ("" for none)."""
    if query.expression is None or query.expression.matches_all:
        return ""
    return render(to_atoms(query.expression.root))


def _keys_in(keys: Sequence[str]) -> str:
    return "doc_key in [" + ", ".join(f'"{_hex_doc(k)}"' for k in keys) + "]"


def _hex_doc(key: str) -> str:
    if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
        raise AssertionError(f"not a document key: {key!r}")
    return key


def parse_uri(uri: str) -> dict[str, Any]:
    """``{"uri": what pymilvus takes, "collection": NAME}`` of a blendrank Milvus URI.

    >>> parse_uri("milvus+lite:/tmp/kb.db?collection=support")
    {'uri': '/tmp/kb.db', 'collection': 'support'}
    >>> parse_uri("milvus://db.internal:19530/support")
    {'uri': 'http://db.internal:19530', 'collection': 'support'}
    """
    parts = urllib.parse.urlsplit(uri)
    options = dict(urllib.parse.parse_qsl(parts.query))
    if parts.scheme == "milvus+lite":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise InvalidInputError(f"{uri!r} names no file: write milvus+lite:PATH.db")
        return {"uri": path, "collection": options.get("collection", "blendrank")}
    if parts.scheme in ("milvus", "milvus+http", "milvus+https"):
        if not parts.netloc:
            raise InvalidInputError(f"{uri!r} names no host: write milvus://HOST:19530/NAME")
        scheme = "https" if parts.scheme == "milvus+https" else "http"
        name = parts.path.strip("/") or options.get("collection", "blendrank")
        return {"uri": f"{scheme}://{parts.netloc}", "collection": name}
    raise InvalidInputError(
        f"{uri!r} is not a Milvus URI: use milvus+lite:PATH.db or milvus://HOST:PORT/NAME"
    )


class MilvusIndex(ExternalIndex):
    """A blendrank store on Milvus; create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, client: Any, collection: str, settings: dict[str, Any], uri: str):
        super().__init__()
        self.client = client
        self.collection = collection
        self.docs_collection = f"{collection}_docs"
        self.settings = settings
        self.uri = uri
        self._retrievers = {"bm25": MilvusBM25(self)}
        if settings.get("embedder") is not None:
            self._retrievers["dense"] = MilvusDense(self)

    # ---- lifecycle ---------------------------------------------------------------------

    @staticmethod
    def _client(
        uri: str | None, token: str | None, timeout: float | None, client: Any, collection: str
    ) -> tuple[Any, str]:
        if client is not None:  # the caller's MilvusClient, left open on close()
            return Borrowed(client), collection
        if uri is None:
            raise InvalidInputError("pass a Milvus URI, or client= (a pymilvus MilvusClient)")
        _import_pymilvus()
        from pymilvus import MilvusClient

        where = parse_uri(uri)
        key = token if token is not None else os.environ.get(TOKEN_ENV, "")
        return MilvusClient(uri=where["uri"], token=key, timeout=timeout), where["collection"]

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
        analyzer: Mapping[str, Any] | None = None,
        index_type: str = "AUTOINDEX",
        token: str | None = None,
        timeout: float | None = 60.0,
        exist_ok: bool = False,
    ) -> MilvusIndex:
        """A new store at ``uri`` (a Milvus URI, see the module docstring), or in
        ``collection`` of ``client``, a pymilvus ``MilvusClient`` you made (and close).

        ``analyzer``: Milvus analyzer params for its BM25 (default ``{"type": "english"}``).
        ``index_type``: the dense index (``AUTOINDEX``, ``HNSW``, ``FLAT``, ...).
        """
        client, name = cls._client(uri, token, timeout, client, collection)
        uri = uri or f"(client) {name}"
        if client.has_collection(name):
            if exist_ok:
                return cls._opened(client, name, uri)
            client.close()
            raise IndexExistsError(f"Milvus collection {name!r} already exists at {uri}")
        settings, embedder_obj = cls.make_settings(
            embedder,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            tokenizer=tokenizer,
            title_in_chunks=title_in_chunks,
        )
        settings["milvus"] = {
            "analyzer": dict(analyzer or {"type": "english"}),
            "index_type": index_type,
        }
        try:
            _create_collections(client, name, settings, embedder_obj)
        except BaseException:
            client.close()
            raise
        index = cls(client, name, settings, uri)
        index._embedder = embedder_obj
        return index

    @classmethod
    def open(
        cls,
        uri: str | None = None,
        *,
        client: Any = None,
        collection: str = "blendrank",
        token: str | None = None,
        timeout: float | None = 60.0,
    ) -> MilvusIndex:
        client, name = cls._client(uri, token, timeout, client, collection)
        return cls._opened(client, name, uri or f"(client) {name}")

    @classmethod
    def _opened(cls, client: Any, name: str, uri: str) -> MilvusIndex:
        if not client.has_collection(name):
            client.close()
            raise IndexNotFoundError(
                f"no blendrank store {name!r} at {uri} (create it with "
                "`blendrank index URI FILES...` or MilvusIndex.create)"
            )
        description = client.describe_collection(name).get("description") or ""
        try:
            settings = json.loads(description)
            if settings.get("format") != "blendrank-external":
                raise ValueError
        except ValueError:
            client.close()
            raise IndexNotFoundError(
                f"Milvus collection {name!r} at {uri} was not made by blendrank"
            ) from None
        return cls(client, name, settings, uri)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        rows = self.client.query(
            self.docs_collection, filter="part == 0", output_fields=["count(*)"]
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def info(self) -> dict[str, Any]:
        stats = self.client.get_collection_stats(self.collection)
        return {
            "backend": "milvus",
            "uri": self.uri,
            "collection": self.collection,
            "documents": len(self),
            "chunks": int(stats.get("row_count", 0)),
            "settings": {k: v for k, v in self.settings.items() if k not in ("format",)},
        }

    # ---- storage -----------------------------------------------------------------------

    def _store_documents(self, keys: Sequence[str]) -> dict[str, StoredDocument]:
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(keys), _BATCH):
            batch = list(dict.fromkeys(keys[start : start + _BATCH]))
            rows = self.client.query(
                self.docs_collection,
                filter=_keys_in(batch),
                output_fields=[
                    "doc_key",
                    "doc_id",
                    "part",
                    "parts",
                    "title",
                    "text",
                    "meta",
                    "content_hash",
                    "metadata_hash",
                ],
            )
            for row in rows:
                found.setdefault(row["doc_key"], []).append(row)
        out = {}
        for key, parts in found.items():
            parts.sort(key=lambda r: r["part"])
            head = parts[0]
            whole = [p["part"] for p in parts] == list(range(head["parts"]))
            if not whole or any(p["content_hash"] != head["content_hash"] for p in parts):
                continue  # a write cut short: treated as absent, rewritten by the next add
            text = "".join(p["text"] for p in parts)
            doc = Document(head["doc_id"], text, head["title"], dict(head["meta"] or {}))
            out[key] = StoredDocument(doc, head["content_hash"], head["metadata_hash"])
        return out

    def _store_put_documents(self, documents: Sequence[StoredDocument]) -> None:
        rows = []
        for stored in documents:
            doc = stored.document
            key = doc_key(doc.id)
            pieces = [
                doc.text[i : i + DOC_PART_CHARS] for i in range(0, len(doc.text), DOC_PART_CHARS)
            ] or [""]
            for part, piece in enumerate(pieces):
                rows.append(
                    {
                        "key": f"{key}:{part}",
                        "doc_key": key,
                        "doc_id": doc.id,
                        "part": part,
                        "parts": len(pieces),
                        "title": _fit(doc.title, "title", doc.id) if part == 0 else "",
                        "text": piece,
                        "meta": doc.metadata if part == 0 else {},
                        "content_hash": stored.content_hash,
                        "metadata_hash": stored.metadata_hash,
                        "v": [0.0, 0.0],
                    }
                )
            # parts of a longer earlier version
            self.client.delete(
                self.docs_collection,
                filter=f'doc_key == "{_hex_doc(key)}" and part >= {len(pieces)}',
            )
        # heads (part 0) last: a document reads as whole only once all its parts are in
        rows.sort(key=lambda r: r["part"] == 0)
        for start in range(0, len(rows), _BATCH):
            self.client.upsert(self.docs_collection, rows[start : start + _BATCH])

    def _store_chunks(self, rows: Sequence[ChunkRow]) -> None:
        records = [self._chunk_record(r) for r in rows]
        for start in range(0, len(records), _BATCH):
            self.client.upsert(self.collection, records[start : start + _BATCH])

    def _chunk_record(self, row: ChunkRow) -> dict[str, Any]:
        record = {
            "id": row.id,
            "doc_key": doc_key(row.doc_id),
            "doc_id": row.doc_id,
            "n": row.n,
            "start": row.start,
            "end": row.end,
            "text": _fit(row.text, "chunk text", row.doc_id),
            "body": _fit(row.body, "chunk text", row.doc_id),
            "title": _fit(row.title, "title", row.doc_id),
            "meta": row.metadata,
            "bf": filter_payload(row.metadata),
        }
        if row.vector is not None:
            record["dense"] = row.vector.tolist()
        return record

    def _store_trim_chunks(self, key: str, keep: int) -> None:
        self.client.delete(self.collection, filter=f'doc_key == "{_hex_doc(key)}" and n >= {keep}')

    def _store_trim_many(self, keys: Sequence[str], keep: int) -> None:
        self.client.delete(self.collection, filter=f"{_keys_in(keys)} and n >= {int(keep)}")

    def _store_retag(self, documents: Sequence[Document]) -> None:
        fields = ["id", "doc_id", "n", "start", "end", "text", "body", "title"]
        if "dense" in self._retrievers:
            fields.append("dense")
        for doc in documents:
            rows = self.client.query(
                self.collection, filter=_keys_in([doc_key(doc.id)]), output_fields=fields
            )
            for row in rows:
                row["doc_key"] = doc_key(doc.id)
                row["meta"] = doc.metadata
                row["bf"] = filter_payload(doc.metadata)
                if "dense" in row:
                    row["dense"] = [float(x) for x in row["dense"]]
            for start in range(0, len(rows), _BATCH):
                self.client.upsert(self.collection, rows[start : start + _BATCH])

    def _store_delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            self.client.delete(self.collection, filter=_keys_in(batch))
            self.client.delete(self.docs_collection, filter=_keys_in(batch))

    # ---- reading everything back (migrate) --------------------------------------------

    def document_batches(self, size: int) -> Iterator[list[Document]]:
        """Every stored document, ``size`` at a time (in no particular order)."""
        iterator = self.client.query_iterator(
            self.docs_collection, batch_size=size, filter="part == 0", output_fields=["doc_key"]
        )
        try:
            while True:
                rows = iterator.next()
                if not rows:
                    return
                found = self._store_documents([r["doc_key"] for r in rows])
                yield [found[r["doc_key"]].document for r in rows if r["doc_key"] in found]
        finally:
            iterator.close()

    def chunk_vectors_of(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """``{indexed chunk text: vector}`` of the documents with these keys."""
        if "dense" not in self._retrievers:
            return {}
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _BATCH):
            rows = self.client.query(
                self.collection,
                filter=_keys_in(keys[start : start + _BATCH]),
                output_fields=["text", "dense"],
            )
            for row in rows:
                out[row["text"]] = np.asarray(row["dense"], dtype=np.float32)
        return out

    # ---- engine-side fusion ------------------------------------------------------------

    def engine_hybrid(
        self, fusion: str = "rrf", *, rrf_k: int = 60, weights: Sequence[float] = (0.5, 0.5)
    ) -> MilvusEngineHybrid:
        """Milvus' own ``hybrid_search`` (``RRFRanker(k)`` or ``WeightedRanker``) over its
        BM25 and dense searches: one round trip, but hits carry only the fused score."""
        if "dense" not in self._retrievers:
            raise InvalidInputError("engine hybrid search needs a store with an embedder")
        return MilvusEngineHybrid(self, fusion, rrf_k, tuple(weights))


class _MilvusRetriever(EngineRetriever):
    """A Milvus search (ties broken by id, see :class:`EngineRetriever`)."""

    anns_field = ""
    metric = ""
    max_limit = MAX_LIMIT

    def __init__(self, store: MilvusIndex):
        self.store = store

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        result = self.store.client.search(
            self.store.collection,
            data=prepared,
            anns_field=self.anns_field,
            limit=limit,
            filter=expression(query),
            output_fields=_OUTPUT,
            search_params={"metric_type": self.metric},
        )
        return [(hit["entity"], float(hit["distance"])) for hit in result[0]]


class MilvusBM25(_MilvusRetriever):
    """Milvus' full-text search (its BM25 function over the chunk text)."""

    name = "bm25"
    anns_field = "sparse"
    metric = "BM25"
    phrase_boost = True

    def _prepare(self, query: Query) -> list[Any]:
        return [query.text]


class MilvusDense(_MilvusRetriever):
    """Dense search over the chunks' vectors (inner product of normalised vectors)."""

    name = "dense"
    anns_field = "dense"
    metric = "IP"

    def _prepare(self, query: Query) -> list[Any]:
        vector = self.store.embedder.embed_queries([query.text])[0]
        return [np.asarray(vector, dtype=np.float32).tolist()]


class MilvusEngineHybrid(_MilvusRetriever):
    """Milvus' ``hybrid_search`` with its own ranker (see :meth:`MilvusIndex.engine_hybrid`)."""

    def __init__(self, store: MilvusIndex, fusion: str, rrf_k: int, weights: tuple[float, ...]):
        super().__init__(store)
        if fusion not in ("rrf", "weighted"):
            raise InvalidInputError(f"engine fusion must be 'rrf' or 'weighted', got {fusion!r}")
        self.fusion, self.rrf_k, self.weights = fusion, rrf_k, weights
        self.name = f"milvus_{fusion}"

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        data, vector, expr = prepared, prepared[1], expression(query)
        requests = [
            AnnSearchRequest(
                data=[data[0]],
                anns_field="sparse",
                param={"metric_type": "BM25"},
                limit=limit,
                expr=expr or None,
            ),
            AnnSearchRequest(
                data=[vector],
                anns_field="dense",
                param={"metric_type": "IP"},
                limit=limit,
                expr=expr or None,
            ),
        ]
        ranker = RRFRanker(self.rrf_k) if self.fusion == "rrf" else WeightedRanker(*self.weights)
        result = self.store.client.hybrid_search(
            self.store.collection, requests, ranker=ranker, limit=limit, output_fields=_OUTPUT
        )
        return [(hit["entity"], float(hit["distance"])) for hit in result[0]]

    def _prepare(self, query: Query) -> list[Any]:
        vector = self.store.embedder.embed_queries([query.text])[0]
        return [query.text, np.asarray(vector, dtype=np.float32).tolist()]


def _fit(text: str, what: str, doc_id: str) -> str:
    if len(text.encode("utf-8")) > MAX_VARCHAR:
        raise InvalidInputError(
            f"document {doc_id!r}: its {what} is over Milvus' {MAX_VARCHAR}-byte limit for "
            "a text field; use a smaller chunk_size (chunks) or a shorter title"
        )
    return text


def _import_pymilvus() -> None:
    with warnings.catch_warnings():  # milvus-lite imports pkg_resources, which warns
        warnings.simplefilter("ignore")
        require("pymilvus", "milvus", "the Milvus backend")


def _create_collections(client: Any, name: str, settings: dict[str, Any], embedder: Any) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(
        auto_id=False, enable_dynamic_field=False, description=json.dumps(settings)
    )
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR)
    schema.add_field("doc_key", DataType.VARCHAR, max_length=32)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("n", DataType.INT64)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    analyzer = settings["milvus"]["analyzer"]
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params=analyzer,
    )
    schema.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("bf", DataType.JSON)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    if embedder is not None:
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=int(embedder.dim))
        index.add_index("dense", index_type=settings["milvus"]["index_type"], metric_type="IP")
    # Strong: a read sees every write acknowledged before it (servers default to Bounded,
    # under which an add could miss the document it just wrote and embed it again)
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    docs = client.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    docs.add_field("doc_key", DataType.VARCHAR, max_length=32)
    docs.add_field("doc_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    docs.add_field("part", DataType.INT64)
    docs.add_field("parts", DataType.INT64)
    docs.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    docs.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    docs.add_field("meta", DataType.JSON)
    docs.add_field("content_hash", DataType.VARCHAR, max_length=32)
    docs.add_field("metadata_hash", DataType.VARCHAR, max_length=32)
    docs.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs one vector field
    docs_index = client.prepare_index_params()
    docs_index.add_index("v", index_type="FLAT", metric_type="L2")
    try:
        client.create_collection(
            f"{name}_docs", schema=docs, index_params=docs_index, consistency_level="Strong"
        )
    except BaseException:
        client.drop_collection(name)  # no half-made store that opens and then fails
        raise

"""Stores other than the embedded index folder: real engines for when one machine is not
enough or a team already runs one. :func:`connect` opens a store from a URI:

- a folder path (or ``embedded:DIR``): the embedded index, :class:`blendrank.Index`;
- ``milvus+lite:PATH.db?collection=NAME`` or ``milvus://HOST:19530/NAME``: Milvus
  (``pip install 'blendrank[milvus]'``), :class:`blendrank.backends.milvus.MilvusIndex`;
- ``qdrant://HOST:6333/NAME``, ``qdrant+local:PATH`` or ``qdrant+edge:PATH``: Qdrant
  (``pip install 'blendrank[qdrant]'``), :class:`blendrank.backends.qdrant.QdrantIndex`;
- ``postgresql://USER@HOST:5432/DB?table=NAME``: PostgreSQL with pgvector
  (``pip install 'blendrank[postgres]'``), :class:`blendrank.backends.postgres.PostgresIndex`.

Every store takes the same documents, chunking, embedders, filters, fusion and
rerankers; see docs/backends.md for what each engine computes.
"""

from __future__ import annotations

from typing import Any

from blendrank.errors import InvalidInputError

MILVUS_SCHEMES = ("milvus+lite", "milvus", "milvus+http", "milvus+https")
QDRANT_SCHEMES = ("qdrant", "qdrant+http", "qdrant+https", "qdrant+local", "qdrant+edge")
POSTGRES_SCHEMES = ("postgresql", "postgres")
SCHEMES = (*MILVUS_SCHEMES, *QDRANT_SCHEMES, *POSTGRES_SCHEMES)


def is_uri(target: str) -> bool:
    """Whether ``target`` names an engine store (not an index folder)."""
    scheme, sep, _ = str(target).partition(":")
    return bool(sep) and scheme.lower() in SCHEMES


def connect(target: Any, *, create: bool = False, **options: Any) -> Any:
    """The store ``target`` names (see the module docstring), or the store in a client
    you made: a pymilvus ``MilvusClient`` or ``QdrantClient`` (``collection=NAME``), a
    psycopg connection (``table=NAME``); a client stays yours to close. ``create=True``
    makes the store when it does not exist yet, with ``options`` (embedder, chunk_size,
    ...) as settings; otherwise ``options`` are connection options (``token``, ``timeout``)."""
    if not isinstance(target, str):
        store, key = _client_store(target)
        if create:
            return store.create(exist_ok=True, **{key: target}, **options)
        return store.open(**{key: target}, **options)
    if not target.strip():
        raise InvalidInputError("connect() needs a folder or a store URI such as milvus+lite:kb.db")
    if is_uri(target):
        store = _store_class(target.partition(":")[0].lower())
        if create:
            return store.create(target, exist_ok=True, **options)
        return store.open(target, **options)
    from blendrank import Index

    folder = target[len("embedded:") :] if target.startswith("embedded:") else target
    if create:
        return Index.create(folder, exist_ok=True, **options)
    return Index.open(folder)


def _store_class(scheme: str) -> Any:
    if scheme in POSTGRES_SCHEMES:
        from blendrank.backends.postgres import PostgresIndex

        return PostgresIndex
    if scheme in QDRANT_SCHEMES:
        from blendrank.backends.qdrant import QdrantIndex

        return QdrantIndex
    from blendrank.backends.milvus import MilvusIndex

    return MilvusIndex


def _client_store(client: Any) -> tuple[Any, str]:
    """The store class for a client object, and the keyword it takes the client as."""
    module = type(client).__module__.split(".")[0]
    if module == "pymilvus":
        from blendrank.backends.milvus import MilvusIndex

        return MilvusIndex, "client"
    if module == "qdrant_client":
        from blendrank.backends.qdrant import QdrantIndex

        return QdrantIndex, "client"
    if module == "psycopg":
        from blendrank.backends.postgres import PostgresIndex

        return PostgresIndex, "conn"
    raise InvalidInputError(
        "connect() needs a folder, a store URI such as milvus+lite:kb.db, or a client: a "
        "pymilvus MilvusClient, a QdrantClient or a psycopg connection; got "
        f"{type(client).__name__}"
    )

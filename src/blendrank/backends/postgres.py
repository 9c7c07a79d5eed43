"""PostgreSQL with pgvector as a blendrank store: ``pip install 'blendrank[postgres]'``.

``postgresql://USER[:PASSWORD]@HOST:5432/DB?table=NAME`` (``postgres://`` too; every
libpq parameter, ``sslmode=verify-full`` included, passes through; the password may also
come from ``$PGPASSWORD`` or ``~/.pgpass``, as libpq reads them). Four tables per store,
all named after ``NAME``:

- ``NAME``: the chunks (text, metadata as JSONB, the filter payload, the dense vector with
  an HNSW index, a ``tsvector`` with a GIN index, the chunk's length in BM25 terms);
- ``NAME_postings``: per chunk and term of blendrank's analyzer, the term count;
- ``NAME_docs``: the documents (for ``get`` and change detection);
- ``NAME_meta``: settings and the BM25 statistics (chunk count, total length).

Retrievers:

- ``bm25``: blendrank's BM25 computed in SQL over the postings, with the corpus
  statistics as they are now (document frequencies, chunk count and average length), so
  its scores are the embedded index's BM25 scores, exactly;
- ``dense``: cosine over pgvector's HNSW index (``<=>``), iterative scans so a filter
  does not starve the result;
- ``fulltext`` (:meth:`PostgresIndex.fulltext`, or ``?lexical=fulltext`` in the URI to
  use it as the lexical side of every mode): PostgreSQL's own full-text search,
  ``ts_rank_cd`` over ``to_tsvector('english', text)``, any query term matching. Not BM25:
  it ranks by cover density, without IDF (docs/backends.md has both measured).

A write is one transaction: documents, chunks, postings and statistics change together or
not at all. Table names are SQL identifiers quoted by psycopg, and every value (metadata,
filter keys, query text) travels as a bound parameter; nothing a user writes is spliced
into SQL.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
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
    AllOf,
    Atom,
    Bound,
    Member,
    split_payload,
    to_atoms,
)
from blendrank.backends.sparse import K1, B, term_id
from blendrank.errors import IndexExistsError, IndexNotFoundError, InvalidInputError
from blendrank.types import Document, Query

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,40}")
_OURS = ("table", "lexical")
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_BATCH = 500
#: a write of this many chunks refreshes the planner's statistics (ANALYZE) after it
#: commits, rather than leaving the first queries to plans made for an empty table
ANALYZE_AFTER = 1000
_FIELDS = 'c.id, c.doc_id, c.text, c.body, c.title, c.meta, c.start, c."end"'


def parse_uri(uri: str) -> dict[str, Any]:
    """``{"conninfo": what libpq takes, "table": NAME, "lexical": "bm25"|"fulltext"}``.

    >>> parse_uri("postgresql://kb@db.internal/prod?table=support&sslmode=require")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'conninfo': 'postgresql://kb@db.internal/prod?sslmode=require', 'table': 'support',
     'lexical': 'bm25'}
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidInputError(
            f"{uri!r} is not a PostgreSQL URI: use postgresql://USER@HOST:5432/DB?table=NAME"
        )
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in pairs if k in _OURS}
    rest = urllib.parse.urlencode([(k, v) for k, v in pairs if k not in _OURS])
    table = ours.get("table", "blendrank")
    if not _NAME.fullmatch(table):
        raise InvalidInputError(
            f"table={table!r} is not a plain table name: use lowercase letters, digits and "
            "underscores (at most 41 characters, not starting with a digit)"
        )
    lexical = ours.get("lexical", "bm25")
    if lexical not in ("bm25", "fulltext"):
        raise InvalidInputError(f"lexical must be 'bm25' or 'fulltext', got {lexical!r}")
    conninfo = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    return {"conninfo": conninfo, "table": table, "lexical": lexical}


def where(atom: Atom) -> tuple[str, list[Any]]:
    """A SQL condition over the chunk's filter payload (``c.fm``, ``c.fr``) and its bound
    parameters: the SQL holds only placeholders, never a key or a value.

    >>> where(AllOf((Member("m" + "0" * 31, True), Bound("r" + "1" * 31, "gte", 3.0))))
    ... # doctest: +NORMALIZE_WHITESPACE
    ('(c.fm @> ARRAY[%s]::text[] AND coalesce((c.fr ->> %s)::numeric >= %s::numeric,
      false))',
     ['m0000000000000000000000000000000', 'r1111111111111111111111111111111', 3.0])
    """
    if isinstance(atom, Member):
        sql = "c.fm @> ARRAY[%s]::text[]"
        return (sql if atom.present else f"NOT {sql}"), [atom.key]
    if isinstance(atom, Bound):
        return f"coalesce((c.fr ->> %s)::numeric {_OPS[atom.op]} %s::numeric, false)", [
            atom.key,
            atom.value,
        ]
    parts = [where(child) for child in atom.children]
    if not parts:
        return ("true" if isinstance(atom, AllOf) else "false"), []
    joiner = " AND " if isinstance(atom, AllOf) else " OR "
    params = [p for _, ps in parts for p in ps]
    return "(" + joiner.join(sql for sql, _ in parts) + ")", params


def query_where(query: Query) -> tuple[str, list[Any]]:
    """The filter of ``query`` as a SQL condition ("true" for none) and its parameters."""
    if query.expression is None or query.expression.matches_all:
        return "true", []
    return where(to_atoms(query.expression.root))


def fulltext_query(lexemes: Iterable[str]) -> str:
    """A ``tsquery`` (in its text form) matching any of ``lexemes``, each quoted and
    escaped, so no query text is read as tsquery syntax.

    >>> fulltext_query(["cat", "it's", "a|b"])
    "'cat' | 'it''s' | 'a|b'"
    """
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return " | ".join(quoted)


class PostgresIndex(ExternalIndex):
    """A blendrank store in PostgreSQL; create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(
        self,
        conn: Any,
        table: str,
        settings: dict[str, Any],
        uri: str,
        lexical: str,
        timeout: float | None = 60.0,
    ):
        super().__init__()
        from blendrank.text.analyzer import make_analyzer

        #: reads run on ``conn`` (autocommit: they see committed writes only), one at a
        #: time; writes on a second connection, one transaction each, one at a time, so a
        #: search never waits for a write (nor for its embedding)
        self.conn = conn
        self._uri, self._timeout = uri, timeout
        self._writer: Any = None
        self._read_lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self.table = table
        self.settings = settings
        self.uri = _redacted(uri)
        self.analyzer = make_analyzer(settings["analyzer"])
        self._fulltext = PostgresFullText(self)
        bm25: EngineRetriever = PostgresBM25(self) if lexical == "bm25" else self._fulltext
        self._retrievers = {"bm25": bm25}
        if settings.get("embedder") is not None:
            self._retrievers["dense"] = PostgresDense(self)

    # ---- connections -------------------------------------------------------------------

    def _cx(self) -> Any:
        """The connection of this thread's write transaction, or the read connection."""
        return getattr(self._local, "conn", None) or self.conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # inside a write: read its own transaction
            return
        with self._read_lock:
            yield

    def _read(self, function: Any) -> Any:
        """``function()`` under the read lock; a read whose connection was lost (a server
        restart, a fail-over, an idle timeout) reconnects and runs once more."""
        import psycopg

        with self._reading():
            try:
                return function()
            except psycopg.OperationalError:
                inside_write = getattr(self._local, "conn", None) is not None
                if inside_write or isinstance(self.conn, Borrowed) or not _broken(self.conn):
                    raise  # a write rolls back whole; the caller's connection is theirs
                self.conn.close()
                self.conn = self._connect(self._uri, self._timeout)[0]
                return function()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        if isinstance(self.conn, Borrowed):  # one connection: writes and reads take turns
            with self._write_lock, self._read_lock:
                self._local.conn = self.conn
                try:
                    with self.conn.transaction():
                        yield
                finally:
                    self._local.conn = None
            return
        with self._write_lock:
            if self._writer is None or self._writer.closed:
                self._writer = self._connect(self._uri, self._timeout)[0]
            self._local.conn = self._writer
            try:
                with self._writer.transaction():
                    yield
            finally:
                self._local.conn = None

    # ---- names -------------------------------------------------------------------------

    def _t(self, suffix: str = "") -> Any:
        from psycopg import sql

        return sql.Identifier(self.table + suffix)

    def _sql(self, template: str, **names: str) -> Any:
        """``template`` with ``{chunks}``, ``{postings}``, ``{docs}``, ``{meta}`` (and any
        ``names``) filled in as quoted identifiers."""
        from psycopg import sql

        tables = {
            "chunks": self._t(),
            "postings": self._t("_postings"),
            "docs": self._t("_docs"),
            "meta": self._t("_meta"),
            **{k: sql.Identifier(v) for k, v in names.items()},
        }
        return sql.SQL(template).format(**tables)

    # ---- lifecycle ---------------------------------------------------------------------

    @staticmethod
    def _borrowed(conn: Any, table: str, lexical: str) -> tuple[Any, dict[str, Any]]:
        """The caller's psycopg connection (left open on close) and where to look."""
        where_ = parse_uri(
            f"postgresql://borrowed/?table={urllib.parse.quote(table)}&lexical={urllib.parse.quote(lexical)}"
        )
        if not getattr(conn, "autocommit", False):
            raise InvalidInputError(
                "the psycopg connection must be in autocommit mode (psycopg.connect(..., "
                "autocommit=True)): the store runs each write as its own transaction"
            )
        return Borrowed(conn), where_

    @staticmethod
    def _connect(uri: str | None, timeout: float | None) -> tuple[Any, dict[str, Any]]:
        if uri is None:
            raise InvalidInputError("pass a PostgreSQL URI, or conn= (a psycopg connection)")
        require("psycopg", "postgres", "the PostgreSQL backend")
        import psycopg

        where_ = parse_uri(uri)
        options: dict[str, Any] = {"autocommit": True}
        if timeout is not None:
            options["connect_timeout"] = max(1, int(timeout))
        try:
            conn = psycopg.connect(where_["conninfo"], **options)
        except psycopg.OperationalError as exc:
            from blendrank.errors import RemoteModelError

            raise RemoteModelError(
                f"cannot connect to PostgreSQL at {_redacted(uri)}: {str(exc).strip()}"
            ) from None
        if timeout is not None:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", [str(int(timeout * 1000))]
            )
        return conn, where_

    @classmethod
    def create(
        cls,
        uri: str | None = None,
        *,
        conn: Any = None,
        table: str = "blendrank",
        lexical: str = "bm25",
        embedder: Any = "all-MiniLM-L6-v2",
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        tokenizer: str | None = None,
        title_in_chunks: bool = True,
        analyzer: Any = "auto",
        bm25_k1: float = K1,
        bm25_b: float = B,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        timeout: float | None = 60.0,
        exist_ok: bool = False,
    ) -> PostgresIndex:
        """A new store at ``uri`` (see the module docstring). ``analyzer``, ``bm25_k1`` and
        ``bm25_b`` are the BM25 settings, as for the embedded index; ``hnsw_m`` and
        ``hnsw_ef_construction`` pgvector's HNSW parameters."""
        bm25_config = cls.bm25_settings(analyzer, bm25_k1, bm25_b)
        conn, where_ = cls._borrowed(conn, table, lexical) if conn else cls._connect(uri, timeout)
        uri = uri or f"(connection) table={where_['table']}"
        try:
            if _table_exists(conn, where_["table"] + "_meta"):
                if exist_ok:
                    return cls._opened(conn, where_, uri, timeout)
                raise IndexExistsError(
                    f"a blendrank store {where_['table']!r} already exists at {_redacted(uri)}"
                )
            settings, embedder_obj = cls.make_settings(
                embedder,
                chunk_size=chunk_size,
                chunk_overlap=chunk_overlap,
                tokenizer=tokenizer,
                title_in_chunks=title_in_chunks,
            )
            settings.update(bm25_config)
            settings["hnsw"] = {"m": int(hnsw_m), "ef_construction": int(hnsw_ef_construction)}
            dim = int(embedder_obj.dim) if embedder_obj is not None else None
            index = cls(conn, where_["table"], settings, uri, where_["lexical"], timeout)
            index._create_tables(dim)
        except BaseException:
            conn.close()
            raise
        index._embedder = embedder_obj
        return index

    def _create_tables(self, dim: int | None) -> None:
        hnsw = self.settings["hnsw"]
        with self._cx().transaction():
            if dim is not None:
                self._cx().execute("CREATE EXTENSION IF NOT EXISTS vector")
            dense = f", dense vector({int(dim)})" if dim is not None else ""
            self._cx().execute(
                self._sql(
                    "CREATE TABLE {chunks} (row bigserial PRIMARY KEY, id text UNIQUE NOT NULL,"
                    " doc_key text NOT NULL, doc_id text NOT NULL, n integer NOT NULL,"
                    ' start integer NOT NULL, "end" integer NOT NULL, text text NOT NULL,'
                    " body text NOT NULL, title text NOT NULL, meta jsonb NOT NULL,"
                    " fm text[] NOT NULL, fr jsonb NOT NULL, dl integer NOT NULL,"
                    " tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
                    + dense
                    + ")"
                )
            )
            self._cx().execute(
                self._sql(
                    "CREATE TABLE {postings} (term bigint NOT NULL, row bigint NOT NULL"
                    " REFERENCES {chunks} (row) ON DELETE CASCADE, tf real NOT NULL,"
                    " dl integer NOT NULL, PRIMARY KEY (term, row) INCLUDE (tf, dl))"
                )
            )
            self._cx().execute(
                self._sql(
                    "CREATE TABLE {docs} (doc_key text PRIMARY KEY, doc_id text NOT NULL,"
                    " title text NOT NULL, text text NOT NULL, meta jsonb NOT NULL,"
                    " content_hash text NOT NULL, metadata_hash text NOT NULL)"
                )
            )
            self._cx().execute(self._sql("CREATE TABLE {meta} (key text PRIMARY KEY, value jsonb)"))
            for name, template in (
                ("_doc_key", "CREATE INDEX {name} ON {chunks} (doc_key, n)"),
                ("_postings_row", "CREATE INDEX {name} ON {postings} (row)"),
                ("_fm", "CREATE INDEX {name} ON {chunks} USING gin (fm)"),
                ("_tsv", "CREATE INDEX {name} ON {chunks} USING gin (tsv)"),
            ):
                self._cx().execute(self._sql(template, name=self.table + name))
            if dim is not None:
                from psycopg import sql

                self._cx().execute(
                    sql.SQL(
                        "CREATE INDEX {} ON {} USING hnsw (dense vector_cosine_ops)"
                        " WITH (m = {}, ef_construction = {})"
                    ).format(
                        self._t("_hnsw"),
                        self._t(),
                        sql.Literal(int(hnsw["m"])),
                        sql.Literal(int(hnsw["ef_construction"])),
                    )
                )
            self._cx().execute(
                self._sql("INSERT INTO {meta} VALUES ('settings', %s), ('stats', %s)"),
                [json.dumps(self.settings), json.dumps({"chunks": 0, "length": 0})],
            )

    @classmethod
    def open(
        cls,
        uri: str | None = None,
        *,
        conn: Any = None,
        table: str = "blendrank",
        lexical: str = "bm25",
        timeout: float | None = 60.0,
    ) -> PostgresIndex:
        """The store at ``uri``, or in ``table`` over ``conn`` (a psycopg connection you
        made and close; autocommit, as the store runs its own transactions)."""
        conn, where_ = cls._borrowed(conn, table, lexical) if conn else cls._connect(uri, timeout)
        uri = uri or f"(connection) table={where_['table']}"
        return cls._opened(conn, where_, uri, timeout)

    @classmethod
    def _opened(
        cls, conn: Any, where_: dict[str, Any], uri: str, timeout: float | None
    ) -> PostgresIndex:
        from psycopg import sql

        table = where_["table"]
        if not _table_exists(conn, table + "_meta"):
            conn.close()
            raise IndexNotFoundError(
                f"no blendrank store {table!r} at {_redacted(uri)} (create it with "
                "`blendrank index URI FILES...` or PostgresIndex.create)"
            )
        try:
            row = conn.execute(
                sql.SQL("SELECT value FROM {} WHERE key = 'settings'").format(
                    sql.Identifier(table + "_meta")
                )
            ).fetchone()
            settings = row[0] if row else None
            if not isinstance(settings, dict) or settings.get("format") != "blendrank-external":
                raise ValueError
        except Exception:  # noqa: BLE001 - any other table of that name is not ours
            conn.close()
            raise IndexNotFoundError(
                f"table {table}_meta at {_redacted(uri)} was not made by blendrank"
            ) from None
        return cls(conn, table, settings, uri, where_["lexical"], timeout)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.conn.close()

    def __enter__(self) -> PostgresIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        with self._reading():
            statement = self._sql("SELECT count(*) FROM {docs}")
            return int(self._cx().execute(statement).fetchone()[0])

    def stats(self) -> tuple[int, float]:
        """(chunk count, average chunk length in BM25 terms) as stored now."""
        with self._reading():
            value = (
                self._cx()
                .execute(self._sql("SELECT value FROM {meta} WHERE key = 'stats'"))
                .fetchone()[0]
            )
        chunks = int(value["chunks"])
        return chunks, (value["length"] / chunks if chunks else 1.0)

    def info(self) -> dict[str, Any]:
        return {
            "backend": "postgres",
            "uri": self.uri,
            "table": self.table,
            "documents": len(self),
            "chunks": self.stats()[0],
            "settings": {k: v for k, v in self.settings.items() if k not in ("format",)},
        }

    # ---- writes: one transaction each ---------------------------------------------------

    def add(self, documents: Iterable[Any], *, progress: bool = False) -> dict[str, int]:
        with self._writing():
            counts = super().add(documents, progress=progress)
        if counts["chunks"] >= ANALYZE_AFTER:  # fresh statistics for the query planner
            with self._write_lock, self._read_lock:
                writer = self._writer or self.conn
                for suffix in ("", "_postings", "_docs"):
                    writer.execute(self._sql("ANALYZE {t}", t=self.table + suffix))
        return counts

    def delete(self, ids: Iterable[str]) -> int:
        with self._writing():
            return super().delete(ids)

    def get(self, doc_id: str) -> Document | None:
        return self._read(lambda: ExternalIndex.get(self, doc_id))

    def _count_removed(self, removed: Sequence[tuple[int]]) -> None:
        if removed:
            self._bump(-len(removed), -sum(int(r[0]) for r in removed))

    def _bump(self, chunks: int, length: int) -> None:
        self._cx().execute(
            self._sql(
                "UPDATE {meta} SET value = jsonb_build_object("
                "'chunks', (value ->> 'chunks')::bigint + %s,"
                " 'length', (value ->> 'length')::bigint + %s) WHERE key = 'stats'"
            ),
            [chunks, length],
        )

    def _store_documents(self, keys: Sequence[str]) -> dict[str, StoredDocument]:
        rows = (
            self._cx()
            .execute(
                self._sql(
                    "SELECT doc_key, doc_id, title, text, meta, content_hash, metadata_hash"
                    " FROM {docs} WHERE doc_key = ANY(%s)"
                ),
                [list(dict.fromkeys(keys))],
            )
            .fetchall()
        )
        return {
            r[0]: StoredDocument(Document(r[1], r[3], r[2], dict(r[4] or {})), r[5], r[6])
            for r in rows
        }

    def _store_put_documents(self, documents: Sequence[StoredDocument]) -> None:
        from psycopg.types.json import Jsonb

        rows = [
            (
                doc_key(s.document.id),
                s.document.id,
                s.document.title,
                s.document.text,
                Jsonb(s.document.metadata),
                s.content_hash,
                s.metadata_hash,
            )
            for s in documents
        ]
        with self._cx().cursor() as cur:
            cur.executemany(
                self._sql(
                    "INSERT INTO {docs} VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (doc_key)"
                    " DO UPDATE SET doc_id = excluded.doc_id, title = excluded.title,"
                    " text = excluded.text, meta = excluded.meta,"
                    " content_hash = excluded.content_hash,"
                    " metadata_hash = excluded.metadata_hash"
                ),
                rows,
            )

    def _store_chunks(self, rows: Sequence[ChunkRow]) -> None:
        from psycopg.types.json import Jsonb

        tokens = self.analyzer.analyze_many([r.text for r in rows])
        with self._cx().cursor() as cur:
            for start in range(0, len(rows), _BATCH):
                batch, batch_tokens = rows[start : start + _BATCH], tokens[start : start + _BATCH]
                removed = cur.execute(
                    self._sql("DELETE FROM {chunks} WHERE id = ANY(%s) RETURNING dl"),
                    [[r.id for r in batch]],
                ).fetchall()
                self._count_removed(removed)
                records = []
                for row, terms in zip(batch, batch_tokens, strict=True):
                    members, ranges = split_payload(row.metadata)
                    record = [
                        row.id,
                        doc_key(row.doc_id),
                        row.doc_id,
                        row.n,
                        row.start,
                        row.end,
                        row.text,
                        row.body,
                        row.title,
                        Jsonb(row.metadata),
                        members,
                        Jsonb(ranges),
                        len(terms),
                    ]
                    if "dense" in self._retrievers:
                        record.append(_vector_text(row.vector))
                    records.append(record)
                columns = (
                    'id, doc_key, doc_id, n, start, "end", text, body, title, meta, fm, fr, dl'
                )
                holders = "%s, " * 12 + "%s"
                if "dense" in self._retrievers:
                    columns, holders = columns + ", dense", holders + ", %s::vector"
                cur.executemany(
                    self._sql(f"INSERT INTO {{chunks}} ({columns}) VALUES ({holders})"),
                    records,
                )
                found = cur.execute(
                    self._sql("SELECT id, row FROM {chunks} WHERE id = ANY(%s)"),
                    [[r.id for r in batch]],
                ).fetchall()
                row_of = dict(found)
                postings = [
                    (term, row_of[row.id], float(tf), len(terms))
                    for row, terms in zip(batch, batch_tokens, strict=True)
                    for term, tf in _term_counts(terms).items()
                ]
                if postings:
                    with cur.copy(
                        self._sql("COPY {postings} (term, row, tf, dl) FROM STDIN")
                    ) as copy:
                        for posting in postings:
                            copy.write_row(posting)
                self._bump(len(batch), sum(len(t) for t in batch_tokens))

    def _store_trim_chunks(self, key: str, keep: int) -> None:
        self._store_trim_many([key], keep)

    def _store_trim_many(self, keys: Sequence[str], keep: int) -> None:
        statement = self._sql(
            "DELETE FROM {chunks} WHERE doc_key = ANY(%s) AND n >= %s RETURNING dl"
        )
        self._count_removed(self._cx().execute(statement, [list(keys), keep]).fetchall())

    def _store_retag(self, documents: Sequence[Document]) -> None:
        from psycopg.types.json import Jsonb

        with self._cx().cursor() as cur:
            rows = []
            for doc in documents:
                members, ranges = split_payload(doc.metadata)
                rows.append((Jsonb(doc.metadata), members, Jsonb(ranges), doc_key(doc.id)))
            cur.executemany(
                self._sql("UPDATE {chunks} SET meta = %s, fm = %s, fr = %s WHERE doc_key = %s"),
                rows,
            )

    def _store_delete(self, keys: Sequence[str]) -> None:
        removed = (
            self._cx()
            .execute(
                self._sql("DELETE FROM {chunks} WHERE doc_key = ANY(%s) RETURNING dl"), [list(keys)]
            )
            .fetchall()
        )
        self._count_removed(removed)
        self._cx().execute(self._sql("DELETE FROM {docs} WHERE doc_key = ANY(%s)"), [list(keys)])

    # ---- reading everything back (migrate) --------------------------------------------

    def document_batches(self, size: int) -> Iterator[list[Document]]:
        """Every stored document, ``size`` at a time, in key order (keyset pagination)."""
        after = ""
        while True:
            with self._reading():
                rows = (
                    self._cx()
                    .execute(
                        self._sql(
                            "SELECT doc_key, doc_id, title, text, meta FROM {docs}"
                            " WHERE doc_key > %s ORDER BY doc_key LIMIT %s"
                        ),
                        [after, size],
                    )
                    .fetchall()
                )
            if not rows:
                return
            after = rows[-1][0]
            yield [Document(r[1], r[3], r[2], dict(r[4] or {})) for r in rows]

    def chunk_vectors_of(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """``{indexed chunk text: vector}`` of the documents with these keys."""
        if "dense" not in self._retrievers or not keys:
            return {}
        with self._reading():
            rows = (
                self._cx()
                .execute(
                    self._sql("SELECT text, dense::text FROM {chunks} WHERE doc_key = ANY(%s)"),
                    [list(keys)],
                )
                .fetchall()
            )
        return {text: np.asarray(json.loads(vector), dtype=np.float32) for text, vector in rows}

    # ---- more retrievers ---------------------------------------------------------------

    def fulltext(self) -> PostgresFullText:
        """PostgreSQL's own full-text search (``ts_rank_cd``), as a retriever."""
        return self._fulltext

    def engine_hybrid(self, fusion: str = "rrf", *, rrf_k: int = 60) -> PostgresEngineHybrid:
        """RRF computed in SQL (one round trip): 1 / (k + rank) from rank 1 over the BM25
        and dense lists, as blendrank's own RRF; hits carry only the fused score."""
        if "dense" not in self._retrievers:
            raise InvalidInputError("engine hybrid search needs a store with an embedder")
        if fusion != "rrf":
            raise InvalidInputError(f"the SQL fusion is 'rrf', got {fusion!r}")
        if isinstance(rrf_k, bool) or not isinstance(rrf_k, int) or rrf_k < 1:
            raise InvalidInputError(f"rrf_k must be an integer >= 1, got {rrf_k!r}")
        return PostgresEngineHybrid(self, rrf_k)


class _PostgresRetriever(EngineRetriever):
    def __init__(self, store: PostgresIndex):
        self.store = store

    def retrieve(self, query: Query, k: int) -> Any:
        return self.store._read(lambda: EngineRetriever.retrieve(self, query, k))

    def _rows(self, statement: Any, params: Sequence[Any]) -> list[tuple[dict, float]]:
        rows = self.store._cx().execute(statement, params).fetchall()
        keys = ("id", "doc_id", "text", "body", "title", "meta", "start", "end")
        return [(dict(zip(keys, r[:8], strict=True)), float(r[8])) for r in rows]

    def _bm25_sql(self, prepared: Any, query: Query, limit: int) -> tuple[str, list[Any]]:
        """The BM25 ranking as SQL (columns: row, score) and its parameters."""
        terms, counts = prepared
        chunks, avgdl = self.store.stats()
        bm25 = self.store.settings["bm25"]
        condition, params = query_where(query)
        statement = (
            "WITH q(term, qtf) AS (SELECT * FROM unnest(%s::bigint[], %s::float8[])),"
            # MATERIALIZED: the IDF once per query term, not once per posting
            " w AS MATERIALIZED (SELECT q.term,"
            "  q.qtf * ln(1 + (%s::float8 - d.df + 0.5) / (d.df + 0.5)) AS wq"
            "  FROM q JOIN LATERAL (SELECT count(*)::float8 AS df FROM {postings} p"
            "  WHERE p.term = q.term) d ON d.df > 0)"
            " SELECT p.row, sum(w.wq * p.tf"
            "  / (p.tf + %s::float8 * (1 - %s::float8 + %s::float8 * p.dl / %s::float8)))"
            "  AS score FROM w JOIN {postings} p ON p.term = w.term"
            # the chunk's row only where a filter reads it; ties at the cut are settled by
            # EngineRetriever, which widens the search
            + (
                f" JOIN {{chunks}} c ON c.row = p.row WHERE {condition}"
                if condition != "true"
                else ""
            )
            + " GROUP BY p.row ORDER BY score DESC, p.row LIMIT %s"
        )
        values = [terms, counts, chunks, bm25["k1"], bm25["b"], bm25["b"], avgdl]
        return statement, [*values, *params, limit]


class PostgresBM25(_PostgresRetriever):
    """blendrank's BM25 in SQL (see the module docstring): the embedded index's scores."""

    name = "bm25"
    phrase_boost = True

    def _prepare(self, query: Query) -> Any:
        counts = _term_counts(self.store.analyzer.analyze(query.text))
        return list(counts), [float(v) for v in counts.values()]

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        if not prepared[0]:
            return []
        statement, params = self._bm25_sql(prepared, query, limit)
        return self._rows(
            self.store._sql(
                f"WITH b AS ({statement}) SELECT {_FIELDS}, b.score FROM b"
                " JOIN {chunks} c ON c.row = b.row"
            ),
            params,
        )


class PostgresDense(_PostgresRetriever):
    """Cosine similarity over pgvector's HNSW index (1 - cosine distance)."""

    name = "dense"

    def _prepare(self, query: Query) -> Any:
        return _vector_text(self.store.embedder.embed_queries([query.text])[0])

    def _dense_sql(self, vector: str, query: Query, limit: int) -> tuple[str, list[Any]]:
        condition, params = query_where(query)
        statement = (
            "SELECT c.row, 1 - (c.dense <=> %s::vector) AS score FROM {chunks} c"
            f" WHERE {condition} ORDER BY c.dense <=> %s::vector LIMIT %s"
        )
        return statement, [vector, *params, vector, limit]

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        statement, params = self._dense_sql(prepared, query, limit)
        with self.store._cx().transaction():
            _tune_hnsw(self.store._cx(), limit)
            return self._rows(
                self.store._sql(
                    f"WITH d AS ({statement}) SELECT {_FIELDS}, d.score FROM d"
                    " JOIN {chunks} c ON c.row = d.row"
                ),
                params,
            )


class PostgresFullText(_PostgresRetriever):
    """PostgreSQL full-text search: ``ts_rank_cd`` of chunks matching any query lexeme."""

    name = "fulltext"

    def _prepare(self, query: Query) -> Any:
        row = (
            self.store._cx()
            .execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [query.text])
            .fetchone()
        )
        return fulltext_query(row[0]) if row and row[0] else ""

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        if not prepared:
            return []
        condition, params = query_where(query)
        return self._rows(
            self.store._sql(
                f"SELECT {_FIELDS}, ts_rank_cd(c.tsv, q) AS score FROM {{chunks}} c,"
                f" to_tsquery('simple', %s) q WHERE c.tsv @@ q AND {condition}"
                " ORDER BY score DESC, c.id LIMIT %s"
            ),
            [prepared, *params, limit],
        )


class PostgresEngineHybrid(PostgresDense):
    """RRF in SQL over the BM25 and dense rankings (see :meth:`PostgresIndex.engine_hybrid`)."""

    def __init__(self, store: PostgresIndex, rrf_k: int):
        super().__init__(store)
        self.rrf_k = rrf_k
        self.name = "postgres_rrf"

    def _prepare(self, query: Query) -> Any:
        counts = _term_counts(self.store.analyzer.analyze(query.text))
        return (list(counts), [float(v) for v in counts.values()]), super()._prepare(query)

    def _search(self, prepared: Any, query: Query, limit: int) -> list[tuple[dict, float]]:
        sparse, vector = prepared
        dense_sql, dense_params = self._dense_sql(vector, query, limit)
        if sparse[0]:
            bm25_sql, bm25_params = self._bm25_sql(sparse, query, limit)
        else:
            bm25_sql, bm25_params = "SELECT 0::bigint AS row, 0::float8 AS score LIMIT 0", []
        statement = (
            f"WITH b AS ({bm25_sql}), d AS ({dense_sql}),"
            " br AS (SELECT row, row_number() OVER (ORDER BY score DESC, row) AS r FROM b),"
            " dr AS (SELECT row, row_number() OVER (ORDER BY score DESC, row) AS r FROM d),"
            " f AS (SELECT coalesce(br.row, dr.row) AS row,"
            "  coalesce(1.0 / (%s + br.r), 0) + coalesce(1.0 / (%s + dr.r), 0) AS score"
            "  FROM br FULL OUTER JOIN dr ON br.row = dr.row)"
            f" SELECT {_FIELDS}, f.score FROM f JOIN {{chunks}} c ON c.row = f.row"
        )
        with self.store._cx().transaction():
            _tune_hnsw(self.store._cx(), limit)
            return self._rows(
                self.store._sql(statement),
                [*bm25_params, *dense_params, self.rrf_k, self.rrf_k],
            )


def _broken(conn: Any) -> bool:
    """Whether ``conn`` lost its server (as opposed to a query that failed)."""
    import psycopg

    if conn.closed or conn.broken:
        return True
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def _tune_hnsw(conn: Any, limit: int) -> None:
    """Per transaction: search at least ``limit`` candidates, and keep scanning the graph
    when a filter removes them (pgvector 0.8's iterative scans), in exact distance order."""
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(40, min(limit, 1000)))])
    conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")


def _term_counts(tokens: Sequence[str]) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for token in tokens:
        counts[term_id(token)] += 1  # 32-bit term ids fit a bigint
    return dict(counts)


def _vector_text(vector: Any) -> str:
    values = np.asarray(vector, dtype=np.float32).tolist()
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


def _table_exists(conn: Any, name: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
        " WHERE tablename = %s AND schemaname = current_schema())",
        [name],
    ).fetchone()
    return bool(row and row[0])


def _redacted(uri: str) -> str:
    """``uri`` without its password (for messages and ``info``)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

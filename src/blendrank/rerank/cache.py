"""Score caches for rerankers (the ``ScoreCache`` protocol of ``rerank/base.py``).

Keys are ``cache_key(fingerprint, query, text)`` strings, so one cache can serve
several models. Both caches count hits and misses for ``stats()``.

>>> cache = LRUScoreCache(max_entries=2)
>>> cache.put_many(["a", "b"], [0.5, 0.25])
>>> cache.get_many(["a", "z"])
[0.5, None]
>>> cache.stats()
{'hits': 1, 'misses': 1, 'size': 2}
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from blendrank.errors import InvalidInputError
from blendrank.rerank.combinators.base import check_count

# SQLite before 3.32 allows 999 bound variables per statement.
_BATCH = 900


def _check_pairs(keys: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    if len(keys) != len(scores):
        raise InvalidInputError(f"got {len(keys)} keys but {len(scores)} scores; pass one each")
    pairs = [(str(k), float(s)) for k, s in zip(keys, scores, strict=True)]
    bad = [k for k, s in pairs if not math.isfinite(s)]
    if bad:
        raise InvalidInputError(f"scores must be finite; got NaN/infinity for key {bad[0]!r}")
    return pairs


class LRUScoreCache:
    """In-memory cache holding the ``max_entries`` most recently used scores.
    Thread-safe."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = check_count(max_entries, "max_entries", 1)
        self._data: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_many(self, keys: Sequence[str]) -> list[float | None]:
        out: list[float | None] = []
        with self._lock:
            for key in keys:
                value = self._data.get(key)
                if value is None:
                    self._misses += 1
                else:
                    self._hits += 1
                    self._data.move_to_end(key)
                out.append(value)
        return out

    def put_many(self, keys: Sequence[str], scores: Sequence[float]) -> None:
        pairs = _check_pairs(keys, scores)
        with self._lock:
            for key, score in pairs:
                self._data[key] = score
                self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "size": len(self._data)}

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._hits = self._misses = 0

    def __len__(self) -> int:
        return len(self._data)


class SQLiteScoreCache:
    """Persistent cache in one SQLite file (table ``scores(key PRIMARY KEY, score)``).

    WAL journal, so readers never block the writer; every ``put_many`` is one
    transaction (all or nothing); several processes may share the file (writers wait
    up to ``timeout`` seconds for the lock). Each process and thread opens its own
    connection. ``stats()`` hits/misses count this object's lookups; ``size`` is the
    number of rows in the file.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "scores.sqlite")
    >>> with SQLiteScoreCache(path) as cache:
    ...     cache.put_many(["k"], [1.5])
    >>> SQLiteScoreCache(path).get_many(["k", "other"])
    [1.5, None]
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise InvalidInputError(f"{self.path} is a folder; pass a file path for the cache")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = float(timeout)
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, score REAL NOT NULL)"
                " WITHOUT ROWID"
            )

    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork or (by default) a thread: keep one per both.
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def get_many(self, keys: Sequence[str]) -> list[float | None]:
        keys = list(keys)
        found: dict[str, float] = {}
        db = self._connection()
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            rows = db.execute(f"SELECT key, score FROM scores WHERE key IN ({marks})", batch)
            found.update(rows.fetchall())
        out = [found.get(k) for k in keys]
        hits = sum(v is not None for v in out)
        with self._stats_lock:
            self._hits += hits
            self._misses += len(keys) - hits
        return out

    def put_many(self, keys: Sequence[str], scores: Sequence[float]) -> None:
        rows = _check_pairs(keys, scores)
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO scores (key, score) VALUES (?, ?)", rows)

    def stats(self) -> dict[str, int]:
        (size,) = self._connection().execute("SELECT COUNT(*) FROM scores").fetchone()
        with self._stats_lock:
            return {"hits": self._hits, "misses": self._misses, "size": int(size)}

    def clear(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM scores")
        with self._stats_lock:
            self._hits = self._misses = 0

    def __len__(self) -> int:
        return self.stats()["size"]

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def __enter__(self) -> SQLiteScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

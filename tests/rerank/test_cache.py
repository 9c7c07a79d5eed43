"""Score caches: LRU eviction, statistics, SQLite persistence and sharing across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import LRUScoreCache, SQLiteScoreCache
from blendrank.rerank.base import Reranker


class LengthReranker(Reranker):
    name = "length"

    def score(self, query, texts):
        return np.array([len(t) for t in texts], dtype=np.float32)


def test_lru_evicts_least_recently_used():
    cache = LRUScoreCache(max_entries=2)
    cache.put_many(["a", "b"], [1.0, 2.0])
    assert cache.get_many(["a"]) == [1.0]  # a is now the most recent
    cache.put_many(["c"], [3.0])  # evicts b
    assert cache.get_many(["a", "b", "c"]) == [1.0, None, 3.0]
    assert cache.stats() == {"hits": 3, "misses": 1, "size": 2}


def test_reranker_uses_the_cache():
    cache = LRUScoreCache()
    rf = LengthReranker(cache=cache)
    first = rf("q", ["aa", "b", "ccc"])
    second = rf("q", ["ccc", "dddd"])
    assert (first.info["cache_hits"], second.info["cache_hits"]) == (0, 1)
    assert [r.score for r in second] == [4.0, 3.0]
    assert cache.stats() == {"hits": 1, "misses": 4, "size": 4}


def test_bad_input():
    cache = LRUScoreCache()
    with pytest.raises(InvalidInputError, match="2 keys but 1 scores"):
        cache.put_many(["a", "b"], [1.0])
    with pytest.raises(InvalidInputError, match="finite"):
        cache.put_many(["a"], [float("nan")])
    with pytest.raises(InvalidInputError, match="max_entries"):
        LRUScoreCache(0)


def test_sqlite_persists_across_reopen(tmp_path):
    path = tmp_path / "sub" / "scores.sqlite"
    with SQLiteScoreCache(path) as cache:
        cache.put_many(["a", "b"], [0.5, -1.25])
        cache.put_many(["a"], [0.75])  # replaces
        assert cache.stats() == {"hits": 0, "misses": 0, "size": 2}
    reopened = SQLiteScoreCache(path)
    assert reopened.get_many(["a", "b", "c"]) == [0.75, -1.25, None]
    assert reopened.stats() == {"hits": 2, "misses": 1, "size": 2}
    mode = reopened._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_sqlite_batches_large_lookups(tmp_path):
    cache = SQLiteScoreCache(tmp_path / "c.sqlite")
    keys = [f"k{i}" for i in range(2500)]  # more than one 900-variable batch
    cache.put_many(keys, [float(i) for i in range(2500)])
    got = cache.get_many(keys[::-1] + ["missing"])
    assert got[0] == 2499.0 and got[-2] == 0.0 and got[-1] is None
    assert len(cache) == 2500


def test_sqlite_rejects_a_folder_and_bad_batches(tmp_path):
    with pytest.raises(InvalidInputError, match="folder"):
        SQLiteScoreCache(tmp_path)
    cache = SQLiteScoreCache(tmp_path / "c.sqlite")
    with pytest.raises(InvalidInputError):
        cache.put_many(["a", "b"], [1.0, float("inf")])
    assert cache.get_many(["a"]) == [None]  # nothing of the rejected batch was written


def test_sqlite_shared_by_concurrent_processes(tmp_path):
    path = tmp_path / "shared.sqlite"
    SQLiteScoreCache(path)  # create the table first
    script = textwrap.dedent(
        """
        import sys
        from blendrank.rerank.cache import SQLiteScoreCache
        cache = SQLiteScoreCache(sys.argv[1])
        worker = sys.argv[2]
        for batch in range(20):
            keys = [f"{worker}-{batch}-{i}" for i in range(50)]
            cache.put_many(keys, [float(i) for i in range(50)])
            assert cache.get_many(keys[:1]) == [0.0]
        """
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in ("p", "q")
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    cache = SQLiteScoreCache(path)
    assert len(cache) == 2 * 20 * 50
    assert cache.get_many(["p-19-49", "q-0-7"]) == [49.0, 7.0]

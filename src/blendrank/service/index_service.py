"""The served index: one writer, many readers.

Writes (upsert, delete) run one at a time in a dedicated thread through the library's
``Index.add`` / ``Index.delete``, which commit a new generation atomically and fsync it; a
write is acknowledged only after that commit, so an acknowledged document survives
``kill -9``. Searches and reads use an immutable snapshot of the index object taken after
each commit: a search that starts before a write finishes reads the previous generation
throughout, never a mix. A commit made by another process (``blendrank index`` on the
same folder) is noticed on the next request: :meth:`IndexService.current` compares the
manifest's file stamp (one ``stat``) and loads the new generation in the writer thread.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blendrank.index.store import MANIFEST, read_manifest

if TYPE_CHECKING:
    from blendrank.index.embedded import Index
    from blendrank.types import Document


class IndexService:
    """Serialised writes and snapshot reads over one :class:`~blendrank.Index`."""

    def __init__(self, index: Index) -> None:
        self._writer = index
        # load the embedder once; snapshots share it instead of loading their own
        _ = index.embedder
        self._manifest_path = Path(index.path) / MANIFEST
        self._stamp = self._manifest_stamp()
        self._snapshot = self._take_snapshot()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer")

    def _take_snapshot(self) -> tuple[Index, int]:
        # A shallow copy: the writer's next commit rebinds its own attributes (state,
        # searcher, manifest) to new objects and leaves the copy's untouched.
        generation = int(read_manifest(Path(self._writer.path))["generation"])
        return copy.copy(self._writer), generation

    def _manifest_stamp(self) -> tuple[int, int, int]:
        try:
            info = os.stat(self._manifest_path)
        except OSError:
            return (0, 0, 0)
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    async def current(self) -> tuple[Index, int]:
        """The snapshot, first catching up with commits made by other processes."""
        if self._manifest_stamp() != self._stamp:
            await self._in_writer(self._refresh, None)
        return self._snapshot

    def _refresh(self, _argument: Any) -> None:
        stamp = self._manifest_stamp()  # before reading, so a later commit is seen next time
        if self._writer.refresh():
            self._snapshot = self._take_snapshot()
        self._stamp = stamp

    @property
    def path(self) -> str:
        return str(self._writer.path)

    @property
    def snapshot(self) -> tuple[Index, int]:
        """The index as of the last commit and its generation (safe from any thread)."""
        return self._snapshot

    def stats(self) -> dict[str, Any]:
        index, generation = self._snapshot
        return {"documents": len(index), "generation": generation}

    async def upsert(self, documents: Sequence[Document]) -> tuple[dict[str, int], int]:
        """Add or replace documents; returns (counts, generation) once the commit is durable."""
        return await self._in_writer(self._upsert, list(documents))

    async def delete(self, ids: Sequence[str]) -> tuple[int, int]:
        """Delete documents by id; returns (how many existed, generation)."""
        return await self._in_writer(self._delete, list(ids))

    def close(self) -> None:
        """Wait for the write in progress (if any); refuse further writes; release the
        index's hold on its generation (searches still answer until the server stops)."""
        self._executor.shutdown(wait=True)
        self._writer.close()

    async def _in_writer(self, function: Any, argument: Any) -> Any:
        loop = asyncio.get_running_loop()
        # shielded: a client that disconnects does not cancel a write half way (it could
        # not anyway: the thread runs on); the commit still happens and is acknowledged
        return await asyncio.shield(loop.run_in_executor(self._executor, function, argument))

    def _upsert(self, documents: list[Document]) -> tuple[dict[str, int], int]:
        counts = self._writer.add(documents)
        self._after_write()
        return dict(counts), self._snapshot[1]

    def _delete(self, ids: list[str]) -> tuple[int, int]:
        deleted = self._writer.delete(ids)
        self._after_write()
        return deleted, self._snapshot[1]

    def _after_write(self) -> None:
        self._stamp = self._manifest_stamp()
        self._snapshot = self._take_snapshot()


class StoreService:
    """:class:`IndexService` for an engine store (Milvus...): the engine keeps its own
    consistency, so reads go straight to it; writes are serialised in one thread and
    each bumps the generation this server reports."""

    def __init__(self, store: Any) -> None:
        self._store = store
        _ = store.embedder  # load the embedder once
        self._generation = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    @property
    def path(self) -> str:
        return str(getattr(self._store, "uri", ""))

    @property
    def snapshot(self) -> tuple[Any, int]:
        return self._store, self._generation

    async def current(self) -> tuple[Any, int]:
        return self.snapshot

    def stats(self) -> dict[str, Any]:
        return {"documents": len(self._store), "generation": self._generation}

    async def upsert(self, documents: Sequence[Document]) -> tuple[dict[str, int], int]:
        return await self._in_writer(self._upsert, list(documents))

    async def delete(self, ids: Sequence[str]) -> tuple[int, int]:
        return await self._in_writer(self._delete, list(ids))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._store.close()

    async def _in_writer(self, function: Any, argument: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.shield(loop.run_in_executor(self._executor, function, argument))

    def _upsert(self, documents: list[Document]) -> tuple[dict[str, int], int]:
        counts = self._store.add(documents)
        self._generation += 1
        return dict(counts), self._generation

    def _delete(self, ids: list[str]) -> tuple[int, int]:
        deleted = self._store.delete(ids)
        self._generation += 1
        return deleted, self._generation

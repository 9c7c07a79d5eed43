"""The served index: one writer, many readers.

Writes (upsert, delete) run one at a time in a dedicated thread through the library's
``Index.add`` / ``Index.delete``, which commit a new generation atomically and fsync it; a
write is acknowledged only after that commit, so an acknowledged document survives
``kill -9``. Searches and reads use an immutable snapshot of the index object taken after
each commit: a search that starts before a write finishes reads the previous generation
throughout, never a mix.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blendrank.index.store import read_manifest

if TYPE_CHECKING:
    from blendrank.index.embedded import Index
    from blendrank.types import Document


class IndexService:
    """Serialised writes and snapshot reads over one :class:`~blendrank.Index`."""

    def __init__(self, index: Index) -> None:
        self._writer = index
        # load the embedder once; snapshots share it instead of loading their own
        _ = index.embedder
        self._snapshot = self._take_snapshot()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer")

    def _take_snapshot(self) -> tuple[Index, int]:
        # A shallow copy: the writer's next commit rebinds its own attributes (state,
        # searcher, manifest) to new objects and leaves the copy's untouched.
        generation = int(read_manifest(Path(self._writer.path))["generation"])
        return copy.copy(self._writer), generation

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
        """Wait for the write in progress (if any); refuse further writes."""
        self._executor.shutdown(wait=True)

    async def _in_writer(self, function: Any, argument: Any) -> Any:
        loop = asyncio.get_running_loop()
        # shielded: a client that disconnects does not cancel a write half way (it could
        # not anyway: the thread runs on); the commit still happens and is acknowledged
        return await asyncio.shield(loop.run_in_executor(self._executor, function, argument))

    def _upsert(self, documents: list[Document]) -> tuple[dict[str, int], int]:
        counts = self._writer.add(documents)
        self._snapshot = self._take_snapshot()
        return dict(counts), self._snapshot[1]

    def _delete(self, ids: list[str]) -> tuple[int, int]:
        deleted = self._writer.delete(ids)
        self._snapshot = self._take_snapshot()
        return deleted, self._snapshot[1]

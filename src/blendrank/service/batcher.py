"""Dynamic micro-batching of reranker work across concurrent requests.

One :class:`MicroBatcher` per served model. Requests queue up; a single worker takes the
oldest one, adds every queued request that still fits in ``max_batch_pairs`` (query,
document) pairs, waits up to ``max_wait_s`` for more when the queue runs dry, and scores
the whole batch with one model call in its own thread, off the event loop. While that call
runs, new requests queue, so under load batches fill by themselves and the wait is never
paid. A full queue answers 429 with ``Retry-After`` (estimated from the measured pairs per
second); a request not scored within its timeout gets 504; after :meth:`close` new requests
get 503 while queued ones are still finished. With ``batching=False`` each model call
holds one request (the baseline the load benchmark compares against).

>>> import asyncio
>>> from blendrank.rerank.base import ranking_by_position
>>> def lengths(groups):
...     return [ranking_by_position(range(len(t)), [float(len(x)) for x in t]) for _, t in groups]
>>> async def demo():
...     batcher = MicroBatcher("m", lengths, max_batch_pairs=8, max_wait_s=0.001)
...     ranking = await batcher.submit("q", ["a", "bb"], timeout=5)
...     await batcher.close()
...     return ranking.scores.tolist()
>>> asyncio.run(demo())
[2.0, 1.0]
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from blendrank.rerank.base import ranked_order, ranking_by_position, scores_by_position
from blendrank.service.errors import ServiceError, overloaded, unavailable
from blendrank.types import Ranking

if TYPE_CHECKING:
    from blendrank.service.metrics import ServiceMetrics

#: scores a batch: one Ranking per (query, texts) group, in order
BatchFunction = Callable[[list[tuple[str, list[str]]]], list[Ranking]]


@dataclass(eq=False)
class _Job:
    query: str
    texts: list[str]
    future: asyncio.Future[Ranking]

    @property
    def pairs(self) -> int:
        return len(self.texts)


class MicroBatcher:
    """Queue + one worker merging concurrent requests for one model (see module doc)."""

    def __init__(
        self,
        name: str,
        run_batch: BatchFunction,
        *,
        batching: bool = True,
        max_batch_pairs: int = 256,
        max_wait_s: float = 0.005,
        max_queue_pairs: int = 16_384,
        metrics: ServiceMetrics | None = None,
        split_pairs: int | None = None,
    ) -> None:
        self.name = name
        self.batching = batching
        self.max_batch_pairs = max_batch_pairs
        self.max_wait_s = max_wait_s
        self.max_queue_pairs = max_queue_pairs
        #: requests larger than this are queued as parts (scores must not depend on the
        #: other documents: pair scorers only), so abandoned parts are never computed
        self.split_pairs = split_pairs
        self._run_batch = run_batch
        self._metrics = metrics
        self._queue: deque[_Job] = deque()
        self._queued_pairs = 0
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._pairs_per_second = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"score-{name}")

    @property
    def queued_pairs(self) -> int:
        """Pairs waiting for a model call (not counting the batch being scored)."""
        return self._queued_pairs

    # ---- requests (event loop) ----------------------------------------------------------

    async def submit(self, query: str, texts: Sequence[str], timeout: float) -> Ranking:
        """Queue one request and wait for its ranking (at most ``timeout`` seconds)."""
        if self._closing:
            raise unavailable("the server is shutting down; retry on another instance", 1)
        self._start()
        if self._queued_pairs + len(texts) > self.max_queue_pairs:
            if self._metrics is not None:
                self._metrics.rejected(self.name, "queue_full")
            raise overloaded(
                f"model {self.name!r} has {self._queued_pairs} (query, document) pairs "
                f"waiting and this request adds {len(texts)} (queue limit "
                f"{self.max_queue_pairs})",
                self.retry_after(),
            )
        loop = asyncio.get_running_loop()
        step = self.split_pairs or max(1, len(texts))
        parts = [list(texts[i : i + step]) for i in range(0, len(texts), step)] or [[]]
        jobs = [_Job(query, part, loop.create_future()) for part in parts]
        self._queue.extend(jobs)
        self._set_queued(self._queued_pairs + sum(job.pairs for job in jobs))
        assert self._wakeup is not None  # set by _start
        self._wakeup.set()
        try:
            rankings = await asyncio.wait_for(
                asyncio.shield(asyncio.gather(*(job.future for job in jobs))), timeout
            )
            return rankings[0] if len(jobs) == 1 else _joined(rankings)
        except TimeoutError:
            for job in jobs:
                job.future.cancel()  # the worker skips every part it has not started
            if self._metrics is not None:
                self._metrics.rejected(self.name, "timeout")
            raise ServiceError(
                504,
                f"model {self.name!r} did not score this request within {timeout:g} s "
                "(the server is overloaded); retry later, send fewer documents, or start "
                "the server with a larger --request-timeout",
                error_type="timeout",
            ) from None
        except asyncio.CancelledError:  # the client went away
            for job in jobs:
                job.future.cancel()
            raise
        except BaseException:
            for job in jobs:
                job.future.cancel()
            raise

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained (1 to 60)."""
        if self._pairs_per_second <= 0:
            return 1
        return int(min(60, max(1, math.ceil(self._queued_pairs / self._pairs_per_second))))

    async def close(self, timeout: float = 30.0) -> None:
        """Refuse new requests, finish the queued ones (up to ``timeout`` s), stop."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._worker is not None:
            try:
                await asyncio.wait_for(self._worker, timeout)
            except TimeoutError:
                pass
        for job in self._queue:
            if not job.future.done():
                job.future.set_exception(unavailable("the server shut down before scoring"))
        self._queue.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---- worker -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._worker is None:
            self._wakeup = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name=f"batcher-{self.name}"
            )

    def _set_queued(self, pairs: int) -> None:
        self._queued_pairs = pairs
        if self._metrics is not None:
            self._metrics.queue(self.name, pairs)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            try:
                outcomes = await loop.run_in_executor(self._executor, self._score, batch)
            except Exception as exc:  # the executor itself failed: fail this batch only
                outcomes = [exc] * len(batch)
            for job, outcome in zip(batch, outcomes, strict=True):
                if job.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)

    def _drop_abandoned(self) -> None:
        while self._queue and self._queue[0].future.done():
            self._set_queued(self._queued_pairs - self._queue.popleft().pairs)

    async def _next_batch(self) -> list[_Job] | None:
        assert self._wakeup is not None
        while True:
            self._drop_abandoned()
            if self._queue:
                break
            if self._closing:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        batch = [self._queue.popleft()]
        pairs = batch[0].pairs
        deadline = time.monotonic() + self.max_wait_s
        while self.batching and pairs < self.max_batch_pairs:
            self._drop_abandoned()
            if self._queue:
                if pairs + self._queue[0].pairs > self.max_batch_pairs:
                    break
                batch.append(self._queue.popleft())
                pairs += batch[-1].pairs
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        self._set_queued(self._queued_pairs - pairs)
        return batch

    def _score(self, batch: list[_Job]) -> list[Ranking | BaseException]:
        """One model call for the batch (worker thread). If it fails, each request is
        scored alone so one bad request does not fail the others."""
        groups = [(job.query, job.texts) for job in batch]
        pairs = sum(job.pairs for job in batch)
        start = time.perf_counter()
        outcomes: list[Ranking | BaseException]
        try:
            outcomes = list(self._run_batch(groups))
        except Exception as exc:
            if len(batch) == 1:
                outcomes = [exc]
            else:
                outcomes = [self._score_alone(group) for group in groups]
        seconds = time.perf_counter() - start
        if seconds > 0:
            rate = pairs / seconds
            self._pairs_per_second = (
                rate if self._pairs_per_second == 0 else 0.8 * self._pairs_per_second + 0.2 * rate
            )
        if self._metrics is not None:
            self._metrics.batch(self.name, len(batch), pairs, seconds)
        return outcomes

    def _score_alone(self, group: tuple[str, list[str]]) -> Ranking | BaseException:
        try:
            return self._run_batch([group])[0]
        except Exception as exc:
            return exc


def _joined(rankings: list[Ranking]) -> Ranking:
    """One request's ranking from its parts' rankings (each ranks all of its part, the
    parts in input order)."""
    scores = np.concatenate([scores_by_position(r, len(r)) for r in rankings])
    order = ranked_order(scores)
    return ranking_by_position(order.tolist(), scores[order])

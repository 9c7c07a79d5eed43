"""The micro-batcher on its own (no HTTP): batches respect the pair budget, a failing
request does not fail the others in its batch, closing refuses new work."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from blendrank.rerank.base import positions, ranking_by_position
from blendrank.service.batcher import MicroBatcher
from blendrank.service.errors import ServiceError
from blendrank.types import Ranking


class Recorder:
    """Scores a text by its length; records batch sizes; fails groups whose query is 'boom'."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, groups: list[tuple[str, list[str]]]) -> list[Ranking]:
        self.batches.append([q for q, _ in groups])
        if any(q == "boom" for q, _ in groups):
            raise ValueError("boom is not a question")
        out = []
        for _, texts in groups:
            scores = np.array([float(len(t)) for t in texts])
            order = np.argsort(-scores, kind="stable")
            out.append(ranking_by_position(order, scores[order]))
        return out


async def submit_all(batcher: MicroBatcher, queries: list[str], texts: list[str]) -> list:
    return await asyncio.gather(
        *(batcher.submit(q, texts, timeout=10) for q in queries), return_exceptions=True
    )


def test_queued_requests_are_batched_within_the_pair_budget() -> None:
    recorder = Recorder()

    async def main() -> list:
        batcher = MicroBatcher("m", recorder, max_batch_pairs=6, max_wait_s=0.05)
        results = await submit_all(batcher, [f"q{i}" for i in range(5)], ["a", "bbb"])
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert [positions(r) for r in results] == [[1, 0]] * 5
    assert recorder.batches == [["q0", "q1", "q2"], ["q3", "q4"]]  # 6 pairs, then the rest


def test_a_failing_request_is_retried_alone_and_fails_alone() -> None:
    recorder = Recorder()

    async def main() -> list:
        batcher = MicroBatcher("m", recorder, max_batch_pairs=100, max_wait_s=0.05)
        results = await submit_all(batcher, ["q0", "boom", "q2"], ["a", "bb"])
        await batcher.close()
        return results

    first, failed, last = asyncio.run(main())
    assert isinstance(failed, ValueError)
    assert positions(first) == [1, 0] and positions(last) == [1, 0]
    assert recorder.batches[0] == ["q0", "boom", "q2"]
    assert sorted(map(tuple, recorder.batches[1:])) == [("boom",), ("q0",), ("q2",)]


def test_without_batching_each_request_is_one_call() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher = MicroBatcher("m", recorder, batching=False, max_wait_s=0.05)
        await submit_all(batcher, ["q0", "q1", "q2"], ["a"])
        await batcher.close()

    asyncio.run(main())
    assert recorder.batches == [["q0"], ["q1"], ["q2"]]


def test_a_closed_batcher_refuses_with_503() -> None:
    async def main() -> None:
        batcher = MicroBatcher("m", Recorder())
        await batcher.close()
        await batcher.submit("q", ["a"], timeout=1)

    with pytest.raises(ServiceError) as caught:
        asyncio.run(main())
    assert caught.value.status == 503 and "shutting down" in caught.value.message


class Gated(Recorder):
    """A Recorder whose model calls wait for ``gate`` (no sleeps: the test decides)."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.gate = threading.Event()
        self.sizes: list[list[int]] = []

    def __call__(self, groups):
        self.sizes.append([len(t) for _, t in groups])
        assert self.gate.wait(timeout=30), "test gate never opened"
        return super().__call__(groups)


def test_a_large_request_is_queued_in_parts_and_joined_in_order() -> None:
    recorder = Recorder()
    texts = ["a" * n for n in (3, 9, 1, 7, 5, 2, 8)]

    async def main():
        batcher = MicroBatcher("m", recorder, max_batch_pairs=3, batching=False, split_pairs=3)
        ranking = await batcher.submit("q", texts, timeout=10)
        await batcher.close()
        return ranking

    ranking = asyncio.run(main())
    assert positions(ranking) == [1, 6, 3, 4, 0, 5, 2]  # the whole request, by length
    assert ranking.scores.tolist() == [9, 8, 7, 5, 3, 2, 1]
    assert len(recorder.batches) == 3  # parts of 3, 3 and 1 texts, one model call each


def test_the_parts_of_an_abandoned_request_are_never_scored() -> None:
    """A request that times out while its first part is being scored: its other parts
    are dropped from the queue, so the model is free for the next request at once."""
    gated = Gated()

    async def main():
        batcher = MicroBatcher("m", gated, max_batch_pairs=2, batching=False, split_pairs=2)
        with pytest.raises(ServiceError) as timed_out:
            await batcher.submit("long", ["x"] * 10, timeout=0.2)  # five parts of two
        assert timed_out.value.status == 504
        gated.gate.set()
        after = await batcher.submit("next", ["yy", "y"], timeout=10)
        await batcher.close()
        return after

    after = asyncio.run(main())
    assert positions(after) == [0, 1]
    assert gated.sizes == [[2], [2]]  # the first part of 'long' (already running), then 'next'

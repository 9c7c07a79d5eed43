"""Pairwise LLM reranking (PRP): the model is shown the query and two passages and says
which is more relevant. Every comparison is asked in both orders, which cancels the
model's position bias: a passage wins only when it wins in both orders, otherwise it is
a tie; ``info["disagreements"]`` counts the comparisons whose two orders disagreed (the
position-bias figure).

Methods: ``"allpairs"`` (every pair, n(n-1)/2 comparisons, score = wins + ties/2),
``"heapsort"`` (the best ``depth`` by a heap, O(n + depth log n) comparisons) and
``"bubble"`` (``depth`` sliding bubble passes from the back, O(depth n)). Sorted
methods score by final position (``n - rank``); passages below ``depth`` keep their
first-stage order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from blendrank._http import check_number
from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Scale, check_candidates, reranked, validate_query
from blendrank.rerank.llm.base import LLMReranker
from blendrank.rerank.llm.client import Completion, Usage
from blendrank.types import Hit, Query, Ranking

PAIRWISE_TEMPLATE = (
    'Query: "{query}"\n\n'
    'Passage A: "{a}"\n\n'
    'Passage B: "{b}"\n\n'
    "Which passage is more relevant to the query? Answer A or B.\n"
    "Answer: Passage"
)
Method = Literal["allpairs", "heapsort", "bubble"]


def preference(answer: Completion) -> float | None:
    """P(A) / (P(A) + P(B)) from the first token's log-probabilities, else 1 or 0 from the
    answer's first letter; None when the answer names neither.

    >>> preference(Completion(" B", {" A": math.log(0.2), " B": math.log(0.6)}, "stop",
    ...                       1, 1, 0.1))
    0.25
    >>> preference(Completion("Passage A is better", None, "stop", 1, 1, 0.1))
    1.0
    """
    a = b = 0.0
    for token, value in (answer.first_token_logprobs or {}).items():
        word = token.strip().upper().rstrip(".,:")
        if word in ("A", "PASSAGE A"):
            a += math.exp(value)
        elif word in ("B", "PASSAGE B"):
            b += math.exp(value)
    if a + b > 0:
        return a / (a + b)
    words = answer.text.replace("Passage", " ").replace(":", " ").split()
    first = words[0].strip(".,").upper() if words else ""
    return 1.0 if first == "A" else 0.0 if first == "B" else None


class LLMPairwiseReranker(LLMReranker):
    """PRP pairwise reranking, both orders per comparison (module docstring).

    ``template`` needs ``{query}``, ``{a}`` and ``{b}``. ``depth``: how many top places
    the sorting methods settle (default 10); ``allpairs`` ranks every passage.
    """

    family = "pairwise"
    default_template = PAIRWISE_TEMPLATE
    template_fields = ("query", "a", "b")
    required_fields = ("query", "a", "b")
    scale: Scale = "position"

    def __init__(
        self,
        model: str = "",
        base_url: str | None = None,
        *,
        method: Method = "heapsort",
        depth: int = 10,
        **options: Any,
    ) -> None:
        super().__init__(model, base_url, **options)
        if method not in ("allpairs", "heapsort", "bubble"):
            raise InvalidInputError(
                f"method must be 'allpairs', 'heapsort' or 'bubble', got {method!r}"
            )
        check_number("depth", depth, minimum=1, integer=True)
        self.method: Method = method
        self.depth = depth

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "method": self.method, "depth": self.depth}

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        text = validate_query(query)
        hits = check_candidates(candidates)
        started = time.perf_counter()
        judge = _Judge(self, text, [self.passage(h.text) for h in hits])
        n = len(hits)
        if self.method == "allpairs":
            scores = judge.all_pairs()
        else:
            depth = min(self.depth, n)
            if top_k is not None:
                depth = min(depth, top_k) if self.method == "bubble" else depth
            order = judge.heap_top(depth) if self.method == "heapsort" else judge.bubble(depth)
            scores = np.empty(n, dtype=np.float64)
            scores[order] = n - np.arange(n, dtype=np.float64)
        info = {
            **self.info(judge.usage, started, n),
            "method": self.method,
            "comparisons": judge.comparisons,
            "disagreements": judge.disagreements,
            "undecided": judge.undecided,
        }
        return reranked(hits, scores, top_k, info)


class _Judge:
    """Comparisons for one query, each asked in both orders, remembered."""

    def __init__(self, owner: LLMPairwiseReranker, query: str, passages: list[str]):
        self.owner, self.query, self.passages = owner, query, passages
        self.usage = Usage()
        self.comparisons = self.disagreements = self.undecided = 0
        self._known: dict[tuple[int, int], float] = {}

    def prompts(self, i: int, j: int) -> list[str]:
        template, p = self.owner.template, self.passages
        return [
            template.format(query=self.query, a=p[i], b=p[j]),
            template.format(query=self.query, a=p[j], b=p[i]),
        ]

    def many(self, pairs: list[tuple[int, int]]) -> None:
        """Judge every pair in ``pairs`` not judged yet, concurrently."""
        todo = [(i, j) for i, j in pairs if (i, j) not in self._known]
        prompts = [p for i, j in todo for p in self.prompts(i, j)]
        answers = self.owner.client.generate_many(prompts, max_tokens=2, logprobs=5)
        self.usage.add(answers)
        for k, (i, j) in enumerate(todo):
            first, second = preference(answers[2 * k]), preference(answers[2 * k + 1])
            self.comparisons += 1
            if first is None or second is None:
                self.undecided += 1
            # P(i beats j): the mean of "A" in the first order and "B" in the second
            votes = [v for v in (first, None if second is None else 1.0 - second) if v is not None]
            p = sum(votes) / len(votes) if votes else 0.5
            if first is not None and second is not None and (first > 0.5) == (second > 0.5):
                self.disagreements += 1  # both orders picked the same slot: position bias
                p = 0.5  # a tie, as PRP counts it: the earlier (first-stage) passage stays ahead
            self._known[(i, j)] = p
            self._known[(j, i)] = 1.0 - p

    def beats(self, i: int, j: int) -> bool:
        """Whether passage ``i`` is preferred to ``j`` (ties go to the earlier passage)."""
        self.many([(i, j)])
        p = self._known[(i, j)]
        return p > 0.5 or (p == 0.5 and i < j)

    def all_pairs(self) -> np.ndarray:
        n = len(self.passages)
        self.many([(i, j) for i in range(n) for j in range(i + 1, n)])
        wins = np.zeros(n, dtype=np.float64)
        for i in range(n):
            for j in range(n):
                if i != j:
                    p = self._known[(i, j)]
                    wins[i] += 1.0 if p > 0.5 else 0.5 if p == 0.5 else 0.0
        return wins

    def heap_top(self, depth: int) -> list[int]:
        """The best ``depth`` by heapsort (a max-heap of every passage), then the rest."""
        heap = list(range(len(self.passages)))
        n = len(heap)

        def sift(start: int, size: int) -> None:
            root = start
            while (child := 2 * root + 1) < size:
                if child + 1 < size and self.beats(heap[child + 1], heap[child]):
                    child += 1
                if not self.beats(heap[child], heap[root]):
                    return
                heap[root], heap[child] = heap[child], heap[root]
                root = child

        for start in range(n // 2 - 1, -1, -1):
            sift(start, n)
        top: list[int] = []
        size = n
        while len(top) < depth and size:
            top.append(heap[0])
            size -= 1
            heap[0] = heap[size]
            sift(0, size)
        chosen = set(top)
        return top + [i for i in range(n) if i not in chosen]

    def bubble(self, depth: int) -> list[int]:
        """``depth`` sliding bubble passes from the back: pass r settles place r."""
        order = list(range(len(self.passages)))
        for place in range(depth):
            for k in range(len(order) - 1, place, -1):
                if self.beats(order[k], order[k - 1]):
                    order[k], order[k - 1] = order[k - 1], order[k]
        return order

"""Listwise LLM reranking (RankGPT permutation generation): passages labelled [1]..[n]
go into one prompt and the model writes their order, ``[4] > [2] > ...``. Lists longer
than ``window`` are ranked by a window sliding from the back of the list to the front
(``step`` apart), so the best passages bubble up to the top.

Answers are repaired, never trusted: identifiers out of range and repeats are dropped,
passages the answer leaves out keep their order after the ranked ones; each repair is
counted in the result's ``info``. Scores come from the final positions (``n - rank``,
``scale = "position"``), never None.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank._http import check_number
from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Scale, check_candidates, reranked, validate_query
from blendrank.rerank.llm.base import LLMReranker
from blendrank.rerank.llm.client import Usage
from blendrank.types import Hit, Query, Ranking

LISTWISE_TEMPLATE = (
    "Below are {n} passages, each with a numeric identifier in brackets.\n\n"
    "{passages}\n\n"
    "Search query: {query}\n\n"
    "Order the {n} passages by how relevant they are to the search query, most relevant "
    "first. Write only the identifiers, separated by >, for example [2] > [1] > [3]. "
    "Do not explain.\n"
    "Ranking:"
)
_BRACKETED = re.compile(r"\[\s*(\d+)\s*\]")
_NUMBER = re.compile(r"\d+")


def parse_permutation(text: str, n: int) -> tuple[list[int], dict[str, int]]:
    """The order (0-based) an answer gives to ``n`` passages, and the repairs it needed:
    ``out_of_range`` and ``duplicates`` dropped, ``missing`` appended in input order.

    >>> parse_permutation("[3] > [1] > [3] > [9]", 4)
    ([2, 0, 1, 3], {'out_of_range': 1, 'duplicates': 1, 'missing': 2})
    >>> parse_permutation("no idea", 2)
    ([0, 1], {'out_of_range': 0, 'duplicates': 0, 'missing': 2})
    """
    found = _BRACKETED.findall(text) or _NUMBER.findall(text)
    order: list[int] = []
    seen: set[int] = set()
    repairs = {"out_of_range": 0, "duplicates": 0, "missing": 0}
    for raw in found:
        number = int(raw) - 1
        if not 0 <= number < n:
            repairs["out_of_range"] += 1
        elif number in seen:
            repairs["duplicates"] += 1
        else:
            seen.add(number)
            order.append(number)
    rest = [i for i in range(n) if i not in seen]
    repairs["missing"] = len(rest)
    return order + rest, repairs


def windows(n: int, window: int, step: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` windows ranked, back to front.

    >>> windows(100, 20, 10)[:3], windows(100, 20, 10)[-1], len(windows(100, 20, 10))
    ([(80, 100), (70, 90), (60, 80)], (0, 20), 9)
    >>> windows(5, 20, 10)
    [(0, 5)]
    """
    out, end = [], n
    while True:
        start = max(0, end - window)
        out.append((start, end))
        if start == 0:
            return out
        end -= step


class LLMListwiseReranker(LLMReranker):
    """RankGPT-style listwise reranking with a sliding window (module docstring).

    ``window`` passages per call (default 20), ``step`` between windows (default 10);
    ``template`` needs ``{query}`` and ``{passages}`` (``{n}`` optional); each passage is
    cut to ``max_passage_tokens`` (default 100) of the model's tokens, and further when
    the window would not fit ``context_tokens``.

    >>> rf = LLMListwiseReranker("qwen2.5", "http://127.0.0.1:8080/v1")  # doctest: +SKIP
    """

    family = "listwise"
    default_template = LISTWISE_TEMPLATE
    template_fields = ("query", "passages", "n")
    required_fields = ("query", "passages")
    default_passage_tokens = 100
    scale: Scale = "position"

    def __init__(
        self,
        model: str = "",
        base_url: str | None = None,
        *,
        window: int = 20,
        step: int = 10,
        context_tokens: int = 4096,
        **options: Any,
    ) -> None:
        super().__init__(model, base_url, **options)
        check_number("window", window, minimum=2, integer=True)
        check_number("step", step, minimum=1, integer=True)
        check_number("context_tokens", context_tokens, minimum=64, integer=True)
        if step >= window:
            raise InvalidInputError(
                f"step ({step}) must be smaller than window ({window}), or windows would "
                "not overlap and the best passages could not move up past a window"
            )
        self.window, self.step, self.context_tokens = window, step, context_tokens

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "window": self.window,
            "step": self.step,
            "context_tokens": self.context_tokens,
        }

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
        started, usage = time.perf_counter(), Usage()
        order = list(range(len(hits)))
        repairs = {"out_of_range": 0, "duplicates": 0, "missing": 0, "truncated_answers": 0}
        spans = windows(len(hits), self.window, self.step) if len(hits) > 1 else []
        budget = self._passage_budget(text)
        for start, end in spans:
            members = order[start:end]
            passages = [self.client.truncate(hits[i].text, budget) for i in members]
            labelled = "\n".join(f"[{r}] {p}" for r, p in enumerate(passages, start=1))
            prompt = self.template.format(query=text, passages=labelled, n=len(members))
            answer = self.client.generate(prompt, max_tokens=6 * len(members) + 8)
            usage.add([answer])
            permutation, fixed = parse_permutation(answer.text, len(members))
            for key, value in fixed.items():
                repairs[key] += value
            repairs["truncated_answers"] += answer.finish_reason == "length"
            order[start:end] = [members[p] for p in permutation]
        scores = np.empty(len(hits), dtype=np.float64)
        scores[order] = len(hits) - np.arange(len(hits), dtype=np.float64)
        info = {**self.info(usage, started, len(hits)), "windows": len(spans), **repairs}
        return reranked(hits, scores, top_k, info)

    def _passage_budget(self, query: str) -> int:
        """Tokens per passage so that a full window fits the context with its answer."""
        fixed = self.client.count_tokens(self.template.format(query=query, passages="", n=0))
        answer = 6 * self.window + 8
        room = (self.context_tokens - fixed - answer) // self.window - 4  # "[12] " and newline
        if room < 8:
            raise InvalidInputError(
                f"a window of {self.window} passages does not fit context_tokens="
                f"{self.context_tokens} with this query and template; use a smaller window "
                "or a model with a longer context"
            )
        return min(self.max_passage_tokens, room)

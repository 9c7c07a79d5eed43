"""Pointwise LLM reranking (relevance generation): each passage is asked about on its own
("does the passage answer the query?") and scored by P(yes) from the first answer
token's log-probabilities, case and space variants of yes and no summed:
``P(yes) / (P(yes) + P(no))``. A server that sends no log-probabilities gets the rating
prompt instead: the model writes a 0-10 rating, parsed, divided by 10.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from blendrank.errors import InvalidInputError, RemoteModelError
from blendrank.rerank.base import GroupScores, Scale
from blendrank.rerank.llm.base import LLMReranker, check_template
from blendrank.rerank.llm.client import Completion, Usage

YES_NO_TEMPLATE = (
    "Passage: {passage}\n\n"
    "Query: {query}\n\n"
    "Does the passage answer the query? Answer Yes or No.\n"
    "Answer:"
)
RATING_TEMPLATE = (
    "Passage: {passage}\n\n"
    "Query: {query}\n\n"
    "On a scale from 0 (unrelated) to 10 (answers it fully), how well does the passage "
    "answer the query? Reply with the number only.\n"
    "Rating:"
)
_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})
_RATING = re.compile(r"\b(10|[0-9])(?:\.\d+)?\b")
Mode = Literal["auto", "logprobs", "rating"]


def yes_probability(logprobs: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first token's alternatives (" Yes", "yes",
    "YES" ... summed); None when neither word is among them.

    >>> round(yes_probability({" Yes": math.log(0.6), "yes": math.log(0.1),
    ...                        " No": math.log(0.2), " The": math.log(0.1)}), 4)
    0.7778
    >>> yes_probability({" The": -0.1}) is None
    True
    """
    yes = no = 0.0
    for token, value in logprobs.items():
        word = token.strip().lower().rstrip(".,!")
        if word in _YES:
            yes += math.exp(value)
        elif word in _NO:
            no += math.exp(value)
    if yes + no == 0.0:
        return None
    return yes / (yes + no)


def parse_rating(text: str) -> float | None:
    """The first 0-10 rating in ``text``, as a fraction (None when there is none).

    >>> parse_rating(" 7/10"), parse_rating("Rating: 10"), parse_rating("high")
    (0.7, 1.0, None)
    """
    match = _RATING.search(text)
    return None if match is None else int(match.group(1)) / 10.0


class LLMPointwiseReranker(LLMReranker):
    """Scores each (query, passage) pair with one LLM call, ``concurrency`` at a time.

    ``mode``: ``"auto"`` (log-probabilities, falling back to ratings on a server that
    sends none), ``"logprobs"`` (an error if the server sends none), ``"rating"``.
    ``template`` needs ``{query}`` and ``{passage}``; ``rating_template`` the same.
    Scores are probabilities (``scale = "probability"``) in both modes.

    >>> rf = LLMPointwiseReranker("qwen2.5", "http://127.0.0.1:8080/v1")  # doctest: +SKIP
    >>> rf("what is BM25?", ["BM25 is a ranking function", "Paris"], top_k=1)  # doctest: +SKIP
    """

    family = "pointwise"
    default_template = YES_NO_TEMPLATE
    template_fields = ("query", "passage")
    required_fields = ("query", "passage")
    scale: Scale = "probability"
    supports_groups = True

    def __init__(
        self,
        model: str = "",
        base_url: str | None = None,
        *,
        mode: Mode = "auto",
        rating_template: str | None = None,
        top_logprobs: int = 20,
        **options: Any,
    ) -> None:
        super().__init__(model, base_url, **options)
        if mode not in ("auto", "logprobs", "rating"):
            raise InvalidInputError(f"mode must be 'auto', 'logprobs' or 'rating', got {mode!r}")
        self.mode: Mode = mode
        self.rating_template = check_template(
            rating_template or RATING_TEMPLATE,
            required=("query", "passage"),
            allowed=("query", "passage"),
        )
        if (
            isinstance(top_logprobs, bool)
            or not isinstance(top_logprobs, int)
            or not (1 <= top_logprobs <= 20)
        ):
            raise InvalidInputError(f"top_logprobs must be an int in 1..20, got {top_logprobs!r}")
        self.top_logprobs = top_logprobs
        self._server_has_logprobs: bool | None = None if mode == "auto" else mode == "logprobs"

    def settings(self) -> dict[str, Any]:
        detected = {None: "auto", True: "logprobs", False: "rating"}[self._server_has_logprobs]
        return {
            **super().settings(),
            "mode": self.mode,
            "scoring": detected,  # ratings and P(yes) never share a cache entry
            "top_logprobs": self.top_logprobs,
            "rating_template": self.rating_template,
        }

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.score_groups([(query, texts)])[0]

    def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        started, usage = time.perf_counter(), Usage()
        pairs = [(q, self.passage(t)) for q, texts in groups for t in texts]
        flat = self._score_pairs(pairs, usage)
        out, at = [], 0
        for _, texts in groups:
            out.append(flat[at : at + len(texts)])
            at += len(texts)
        info = {**usage.info(), "seconds": round(time.perf_counter() - started, 3)}
        info["mode"] = "logprobs" if self._server_has_logprobs else "rating"
        return GroupScores(out, info)

    def _score_pairs(self, pairs: list[tuple[str, str]], usage: Usage) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        if self._server_has_logprobs is not False:
            prompts = [self.template.format(query=q, passage=p) for q, p in pairs]
            try:
                answers = self.client.generate_many(
                    prompts, max_tokens=1, logprobs=self.top_logprobs
                )
            except RemoteModelError as refused:
                if self.mode != "auto" or "HTTP 400" not in str(refused):
                    raise
                answers = []  # the server refuses log-probabilities: rate instead
            usage.add(answers)
            has_logprobs = any(a.first_token_logprobs for a in answers)
            if not has_logprobs and self.mode == "logprobs":
                raise InvalidInputError(
                    f"{self.client.root} sent no log-probabilities; use mode='rating' or "
                    "'auto' with this server"
                )
            if self._server_has_logprobs is None:
                self._server_has_logprobs = has_logprobs
            if self._server_has_logprobs:
                return np.array([self._yes(a, usage) for a in answers], dtype=np.float32)
        prompts = [self.rating_template.format(query=q, passage=p) for q, p in pairs]
        answers = self.client.generate_many(prompts, max_tokens=4)
        usage.add(answers)
        return np.array([self._rating(a, usage) for a in answers], dtype=np.float32)

    @staticmethod
    def _yes(answer: Completion, usage: Usage) -> float:
        p = yes_probability(answer.first_token_logprobs or {})
        if p is None:  # neither word among the alternatives: the answer decides, or 0.5
            usage.count("undecided")
            word = answer.text.strip().lower()
            return 1.0 if word.startswith("yes") else 0.0 if word.startswith("no") else 0.5
        return p

    @staticmethod
    def _rating(answer: Completion, usage: Usage) -> float:
        value = parse_rating(answer.text)
        if value is None:
            usage.count("unparsed")
            return 0.0
        return value

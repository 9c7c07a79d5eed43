"""What the three LLM reranker families share: the client, prompt templates users can
replace, passage truncation, the fingerprint (cache key) and the result's accounting."""

from __future__ import annotations

import hashlib
import json
import os
import string
import time
from collections.abc import Sequence
from typing import Any

from blendrank._http import check_number
from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker, ScoreCache
from blendrank.rerank.llm.client import Api, LLMClient, Usage


def check_template(template: str, *, required: Sequence[str], allowed: Sequence[str]) -> str:
    """``template`` (``str.format`` fields) checked: every ``required`` field present, no
    field outside ``allowed``; passage and query texts are values, never parsed.

    >>> check_template("Q: {query} P: {passage}", required=("query", "passage"),
    ...                allowed=("query", "passage"))
    'Q: {query} P: {passage}'
    >>> check_template("Q: {question}", required=("query",), allowed=("query",))
    Traceback (most recent call last):
    ...
    blendrank.errors.InvalidInputError: prompt template uses {question}; it may use {query}
    """
    if not isinstance(template, str) or not template.strip():
        raise InvalidInputError("a prompt template must be a non-empty string")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InvalidInputError(f"prompt template is not a valid format string: {exc}") from None
    unknown = sorted(f for f in fields if f not in allowed)
    if unknown:
        raise InvalidInputError(
            f"prompt template uses {{{unknown[0]}}}; it may use "
            + ", ".join(f"{{{a}}}" for a in allowed)
        )
    missing = [f for f in required if f not in fields]
    if missing:
        raise InvalidInputError(f"prompt template must contain {{{missing[0]}}}")
    return template


class LLMReranker(Reranker):
    """Base of the LLM rerankers (see :mod:`blendrank.rerank.llm`)."""

    family = "llm"
    default_template = ""
    template_fields: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    default_passage_tokens = 256

    def __init__(
        self,
        model: str = "",
        base_url: str | None = None,
        *,
        api: Api = "chat",
        api_key: str | None = None,
        template: str | None = None,
        system: str | None = None,
        max_passage_tokens: int | None = None,
        tokenizer: str | os.PathLike[str] | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        concurrency: int = 4,
        response_cache: int = 4096,
        cache: ScoreCache | None = None,
    ) -> None:
        super().__init__(cache=cache)
        self.client = LLMClient(
            base_url,
            model,
            api=api,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            concurrency=concurrency,
            cache=response_cache,
            tokenizer=tokenizer,
            system=system,
        )
        self.template = check_template(
            template or self.default_template,
            required=self.required_fields,
            allowed=self.template_fields,
        )
        passage_tokens = (
            self.default_passage_tokens if max_passage_tokens is None else (max_passage_tokens)
        )
        check_number("max_passage_tokens", passage_tokens, minimum=1, integer=True)
        self.max_passage_tokens = int(passage_tokens)
        self._tokenizer = tokenizer
        self.name = f"llm-{self.family}:{model or 'default'}@{self.client.root}"

    def settings(self) -> dict[str, Any]:
        """Every setting that changes what the model is asked (and so its answers)."""
        return {
            "template": self.template,
            "system": self.client.system,
            "max_passage_tokens": self.max_passage_tokens,
            "tokenizer": None if self._tokenizer is None else str(self._tokenizer),
        }

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            {**self.client.config(), **self.settings(), "family": self.family}, sort_keys=True
        )
        digest = hashlib.sha256(payload.encode()).hexdigest()[:24]
        return f"llm-{self.family}:{digest}"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "name": self.name,
            **self.client.config(),
            **self.settings(),
        }

    def passage(self, text: str) -> str:
        """``text`` cut to ``max_passage_tokens`` of the model's tokens."""
        return self.client.truncate(text, self.max_passage_tokens)

    def info(self, usage: Usage, started: float, documents: int) -> dict[str, Any]:
        usage.seconds = time.perf_counter() - started
        return {"reranker": self.name, "documents": documents, **usage.info()}

"""The LLM self-query extractor: any OpenAI-compatible chat endpoint (vLLM, Ollama,
llama.cpp's server, a hosted API) reads the filter out of the question as JSON, given the
index's fields, their values and today's date. Its answer is checked against the schema
(:meth:`MetadataSchema.checked`): unknown fields, values the index does not have and
malformed dates are dropped, so the filter is always valid. An answer that is not JSON,
or a server that fails, falls back to the rule-based extractor (or to no filter), and
``matches`` says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from blendrank.errors import RemoteModelError
from blendrank.selfquery.rules import Extraction, RuleExtractor
from blendrank.selfquery.schema import MetadataSchema

PROMPT = """You turn a search question into a metadata filter and the remaining query.
Today is {today}. The documents have these metadata fields (JSON: type and, for
categorical fields, every allowed value):
{schema}

Answer with one JSON object and nothing else:
{{"filter": {{...}}, "query": "..."}}
- "filter" keeps only constraints the question states. A categorical field takes one
  allowed value ("field": "value") or several ("field": {{"in": ["a", "b"]}}). A date
  field takes a range with "gte" (from, included) and/or "lt" (until, excluded), as
  ISO dates YYYY-MM-DD; "since 2025" is {{"gte": "2025-01-01"}}, "in 2024" is
  {{"gte": "2024-01-01", "lt": "2025-01-01"}}, "last 3 months" counts back from today.
- "query" is the question without the words that became the filter.
- No constraint stated: {{"filter": {{}}, "query": <the question>}}.

Question: {question}
JSON:"""


class LLMExtractor:
    """Filters from a question by an LLM (see the module docstring).

    ``base_url``/``model``/``api_key``: the chat endpoint (``$BLENDRANK_LLM_BASE_URL``,
    ``$BLENDRANK_LLM_API_KEY`` as for the LLM rerankers). ``fallback``: the extractor used
    when the answer is unusable (default: the rule-based one over the same schema; None
    for no filter).
    """

    name = "llm"

    def __init__(
        self,
        schema: MetadataSchema,
        base_url: str | None = None,
        model: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_tokens: int = 256,
        today: str | dt.date | None = None,
        fallback: Any = "rules",
    ) -> None:
        from blendrank.rerank.llm.client import LLMClient

        self.schema = schema
        self.client = LLMClient(
            base_url, model, api_key=api_key, timeout=timeout, concurrency=1, cache=1024
        )
        self.max_tokens = max_tokens
        self._rules = RuleExtractor(schema, today=today)
        self.fallback = self._rules if fallback == "rules" else fallback

    def config(self) -> dict[str, Any]:
        return {"type": "llm", "model": self.client.model, "base_url": self.client.root}

    def prompt(self, question: str) -> str:
        schema = json.dumps(self.schema.describe(), ensure_ascii=False)
        return PROMPT.format(today=self._rules.today.isoformat(), schema=schema, question=question)

    def extract(self, question: str) -> Extraction:
        try:
            answer = self.client.generate(self.prompt(question), max_tokens=self.max_tokens).text
        except RemoteModelError as exc:
            return self._fall_back(question, f"the LLM server failed: {exc}")
        parsed = _json_object(answer)
        if parsed is None:
            return self._fall_back(question, "the LLM answer was not a JSON object")
        proposed = parsed.get("filter", {})
        checked = self.schema.checked(proposed)
        dropped = sorted(set(proposed) - set(checked)) if isinstance(proposed, dict) else []
        query = parsed.get("query")
        if not isinstance(query, str) or not query.strip():
            query = question
        matches = [{"field": f, "value": v} for f, v in checked.items()]
        if dropped:
            matches.append({"dropped": dropped, "reason": "not valid for this index"})
        return Extraction(checked, query.strip(), matches, self.name)

    def _fall_back(self, question: str, reason: str) -> Extraction:
        if self.fallback is None:
            return Extraction({}, question, [{"fallback": None, "reason": reason}], self.name)
        got = self.fallback.extract(question)
        note = {"fallback": got.source, "reason": reason}
        return Extraction(got.filter, got.query, [*got.matches, note], f"{self.name}+{got.source}")


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (models wrap it in prose or code fences)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None

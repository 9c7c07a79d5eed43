"""LLM rerankers over any OpenAI-compatible server (vLLM, Ollama, llama.cpp, TGI, hosted
APIs), in the three families of the rerank literature:

- :class:`LLMPointwiseReranker`: one call per passage, scored by P(yes) from the answer's
  log-probabilities (a 0-10 rating where the server sends none);
- :class:`LLMPairwiseReranker`: PRP comparisons asked in both orders, all pairs or a
  heap / bubble top-k sort;
- :class:`LLMListwiseReranker`: RankGPT permutations with a sliding window.

Specs: ``llm-pointwise:MODEL@URL``, ``llm-pairwise:MODEL@URL``, ``llm-listwise:MODEL@URL``
(for example ``llm-listwise:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1``), options
after ``?`` (``...@http://127.0.0.1:8080/v1?api=completions&window=10``); the URL may
instead come from ``$BLENDRANK_LLM_BASE_URL`` and the key from ``api_key=``,
``$BLENDRANK_LLM_API_KEY`` or ``$OPENAI_API_KEY`` (never put a key in a spec).
"""

import urllib.parse
from typing import Any

from blendrank.rerank.llm.client import Completion, LLMClient, Usage
from blendrank.rerank.llm.listwise import LLMListwiseReranker, parse_permutation, windows
from blendrank.rerank.llm.pairwise import LLMPairwiseReranker
from blendrank.rerank.llm.pointwise import LLMPointwiseReranker

__all__ = [
    "Completion",
    "LLMClient",
    "LLMListwiseReranker",
    "LLMPairwiseReranker",
    "LLMPointwiseReranker",
    "Usage",
    "parse_permutation",
    "windows",
]


def split_spec(target: str | None) -> tuple[str, str | None, dict[str, Any]]:
    """``MODEL@URL?OPTION=VALUE&...`` as (model, url, options); a target without ``@http``
    is the model alone. Option values read as int, float, true/false or text, so a spec
    string carries what the CLI, the service and training configs need.

    >>> split_spec("qwen2.5@http://127.0.0.1:8080/v1?api=completions&window=10")
    ('qwen2.5', 'http://127.0.0.1:8080/v1', {'api': 'completions', 'window': 10})
    >>> split_spec("gpt-4o-mini")
    ('gpt-4o-mini', None, {})
    """
    text = (target or "").strip()
    options: dict[str, Any] = {}
    if "?" in text:
        text, query = text.split("?", 1)
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            options[name] = _value(value)
    for marker in ("@http://", "@https://"):
        at = text.find(marker)
        if at >= 0:
            return text[:at], text[at + 1 :], options
    if text.startswith(("http://", "https://")):
        return "", text, options
    return text, None, options


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

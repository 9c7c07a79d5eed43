"""Rerankers behind an HTTP API: the hosted ones (Cohere, Voyage, Jina, mixedbread) and
self-hosted inference servers (Hugging Face TEI, Infinity, vLLM, or another
``blendrank serve``), behind the same call as every local model.

>>> rf = HostedReranker("cohere", "rerank-v3.5", api_key="...")   # doctest: +SKIP
>>> rf("What is RRF?", ["Reciprocal rank fusion ...", "A river ..."], top_k=1)  # doctest: +SKIP

Each provider is its published request and response shape (:data:`PROVIDERS`): the path,
where documents go, the key's usual environment variable, the documents-per-call limit
(longer lists are split and merged by the base class), the score field. Every call goes
through :class:`blendrank._http.JsonClient`: a timeout per attempt, bounded retries on
429 and 5xx honouring ``Retry-After``, a clear error for a bad key (401/403) or anything
else the provider refuses (an unknown model name comes back with the provider's own
message). Scores are the providers' relevance scores in [0, 1] (``scale="probability"``);
``info`` of a result carries the tokens or search units the provider billed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from blendrank._http import JsonClient, check_number
from blendrank.errors import InvalidInputError, RemoteModelError
from blendrank.rerank.base import GroupScores, Reranker, ScoreCache


@dataclass(frozen=True)
class Provider:
    """One API's rerank shape."""

    base_url: str
    path: str
    key_env: tuple[str, ...]
    #: the request field holding the documents, and the one holding how many to return
    documents_field: str = "documents"
    top_field: str | None = "top_n"
    #: where the results are in the answer, and each result's score field
    results_field: str | None = "results"
    score_field: str = "relevance_score"
    max_documents: int = 1000
    #: extra request fields (e.g. "do not echo the documents back")
    extra: tuple[tuple[str, Any], ...] = ()
    #: the request field of a per-document token limit, if the API has one
    max_tokens_field: str | None = None
    needs_model: bool = True


PROVIDERS: dict[str, Provider] = {
    # https://docs.cohere.com/reference/rerank (v2)
    "cohere": Provider(
        "https://api.cohere.com",
        "/v2/rerank",
        ("COHERE_API_KEY", "CO_API_KEY"),
        max_tokens_field="max_tokens_per_doc",
    ),
    # https://docs.voyageai.com/reference/reranker-api
    "voyage": Provider(
        "https://api.voyageai.com",
        "/v1/rerank",
        ("VOYAGE_API_KEY",),
        top_field="top_k",
        results_field="data",
        extra=(("return_documents", False), ("truncation", True)),
    ),
    # https://api.jina.ai/redoc#tag/rerank
    "jina": Provider(
        "https://api.jina.ai",
        "/v1/rerank",
        ("JINA_API_KEY",),
        max_documents=2048,
        extra=(("return_documents", False),),
    ),
    # https://www.mixedbread.com/api-reference/endpoints/reranking
    "mixedbread": Provider(
        "https://api.mixedbread.com",
        "/v1/reranking",
        ("MXBAI_API_KEY", "MIXEDBREAD_API_KEY"),
        documents_field="input",
        top_field="top_k",
        results_field="data",
        score_field="score",
        extra=(("return_input", False),),
    ),
    # Hugging Face text-embeddings-inference: POST /rerank -> [{"index", "score"}]
    "tei": Provider(
        "http://127.0.0.1:8080",
        "/rerank",
        ("TEI_API_KEY",),
        documents_field="texts",
        top_field=None,
        results_field=None,
        score_field="score",
        extra=(("raw_scores", False), ("truncate", True)),
        needs_model=False,
    ),
    # Infinity and vLLM serve the Cohere v1 / Jina shape at /rerank and /v1/rerank
    "infinity": Provider("http://127.0.0.1:7997", "/rerank", ("INFINITY_API_KEY",)),
    "vllm": Provider("http://127.0.0.1:8000", "/v1/rerank", ("VLLM_API_KEY",)),
}


class HostedReranker(Reranker):
    """A reranker behind an HTTP API (see the module docstring).

    ``provider``: a key of :data:`PROVIDERS`; ``model``: the provider's model name;
    ``api_key``: else the provider's environment variable; ``base_url``: another host
    (a proxy, a region, a self-hosted server speaking that shape); ``max_tokens_per_doc``
    where the API takes it; ``max_documents_per_call`` below the provider's limit.
    ``price_per_million_tokens`` / ``price_per_search_unit``: your price (USD) for this
    model, so ``info["usage"]["cost_usd"]`` adds up what the calls cost; no price is built
    in (providers change them: Cohere bills search units, Voyage and Jina tokens).
    """

    scale = "probability"

    def __init__(
        self,
        provider: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        max_tokens_per_doc: int | None = None,
        max_documents_per_call: int | None = None,
        price_per_million_tokens: float | None = None,
        price_per_search_unit: float | None = None,
        cache: ScoreCache | None = None,
    ) -> None:
        super().__init__(cache=cache)
        for name, price in (
            ("price_per_million_tokens", price_per_million_tokens),
            ("price_per_search_unit", price_per_search_unit),
        ):
            if price is not None:
                check_number(name, price, minimum=0)
        self.prices = {"tokens": price_per_million_tokens, "search_units": price_per_search_unit}
        if provider not in PROVIDERS:
            raise InvalidInputError(
                f"unknown rerank provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}"
            )
        spec = PROVIDERS[provider]
        if spec.needs_model and not (isinstance(model, str) and model.strip()):
            raise InvalidInputError(f"the {provider} reranker needs model= (a model name)")
        if max_tokens_per_doc is not None:
            check_number("max_tokens_per_doc", max_tokens_per_doc, minimum=1, integer=True)
            if spec.max_tokens_field is None:
                raise InvalidInputError(
                    f"the {provider} API has no per-document token limit; leave "
                    "max_tokens_per_doc unset (it truncates long documents itself)"
                )
        limit = spec.max_documents
        if max_documents_per_call is not None:
            check_number("max_documents_per_call", max_documents_per_call, minimum=1, integer=True)
            limit = min(limit, int(max_documents_per_call))
        self.provider, self.spec, self.model = provider, spec, model
        self.name = f"{provider}:{model}" if model else provider
        self.max_documents_per_call = limit
        self.max_tokens_per_doc = max_tokens_per_doc
        key = api_key
        for env in spec.key_env:
            key = key or os.environ.get(env) or None
        hint = f"pass api_key= or set ${spec.key_env[0]}"
        root = (base_url or spec.base_url).rstrip("/")
        if not root.startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url must start with http:// or https://, got {root!r}")
        self.base_url = root
        self.client = JsonClient(
            root,
            what=f"{provider} rerank API",
            api_key=key,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            key_hint=hint,
        )

    @property
    def fingerprint(self) -> str:
        return f"hosted:{self.provider}:{self.base_url}:{self.model}:{self.max_tokens_per_doc}"

    def config(self) -> dict[str, Any]:
        return {"type": "HostedReranker", "provider": self.provider, "model": self.model}

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.score_groups([(query, texts)])[0]

    def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        out: list[np.ndarray] = []
        usage: dict[str, float] = {"requests": 0, "tokens": 0, "search_units": 0}
        for query, texts in groups:
            scores, used = self._call(query, list(texts))
            out.append(scores)
            usage["requests"] += 1
            for key in ("tokens", "search_units"):
                usage[key] += used.get(key, 0)
        if any(v is not None for v in self.prices.values()):
            per_token = (self.prices["tokens"] or 0.0) / 1e6
            per_unit = self.prices["search_units"] or 0.0
            usage["cost_usd"] = usage["tokens"] * per_token + usage["search_units"] * per_unit
        return GroupScores(out, {"usage": usage})

    def _call(self, query: str, texts: list[str]) -> tuple[np.ndarray, dict[str, int]]:
        if not texts:
            return np.zeros(0, dtype=np.float32), {}
        spec = self.spec
        body: dict[str, Any] = {"query": query, spec.documents_field: texts, **dict(spec.extra)}
        if self.model:
            body["model"] = self.model
        if spec.top_field:
            body[spec.top_field] = len(texts)
        if self.max_tokens_per_doc is not None and spec.max_tokens_field:
            body[spec.max_tokens_field] = self.max_tokens_per_doc
        answer = self.client.post(spec.path, body)
        results = answer if spec.results_field is None else _field(answer, spec.results_field)
        scores = np.full(len(texts), np.nan, dtype=np.float32)
        try:
            for item in results:
                scores[int(item["index"])] = float(item[spec.score_field])
        except (KeyError, TypeError, ValueError, IndexError):
            raise RemoteModelError(
                f"{self.base_url}{spec.path} returned results in an unexpected shape "
                f"(expected index and {spec.score_field!r}): {str(results)[:200]}"
            ) from None
        if np.isnan(scores).any():
            missing = int(np.isnan(scores).sum())
            raise RemoteModelError(
                f"{self.base_url}{spec.path} scored {len(texts) - missing} of {len(texts)} "
                "documents; expected a score for each"
            )
        return scores, _usage(answer)


def _field(answer: Any, name: str) -> Any:
    if not isinstance(answer, dict) or name not in answer:
        raise RemoteModelError(f"a rerank answer without {name!r}: {str(answer)[:200]}")
    return answer[name]


def _usage(answer: Any) -> dict[str, int]:
    """Tokens or search units an answer says were billed (each API names them its way)."""
    if not isinstance(answer, dict):
        return {}
    out: dict[str, int] = {}
    usage = answer.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int | float):
        out["tokens"] = int(usage["total_tokens"])
    billed = (answer.get("meta") or {}).get("billed_units") if isinstance(answer, dict) else None
    if isinstance(billed, dict) and isinstance(billed.get("search_units"), int | float):
        out["search_units"] = int(billed["search_units"])
    return out

"""The OpenAI-compatible LLM client the LLM rerankers share: chat or completions calls,
first-token log-probabilities in every shape servers send them, concurrent calls up to
a limit, a response cache, token counting and truncation, and per-call accounting.

Works with vLLM, Ollama, llama.cpp's server, TGI and hosted OpenAI-compatible APIs; the
key comes from ``api_key``, ``$BLENDRANK_LLM_API_KEY`` or ``$OPENAI_API_KEY``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from blendrank._http import JsonClient, api_root, check_number, server_root
from blendrank.errors import InvalidInputError, RemoteModelError

#: the key's environment variables: blendrank's own for any server, OpenAI's only for OpenAI
API_KEY_ENVS = ("BLENDRANK_LLM_API_KEY", "OPENAI_API_KEY")
BASE_URL_ENV = "BLENDRANK_LLM_BASE_URL"
#: characters per token when neither the server nor a tokenizer can count them
CHARS_PER_TOKEN = 4
Api = Literal["chat", "completions"]


@dataclass(frozen=True)
class Completion:
    """One answer: its text, the first generated token's top log-probabilities (None when
    the server sent none), why it stopped, its token counts and how long it took."""

    text: str
    first_token_logprobs: dict[str, float] | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool = False


@dataclass
class Usage:
    """What a reranker call cost; goes into the result's ``info``."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, completions: Sequence[Completion]) -> None:
        for c in completions:
            if c.cached:
                self.cache_hits += 1
                continue
            self.calls += 1
            self.prompt_tokens += c.prompt_tokens
            self.completion_tokens += c.completion_tokens

    def count(self, name: str, n: int = 1) -> None:
        self.extra[name] = self.extra.get(name, 0) + n

    def info(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cached_calls": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
            **self.extra,
        }


class LLMClient:
    """Calls to one model on one OpenAI-compatible server.

    ``api``: ``"chat"`` (``/chat/completions``, the default: what hosted APIs and
    instruct models serve) or ``"completions"`` (``/completions``, for base models
    without a chat template). ``concurrency``: calls in flight at once. ``cache``: how
    many answers to keep (keyed by model, api, prompt and settings; 0 turns it off).
    ``tokenizer``: a ``tokenizer.json`` (or folder) to count tokens with when the server
    has no ``/tokenize``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        model: str = "",
        *,
        api: Api = "chat",
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        concurrency: int = 4,
        cache: int = 4096,
        tokenizer: str | os.PathLike[str] | None = None,
        system: str | None = None,
    ) -> None:
        if api not in ("chat", "completions"):
            raise InvalidInputError(f"api must be 'chat' or 'completions', got {api!r}")
        check_number("concurrency", concurrency, minimum=1, integer=True)
        check_number("cache", cache, minimum=0, integer=True)
        given = base_url or os.environ.get(BASE_URL_ENV)
        if not given:
            raise InvalidInputError(
                "an LLM reranker needs the server's base_url (e.g. http://127.0.0.1:8080/v1, "
                f"or set {BASE_URL_ENV}); in a spec: 'llm-listwise:MODEL@http://HOST:PORT/v1'"
            )
        self.root = api_root(given, "/chat/completions" if api == "chat" else "/completions")
        self.model = model
        self.api: Api = api
        self.system = system
        key = api_key or os.environ.get("BLENDRANK_LLM_API_KEY")
        if key is None and urllib.parse.urlsplit(self.root).hostname == "api.openai.com":
            key = os.environ.get("OPENAI_API_KEY")  # OpenAI's own key goes only to OpenAI
        self._http = JsonClient(
            self.root,
            what="LLM server",
            api_key=key,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            key_hint=f"pass api_key= or set {' or '.join(API_KEY_ENVS)}",
        )
        self.concurrency = concurrency
        self._cache: OrderedDict[str, Completion] = OrderedDict()
        self._cache_size = cache
        self._truncated: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._lock = threading.Lock()
        self._tokenizer_source = tokenizer
        self._tokenizer: Any = None
        self._tokenize_shape: str | None = None  # "llama.cpp", "vllm", "none"; None: untried

    @property
    def timeout(self) -> float:
        return self._http.timeout

    def config(self) -> dict[str, Any]:
        return {
            "base_url": self.root,
            "model": self.model,
            "api": self.api,
            "timeout": self._http.timeout,
            "max_retries": self._http.max_retries,
            "concurrency": self.concurrency,
        }

    # ---- generation -------------------------------------------------------------------

    def generate(self, prompt: str, *, max_tokens: int, logprobs: int = 0) -> Completion:
        """One completion of ``prompt`` at temperature 0; ``logprobs`` > 0 asks for the top
        log-probabilities of each generated token."""
        key = self._key(prompt, max_tokens, logprobs)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return Completion(**{**hit.__dict__, "cached": True, "seconds": 0.0})
        started = time.perf_counter()
        payload = self._http.post(f"/{self._endpoint}", self._body(prompt, max_tokens, logprobs))
        completion = parse_completion(payload, self.api, time.perf_counter() - started)
        if self._cache_size:
            with self._lock:
                self._cache[key] = completion
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return completion

    def generate_many(
        self, prompts: Sequence[str], *, max_tokens: int, logprobs: int = 0
    ) -> list[Completion]:
        """:meth:`generate` of each prompt, up to ``concurrency`` at a time, in order."""
        if len(prompts) <= 1 or self.concurrency == 1:
            return [self.generate(p, max_tokens=max_tokens, logprobs=logprobs) for p in prompts]
        pool = ThreadPoolExecutor(min(self.concurrency, len(prompts)))
        futures = [
            pool.submit(self.generate, p, max_tokens=max_tokens, logprobs=logprobs) for p in prompts
        ]
        try:
            return [f.result() for f in futures]
        except BaseException:
            # the first failure ends the call: prompts not started yet are not sent
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)

    @property
    def _endpoint(self) -> str:
        return "chat/completions" if self.api == "chat" else "completions"

    def _body(self, prompt: str, max_tokens: int, logprobs: int) -> dict[str, Any]:
        body: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0}
        if self.model:
            body["model"] = self.model
        if self.api == "chat":
            messages = [{"role": "system", "content": self.system}] if self.system else []
            body["messages"] = [*messages, {"role": "user", "content": prompt}]
            if logprobs:
                body["logprobs"] = True
                body["top_logprobs"] = min(logprobs, 20)
        else:
            body["prompt"] = (self.system + "\n\n" + prompt) if self.system else prompt
            if logprobs:
                body["logprobs"] = logprobs  # OpenAI's own completions allow at most 5
        return body

    def _key(self, prompt: str, max_tokens: int, logprobs: int) -> str:
        settings = [self.root, self.model, self.api, self.system, max_tokens, logprobs, prompt]
        return hashlib.blake2b(json.dumps(settings).encode("utf-8"), digest_size=16).hexdigest()

    # ---- tokens -----------------------------------------------------------------------

    def truncate(self, text: str, max_tokens: int) -> str:
        """``text`` cut to at most ``max_tokens`` tokens of the model, counted by the
        server's ``/tokenize`` (llama.cpp, vLLM), else the ``tokenizer`` given, else
        about CHARS_PER_TOKEN characters per token."""
        if len(text.encode("utf-8")) <= max_tokens:  # a token is at least one byte
            return text
        key = (text, max_tokens)
        with self._lock:
            done = self._truncated.get(key)
        if done is not None:
            return done
        pieces = self._pieces(text)
        if pieces is None:
            cut = _estimated_cut(text, max_tokens)
        else:
            cut = text if len(pieces) <= max_tokens else "".join(pieces[:max_tokens])
        with self._lock:
            self._truncated[key] = cut
            while len(self._truncated) > 4 * max(1, self._cache_size):
                self._truncated.popitem(last=False)
        return cut

    def count_tokens(self, text: str) -> int:
        pieces = self._pieces(text)
        return estimate_tokens(text) if pieces is None else len(pieces)

    def _pieces(self, text: str) -> list[str] | None:
        """``text`` split into the model's tokens (as text), or None when nothing counts."""
        if self._tokenizer_source is not None:
            return self._local_pieces(text)
        if self._tokenize_shape != "none":
            pieces = self._server_pieces(text)
            if pieces is not None:
                return pieces
        return None

    def _local_pieces(self, text: str) -> list[str]:
        if self._tokenizer is None:
            from blendrank.models.tokenizer import load_tokenizer

            self._tokenizer = load_tokenizer(Path(self._tokenizer_source))  # type: ignore[arg-type]
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets = [(a, b) for a, b in encoding.offsets if b > a]
        if not offsets:
            return [text] if text else []
        # each piece runs to where the next starts, so the pieces join back to the text
        starts = [a for a, _ in offsets]
        ends = [*starts[1:], len(text)]
        return [text[: ends[0]], *(text[a:b] for a, b in zip(starts[1:], ends[1:], strict=True))]

    def _server_pieces(self, text: str) -> list[str] | None:
        root = server_root(self.root)
        probe = JsonClient(root, what="LLM server", timeout=self._http.timeout, max_retries=0)
        probe.api_key = self._http.api_key
        shapes = [self._tokenize_shape] if self._tokenize_shape else ["llama.cpp", "vllm"]
        for shape in shapes:
            body: dict[str, Any] = (
                {"content": text, "with_pieces": True}
                if shape == "llama.cpp"
                else {"prompt": text, "model": self.model, "add_special_tokens": False}
            )
            try:
                answer = probe.post("/tokenize", body)
            except RemoteModelError as failure:
                if not any(f"HTTP {code}" in str(failure) for code in (400, 404, 405, 422, 501)):
                    return None  # a timeout or a 5xx: estimate this time, ask again next time
                continue
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            if not isinstance(tokens, list):
                continue
            pieces = self._as_pieces(probe, tokens, text)
            if pieces is not None:
                self._tokenize_shape = shape
                return pieces
        self._tokenize_shape = "none"
        return None

    def _as_pieces(self, probe: JsonClient, tokens: list[Any], text: str) -> list[str] | None:
        if all(isinstance(t, dict) and isinstance(t.get("piece"), str) for t in tokens):
            pieces = [t["piece"] for t in tokens]
            return pieces if "".join(pieces) == text else _cut_points(pieces, text)
        if all(isinstance(t, int) for t in tokens):
            # ids only (vLLM): one piece per token, text recovered by /detokenize per prefix
            # is too many calls; a proportional character cut per token is exact enough
            per = len(text) / max(1, len(tokens))
            cuts = [round(i * per) for i in range(len(tokens) + 1)]
            return [text[cuts[i] : cuts[i + 1]] for i in range(len(tokens))]
        return None


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` when nothing can count them: CHARS_PER_TOKEN ASCII characters per
    token, one token per other character (CJK text runs about one token per character).

    >>> estimate_tokens("x" * 40), estimate_tokens("漢字" * 5)
    (10, 10)
    """
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


def _estimated_cut(text: str, max_tokens: int) -> str:
    budget = float(max_tokens)
    for at, ch in enumerate(text):
        budget -= 1.0 / CHARS_PER_TOKEN if ord(ch) < 128 else 1.0
        if budget < -1e-9:
            return text[:at]
    return text


def _cut_points(pieces: list[str], text: str) -> list[str] | None:
    """Pieces whose join differs from ``text`` (a leading space the tokenizer added, byte
    pieces): map them back onto ``text`` by length, or give up (None)."""
    total = sum(len(p) for p in pieces)
    if total == 0:
        return None
    per = len(text) / total
    out, at = [], 0.0
    for piece in pieces:
        nxt = at + len(piece) * per
        out.append(text[round(at) : round(nxt)])
        at = nxt
    return out


def parse_completion(payload: Any, api: Api, seconds: float) -> Completion:
    """A :class:`Completion` from a chat or completions response (OpenAI, vLLM, llama.cpp
    and TGI shapes), or a :class:`RemoteModelError` saying what is missing.

    >>> parse_completion({"choices": [{"text": " Yes", "finish_reason": "length",
    ...     "logprobs": {"top_logprobs": [{" Yes": -0.1, " No": -2.4}]}}],
    ...     "usage": {"prompt_tokens": 40, "completion_tokens": 1}}, "completions", 0.2)
    ... # doctest: +NORMALIZE_WHITESPACE
    Completion(text=' Yes', first_token_logprobs={' Yes': -0.1, ' No': -2.4},
               finish_reason='length', prompt_tokens=40, completion_tokens=1, seconds=0.2,
               cached=False)
    """
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise RemoteModelError(f"LLM server answer has no 'choices': {str(payload)[:200]}")
    choice = choices[0]
    if api == "chat":
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
    else:
        text = choice.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise RemoteModelError(f"LLM server answer text is not a string: {str(choice)[:200]}")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return Completion(
        text=text,
        first_token_logprobs=_first_token_logprobs(choice.get("logprobs")),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        seconds=seconds,
    )


def _first_token_logprobs(raw: Any) -> dict[str, float] | None:
    """``{token: logprob}`` of the first generated token's alternatives (its own token
    included), from ``content[0].top_logprobs`` (chat; llama.cpp completions) or
    ``top_logprobs[0]`` (OpenAI legacy completions)."""
    if not isinstance(raw, dict):
        return None
    out: dict[str, float] = {}
    content = raw.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        entries = list(first.get("top_logprobs") or [])
        entries.append({"token": first.get("token"), "logprob": first.get("logprob")})
        for entry in entries:
            if isinstance(entry, dict):
                _put(out, entry.get("token"), entry.get("logprob"))
    legacy = raw.get("top_logprobs")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        for token, value in legacy[0].items():
            _put(out, token, value)
    tokens, values = raw.get("tokens"), raw.get("token_logprobs")
    if isinstance(tokens, list) and isinstance(values, list) and tokens and values:
        _put(out, tokens[0], values[0])
    return out or None


def _put(out: dict[str, float], token: Any, value: Any) -> None:
    if isinstance(token, str) and isinstance(value, (int, float)) and math.isfinite(value):
        out[token] = max(float(value), out.get(token, -math.inf))

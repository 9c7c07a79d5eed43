"""One JSON-over-HTTP client for every remote model blendrank talks to (embedding servers,
LLM servers), stdlib only.

Every call has a timeout; connection errors, timeouts, 429 and 5xx are retried a bounded
number of times with exponential backoff, honouring ``Retry-After`` (capped); any other
4xx raises at once with the server's own message and a hint for the usual causes (a bad
key, a wrong ``base_url``).

>>> client = JsonClient("http://127.0.0.1:9/v1", what="LLM server", max_retries=0, timeout=1)
>>> client.post("/chat/completions", {})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
blendrank.errors.RemoteModelError: LLM server request to ... failed after 1 attempt(s) ...
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from blendrank.errors import InvalidInputError, RemoteModelError

_MAX_BACKOFF_S = 30.0
#: the longest ``Retry-After`` honoured; a longer one is waited this long
MAX_RETRY_AFTER_S = 120.0


def api_root(base_url: str, endpoint: str = "") -> str:
    """``base_url`` checked, without a trailing ``endpoint`` path and slash; a bare host
    gets ``/v1``.

    >>> api_root("http://127.0.0.1:8000")
    'http://127.0.0.1:8000/v1'
    >>> api_root("https://api.example.com/v1/chat/completions", "/chat/completions")
    'https://api.example.com/v1'
    """
    if not isinstance(base_url, str):
        raise InvalidInputError(f"base_url must be a string, got {type(base_url).__name__}")
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(
            f"base_url must look like http://host:port or https://host/v1, got {base_url!r}"
        )
    path = parts.path.rstrip("/")
    if endpoint and path.endswith(endpoint):
        path = path[: -len(endpoint)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/v1", "", ""))


def server_root(url: str) -> str:
    """Scheme and host of ``url`` (where llama.cpp and vLLM serve ``/tokenize``)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class JsonClient:
    """POST JSON to ``root + path``; see the module docstring for timeouts and retries.

    ``what`` names the server in errors ("embedding server", "LLM server"); ``key_hint``
    says where the key comes from (shown on 401/403); ``error`` is the exception raised.
    """

    def __init__(
        self,
        root: str,
        *,
        what: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        key_hint: str = "pass api_key=",
        error: type[Exception] = RemoteModelError,
    ) -> None:
        check_number("timeout", timeout, minimum=1e-3)
        check_number("max_retries", max_retries, minimum=0, integer=True)
        check_number("retry_backoff", retry_backoff, minimum=0)
        self.root = root.rstrip("/")
        self.what = what
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.retry_backoff = float(retry_backoff)
        self.key_hint = key_hint
        self.error = error

    def post(self, path: str, body: dict[str, Any], *, url: str | None = None) -> Any:
        """The decoded JSON answer to ``body`` (``url`` overrides ``root + path``)."""
        target = url or self.root + path
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(target, data=data, headers=headers, method="POST")
            wait: float | None = None
            try:
                with _OPENER.open(request, timeout=self.timeout) as response:
                    payload = response.read()
                return self._decode(payload, target)
            except _Redirected as moved:
                raise self.error(
                    f"{self.what} {target} redirects to {moved.location}; a POST with its key "
                    "is not followed to another address: use that address as base_url"
                ) from None
            except urllib.error.HTTPError as failure:
                message = server_message(failure)
                if failure.code != 429 and failure.code < 500:
                    raise self.error(self._client_error(failure.code, target, message)) from None
                last_problem = f"HTTP {failure.code}: {message}"
                wait = retry_after_seconds(failure.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as failure:  # refused, timeout, reset
                reason = getattr(failure, "reason", failure)
                last_problem = f"{type(reason).__name__}: {reason}"
            if attempt < self.max_retries:
                backoff = min(self.retry_backoff * 2**attempt, _MAX_BACKOFF_S)
                time.sleep(backoff if wait is None else wait)
        raise self.error(
            f"{self.what} request to {target} failed after {self.max_retries + 1} attempt(s) "
            f"(timeout {self.timeout:g}s each); last error: {last_problem}"
        )

    def _decode(self, payload: bytes, url: str) -> Any:
        try:
            return json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self.error(f"{url} did not return JSON: {payload[:200]!r}") from None

    def _client_error(self, code: int, url: str, message: str) -> str:
        hint = ""
        if code in (401, 403):
            hint = f" (check the API key: {self.key_hint})"
        elif code == 404:
            hint = " (check base_url: it should end at the API root, e.g. http://host:port/v1)"
        return f"{self.what} {url} rejected the request with HTTP {code}: {message}{hint}"


class _Redirected(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a 30x with the Authorization header to any host (and turn the
    POST into a GET); refuse instead, naming where the server points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise _Redirected(newurl)


_OPENER = urllib.request.build_opener(_NoRedirects())


def server_message(failure: urllib.error.HTTPError) -> str:
    """The message in an error response (OpenAI, FastAPI and plain-text shapes)."""
    try:
        raw = failure.read().decode("utf-8", "replace")
    except OSError:
        return str(failure.reason)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()[:500] or str(failure.reason)
    if isinstance(data, dict):
        inner = data.get("error", data.get("detail", data.get("message")))
        if isinstance(inner, dict):
            inner = inner.get("message", inner)
        if inner is not None:
            return str(inner)[:500]
    return raw.strip()[:500]


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) in seconds, within [0, MAX_RETRY_AFTER_S].

    >>> retry_after_seconds("2"), retry_after_seconds("1000"), retry_after_seconds("soon")
    (2.0, 120.0, None)
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def check_number(name: str, value: Any, *, minimum: float, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an int" if integer else "a number"
        raise InvalidInputError(f"{name} must be {kind} >= {minimum:g}, got {value!r}")

"""Response bodies of a FAKE OpenAI-compatible server, in the published shapes."""

from __future__ import annotations

import time
from typing import Any


def chat_answer(text: str, finish: str = "stop", logprobs: dict[str, float] | None = None):
    """A chat completion response body in OpenAI's published shape."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": finish,
    }
    if logprobs is not None:
        first, *_ = list(logprobs) or [""]
        choice["logprobs"] = {
            "content": [
                {
                    "token": first,
                    "logprob": logprobs.get(first, 0.0),
                    "top_logprobs": [{"token": t, "logprob": v} for t, v in logprobs.items()],
                }
            ]
        }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake",
        "choices": [choice],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }

"""The rerankers one server serves, by name, with what the HTTP formats need beside
scores: the score scale, a tokenizer to cut documents at ``max_tokens_per_doc`` and to
check TEI's ``truncate=false``, and the model's window.

>>> import numpy as np
>>> from blendrank.rerank import Reranker
>>> class Length(Reranker):
...     def score(self, query, texts):
...         return np.array([len(t) for t in texts], dtype=np.float32)
>>> models = ModelRegistry({"length": Length()})
>>> models.get(None).name, models.names
('length', ('length',))
>>> models.get("rerank-v3.5")
Traceback (most recent call last):
...
blendrank.service.errors.ServiceError: unknown model 'rerank-v3.5'; this server serves: 'length'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker, Scale
from blendrank.service.errors import ServiceError

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ServedModel:
    """One served reranker. ``batched``: it scores many (query, texts) groups in one call
    (``score_groups``), so concurrent requests can share model calls."""

    name: str
    reranker: Reranker
    scale: Scale
    tokenizer: Any  # a ``tokenizers.Tokenizer`` with truncation off, or None (word split)
    max_length: int | None  # tokens per (query, document) window, when the model has one

    @property
    def batched(self) -> bool:
        return self.reranker.supports_groups

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        """Each text cut after its first ``max_tokens`` tokens (the model's tokenizer, or
        whitespace-separated words for a model without one)."""
        if self.tokenizer is None:
            out = []
            for text in texts:
                words = list(_WORD.finditer(text))
                out.append(
                    text if len(words) <= max_tokens else text[: words[max_tokens - 1].end()]
                )
            return out
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [
            text if len(e.offsets) <= max_tokens else text[: e.offsets[max_tokens - 1][1]]
            for text, e in zip(texts, encodings, strict=True)
        ]

    def keep_end(self, query: str, texts: Sequence[str]) -> list[str]:
        """Each text whose (query, text) pair is longer than the model window cut from the
        left, keeping its end (TEI's ``truncation_direction="left"``)."""
        if self.tokenizer is None or self.max_length is None:
            return list(texts)
        fixed = len(self.tokenizer.encode(query, add_special_tokens=False).ids)
        room = max(1, self.max_length - fixed - self.tokenizer.num_special_tokens_to_add(True))
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [
            text if len(e.offsets) <= room else text[e.offsets[-room][0] :]
            for text, e in zip(texts, encodings, strict=True)
        ]

    def count_tokens(self, query: str, texts: Sequence[str]) -> int:
        """Tokens read for these (query, text) pairs, as Jina and Voyage report them (the
        model's tokenizer, or words for a model without one)."""
        if self.tokenizer is None:
            return len(texts) * len(_WORD.findall(query)) + sum(
                len(_WORD.findall(t)) for t in texts
            )
        fixed = len(self.tokenizer.encode(query, add_special_tokens=True).ids)
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return sum(fixed + len(e.ids) for e in encodings)

    def too_long(self, query: str, texts: Sequence[str]) -> tuple[int, int] | None:
        """(position, tokens) of the first (query, text) pair longer than the model's
        window, or None when all fit (or the model has no window)."""
        if self.tokenizer is None or self.max_length is None:
            return None
        fixed = len(self.tokenizer.encode(query, add_special_tokens=False).ids)
        fixed += self.tokenizer.num_special_tokens_to_add(True)
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for position, encoding in enumerate(encodings):
            if fixed + len(encoding.ids) > self.max_length:
                return position, fixed + len(encoding.ids)
        return None


def served_model(name: str, reranker: Reranker) -> ServedModel:
    """Wrap a reranker for serving; a cross-encoder gets its own tokenizer copy (the
    reranker's is reconfigured while it encodes, so it is not shared across threads)."""
    if not isinstance(reranker, Reranker):
        raise InvalidInputError(
            f"model {name!r} must be a blendrank Reranker, got {type(reranker).__name__}"
        )
    tokenizer = None
    if reranker.tokenizer_folder is not None:
        from blendrank.models.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(reranker.tokenizer_folder)
    return ServedModel(name, reranker, reranker.scale, tokenizer, reranker.max_length)


class ModelRegistry:
    """Served models by name; the first one is the default (for formats without ``model``)."""

    def __init__(self, models: Mapping[str, Reranker]) -> None:
        if not isinstance(models, Mapping):
            raise InvalidInputError("models must be a mapping of name -> Reranker")
        self._models: dict[str, ServedModel] = {}
        for name, reranker in models.items():
            if not isinstance(name, str) or not name.strip():
                raise InvalidInputError(f"model names must be non-empty strings, got {name!r}")
            self._models[name] = served_model(name, reranker)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self):
        return iter(self._models.values())

    def get(self, name: str | None) -> ServedModel:
        """The model called ``name`` (the default one for None); 404 naming the served ones."""
        if not self._models:
            raise ServiceError(
                404,
                "this server serves no reranker; start it with `blendrank serve --reranker SPEC`",
                error_type="model_not_found",
            )
        if name is None:
            return next(iter(self._models.values()))
        found = self._models.get(name)
        if found is None:
            served = ", ".join(repr(n) for n in self._models)
            raise ServiceError(
                404,
                f"unknown model {name!r}; this server serves: {served}",
                error_type="model_not_found",
            )
        return found


def model_name(spec: str) -> str:
    """The served name of a ``--reranker`` spec: ``NAME=SPEC`` gives NAME; a local folder
    its base name; anything else (a hub id, ``bi:<embedder>``) the spec itself.

    >>> model_name("fast=/models/ms-marco-MiniLM-L-6-v2"), model_name("bi:all-MiniLM-L6-v2")
    ('fast', 'bi:all-MiniLM-L6-v2')
    """
    name, sep, rest = spec.partition("=")
    if sep and name.strip() and rest.strip():
        return name.strip()
    path = spec.removeprefix("cross:")
    if os.path.isdir(path):
        return os.path.basename(os.path.normpath(path))
    return spec.strip()


def model_spec(spec: str) -> str:
    """The reranker spec part of a ``--reranker`` value (``NAME=SPEC`` gives SPEC)."""
    name, sep, rest = spec.partition("=")
    return rest.strip() if sep and name.strip() and rest.strip() else spec.strip()

"""Token-window chunking with a real tokenizer (Hugging Face ``tokenizers``).

A document is cut into windows of ``chunk_size`` tokens that advance by
``chunk_size - overlap`` tokens. Each chunk's text is the slice of the document text
from its first token's start offset to its last token's end offset, so
``chunk.text == document.text[chunk.start:chunk.end]`` always holds. A document of at
most ``chunk_size`` tokens is one chunk covering the whole text.

>>> from blendrank.types import Document
>>> chunker = TokenChunker(chunk_size=4, overlap=1)
>>> [c.text for c in chunker.chunk(Document("d", "one two three four five six seven"))]
['one two three four', 'four five six seven']
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from blendrank._bundled import MINILM_TOKENIZER
from blendrank.errors import InvalidInputError
from blendrank.models.tokenizer import load_tokenizer as load_model_tokenizer
from blendrank.types import Chunk, Document

DEFAULT_TOKENIZER_NAME = "all-MiniLM-L6-v2"
# Documents per encode_batch call: large enough to use the Rust batch path, small enough
# that a million documents do not hold a million Encoding objects at once.
ENCODE_BATCH = 512


def load_tokenizer(source: str | Path | None = None) -> Tokenizer:
    """Load a ``tokenizers.Tokenizer`` with truncation and padding switched off.

    ``source``: None for the all-MiniLM-L6-v2 tokenizer shipped inside blendrank
    (``blendrank/_data/all-MiniLM-L6-v2``); a folder containing ``tokenizer.json``; or the path
    of a ``tokenizer.json`` file (any source :func:`blendrank.models.tokenizer.load_tokenizer`
    reads).

    >>> load_tokenizer().encode("Hello world", add_special_tokens=False).tokens
    ['hello', 'world']
    """
    return load_model_tokenizer(MINILM_TOKENIZER if source is None else source)


class TokenChunker:
    """Cut documents into overlapping windows of tokens.

    ``tokenizer``: a ``tokenizers.Tokenizer`` (copied, then truncation and padding are
    switched off on the copy), or a ``source`` for :func:`load_tokenizer` (None: the
    default all-MiniLM-L6-v2 tokenizer). ``chunk_size >= 1``, ``0 <= overlap < chunk_size``.

    Chunk ids are ``f"{doc.id}#{n}"`` with ``n`` from 0; chunks carry the document's title
    and a copy of its metadata. Empty or whitespace-only text gives one empty chunk, so a
    document with only a title is still indexed.
    """

    def __init__(
        self,
        tokenizer: Tokenizer | str | Path | None = None,
        chunk_size: int = 512,
        overlap: int = 128,
    ) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInputError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise InvalidInputError(f"overlap must be an integer >= 0, got {overlap!r}")
        if overlap >= chunk_size:
            raise InvalidInputError(
                f"overlap must be smaller than chunk_size, got overlap={overlap} "
                f"and chunk_size={chunk_size}"
            )
        if isinstance(tokenizer, Tokenizer):
            self._source: str | None = "<custom>"
            self.tokenizer = Tokenizer.from_str(tokenizer.to_str())
            self.tokenizer.no_truncation()
            self.tokenizer.no_padding()
        else:
            self._source = None if tokenizer is None else str(tokenizer)
            self.tokenizer = load_tokenizer(tokenizer)
        self.chunk_size = chunk_size
        self.overlap = overlap
        self._fingerprint: str | None = None

    def config(self) -> dict[str, Any]:
        """JSON-serialisable settings; ``tokenizer_sha256`` identifies the exact tokenizer.

        ``tokenizer`` is None for the default tokenizer, the path it was loaded from, or
        ``"<custom>"`` for a Tokenizer object passed in.
        """
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self.tokenizer.to_str().encode()).hexdigest()
        return {
            "name": "token",
            "tokenizer": self._source,
            "tokenizer_sha256": self._fingerprint,
            "chunk_size": self.chunk_size,
            "overlap": self.overlap,
        }

    def chunk(self, doc: Document) -> list[Chunk]:
        """The chunks of one document, in order."""
        return self.chunk_many([doc])[0]

    def chunk_many(self, docs: Sequence[Document]) -> list[list[Chunk]]:
        """The chunks of each document (tokenised in batches: much faster than a loop)."""
        result: list[list[Chunk]] = []
        for start in range(0, len(docs), ENCODE_BATCH):
            batch = docs[start : start + ENCODE_BATCH]
            encodings = self.tokenizer.encode_batch(
                [doc.text for doc in batch], add_special_tokens=False
            )
            for doc, encoding in zip(batch, encodings, strict=True):
                result.append(_chunks_of(doc, self._spans(encoding, len(doc.text))))
        return result

    def _spans(self, encoding: Any, text_length: int) -> list[tuple[int, int]]:
        n_tokens = len(encoding)
        if n_tokens <= self.chunk_size:
            return [(0, text_length if n_tokens else 0)]
        # token_to_chars on the two boundary tokens only: building encoding.offsets for
        # every token costs more than the tokenisation of short documents. (It returns
        # None only for special tokens, which encode_batch is told not to add.)
        to_chars = encoding.token_to_chars
        return [
            (to_chars(first)[0], to_chars(last)[1])
            for first, last in token_windows(n_tokens, self.chunk_size, self.overlap)
        ]


def token_windows(n_tokens: int, chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """Inclusive token ranges ``(first, last)`` of the windows over ``n_tokens`` tokens.

    Windows start every ``chunk_size - overlap`` tokens and stop at the first one that
    reaches the last token, so no window lies inside the previous one.

    >>> token_windows(7, chunk_size=4, overlap=1)
    [(0, 3), (3, 6)]
    >>> token_windows(7, chunk_size=4, overlap=2)
    [(0, 3), (2, 5), (4, 6)]
    >>> token_windows(3, chunk_size=4, overlap=2)
    [(0, 2)]
    """
    step = chunk_size - overlap
    windows = []
    first = 0
    while True:
        last = min(first + chunk_size, n_tokens) - 1
        windows.append((first, last))
        if last >= n_tokens - 1:
            return windows
        first += step


def _chunks_of(doc: Document, spans: list[tuple[int, int]]) -> list[Chunk]:
    text = doc.text
    return [
        Chunk(
            id=f"{doc.id}#{n}",
            doc_id=doc.id,
            n=n,
            text=text[start:end],
            start=start,
            end=end,
            title=doc.title,
            metadata=dict(doc.metadata),
        )
        for n, (start, end) in enumerate(spans)
    ]

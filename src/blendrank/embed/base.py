"""The one embedder contract: subclasses embed a batch, the base class does the rest.

A backend implements only :meth:`Embedder._embed_batch`. The base class validates
input, sorts texts by length so each batch pads as little as possible, restores the
caller's order, shows a progress bar, checks shapes and L2-normalises.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from blendrank.embed.pooling import l2_normalize
from blendrank.errors import EmbeddingError, InvalidInputError

Kind = Literal["query", "document"]


def check_texts(texts: Sequence[str], what: str = "texts") -> list[str]:
    """Return ``texts`` as a new list, or raise InvalidInputError if any item is not a str."""
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a list of strings, got a single {type(texts).__name__}; "
            f"wrap it in a list: [{texts!r:.40}]"
        )
    try:
        items = list(texts)
    except TypeError:
        raise InvalidInputError(
            f"{what} must be a list of strings, got {type(texts).__name__}"
        ) from None
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError(
                f"{what}[{position}] must be a str, got {type(item).__name__} ({item!r:.40})"
            )
    return items


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Split positions into batches of similar text length, longest first.

    Sorting by length keeps padding small; the sort is stable so equal lengths keep
    their order, and the result is deterministic.

    >>> length_sorted_batches(["aaa", "b", "cc", "dddd"], 2)
    [[3, 0], [2, 1]]
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors; subclasses implement one method.

    >>> import numpy as np
    >>> class Letters(Embedder):
    ...     def _embed_batch(self, texts, kind):
    ...         return np.array([[t.count("a"), t.count("b")] for t in texts], dtype=float)
    ...     def config(self):
    ...         return {"type": "letters"}
    >>> Letters().embed_documents(["ab", "bbb"]).astype(float).round(3).tolist()
    [[0.707, 0.707], [0.0, 1.0]]
    """

    #: how many texts go to one ``_embed_batch`` call unless the caller says otherwise
    default_batch_size: int = 32
    _known_dim: int | None = None

    @abstractmethod
    def _embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Return an ``(len(texts), dim)`` array for one batch (need not be normalised)."""

    #: the model's window in tokens, where the backend knows it (None: unknown)
    max_tokens: int | None = None

    def count_truncated(self, texts: list[str], kind: Kind = "document") -> int | None:
        """How many ``texts`` are longer than the model reads (None: this backend can't tell)."""
        return None

    @property
    def dim(self) -> int:
        """Vector length; backends that know it override this, others embed one probe text."""
        if self._known_dim is None:
            probe = np.asarray(self._embed_batch(["dimension probe"], "document"))
            if probe.ndim != 2 or probe.shape[0] != 1:
                raise EmbeddingError(
                    f"{type(self).__name__} returned shape {probe.shape} for one text"
                )
            self._known_dim = int(probe.shape[1])
        return self._known_dim

    def config(self) -> dict[str, Any]:
        """JSON-serialisable settings that rebuild this embedder via ``embedder_from_config``."""
        raise NotImplementedError(f"{type(self).__name__} does not define config()")

    @property
    def fingerprint(self) -> str:
        """A stable id of everything that changes the vectors (model, pooling, length...).

        Two embedders with the same fingerprint produce interchangeable vectors, so an
        index can refuse queries embedded by a different model.
        """
        payload = json.dumps(self.config(), sort_keys=True, default=str)
        return f"{type(self).__name__}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Embed documents (passages) as float32 ``(n, dim)`` unit vectors, in input order."""
        return self._embed_all(check_texts(texts), "document", batch_size, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries as float32 ``(n, dim)`` unit vectors, in input order."""
        return self._embed_all(check_texts(texts, "queries"), "query", None, False)

    def _embed_all(
        self, texts: list[str], kind: Kind, batch_size: int | None, progress: bool
    ) -> np.ndarray:
        size = self.default_batch_size if batch_size is None else batch_size
        batches = length_sorted_batches(texts, size)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: np.ndarray | None = None
        bar = _progress_bar(len(texts), kind) if progress else None
        try:
            for positions in batches:
                vectors = self._checked_batch([texts[i] for i in positions], kind)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                if vectors.shape[1] != out.shape[1]:
                    raise EmbeddingError(
                        f"{type(self).__name__} changed dimension mid-run: "
                        f"{out.shape[1]} then {vectors.shape[1]}"
                    )
                out[positions] = vectors
                if bar is not None:
                    bar.update(len(positions))
        finally:
            if bar is not None:
                bar.close()
        assert out is not None  # texts is non-empty, so at least one batch ran
        return out

    def _checked_batch(self, batch: list[str], kind: Kind) -> np.ndarray:
        vectors = np.asarray(self._embed_batch(batch, kind))
        if vectors.ndim != 2 or vectors.shape[0] != len(batch):
            raise EmbeddingError(
                f"{type(self).__name__} returned shape {vectors.shape} "
                f"for a batch of {len(batch)} texts"
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingError(f"{type(self).__name__} returned NaN or infinite values")
        return l2_normalize(vectors)


def _progress_bar(total: int, kind: Kind) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"embedding {kind}s", unit="text")

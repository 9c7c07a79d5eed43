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


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def test_opening_maps_vectors_and_graph_instead_of_reading_them(tmp_path: Path) -> None:
    # 60,000 x 128 float32 = 29 MB of vectors plus the HNSW file; opening must not read
    # them: RSS grows by a small fraction of the files, and searches still agree.
    rng = np.random.default_rng(1)
    v = rng.normal(size=(60_000, 128)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    config = AnnConfig(connectivity=8, expansion_add=32, expansion_search=64)
    built = DenseRetriever.build(v, config)
    built.save(tmp_path)
    on_disk = sum(f.stat().st_size for f in tmp_path.iterdir()) / 2**20
    del v
    before = _rss_mb()
    opened = DenseRetriever.load(tmp_path, config)
    grown = _rss_mb() - before
    assert isinstance(opened.vectors, np.memmap)
    assert grown < 0.2 * on_disk, (grown, on_disk)
    query = built.vectors[7]
    assert opened.search(query, 5)[0].tolist() == built.search(query, 5)[0].tolist()
    assert opened.search(query, 5, exact=True)[0][0] == 7

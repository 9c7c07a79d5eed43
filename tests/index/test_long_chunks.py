"""A chunk longer than the embedder's window is windowed (default) or reported, never cut
without a word."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from blendrank import Document, Index
from blendrank.embed.onnx import OnnxEmbedder
from blendrank.errors import TruncationWarning

# ~600 tokens: at chunk_size 512 the first chunk exceeds all-MiniLM-L6-v2's 256 tokens.
HEAD = "solar panels convert sunlight into electricity " * 40
TAIL = "the tail of this document talks only about volcanic basalt geology " * 30
LONG = Document("long", HEAD + TAIL, title="")
SHORT = Document("short", "A short note about backups.")


def test_default_index_windows_long_chunks_and_reports_none_truncated(tmp_path):
    index = Index.create(tmp_path / "idx")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        index.add([LONG, SHORT])
    assert index.settings["embedder"]["long_texts"] == "windows"
    assert index.info()["chunks_truncated"] == 0


def test_the_tail_of_a_long_chunk_is_visible_to_dense_retrieval(tmp_path):
    # One 600-token chunk: truncated, dense retrieval sees only the solar-panel head.
    def tail_score(long_texts: str) -> float:
        embedder = {"type": "onnx", "model": "all-MiniLM-L6-v2", "long_texts": long_texts}
        index = Index.create(tmp_path / long_texts, embedder=embedder, chunk_size=1024)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)
            index.add([LONG])
        (hit,) = index.search("volcanic basalt geology", top_k=1, mode="dense")
        return hit.scores["dense"]

    assert tail_score("windows") > tail_score("truncate") + 0.1


def test_truncating_embedder_warns_and_counts(tmp_path):
    embedder = {"type": "onnx", "model": "all-MiniLM-L6-v2", "long_texts": "truncate"}
    index = Index.create(tmp_path / "idx", embedder=embedder)
    with pytest.warns(TruncationWarning, match=r"1 of 3 chunks are longer than .* 256-token"):
        index.add([LONG, SHORT])
    assert index.info()["chunks"] == 3 and index.info()["chunks_truncated"] == 1
    reopened = Index.open(index.path)
    assert reopened.info()["chunks_truncated"] == 1
    reopened.delete(["long"])
    assert reopened.info()["chunks_truncated"] == 0


def test_windowed_vector_differs_from_the_truncated_one_only_for_long_text():
    windowed = OnnxEmbedder(threads=1)
    truncating = OnnxEmbedder(threads=1, long_texts="truncate")
    texts = [LONG.text, SHORT.text]
    a, b = windowed.embed_documents(texts), truncating.embed_documents(texts)
    assert float(a[0] @ b[0]) < 0.99  # the tail changed the long text's vector
    np.testing.assert_allclose(a[1], b[1], atol=1e-6)


def test_bm25_only_index_reports_unknown(tmp_path):
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([LONG])
    assert index.info()["chunks_truncated"] is None

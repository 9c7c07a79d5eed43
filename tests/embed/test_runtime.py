"""The embedder's runtimes: ONNX Runtime (core) and OpenVINO (extra), chosen by ``backend``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from blendrank.embed import embedder_from_config
from blendrank.embed.onnx import OnnxEmbedder
from blendrank.embed.runtime import resolve_backend
from blendrank.errors import InvalidInputError, MissingDependencyError

TEXTS = [
    "Vitamin D supplementation reduces the risk of hip fractures in older adults.",
    "The stock market fell sharply on Monday.",
    "A man is eating a piece of bread.",
    "word " * 400,  # longer than the window: embedded as windows
]


def test_bad_backend_or_precision_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="backend must be one of auto, onnx, openvino"):
        OnnxEmbedder(backend="tensorrt")
    with pytest.raises(InvalidInputError, match="precision must be one of"):
        OnnxEmbedder(precision="int4")
    with pytest.raises(InvalidInputError, match="OpenVINO's"):
        OnnxEmbedder(backend="onnx", precision="bf16")


def test_auto_without_openvino_runs_onnx_runtime(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed
    assert resolve_backend("auto") == "onnx"
    embedder = OnnxEmbedder(threads=1)
    assert embedder.runtime == "onnx"
    assert embedder.config()["backend"] == "auto"  # reopened elsewhere, it picks again
    with pytest.raises(MissingDependencyError, match=r"blendrank\[openvino\]"):
        OnnxEmbedder(backend="openvino")


@pytest.fixture(scope="module")
def both():
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    return OnnxEmbedder(threads=2, backend="onnx"), OnnxEmbedder(threads=2, backend="openvino")


def test_openvino_embeds_like_onnx_runtime(both):
    ort, ov = both
    assert ov.runtime.startswith("openvino:")
    a, b = ort.embed_documents(TEXTS), ov.embed_documents(TEXTS)
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float((a * b).sum(1).min()) > 0.999  # measured 0.99997 (bf16) on int8 weights
    qa, qb = ort.embed_queries(["vitamin D fractures"]), ov.embed_queries(["vitamin D fractures"])
    assert float((qa * qb).sum()) > 0.999


def test_openvino_fingerprint_is_its_own_and_config_round_trips(both):
    ort, ov = both
    assert ov.fingerprint != ort.fingerprint  # cached vectors never mix runtimes
    again = embedder_from_config(ov.config())
    assert again.fingerprint == ov.fingerprint
    f32 = OnnxEmbedder(threads=1, backend="openvino", precision="f32")
    assert f32.runtime == "openvino:f32" and f32.fingerprint != ov.fingerprint


def test_index_reopens_on_either_runtime(both, tmp_path):
    from blendrank import Document, Index

    ort, ov = both
    docs = [Document(str(i), t) for i, t in enumerate(TEXTS)]
    index = Index.create(tmp_path / "ix", embedder=ort.config())
    index.add(docs)
    index.close()
    reopened = Index.open(tmp_path / "ix")
    assert reopened.embedder.runtime == "onnx"  # the stored choice, not the machine's
    hits = reopened.search("hip fractures and vitamin D", mode="dense", top_k=1)
    assert hits[0].doc_id == "0"


def test_openvino_embedder_is_safe_to_share_between_threads(both):
    from concurrent.futures import ThreadPoolExecutor

    ort, ov = both
    expected = ov.embed_documents(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ov.embed_documents(TEXTS), range(8)))
    for vectors in results:
        np.testing.assert_allclose(vectors, expected, atol=1e-6)

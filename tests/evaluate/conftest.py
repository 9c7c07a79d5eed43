"""Fixtures of the evaluation tests: the toy BEIR folder and a real reranker loader."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def toy_dir(fixtures_dir):
    """tests/fixtures/eval/beir_toy: 7 docs, test queries q1-q3, train queries q4-q5.

    test qrels: q1: d1=2, d5=1, d3=1, d7=0 ; q2: d6=1 ; q3: d2=1
    runs/first.trec (test part): q1: d1, d3, d7, d4 ; q2: d2, d6 ; q3: d2, d1
    """
    return fixtures_dir / "eval" / "beir_toy"

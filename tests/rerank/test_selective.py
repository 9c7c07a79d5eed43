"""SelectiveReranker: skip the model when the first stage is decisive."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import SelectiveReranker, first_stage_decision
from blendrank.rerank.base import Reranker
from blendrank.types import Hit


class LengthReranker(Reranker):
    """Longer text, higher score: disagrees with the first-stage scores below."""

    name = "length"

    def score(self, query, texts):
        return np.array([len(t) for t in texts], dtype=np.float32)


def hits(scores, dense=None):
    texts = ["x", "yy", "zzz", "wwww"][: len(scores)]
    return [
        Hit(
            id=t,
            doc_id=t,
            score=s,
            text=t,
            scores={"fused": s, **({} if dense is None else {"dense": dense[i]})},
        )
        for i, (t, s) in enumerate(zip(texts, scores, strict=True))
    ]


def test_decisive_gap_skips_the_model():
    # minmax [10, 4, 2, 0] -> [1, .4, .2, 0]: gap 1 - .4 = .6 >= .5
    rf = SelectiveReranker(LengthReranker(), margin=0.5)
    out = rf.rerank("q", hits([10.0, 4.0, 2.0, 0.0]), top_k=3)
    assert [h.id for h in out] == ["x", "yy", "zzz"]  # first-stage order
    assert "rerank" not in out[0].scores and out[0].score == 10.0
    info = out.info
    assert info["skipped"] is True and info["gap"] == pytest.approx(0.6)
    assert "margin 0.5" in info["reason"]


def test_close_call_runs_the_model():
    # minmax [10, 8, 2, 0] -> gap .2 < .5: the length model reorders
    rf = SelectiveReranker(LengthReranker(), margin=0.5)
    out = rf.rerank("q", hits([10.0, 8.0, 2.0, 0.0]))
    assert [h.id for h in out] == ["wwww", "zzz", "yy", "x"]
    assert out[0].scores["rerank"] == 4.0
    assert out.info["skipped"] is False and out.info["gap"] == pytest.approx(0.2)


def test_rerank_returns_info_and_respects_first_stage_key():
    rf = SelectiveReranker(LengthReranker(), margin=0.5, first_stage="dense")
    # fused scores are decisive, but dense [1, 1, 0, 0] are not (gap 0): model runs
    results = rf("q", hits([10.0, 4.0, 2.0, 0.0], dense=[1.0, 1.0, 0.0, 0.0]))
    assert results.info["skipped"] is False
    assert [r.text for r in results][0] == "wwww"


def test_explicit_scores_and_mappings():
    rf = SelectiveReranker(LengthReranker(), margin=0.5)
    docs = ["x", "yy", "zzz", "wwww"]
    skipped = rf("q", docs, first_stage_scores=[0.0, 9.0, 1.0, 2.0])
    # minmax -> [0, 1, .111, .222]: gap .778 -> skip, order by given scores
    assert skipped.info["skipped"] is True
    assert [r.text for r in skipped] == ["yy", "wwww", "zzz", "x"]
    mappings = [{"text": t, "score": s} for t, s in zip(docs, [0.0, 9.0, 1.0, 2.0], strict=True)]
    assert rf("q", mappings).info["skipped"] is True
    plain = rf("q", docs)
    assert plain.info["skipped"] is False and "no first-stage scores" in plain.info["reason"]
    with pytest.raises(InvalidInputError, match="first_stage_scores"):
        rf("q", docs, first_stage_scores=[1.0, 2.0])


def test_candidate_count_rules():
    assert first_stage_decision(np.array([3.0]), 0.5)[0] is True
    # two candidates: minmax gap is always 1, so it never decides
    assert first_stage_decision(np.array([3.0, 1.0]), 0.5)[0] is False
    # zscore [10, 4, 2, 0]: mean 4, std 3.741657 -> gap (10 - 4)/3.741657 = 1.603567
    skip, _, gap = first_stage_decision(np.array([10.0, 4.0, 2.0, 0.0]), 1.5, "zscore")
    assert skip is True and gap == pytest.approx(1.603567, abs=1e-6)


def test_bad_margin():
    with pytest.raises(InvalidInputError, match="margin"):
        SelectiveReranker(LengthReranker(), margin=-0.1)

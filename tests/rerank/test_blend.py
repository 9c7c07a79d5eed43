"""BlendReranker: interpolation of reranker and first-stage scores, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import BlendReranker, LRUScoreCache
from blendrank.types import Hit

from .doubles import TableReranker

FIRST = {"a": 0.9, "b": 0.8, "c": 0.5, "d": 0.3, "e": 0.1}
SECOND = {"a": 0.0, "b": 4.0, "c": 2.0, "d": 10.0, "e": 8.0}
DOCS = ["a", "b", "c", "d", "e"]
FIRST_SCORES = [FIRST[d] for d in DOCS]


def hits(key: str | None = None) -> list[Hit]:
    out = []
    for d in DOCS:
        scores = {"bm25": FIRST[d] * 10} if key == "bm25" else {}
        out.append(Hit(id=d, doc_id=d, score=FIRST[d], text=d, scores=scores))
    return out


def test_blend_over_all_candidates():
    # minmax first: a 1, b .875, c .5, d .25, e 0; minmax second: a 0, b .4, c .2, d 1, e .8
    # weight .5: a .5, b .6375, c .35, d .625, e .4
    rf = BlendReranker(TableReranker(SECOND), weight=0.5)
    ranked = rf("q", DOCS, first_stage_scores=FIRST_SCORES)
    assert [r.text for r in ranked] == ["b", "d", "a", "e", "c"]
    assert [r.score for r in ranked] == pytest.approx([0.6375, 0.625, 0.5, 0.4, 0.35])
    assert ranked.info["second_stage_scored"] == 5
    assert ranked.info["reranker"] == "blend(table,weight=0.5)"


def test_top_n_scores_only_the_first_stage_top_and_keeps_the_rest_below():
    base = TableReranker(SECOND)
    rf = BlendReranker(base, weight=0.5, top_n=3)
    ranked = rf.rerank("q", hits())
    # top 3 by first stage: a, b, c. second minmax a 0, b 1, c .5; first a 1, b .75, c 0
    # -> a .5, b .875, c .25; d, e follow in first-stage order below min(final) - 1
    assert [h.doc_id for h in ranked] == ["b", "a", "c", "d", "e"]
    assert [h.score for h in ranked] == pytest.approx([0.875, 0.5, 0.25, -1.5, -1.75])
    assert base.calls == [["a", "b", "c"]]
    assert ranked[0].scores["rerank"] == pytest.approx(0.875) and ranked[0].ranks["rerank"] == 1
    assert ranked.info["second_stage_scored"] == 3 and ranked.info["weight"] == 0.5


def test_weight_one_is_plain_reranking_and_zero_is_the_first_stage():
    plain = [h.doc_id for h in BlendReranker(TableReranker(SECOND), 1.0).rerank("q", hits())]
    assert plain == sorted(DOCS, key=lambda d: -SECOND[d])
    first = [h.doc_id for h in BlendReranker(TableReranker(SECOND), 0.0).rerank("q", hits())]
    assert first == DOCS


def test_first_stage_from_a_named_score_and_from_mappings():
    rf = BlendReranker(TableReranker(SECOND), 0.5, first_stage="bm25")
    by_bm25 = [h.doc_id for h in rf.rerank("q", hits("bm25"), top_k=2)]
    assert by_bm25 == ["b", "d"]  # bm25 = 10 x FIRST: the same minmax as above
    mappings = [{"text": d, "id": d, "score": FIRST[d]} for d in DOCS]
    ranked = BlendReranker(TableReranker(SECOND), 0.5)("q", mappings, top_k=2)
    assert [(r.id, r.index) for r in ranked] == [("b", 1), ("d", 3)]


def test_zscore_normalisation():
    rf = BlendReranker(TableReranker(SECOND), 0.5, normalization="zscore")
    first, second = np.array(FIRST_SCORES), np.array([SECOND[d] for d in DOCS])
    z = lambda x: (x - x.mean()) / x.std()  # noqa: E731
    expected = 0.5 * z(second) + 0.5 * z(first)
    ranked = rf("q", DOCS, first_stage_scores=FIRST_SCORES)
    got = {r.text: r.score for r in ranked}
    assert [got[d] for d in DOCS] == pytest.approx(expected.tolist(), abs=1e-6)


def test_inner_cache_is_used_and_counted():
    base = TableReranker(SECOND, cache=LRUScoreCache(100))
    rf = BlendReranker(base, 0.5)
    rf("q", DOCS, first_stage_scores=FIRST_SCORES)
    again = rf("q", DOCS, first_stage_scores=FIRST_SCORES)
    assert again.info["cache_hits"] == 5 and len(base.calls) == 1


def test_bad_input_says_what_to_fix():
    rf = BlendReranker(TableReranker(SECOND), 0.5)
    with pytest.raises(InvalidInputError, match="needs a finite first-stage score"):
        rf("q", DOCS)
    with pytest.raises(InvalidInputError, match="needs a finite first-stage score"):
        rf.score("q", DOCS)
    with pytest.raises(InvalidInputError, match="first_stage_scores must be 5 finite"):
        rf("q", DOCS, first_stage_scores=[1.0, 2.0])
    with pytest.raises(InvalidInputError, match="first_stage_scores must be 5 finite"):
        rf("q", DOCS, first_stage_scores=[1.0, 2.0, float("nan"), 0.0, 0.0])
    with pytest.raises(InvalidInputError, match=r"Hit.scores\['dense'\]"):
        BlendReranker(TableReranker(SECOND), 0.5, first_stage="dense").rerank("q", hits())
    with pytest.raises(InvalidInputError, match="documents is empty"):
        rf("q", [], first_stage_scores=[])
    with pytest.raises(InvalidInputError, match="top_k"):
        rf("q", DOCS, top_k=0, first_stage_scores=FIRST_SCORES)
    with pytest.raises(InvalidInputError, match="weight must be in"):
        BlendReranker(TableReranker(SECOND), 1.5)
    with pytest.raises(InvalidInputError, match="top_n must be >= 1"):
        BlendReranker(TableReranker(SECOND), top_n=0)
    with pytest.raises(InvalidInputError, match="first_stage must be None"):
        BlendReranker(TableReranker(SECOND), first_stage="")
    with pytest.raises(InvalidInputError, match="base must be a blendrank Reranker"):
        BlendReranker("not a model")  # type: ignore[arg-type]
    assert list(rf.rerank("q", [])) == []


def test_stored_vectors_follow_the_hits_the_base_model_sees(tmp_path):
    """With top_n below the candidates, the base bi-encoder gets the vectors of exactly
    the hits it scores (it used to get all of them and refuse)."""
    from blendrank import Document, Index
    from blendrank.rerank import BiEncoderReranker

    index = Index.create(tmp_path / "kb")
    index.add([Document(f"d{i}", f"cats purr {i} times a day") for i in range(8)])
    bi = BiEncoderReranker(index.embedder)
    rf = BlendReranker(bi, weight=1.0, top_n=3)
    result = index.pipeline(rf, mode="dense", candidates=8).run("why do cats purr", 8)
    first = list(result.first_stage)
    reranked = {h.id: h.scores["rerank"] for h in result.final if "rerank" in h.scores}
    assert len(result.final) == 8
    expected = bi.rerank("why do cats purr", first[:3])  # embeds the 3 texts itself
    # weight 1 over the top 3: min-max of the bi-encoder's scores of exactly those 3
    assert set(result.final.ids[:3]) == set(expected.ids)
    assert result.final.ids[0] == expected.ids[0]
    assert reranked[expected.ids[0]] == pytest.approx(1.0)

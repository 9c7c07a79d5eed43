"""CascadeReranker: the blend maths on toy rerankers whose scores we choose."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.embed.base import Embedder
from blendrank.errors import InvalidInputError
from blendrank.rerank import BiEncoderReranker, CascadeReranker, LRUScoreCache
from blendrank.types import Hit

from .doubles import TableReranker


class FixedVectors(Embedder):
    """Embeds each text as a fixed vector from a table (geometry test double)."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def _embed_batch(self, texts, kind):
        return np.array([self.table[t] for t in texts], dtype=np.float64)

    def config(self):
        return {"type": "fixed", "table": sorted(self.table)}


FIRST = {"a": 0.9, "b": 0.8, "c": 0.5, "d": 0.3, "e": 0.1}
SECOND = {"a": 1.0, "b": 5.0, "c": 3.0, "d": 100.0, "e": 100.0}
DOCS = ["a", "b", "c", "d", "e"]


def make(top_n=3, alpha=0.7, normalization="minmax", second_cache=None):
    return CascadeReranker(
        TableReranker(FIRST, "first"),
        TableReranker(SECOND, "second", cache=second_cache),
        top_n=top_n,
        alpha=alpha,
        normalization=normalization,
    )


def test_minmax_blend_exact_scores():
    # top 3 by first: a, b, c.  minmax(second [1, 5, 3]) = [0, 1, 0.5];
    # minmax(first [.9, .8, .5]) = [1, .75, 0].
    # a = .7*0 + .3*1 = .3;  b = .7*1 + .3*.75 = .925;  c = .7*.5 + .3*0 = .35
    # rest: minmax(first over all 5) = (s - .1)/.8 -> d .25, e 0; score = min(top) - 1 - (1 - m)
    # d = .3 - 1 - .75 = -1.45;  e = .3 - 1 - 1 = -1.7
    cache = LRUScoreCache()
    results = make(second_cache=cache)("q", DOCS)
    assert [r.text for r in results] == ["b", "c", "a", "d", "e"]
    assert [r.score for r in results] == pytest.approx([0.925, 0.35, 0.3, -1.45, -1.7], abs=1e-6)
    assert results.info["second_stage_scored"] == 3
    assert results.info["first_stage"] == "model"
    # the expensive model saw only the 3 candidates (d and e scored 100 but never got in)
    assert cache.stats()["size"] == 3


def test_zscore_blend_exact_scores():
    # zscore(second [1, 5, 3]): mean 3, std sqrt(8/3)=1.63299 -> [-1.22474, 1.22474, 0]
    # zscore(first [.9, .8, .5]): mean .73333, std .169967 -> [.98058, .39223, -1.37281]
    # a = .7*-1.22474 + .3*.98058 = -.56314; b = .85732 + .11767 = .97499; c = -.41184
    results = make(normalization="zscore")("q", DOCS, top_k=3)
    assert [r.text for r in results] == ["b", "c", "a"]
    assert [r.score for r in results] == pytest.approx([0.97499, -0.41184, -0.56314], abs=1e-4)


def test_rest_is_strictly_below_top_n_and_in_first_order():
    results = make(top_n=2)("q", DOCS)
    top, rest = results[:2], results[2:]
    assert {r.text for r in top} == {"a", "b"}
    assert [r.text for r in rest] == ["c", "d", "e"]
    assert max(r.score for r in rest) < min(r.score for r in top)


def test_alpha_extremes():
    # alpha=1: top 3 ordered by second alone (b 5 > c 3 > a 1)
    assert [r.text for r in make(alpha=1.0)("q", DOCS, top_k=3)] == ["b", "c", "a"]
    # alpha=0: the first stage's order everywhere
    assert [r.text for r in make(alpha=0.0)("q", DOCS)] == DOCS


def test_top_n_larger_than_candidates_scores_all():
    results = make(top_n=50)("q", DOCS)
    assert results.info["second_stage_scored"] == 5
    # minmax(second [1,5,3,100,100]) = [0, .0404, .0202, 1, 1];
    # d = .7*1 + .3*(.2/.8) = .775, e = .7*1 + 0 = .7
    assert [r.text for r in results][:2] == ["d", "e"]
    assert results[0].score == pytest.approx(0.775, abs=1e-6)


def hit(text, dense=None):
    scores = {} if dense is None else {"dense": dense}
    return Hit(id=text, doc_id=text, score=0.0, text=text, scores=scores)


def test_rerank_of_hits_uses_dense_scores_when_every_hit_has_one():
    # The embedder would rank x above y (cosine 1 vs 0); the hits' dense scores say y > x.
    embedder = FixedVectors({"q": [1, 0], "x": [1, 0], "y": [0, 1], "z": [-1, 0]})
    second = TableReranker({"x": 0.0, "y": 0.0, "z": 0.0}, "flat")
    cascade = CascadeReranker(BiEncoderReranker(embedder), second, top_n=1, alpha=0.5)
    hits = [hit("x", 0.2), hit("y", 0.9), hit("z", 0.1)]
    out = cascade.rerank("q", hits)
    assert [h.id for h in out] == ["y", "x", "z"]
    assert out.info["second_stage_scored"] == 1
    assert out.info["first_stage"] == "hits.scores['dense']"
    assert out[0].scores["dense"] == 0.9 and out[0].ranks["rerank"] == 1
    # one hit without a dense score: the bi-encoder embeds all three instead
    out = cascade.rerank("q", [hit("x", 0.2), hit("y"), hit("z", 0.1)])
    assert [h.id for h in out] == ["x", "y", "z"]
    assert out.info["first_stage"] == "model"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": -0.1},
        {"alpha": 1.5},
        {"alpha": float("nan")},
        {"alpha": True},
        {"top_n": 0},
        {"top_n": 2.5},
        {"normalization": "softmax"},
    ],
)
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInputError):
        make(**kwargs)


def test_rejects_non_rerankers_and_own_cache():
    with pytest.raises(InvalidInputError, match="first must be a blendrank Reranker"):
        CascadeReranker("bi:x", TableReranker(SECOND, "s"))
    cascade = make()
    with pytest.raises(InvalidInputError, match="cannot cache"):
        cascade.cache = LRUScoreCache()


def test_index_search_reuses_dense_scores(tmp_path):
    embedded = pytest.importorskip("blendrank.index.embedded")
    from blendrank.types import Document

    texts = [
        "Cats purr by vibrating their larynx.",
        "Dogs bark at strangers.",
        "The stock market fell.",
        "Kittens purr while nursing.",
    ]
    index = embedded.Index.create(tmp_path / "idx")
    index.add([Document(id=f"d{i}", text=t) for i, t in enumerate(texts)])
    bi = BiEncoderReranker(index.embedder)
    # the second stage prefers shorter texts; it sees only the first stage's top 2
    second = TableReranker({t: -float(len(t)) for t in texts}, "short")
    cascade = CascadeReranker(bi, second, top_n=2, alpha=1.0)
    result = index.pipeline(cascade, mode="dense").run("why do cats purr", 3)
    hits = list(result.final)
    assert result.final.info["second_stage_scored"] == 2
    assert result.final.info["first_stage"] == "hits.scores['dense']"
    assert hits == index.search("why do cats purr", 3, mode="dense", rerank=cascade)
    # top 2 by dense are the two cat sentences; alpha=1 puts the shorter one first
    assert [h.doc_id for h in hits[:2]] == ["d3", "d0"]
    assert all("dense" in h.scores and "rerank" in h.scores for h in hits)

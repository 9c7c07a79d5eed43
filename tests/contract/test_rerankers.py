"""The contract every reranker must honour, run against each reranker class: sorted,
ties deterministic (by input position for ``rf(query, documents)``, by id for
``rerank(query, hits)``), only candidates come back, top_k filled, the caller's input
never mutated, results isolated from it, per-call info never shared between threads.

A cross-encoder joins when ``blendrank.rerank.cross_encoder`` imports and a tiny test
model fixture (``tiny_ce_folder``, tests/rerank/conftest.py) is available; otherwise it is skipped.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.rerank import (
    BiEncoderReranker,
    BlendReranker,
    CascadeReranker,
    EnsembleReranker,
    MMRReranker,
    SelectiveReranker,
    ThresholdReranker,
)
from blendrank.rerank.base import Reranker
from blendrank.rerank.llm import LLMListwiseReranker, LLMPairwiseReranker, LLMPointwiseReranker
from blendrank.types import Document, Hit, Ranking

from ..rerank.llm.fake_openai import chat_answer


class WordOverlapReranker(Reranker):
    """A real (if simple) lexical scorer: how many query words occur in the text."""

    name = "overlap"

    def score(self, query, texts):
        words = set(query.lower().split())
        return np.array([len(words & set(t.lower().split())) for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def bi():
    return BiEncoderReranker("all-MiniLM-L6-v2")


FACTORIES = {
    "bi_encoder": lambda bi, request: bi,
    "cascade": lambda bi, request: CascadeReranker(bi, WordOverlapReranker(), top_n=3),
    "ensemble_weighted": lambda bi, request: EnsembleReranker([bi, WordOverlapReranker()]),
    "ensemble_rrf": lambda bi, request: EnsembleReranker([bi, WordOverlapReranker()], method="rrf"),
    "mmr": lambda bi, request: MMRReranker(None, bi.embedder, lambda_=0.7),
    "mmr_base": lambda bi, request: MMRReranker(WordOverlapReranker(), bi.embedder),
    "threshold": lambda bi, request: ThresholdReranker(bi, min_score=-1e9),
    "selective": lambda bi, request: SelectiveReranker(bi, margin=0.5),
    "blend": lambda bi, request: BlendReranker(WordOverlapReranker(), weight=0.5, top_n=4),
    "cross_encoder": lambda bi, request: _cross_encoder(request),
    "llm_pointwise": lambda bi, request: _llm(request, LLMPointwiseReranker),
    "llm_pairwise": lambda bi, request: _llm(request, LLMPairwiseReranker),
    "llm_listwise": lambda bi, request: _llm(request, LLMListwiseReranker, window=3, step=1),
}


def _overlap(query: str, text: str) -> int:
    return len(set(re.findall(r"\w+", query.lower())) & set(re.findall(r"\w+", text.lower())))


def _word_overlap_llm(path, body):
    """A FAKE OpenAI-compatible chat server that "reads" by word overlap, answering each
    LLM reranker prompt in the published response shape."""
    import math

    prompt = body["messages"][-1]["content"]
    query = re.search(r"(?:Query|Search query): \"?(.*?)\"?$", prompt, flags=re.M).group(1)
    if "Answer Yes or No" in prompt:
        passage = re.search(r"Passage: (.*)", prompt).group(1)
        p = (1 + _overlap(query, passage)) / 10
        return 200, {}, chat_answer("Yes", logprobs={"Yes": math.log(p), "No": math.log(1 - p)})
    if "Answer A or B" in prompt:
        a, b = re.findall(r'Passage [AB]: "(.*)"', prompt)
        return 200, {}, chat_answer("A" if _overlap(query, a) >= _overlap(query, b) else "B")
    passages = re.findall(r"^\[(\d+)\] (.*)$", prompt, flags=re.M)
    order = sorted(passages, key=lambda p: -_overlap(query, p[1]))
    return 200, {}, chat_answer(" > ".join(f"[{n}]" for n, _ in order))


def _llm(request, cls, **options):
    server = request.getfixturevalue("fake_llm")(_word_overlap_llm)
    return cls("fake", server.url, **options)


def _cross_encoder(request):
    try:
        from blendrank.rerank.cross_encoder import CrossEncoderReranker
    except ImportError:
        pytest.skip("blendrank.rerank.cross_encoder is not importable")
    try:
        folder = request.getfixturevalue("tiny_ce_folder")
    except pytest.FixtureLookupError:
        pytest.skip("no tiny cross-encoder fixture (tiny_ce_folder) available")
    return CrossEncoderReranker(folder)


@pytest.fixture(params=sorted(FACTORIES))
def reranker(request, bi):
    return FACTORIES[request.param](bi, request)


QUERY = "how do cats purr"
DOCS = [
    "Dogs bark at the mail carrier.",
    "Cats purr by vibrating their larynx.",
    "The stock market closed lower.",
    "Cats purr by vibrating their larynx.",  # exact duplicate of #1: a tie
    "Kittens purr while nursing.",
]
#: first-stage scores (every reranker takes them; the blend needs them)
FIRST = [0.1, 0.9, 0.2, 0.9, 0.5]


def call(reranker, documents, top_k=None):
    return reranker(QUERY, documents, top_k, first_stage_scores=FIRST)


def search_hits():
    return [
        Hit(
            id=f"h{i}",
            doc_id=f"d{i}",
            score=FIRST[i],
            text=t,
            metadata={"tags": ["x"]},
            scores={"bm25": float(i)},
        )
        for i, t in enumerate(DOCS)
    ]


def test_scores_sorted_and_indices_point_at_texts(reranker):
    results = call(reranker, DOCS)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r.index for r in results) == list(range(len(DOCS)))
    assert all(DOCS[r.index] == r.text for r in results)


def test_ties_are_deterministic(reranker):
    first = [r.index for r in call(reranker, DOCS)]
    assert first == [r.index for r in call(reranker, DOCS)]
    assert first.index(1) < first.index(3)  # equal texts: the earlier one first


def test_caller_list_not_mutated(reranker):
    docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(DOCS)]
    before = copy.deepcopy(docs)
    results = call(reranker, docs)
    assert docs == before
    assert all(r.id == f"d{r.index}" for r in results)


def test_top_k_respected(reranker):
    assert len(call(reranker, DOCS, top_k=2)) == 2
    assert len(call(reranker, DOCS, top_k=1)) == 1


def test_rerank_of_hits_is_a_sorted_ranking_of_the_candidates(reranker):
    hits = search_hits()
    before = copy.deepcopy(hits)
    out = reranker.rerank(QUERY, hits, top_k=3)
    assert isinstance(out, Ranking) and len(out) == 3
    keys = [(-h.score, h.id) for h in out]
    assert keys == sorted(keys)  # score descending, ties by id
    assert set(out.ids) <= {h.id for h in hits}  # nothing that was not a candidate
    assert all(h.scores["bm25"] == float(h.id[1:]) for h in out)  # first stage kept
    assert len(reranker.rerank(QUERY, hits, top_k=len(hits) + 5)) <= len(hits)
    assert hits == before  # the caller's hits are not changed
    out[0].metadata["tags"].append("edited")
    assert hits[int(out[0].id[1:])].metadata == {"tags": ["x"]}


def test_per_call_info_is_in_the_result_not_the_reranker(reranker):
    """Two threads sharing a reranker each get the info of their own call."""
    import threading

    small, large = DOCS[:2], DOCS
    seen: dict[str, list[int]] = {"small": [], "large": []}

    def work(name, documents):
        for _ in range(10):
            results = reranker(QUERY, documents, first_stage_scores=FIRST[: len(documents)])
            seen[name].append(results.info["documents"])

    threads = [
        threading.Thread(target=work, args=("small", small)),
        threading.Thread(target=work, args=("large", large)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"small": [2] * 10, "large": [5] * 10}


def test_declares_what_it_is(reranker):
    from blendrank.rerank.base import SCALES

    assert reranker.scale in SCALES
    assert isinstance(reranker.supports_groups, bool)
    assert isinstance(reranker.uses_vectors, bool)
    assert (reranker.vector_model is not None) == reranker.uses_vectors or not reranker.uses_vectors


@pytest.mark.parametrize(
    "documents, top_k, message",
    [
        ([], None, "empty"),
        ("just a string", None, "list"),
        ([1, 2], None, r"documents\[0\]"),
        ([{"title": "no text"}], None, "'text'"),
        (DOCS, 0, "top_k must be >= 1"),
    ],
)
def test_bad_input(reranker, documents, top_k, message):
    with pytest.raises(InvalidInputError, match=message):
        reranker(QUERY, documents, top_k)


def test_top_k_beyond_the_list_returns_every_document(reranker):
    """pymilvus' and sentence-transformers' convention, so copied code runs unchanged."""
    everything = call(reranker, DOCS, len(DOCS) + 5)
    assert sorted(r.index for r in everything) == list(range(len(DOCS)))


def test_sentence_transformers_predict_and_rank(reranker):
    from blendrank.rerank.base import Reranker

    if type(reranker).score is Reranker.score:  # it orders whole lists (combinators, LLMs)
        try:
            ranked = reranker.rank(QUERY, DOCS, top_k=99)
        except InvalidInputError as exc:  # e.g. a blend without first-stage scores
            assert "first-stage" in str(exc)
            return
        assert sorted(r["corpus_id"] for r in ranked) == list(range(len(DOCS)))
        return
    pairs = [(QUERY, d) for d in DOCS] + [("another question", DOCS[0])]
    scores = reranker.predict(pairs)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(pairs),)
    alone = call(reranker, DOCS, len(DOCS))
    by_index = {r.index: r.score for r in alone}
    np.testing.assert_allclose(
        scores[: len(DOCS)], [by_index[i] for i in range(len(DOCS))], rtol=1e-5
    )
    single = reranker.predict((QUERY, DOCS[1]))
    assert np.isscalar(single) or np.ndim(single) == 0
    ranked = reranker.rank(QUERY, DOCS, top_k=2, return_documents=True)
    assert [r["corpus_id"] for r in ranked] == [r.index for r in alone[:2]]
    assert ranked[0]["text"] == DOCS[ranked[0]["corpus_id"]] and "score" in ranked[0]
    assert len(reranker.rank(QUERY, DOCS, top_k=99)) == len(DOCS)


def test_bad_query(reranker):
    with pytest.raises(InvalidInputError, match="query"):
        reranker("  ", DOCS)

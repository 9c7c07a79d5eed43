"""The three LLM reranker families against a real llama.cpp server (gemma-3-270m, one
thread) through a proxy that records what the server saw: every input comes back ranked
once, windows and comparisons are the ones specified, a repeat is served from the
cache. The model is far too small to rank well, so quality is not asserted here."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from blendrank.registry import load_reranker
from blendrank.rerank.llm import (
    LLMListwiseReranker,
    LLMPairwiseReranker,
    LLMPointwiseReranker,
    windows,
)

QUERY = "What event in 1956 marked the official birth of artificial intelligence as a discipline?"
DOCS = [
    "In 1950, Alan Turing published his seminal paper, 'Computing Machinery and Intelligence'.",
    "The Dartmouth Conference of 1956 is widely considered the birth of AI as a discipline.",
    "In 1951, British mathematician Alan Turing wrote a chess-playing program.",
    "The Logic Theorist, developed in 1955, is often called the first AI program.",
]


def _numbered(n: int) -> list[str]:
    return [f"passage number {i} about topic {i % 3}" for i in range(n)]


def _is_ranking_of(results, n: int) -> bool:
    return sorted(r.index for r in results) == list(range(n))


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_pointwise_ranks_every_passage_with_a_probability(recording_proxy, api):
    rf = LLMPointwiseReranker("gemma", recording_proxy.url, api=api)
    results = rf(QUERY, DOCS, top_k=4)
    assert _is_ranking_of(results, 4)
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert results.info["calls"] == 4 and results.info["mode"] == "logprobs"
    sent = [r.body for r in recording_proxy.requests if "max_tokens" in r.body]
    assert len(sent) == 4 and all(b["max_tokens"] == 1 and b.get("logprobs") for b in sent)
    assert results.info["prompt_tokens"] > 0


def test_a_repeat_is_answered_from_the_cache(recording_proxy):
    rf = LLMPointwiseReranker("gemma", recording_proxy.url, api="completions")
    first = rf(QUERY, DOCS)
    seen = len(recording_proxy.requests)
    again = rf(QUERY, DOCS)
    assert len(recording_proxy.requests) == seen  # the server saw nothing new
    assert again.info["cached_calls"] == 4 and again.info["calls"] == 0
    assert [(r.index, r.score) for r in again] == [(r.index, r.score) for r in first]


def test_listwise_windows_slide_from_the_back_as_specified(recording_proxy):
    docs = _numbered(14)
    rf = LLMListwiseReranker("gemma", recording_proxy.url, api="completions", window=6, step=3)
    results = rf(QUERY, docs)
    assert _is_ranking_of(results, 14)
    prompts = recording_proxy.prompts()
    expected = windows(14, 6, 3)
    assert expected == [(8, 14), (5, 11), (2, 8), (0, 5)]
    assert results.info["windows"] == len(prompts) == len(expected)
    for prompt, (start, end) in zip(prompts, expected, strict=True):
        labels = re.findall(r"^\[(\d+)\] ", prompt, flags=re.M)
        assert labels == [str(i) for i in range(1, end - start + 1)]
    # the first window holds the last 6 passages of the input order, untouched yet
    first = re.findall(r"passage number (\d+) ", prompts[0])
    assert sorted(int(i) for i in first) == list(range(8, 14))
    covered = {int(i) for p in prompts for i in re.findall(r"passage number (\d+) ", p)}
    assert covered == set(range(14))
    assert {"out_of_range", "duplicates", "missing", "truncated_answers"} <= set(results.info)


@pytest.mark.parametrize(
    ("method", "comparisons"), [("allpairs", 10), ("heapsort", None), ("bubble", None)]
)
def test_pairwise_asks_each_comparison_in_both_orders(recording_proxy, method, comparisons):
    docs = _numbered(5)
    rf = LLMPairwiseReranker(
        "gemma", recording_proxy.url, api="completions", method=method, depth=2
    )
    results = rf(QUERY, docs)
    assert _is_ranking_of(results, 5)
    prompts = recording_proxy.prompts()
    assert len(prompts) == 2 * results.info["comparisons"]
    if comparisons is not None:
        assert results.info["comparisons"] == comparisons
    else:  # a top-2 sort needs fewer comparisons than all 10 pairs
        assert results.info["comparisons"] < 10
    # calls run concurrently, so the server sees them in any order: every (a, b) asked
    # has its (b, a) among the requests, as often
    asked = Counter(tuple(re.findall(r'Passage [AB]: "([^"]*)"', p)) for p in prompts)
    assert asked == Counter({(b, a): n for (a, b), n in asked.items()})
    assert 0 <= results.info["disagreements"] <= results.info["comparisons"]


def test_passages_are_cut_by_the_servers_own_token_count(recording_proxy):
    long = " ".join(f"word{i}" for i in range(2000))
    rf = LLMPointwiseReranker(
        "gemma", recording_proxy.url, api="completions", max_passage_tokens=32
    )
    rf(QUERY, [long, DOCS[1]])
    assert any(r.path == "/tokenize" for r in recording_proxy.requests)
    prompt = next(p for p in recording_proxy.prompts() if "word0" in p)
    kept = re.findall(r"word\d+", prompt)
    assert 5 <= len(kept) <= 32  # 32 tokens of "wordN" pieces, far fewer than 2000 words


def test_a_spec_string_builds_each_family(llama_server):
    for family in ("pointwise", "pairwise", "listwise"):
        rf = load_reranker(f"llm-{family}:gemma@{llama_server}", api="completions")
        assert type(rf).__name__.lower() == f"llm{family}reranker"
        assert _is_ranking_of(rf(QUERY, DOCS[:3]), 3)


def test_rerank_keeps_first_stage_scores_and_adds_the_llms(llama_server):
    from blendrank.types import Hit

    hits = [Hit(f"d{i}", f"d{i}", 1.0 / (i + 1), text) for i, text in enumerate(DOCS)]
    rf = LLMListwiseReranker("gemma", llama_server, api="completions")
    ranking = rf.rerank(QUERY, hits, top_k=2)
    assert len(ranking) == 2 and all("rerank" in h.scores for h in ranking)
    assert ranking.info["reranker"].startswith("llm-listwise:gemma@")

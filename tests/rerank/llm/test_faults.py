"""Faults a real model cannot be made to produce on demand, from a FAKE OpenAI-compatible
server on loopback that answers in the published chat-completions shape: malformed
permutations, truncated answers, timeouts, 429 with Retry-After, 5xx storms, a bad key,
a server without log-probabilities. Each gives a ranking or a clear error, never a hang."""

from __future__ import annotations

import math
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blendrank.errors import InvalidInputError, RemoteModelError
from blendrank.rerank.llm import (
    LLMListwiseReranker,
    LLMPairwiseReranker,
    LLMPointwiseReranker,
    parse_permutation,
)

from .fake_openai import chat_answer

DOCS = [f"passage {i}" for i in range(5)]


def _ok(text: str, **kw):
    return lambda path, body: (200, {}, chat_answer(text, **kw))


def _indexes(results) -> list[int]:
    return [r.index for r in results]


def test_a_malformed_permutation_is_repaired_and_counted(fake_llm):
    server = fake_llm(_ok("Sure! [3] > [9] > [3] > [1] and the rest"))
    results = LLMListwiseReranker("m", server.url)("q", DOCS)
    assert _indexes(results) == [2, 0, 1, 3, 4]  # missing ones keep their order after
    info = results.info
    assert (info["out_of_range"], info["duplicates"], info["missing"]) == (1, 1, 3)
    assert [r.score for r in results] == [5.0, 4.0, 3.0, 2.0, 1.0]


def test_a_truncated_answer_still_ranks_everything(fake_llm):
    server = fake_llm(_ok("[2] > [5] > [", finish="length"))
    results = LLMListwiseReranker("m", server.url)("q", DOCS)
    assert _indexes(results) == [1, 4, 0, 2, 3]
    assert results.info["truncated_answers"] == 1


def test_an_answer_with_no_identifier_keeps_the_input_order(fake_llm):
    server = fake_llm(_ok("I cannot rank these."))
    results = LLMListwiseReranker("m", server.url)("q", DOCS)
    assert _indexes(results) == [0, 1, 2, 3, 4] and results.info["missing"] == 5


def test_a_server_that_times_out_is_a_clear_error_within_the_bound(fake_llm):
    def slow(path, body):
        time.sleep(1.5)
        return 200, {}, chat_answer("[1]")

    server = fake_llm(slow)
    rf = LLMListwiseReranker("m", server.url, timeout=0.3, max_retries=1, retry_backoff=0)
    started = time.monotonic()
    with pytest.raises(RemoteModelError, match=r"failed after 2 attempt\(s\) \(timeout 0.3s"):
        rf("q", DOCS)
    assert time.monotonic() - started < 1.5  # two 0.3 s attempts, not the server's pace


def test_429_with_retry_after_is_waited_for_then_retried(fake_llm):
    calls = []

    def limited(path, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, {"error": {"message": "rate limited"}}
        return 200, {}, chat_answer("[2] > [1]")

    server = fake_llm(limited)
    results = LLMListwiseReranker("m", server.url)("q", DOCS[:2])
    assert _indexes(results) == [1, 0]
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_a_5xx_storm_gives_up_after_the_bounded_retries(fake_llm):
    server = fake_llm(lambda path, body: (503, {}, {"error": {"message": "overloaded"}}))
    rf = LLMPointwiseReranker("m", server.url, max_retries=2, retry_backoff=0.01)
    with pytest.raises(RemoteModelError, match="HTTP 503: overloaded"):
        rf("q", DOCS[:1])
    assert len(server.requests) == 3


def test_a_bad_key_fails_at_once_and_says_where_the_key_comes_from(fake_llm):
    server = fake_llm(lambda path, body: (401, {}, {"error": {"message": "invalid api key"}}))
    rf = LLMPointwiseReranker("m", server.url, api_key="wrong")
    with pytest.raises(RemoteModelError, match="HTTP 401: invalid api key.*BLENDRANK_LLM_API_KEY"):
        rf("q", DOCS[:1])
    assert len(server.requests) == 1  # a 4xx is not retried


def test_without_log_probabilities_pointwise_falls_back_to_ratings(fake_llm):
    def answer(path, body):
        prompt = body["messages"][-1]["content"]
        if "Rating:" in prompt:
            number = re.search(r"passage (\d)", prompt).group(1)
            return 200, {}, chat_answer(f" {number}")
        return 200, {}, chat_answer("Yes")  # no logprobs in the answer

    server = fake_llm(answer)
    results = LLMPointwiseReranker("m", server.url)("q", DOCS)
    assert _indexes(results) == [4, 3, 2, 1, 0]
    assert [r.score for r in results] == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0])
    assert results.info["mode"] == "rating"


def test_log_probabilities_give_p_yes(fake_llm):
    def answer(path, body):
        prompt = body["messages"][-1]["content"]
        p = 0.9 if "passage 2" in prompt else 0.3
        return 200, {}, chat_answer("Yes", logprobs={"Yes": math.log(p), "No": math.log(1 - p)})

    server = fake_llm(answer)
    results = LLMPointwiseReranker("m", server.url)("q", DOCS, top_k=2)
    assert _indexes(results)[0] == 2 and results[0].score == pytest.approx(0.9)
    assert all(body["top_logprobs"] == 20 for body in (r.body for r in server.requests))


def test_mode_logprobs_refuses_a_server_without_them(fake_llm):
    server = fake_llm(_ok("Yes"))
    with pytest.raises(InvalidInputError, match="sent no log-probabilities"):
        LLMPointwiseReranker("m", server.url, mode="logprobs")("q", DOCS[:2])


def test_pairwise_counts_position_bias_and_keeps_a_valid_ranking(fake_llm):
    server = fake_llm(_ok("A"))  # always the first slot: pure position bias
    results = LLMPairwiseReranker("m", server.url, method="allpairs")("q", DOCS)
    assert sorted(_indexes(results)) == [0, 1, 2, 3, 4]
    assert results.info["disagreements"] == results.info["comparisons"] == 10
    assert len({r.score for r in results}) == 1  # every comparison a tie


def test_pairwise_agreeing_orders_sort_by_the_passage_named(fake_llm):
    def answer(path, body):  # prefers the passage with the higher number, in both orders
        a, b = (
            int(x)
            for x in re.findall(r'Passage [AB]: "passage (\d)"', body["messages"][-1]["content"])
        )
        return 200, {}, chat_answer("A" if a > b else "B")

    server = fake_llm(answer)
    for method in ("allpairs", "heapsort", "bubble"):
        rf = LLMPairwiseReranker("m", server.url, method=method, depth=5)
        results = rf("q", DOCS)
        assert _indexes(results) == [4, 3, 2, 1, 0], method
        assert results.info["disagreements"] == 0


def test_heapsort_needs_fewer_comparisons_than_all_pairs(fake_llm):
    server = fake_llm(_ok("A"))
    docs = [f"passage {i}" for i in range(30)]
    heap = LLMPairwiseReranker("m", server.url, method="heapsort", depth=3)("q", docs)
    assert heap.info["comparisons"] < 30 * 29 / 2 / 3


def test_settings_that_cannot_work_are_clear_errors(monkeypatch):
    monkeypatch.delenv("BLENDRANK_LLM_BASE_URL", raising=False)
    with pytest.raises(InvalidInputError, match="needs the server's base_url"):
        LLMListwiseReranker("m")
    with pytest.raises(InvalidInputError, match="step .* must be smaller than window"):
        LLMListwiseReranker("m", "http://127.0.0.1:1/v1", window=10, step=10)
    with pytest.raises(InvalidInputError, match=r"template must contain \{passage\}"):
        LLMPointwiseReranker("m", "http://127.0.0.1:1/v1", template="Q: {query}")
    with pytest.raises(InvalidInputError, match=r"uses \{doc\}"):
        LLMPairwiseReranker("m", "http://127.0.0.1:1/v1", template="{query} {a} {b} {doc}")
    with pytest.raises(InvalidInputError, match="method must be"):
        LLMPairwiseReranker("m", "http://127.0.0.1:1/v1", method="quick")


def test_a_window_that_cannot_fit_the_context_is_a_clear_error(fake_llm):
    server = fake_llm(_ok("[1]"))
    rf = LLMListwiseReranker("m", server.url, window=20, step=10, context_tokens=256)
    with pytest.raises(InvalidInputError, match="does not fit context_tokens=256"):
        rf("q", DOCS)


def test_the_base_url_can_come_from_the_environment(fake_llm, monkeypatch):
    server = fake_llm(_ok("[1]"))
    monkeypatch.setenv("BLENDRANK_LLM_BASE_URL", server.url)
    assert len(LLMListwiseReranker("m")("q", DOCS[:2])) == 2


@given(st.text(max_size=200), st.integers(min_value=1, max_value=30))
def test_any_answer_parses_to_a_permutation(answer, n):
    order, repairs = parse_permutation(answer, n)
    assert sorted(order) == list(range(n))
    assert repairs["missing"] <= n


def test_spec_strings_carry_options_but_never_a_key(fake_llm):
    from blendrank.registry import load_reranker

    def completions(path, body):
        return 200, {}, {"choices": [{"text": " [2] > [1]", "finish_reason": "stop"}]}

    server = fake_llm(completions)
    rf = load_reranker(f"llm-listwise:m@{server.url}?api=completions&window=5&step=2")
    assert (rf.window, rf.step, rf.client.api) == (5, 2, "completions")
    assert [r.index for r in rf("q", DOCS[:2])] == [1, 0]
    assert server.requests[-1].path == "/v1/completions"
    with pytest.raises(InvalidInputError, match="never in a spec"):
        load_reranker(f"llm-listwise:m@{server.url}?api_key=secret")
    with pytest.raises(InvalidInputError, match="'windows' is not one it takes"):
        load_reranker(f"llm-listwise:m@{server.url}?windows=5")


def _passage_in(server) -> str:
    prompt = server.requests[-1].body["messages"][-1]["content"]
    return re.search(r"Passage: (.*)\n\nQuery", prompt, flags=re.S).group(1)


def test_without_tokenize_a_named_tokenizer_counts_the_tokens(fake_llm):
    from pathlib import Path

    import blendrank

    tokenizer = Path(blendrank.__file__).parent / "_data" / "all-MiniLM-L6-v2" / "tokenizer.json"
    server = fake_llm(_ok("Yes"))
    rf = LLMPointwiseReranker("m", server.url, max_passage_tokens=5, tokenizer=tokenizer)
    rf("q", ["internationalisation of the quarterly reports, again and again"])
    kept = _passage_in(server)
    assert "internationalisation" in kept and "again" not in kept  # 5 word pieces, exactly
    assert not any(r.path == "/tokenize" for r in server.requests)


def test_without_any_tokenizer_passages_get_a_character_budget(fake_llm):
    server = fake_llm(_ok("Yes"))
    rf = LLMPointwiseReranker("m", server.url, max_passage_tokens=10)
    rf("q", ["x" * 500])
    assert _passage_in(server) == "x" * 40  # 4 characters per token


def test_the_api_key_comes_from_the_environment(fake_llm, monkeypatch):
    monkeypatch.setenv("BLENDRANK_LLM_API_KEY", "from-env")
    server = fake_llm(_ok("[1]"))
    rf = LLMListwiseReranker("m", server.url)
    rf("q", DOCS[:2])
    assert server.requests[-1].headers["Authorization"] == "Bearer from-env"
    assert "from-env" not in str(rf.config()) and "from-env" not in rf.fingerprint


@pytest.mark.parametrize("method", ["heapsort", "bubble", "allpairs"])
def test_a_position_biased_model_leaves_the_first_stage_order(fake_llm, method):
    # always "A", surer when the passage in slot A is odd-numbered: both orders pick the
    # same slot, so each comparison is a tie (not decided by the margin) and the
    # first-stage order stands
    def biased(path, body):
        a = int(re.search(r'Passage A: "passage (\d)"', body["messages"][-1]["content"]).group(1))
        p = 0.9 if a % 2 else 0.6
        return 200, {}, chat_answer("A", logprobs={"A": math.log(p), "B": math.log(1 - p)})

    server = fake_llm(biased)
    results = LLMPairwiseReranker("m", server.url, method=method, depth=3)("q", DOCS)
    assert _indexes(results) == [0, 1, 2, 3, 4]
    assert results.info["disagreements"] == results.info["comparisons"] > 0


def test_a_redirect_is_refused_not_followed_with_the_key(fake_llm):
    server = fake_llm(lambda path, body: (307, {"Location": "http://elsewhere.invalid/v1"}, {}))
    rf = LLMListwiseReranker("m", server.url, api_key="secret")
    with pytest.raises(RemoteModelError, match="redirects to http://elsewhere.invalid/v1"):
        rf("q", DOCS[:2])
    assert len([r for r in server.requests if r.path.endswith("completions")]) == 1


def test_openais_key_goes_only_to_openai(fake_llm, monkeypatch):
    monkeypatch.delenv("BLENDRANK_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-you")
    server = fake_llm(_ok("[1]"))
    LLMListwiseReranker("m", server.url)("q", DOCS[:2])
    assert "Authorization" not in server.requests[-1].headers


def test_the_first_failure_stops_the_calls_still_queued(fake_llm):
    server = fake_llm(lambda path, body: (401, {}, {"error": {"message": "bad key"}}))
    rf = LLMPointwiseReranker("m", server.url, concurrency=2)
    with pytest.raises(RemoteModelError, match="HTTP 401"):
        rf("q", [f"passage {i}" for i in range(40)])
    assert len(server.requests) < 10  # not one refused call per passage


def test_a_server_refusing_log_probabilities_gets_the_rating_prompt(fake_llm):
    def answer(path, body):
        if body.get("logprobs"):
            return 400, {}, {"error": {"message": "logprobs are not supported"}}
        return 200, {}, chat_answer("8")

    results = LLMPointwiseReranker("m", fake_llm(answer).url)("q", DOCS[:2])
    assert results.info["mode"] == "rating"
    assert [r.score for r in results] == pytest.approx([0.8, 0.8])

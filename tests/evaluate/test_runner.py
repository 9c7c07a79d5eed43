"""Pipelines end to end on the toy collection: run files, a real bi-encoder reranking a
run, BM25 and hybrid Index pipelines, index caching, and a slow CACM run."""

from __future__ import annotations

import math

import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate import EvalConfig, evaluate, load_beir

L3 = 1 / math.log2(3)  # discount at rank 2 = 0.6309297536
L4 = 1 / math.log2(4)  # discount at rank 3 = 0.5


def config(*pipelines, **extra):
    return EvalConfig.from_mapping(
        {"metrics": ["ndcg@10", "mrr@10", "recall@10"], "pipelines": list(pipelines), **extra}
    )


@pytest.fixture(scope="module")
def run_result(toy_dir, tmp_path_factory):
    cfg = config(
        {"name": "first", "type": "run", "run": "runs/first.trec"},
        {
            "name": "first+bi",
            "type": "rerank_run",
            "run": "runs/first.trec",
            "reranker": "bi:all-MiniLM-L6-v2",
        },
    )
    return evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path_factory.mktemp("work"))


def test_run_file_scored_as_is(run_result):
    first = run_result.runs["first"].metrics
    # IDCG(q1) = 2 + 1*L3 + 1*L4 (grades 2, 1, 1) = 3.1309297536
    idcg = 2 + L3 + L4
    # q1: d1 (2), d3 (1), d7 (0), d4 -> DCG = 2 + L3 = 2.6309 -> 0.8403
    assert first.per_query["ndcg@10"]["q1"] == pytest.approx((2 + L3) / idcg)
    # q2: d6 (1) at rank 2 -> L3 / 1 = 0.6309 ; q3: d2 at rank 1 -> 1
    assert first.per_query["ndcg@10"]["q2"] == pytest.approx(L3)
    assert first.mean["ndcg@10"] == pytest.approx(((2 + L3) / idcg + L3 + 1) / 3)
    assert run_result.runs["first"].latency == {}  # nothing was timed
    assert set(run_result.runs["first"].ranking) == {"q1", "q2", "q3"}  # no train queries


def test_bi_encoder_reranks_the_run(run_result):
    reranked = run_result.runs["first+bi"]
    # all-MiniLM-L6-v2 cosine: q1 -> d1 .817, d7 .631, d3 .609, d4 .079
    assert [d for d, _ in reranked.ranking["q1"]] == ["d1", "d7", "d3", "d4"]
    assert [d for d, _ in reranked.ranking["q2"]] == ["d6", "d2"]
    # q1 after: DCG = 2 + 0 + 1*L4 = 2.5 -> 2.5 / 3.1309 = 0.7985 (worse than 0.8403)
    assert reranked.metrics.per_query["ndcg@10"]["q1"] == pytest.approx(2.5 / (2 + L3 + L4))
    assert reranked.first_stage_metrics.mean == run_result.runs["first"].metrics.mean
    assert set(reranked.latency) == {"rerank", "total"}
    assert reranked.latency["rerank"].n == 3


def test_error_analysis_names_the_moves(run_result):
    (q1,) = run_result.error_analysis["first+bi"]  # only q1 got worse
    idcg = 2 + L3 + L4
    assert q1.query_id == "q1" and q1.delta == pytest.approx(2.5 / idcg - (2 + L3) / idcg)
    assert [(c.doc_id, c.rank_before, c.rank_after) for c in q1.demoted_relevant] == [("d3", 2, 3)]
    assert [(c.doc_id, c.grade, c.rank_before, c.rank_after) for c in q1.promoted_nonrelevant] == [
        ("d7", 0, 3, 2)
    ]
    assert q1.promoted_nonrelevant[0].text.startswith("Gossip. Why do cats purr?")


def test_comparison_against_first_pipeline(run_result):
    (comparison,) = run_result.comparisons
    assert (comparison.baseline, comparison.system) == ("first", "first+bi")
    # per-query ndcg@10 deltas: q1 0.7985 - 0.8403, q2 1 - 0.6309, q3 0
    assert comparison.deltas["q2"] == pytest.approx(1 - L3)
    assert (comparison.wins, comparison.losses, comparison.ties) == (1, 1, 1)
    # 3 queries -> exact test over 8 sign patterns: p is a multiple of 1/8
    assert (comparison.p_permutation * 8) == pytest.approx(round(comparison.p_permutation * 8))


def test_bm25_index_pipeline_builds_once(toy_dir, tmp_path):
    cfg = config({"name": "bm25", "mode": "bm25", "chunk_size": 64, "chunk_overlap": 8})
    dataset = load_beir(toy_dir)
    first = evaluate(dataset, cfg, work_dir=tmp_path)
    assert len(first.index_builds) == 1
    run = first.runs["bm25"]
    assert run.ranking["q2"][0][0] == "d6"  # "bread rise" -> the baking document
    assert run.ranking["q3"][0][0] == "d2"  # "dogs bark"
    assert {"bm25", "total"} <= set(run.latency)
    again = evaluate(dataset, cfg, work_dir=tmp_path)
    assert again.index_builds == {}  # reused from the work dir
    assert again.runs["bm25"].ranking == run.ranking


def test_run_for_other_queries_is_an_error(toy_dir, tmp_path):
    run = tmp_path / "other.trec"
    run.write_text("q4 Q0 d4 1 1.0 t\n")  # only a train query: nothing for the test split
    cfg = config({"name": "r", "type": "run", "run": str(run)})
    with pytest.raises(InvalidInputError, match="shares no query id with the dataset"):
        evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path)


def test_rerank_blend_interpolates_with_the_run_scores(toy_dir, tmp_path):
    blended = {
        "type": "rerank_run",
        "run": "runs/first.trec",
        "reranker": "bi:all-MiniLM-L6-v2",
    }
    cfg = config(
        {"name": "w0", **blended, "rerank_blend": 0.0},
        {"name": "w.5", **blended, "rerank_blend": 0.5},
        {"name": "w1", **blended, "rerank_blend": 1.0},
    )
    result = evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path)
    # q1 run scores 4, 3, 2, 1 (d1, d3, d7, d4) -> minmax 1, 2/3, 1/3, 0; cosine d1 .817,
    # d7 .631, d3 .609, d4 .079 -> minmax 1, .748, .718, 0
    assert [d for d, _ in result.runs["w0"].ranking["q1"]] == ["d1", "d3", "d7", "d4"]
    assert [d for d, _ in result.runs["w1"].ranking["q1"]] == ["d1", "d7", "d3", "d4"]
    half = dict(result.runs["w.5"].ranking["q1"])
    expected = {"d1": 1.0, "d3": (2 / 3 + 0.718) / 2, "d7": (1 / 3 + 0.748) / 2, "d4": 0.0}
    assert half == pytest.approx(expected, abs=0.005)


def test_hybrid_with_reranker_keeps_first_stage(toy_dir, tmp_path):
    cfg = config(
        {"name": "hybrid", "mode": "hybrid"},
        {"name": "hybrid+bi", "mode": "hybrid", "reranker": "bi:all-MiniLM-L6-v2", "top_n": 5},
        {"name": "bm25", "mode": "bm25"},
        defaults={"chunk_size": 64, "chunk_overlap": 8, "top_k": 5, "candidates": 5},
    )
    result = evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path)
    assert len(result.index_builds) == 1  # bm25 shares the hybrid index
    reranked = result.runs["hybrid+bi"]
    assert reranked.first_stage is not None
    assert {"embed_query", "bm25", "dense", "fuse", "rerank", "total"} <= set(reranked.latency)
    assert reranked.ranking["q1"][0][0] == "d1"
    assert result.runs["hybrid"].metrics.mean["recall@10"] == pytest.approx(1.0)


def test_a_reranked_pipeline_runs_the_first_stage_once_per_query(toy_dir, tmp_path, monkeypatch):
    """The first-stage ranking of a reranked pipeline is the reranker's input of the same
    run: each retriever is called once per query (plus one untimed warm-up query)."""
    from blendrank.index.retrievers import IndexBM25, IndexDense

    calls = {"bm25": 0, "dense": 0}
    bm25_retrieve, dense_retrieve_many = IndexBM25.retrieve, IndexDense.retrieve_many

    def counted_bm25(self, query, k):
        calls["bm25"] += 1
        return bm25_retrieve(self, query, k)

    def counted_dense(self, queries, k):
        calls["dense"] += len(queries)
        return dense_retrieve_many(self, queries, k)

    monkeypatch.setattr(IndexBM25, "retrieve", counted_bm25)
    monkeypatch.setattr(IndexDense, "retrieve_many", counted_dense)
    cfg = config(
        {"name": "hybrid+bi", "mode": "hybrid", "reranker": "bi:all-MiniLM-L6-v2"},
        defaults={"chunk_size": 64, "chunk_overlap": 8, "top_k": 5, "candidates": 5},
    )
    dataset = load_beir(toy_dir)
    result = evaluate(dataset, cfg, work_dir=tmp_path)
    queries = len(dataset.queries)
    assert calls == {"bm25": queries + 1, "dense": queries + 1}
    run = result.runs["hybrid+bi"]
    assert set(run.first_stage) == set(run.ranking) == set(dataset.queries)
    assert all(len(run.first_stage[q]) >= len(run.ranking[q]) for q in dataset.queries)


@pytest.mark.slow
def test_cacm_bm25_end_to_end(shared_data, tmp_path):
    cfg = EvalConfig.from_mapping(
        {"metrics": ["ndcg@10", "recall@100"], "pipelines": [{"name": "bm25", "mode": "bm25"}]}
    )
    result = evaluate(load_beir(shared_data / "cacm"), cfg, work_dir=tmp_path)
    mean = result.runs["bm25"].metrics.mean
    assert len(result.queries) == 52
    assert 0.25 < mean["ndcg@10"] < 0.6, mean  # BM25 on CACM is usually around 0.35-0.4


def test_reranker_params_reach_the_reranker(toy_dir, tmp_path, tiny_ce_folder):
    # Before, the default loader took no options, so any reranker_params was an error.
    from blendrank.evaluate.resources import RerankerCache

    params = {"max_length": 32, "long_documents": "truncate", "batch_size": 2}
    reranker = RerankerCache().get(f"cross:{tiny_ce_folder}", params)
    assert (reranker.max_length, reranker.long_documents, reranker.batch_size) == (
        32,
        "truncate",
        2,
    )
    pipeline = {
        "name": "first+ce",
        "type": "rerank_run",
        "run": "runs/first.trec",
        "reranker": f"cross:{tiny_ce_folder}",
        "reranker_params": params,
    }
    result = evaluate(load_beir(toy_dir), config(pipeline), work_dir=tmp_path)
    assert {d for d, _ in result.runs["first+ce"].ranking["q1"]} == {"d1", "d3", "d7", "d4"}


def test_unknown_reranker_params_name_what_the_reranker_takes(toy_dir, tmp_path):
    pipeline = {
        "name": "bad",
        "type": "rerank_run",
        "run": "runs/first.trec",
        "reranker": "bi:all-MiniLM-L6-v2",
        "reranker_params": {"temperature": 0.5},
    }
    with pytest.raises(InvalidInputError, match="takes no option 'temperature'"):
        evaluate(load_beir(toy_dir), config(pipeline), work_dir=tmp_path)


def test_an_llm_reranker_reranks_a_run_from_a_config(toy_dir, tmp_path, llama_server):
    cfg = config(
        {
            "name": "first+llm",
            "type": "rerank_run",
            "run": "runs/first.trec",
            "reranker": f"llm-listwise:gemma@{llama_server}",
            "reranker_params": {"api": "completions", "window": 4, "step": 2},
        },
    )
    result = evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path)
    ranking = result.runs["first+llm"].ranking
    assert sorted(d for d, _ in ranking["q1"]) == ["d1", "d3", "d4", "d7"]  # all, once
    assert 0.0 <= result.runs["first+llm"].metrics.mean["ndcg@10"] <= 1.0

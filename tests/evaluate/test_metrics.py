"""Metrics through ranx: hand-computed toy values, names, relevance levels, TREC DL 2020."""

from __future__ import annotations

import math

import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate.datasets import load_beir, read_qrels, read_run
from blendrank.evaluate.metrics import evaluate_ranking, ranx_name, validate_metric

# tests/fixtures/eval/toy.qrels: q1: d1=2, d3=1, d5=0 ; q2: d2=1
# tests/fixtures/eval/toy.trec:  q1: d3 (3.0), d2 (2.0), d1 (1.0) ; q2: d4, d5
# So q1 ranks: 1 -> d3 (grade 1), 2 -> d2 (unjudged), 3 -> d1 (grade 2); q2 finds nothing.


@pytest.fixture(scope="module")
def toy(fixtures_dir):
    return read_qrels(fixtures_dir / "eval" / "toy.qrels"), read_run(
        fixtures_dir / "eval" / "toy.trec"
    )


def test_hand_computed_values(toy):
    qrels, run = toy
    metrics = ["ndcg@1", "ndcg@3", "mrr@10", "recall@2", "precision@3", "map", "hit_rate@1"]
    result = evaluate_ranking(qrels, run, metrics)
    q1 = {m: result.per_query[m]["q1"] for m in metrics}
    # nDCG, linear gain g / log2(rank + 1):
    #   DCG@3(q1)  = 1/log2(2) + 0/log2(3) + 2/log2(4) = 1 + 0 + 1 = 2
    #   IDCG@3(q1) = 2/log2(2) + 1/log2(3)             = 2 + 0.6309297536 = 2.6309297536
    #   nDCG@3     = 2 / 2.6309297536 = 0.7601875334
    assert q1["ndcg@3"] == pytest.approx(2 / (2 + 1 / math.log2(3)))
    # nDCG@1 = 1 / 2 (rank 1 has grade 1, ideal rank 1 has grade 2)
    assert q1["ndcg@1"] == pytest.approx(0.5)
    # MRR: first relevant (grade >= 1) at rank 1 -> 1
    assert q1["mrr@10"] == pytest.approx(1.0)
    # Recall@2: relevant {d1, d3}; top 2 holds d3 -> 1/2
    assert q1["recall@2"] == pytest.approx(0.5)
    # Precision@3: d3 and d1 relevant of 3 -> 2/3
    assert q1["precision@3"] == pytest.approx(2 / 3)
    # AP: relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2 = 0.8333
    assert q1["map"] == pytest.approx((1 + 2 / 3) / 2)
    assert q1["hit_rate@1"] == pytest.approx(1.0)
    # q2 retrieves no relevant document: every metric is 0; means are halves of q1's
    assert all(result.per_query[m]["q2"] == 0.0 for m in metrics)
    assert result.mean["ndcg@3"] == pytest.approx(0.7601875334 / 2)
    assert result.mean["map"] == pytest.approx(0.8333333333 / 2)
    assert result.query_ids == ("q1", "q2")


def test_relevance_level_two_binarises_binary_metrics_only(toy):
    qrels, run = toy
    result = evaluate_ranking(qrels, run, ["mrr@10", "map", "ndcg@3"], relevance_level=2)
    # Only d1 (grade 2) counts as relevant; it is at rank 3.
    assert result.per_query["mrr@10"]["q1"] == pytest.approx(1 / 3)  # 1/3
    assert result.per_query["map"]["q1"] == pytest.approx(1 / 3)  # precision@3 = 1/3, one rel
    # nDCG keeps the grades (d3's grade 1 still gains): unchanged 0.7601875334
    assert result.per_query["ndcg@3"]["q1"] == pytest.approx(0.7601875334)
    # q2's only judged document has grade 1 < 2: it has no relevant document -> 0
    assert result.per_query["mrr@10"]["q2"] == 0.0


def test_rank_order_not_score_decides(toy):
    qrels, _ = toy
    # Scores say d1 is best, but the list order (what the system returned) puts d3 first.
    result = evaluate_ranking(
        qrels, {"q1": [("d3", 0.1), ("d1", 0.9)]}, ["mrr@10"], relevance_level=2
    )
    assert result.per_query["mrr@10"]["q1"] == pytest.approx(0.5)


def test_missing_query_in_run_scores_zero(toy):
    qrels, run = toy
    result = evaluate_ranking(qrels, {"q1": run["q1"], "q9": [("d1", 1.0)]}, ["ndcg@3"])
    assert result.per_query["ndcg@3"]["q2"] == 0.0
    assert "q9" not in result.per_query["ndcg@3"]


@pytest.mark.parametrize("bad", ["ndcg@0", "ndgc@10", "f1@5", "recall@", "ndcg@ten", ""])
def test_unknown_metric_lists_valid_ones(bad):
    with pytest.raises(InvalidInputError, match="valid metrics: ndcg@k, mrr@k, hit_rate@k"):
        validate_metric(bad)


def test_metric_names_are_normalised_and_translated():
    assert validate_metric(" NDCG@10 ") == "ndcg@10"
    assert ranx_name("hit_rate@5", 2) == "hit_rate@5-l2"
    assert ranx_name("map", 1) == "map"


def test_empty_run_is_an_error(toy):
    qrels, _ = toy
    with pytest.raises(InvalidInputError, match="run is empty"):
        evaluate_ranking(qrels, {"q1": []}, ["ndcg@10"])


@pytest.mark.slow
def test_trec_dl20_bm25_reproduces_0_4796(shared_data):
    root = shared_data / "trec-dl20"
    with pytest.warns(UserWarning, match="8522 judged document"):
        dataset = load_beir(root, "test")
    run = read_run(root / "runs" / "bm25.trec")
    result = evaluate_ranking(dataset.qrels, run, ["ndcg@10"], relevance_level=2)
    assert len(result.query_ids) == 54
    assert round(result.mean["ndcg@10"], 4) == 0.4796

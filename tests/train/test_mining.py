from __future__ import annotations

import random
from pathlib import Path

import pytest

from blendrank.errors import InvalidInputError
from blendrank.train import TrainingQuery, TrainingSet, load_beir_training, mine_negatives
from blendrank.train.mining import jaccard, sample_group

BEIR_TOY = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "beir_toy"


def test_mined_negatives_never_include_judged_relevant_documents():
    data = load_beir_training(BEIR_TOY, "test")  # q1 judges d1 (2), d3 and d5 (1), d7 (0)
    mined = mine_negatives(data, retriever="bm25", depth=10)
    q1 = mined.negatives["q1"]
    assert not {"d1", "d3", "d5"} & set(q1)
    assert "d7" in q1  # judged non-relevant: a safe, hard negative
    assert mined.dropped_relevant >= 2  # the cat documents were retrieved and refused
    for q in data.queries:
        relevant = {d for d, g in q.judged.items() if g > 0}
        assert not relevant & set(mined.negatives[q.qid])
        assert mined.candidates[q.qid]  # kept for validation reranking


def test_near_duplicates_of_a_positive_are_dropped():
    corpus = {
        "pos": "the licence server could not be reached check the firewall",
        "dup": "the licence server could not be reached, please check the firewall!",
        "other": "the firewall blocks the licence server port by default",
    }
    data = TrainingSet(
        corpus, [TrainingQuery("q", "licence server firewall", {"pos": 1}, {"pos": 1})], "t"
    )
    # 9 shared words of 10: Jaccard 0.9
    mined = mine_negatives(data, retriever="bm25", depth=3, duplicate_threshold=0.9)
    assert mined.negatives["q"] == ["other"]
    assert mined.dropped_duplicates == 1
    loose = mine_negatives(data, retriever="bm25", depth=3, duplicate_threshold=0.95)
    assert sorted(loose.negatives["q"]) == ["dup", "other"]


def test_skip_top_skips_the_first_ranks():
    corpus = {f"d{i}": f"alpha {'beta ' * (5 - i)}" for i in range(5)}
    corpus["p"] = "gamma"
    data = TrainingSet(corpus, [TrainingQuery("q", "beta", {"p": 1}, {"p": 1})], "t")
    full = mine_negatives(data, retriever="bm25", depth=5, duplicate_threshold=1.0)
    skipped = mine_negatives(data, retriever="bm25", depth=5, skip_top=2, duplicate_threshold=1.0)
    assert skipped.negatives["q"] == full.negatives["q"][2:]


def test_none_retriever_keeps_the_given_negatives(toy_jsonl):
    from blendrank.train import load_jsonl_training

    data = load_jsonl_training(toy_jsonl)
    mined = mine_negatives(data, retriever="none")
    assert mined.negatives == {q.qid: list(q.negatives) for q in data.queries}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retriever": "splade"}, "retriever must be one of"),
        ({"depth": 0}, "depth must be an integer >= 1"),
        ({"skip_top": -1}, "skip_top must be an integer >= 0"),
        ({"duplicate_threshold": 0}, "duplicate_threshold must be in"),
    ],
)
def test_bad_mining_options(kwargs, message):
    data = load_beir_training(BEIR_TOY, "train")
    with pytest.raises(InvalidInputError, match=message):
        mine_negatives(data, **kwargs)


def test_jaccard_by_hand():
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == 0.5
    assert jaccard(set(), set()) == 1.0


def test_sample_group_fills_with_random_documents_but_never_relevant_ones():
    q = TrainingQuery("q", "x", {"p": 1}, {"p": 1, "r": 1, "n": 0})
    corpus_ids = ["p", "r", "n", "a", "b", "c"]
    for seed in range(20):
        group = sample_group(
            q, "p", ["n", "r"], corpus_ids, random.Random(seed), n_hard=2, n_random=2
        )
        assert group[0] == "p"
        assert "r" not in group and len(group) == len(set(group)) == 5
        assert "n" in group[1:]

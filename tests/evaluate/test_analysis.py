from __future__ import annotations

from blendrank.evaluate.analysis import analyse_reranker, rank_changes, truncate
from blendrank.types import Document


def test_rank_changes_by_hand():
    before = ["r1", "n1", "r2", "n2", "n3"]
    after = ["n3", "r2", "n1", "r1"]  # r1: 1 -> 4, r2: 3 -> 2, n3: 5 -> 1, n2 dropped
    grades = {"r1": 2, "r2": 1, "n1": 0}
    qa = rank_changes("q", "text", before, after, grades, cutoff=3)
    # relevant and inside the top 3 before, worse after: only r1 (r2 moved up)
    assert [(c.doc_id, c.grade, c.rank_before, c.rank_after) for c in qa.demoted_relevant] == [
        ("r1", 2, 1, 4)
    ]
    # non-relevant, now in the top 3 and higher than before: n3 (5 -> 1); n1 fell 2 -> 3
    assert [(c.doc_id, c.grade, c.rank_before, c.rank_after) for c in qa.promoted_nonrelevant] == [
        ("n3", None, 5, 1)
    ]


def test_relevance_level_changes_what_counts():
    qa = rank_changes("q", "t", ["a", "b"], ["b", "a"], {"a": 1, "b": 1}, relevance_level=2)
    # at level 2 neither is relevant: b moving up is a non-relevant promotion
    assert [c.doc_id for c in qa.promoted_nonrelevant] == ["b"] and not qa.demoted_relevant


def test_dropped_relevant_document():
    qa = rank_changes("q", "t", ["a", "b"], ["b"], {"a": 1})
    assert qa.demoted_relevant[0].rank_after is None


def test_analyse_reranker_worst_first_with_texts():
    corpus = {
        "a": Document("a", "Relevant text " * 30, title="A"),
        "b": Document("b", "Off topic"),
    }
    first = {"q1": [("a", 2.0), ("b", 1.0)], "q2": [("a", 1.0)]}
    reranked = {"q1": [("b", 0.9), ("a", 0.1)], "q2": [("a", 1.0)]}
    out = analyse_reranker(
        first,
        reranked,
        {"q1": {"a": 1}, "q2": {"a": 1}},
        {"q1": "x", "q2": "y"},
        corpus,
        {"q1": -0.37, "q2": 0.0},
        max_chars=40,
    )
    assert [q.query_id for q in out] == ["q1"]  # q2 was not hurt
    change = out[0].demoted_relevant[0]
    assert change.text.startswith("A. Relevant text") and len(change.text) == 40
    assert out[0].promoted_nonrelevant[0].text == "Off topic"


def test_truncate():
    assert truncate("short", 10) == "short"
    assert truncate("a b c d e f", 6) == "a b c…"

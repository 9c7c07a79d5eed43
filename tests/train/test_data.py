from __future__ import annotations

import json
from pathlib import Path

import pytest

from blendrank.train import (
    TrainingDataError,
    load_beir_training,
    load_jsonl_training,
    load_trec_training,
)

BEIR_TOY = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "beir_toy"


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_records_become_queries_and_a_shared_corpus(toy_jsonl):
    data = load_jsonl_training(toy_jsonl)
    assert len(data.queries) == 12
    first = data.queries[0]
    assert first.text == "how do I reset my password"
    (pos,) = first.positives
    assert data.corpus[pos].startswith("To reset your password")
    (neg,) = first.negatives
    assert first.judged == {pos: 1, neg: 0}
    # every negative text is some other record's positive: identical texts share one id
    assert len(data.corpus) == 12


def test_jsonl_positives_list_and_missing_negatives(tmp_path):
    path = write(tmp_path, [json.dumps({"query": "q", "positives": ["a", "b"]})])
    data = load_jsonl_training(path)
    assert sorted(data.corpus[d] for d in data.queries[0].positives) == ["a", "b"]
    assert data.queries[0].negatives == ()


def test_a_negative_equal_to_the_positive_is_dropped(tmp_path):
    path = write(tmp_path, [json.dumps({"query": "q", "positive": "a", "negatives": ["a", "b"]})])
    q = load_jsonl_training(path).queries[0]
    assert len(q.negatives) == 1 and q.negatives[0] not in q.positives


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "train.jsonl:2: not valid JSON"),
        ('["a"]', "train.jsonl:2: each line must be a JSON object"),
        ('{"positive": "a"}', "train.jsonl:2: 'query' must be a non-empty string"),
        ('{"query": "q"}', "train.jsonl:2: a record needs 'positive' or 'positives'"),
        ('{"query": "q", "positive": ""}', "'positive' must be a non-empty string"),
        ('{"query": "q", "positives": []}', "'positives' is empty"),
        ('{"query": "q", "positive": "a", "negatives": [1]}', "'negatives' must be"),
        ('{"query": "q", "positive": "a", "score": 1}', "unknown key(s) ['score']"),
    ],
)
def test_bad_jsonl_lines_name_the_file_and_line(tmp_path, line, message):
    good = json.dumps({"query": "q", "positive": "a"})
    with pytest.raises(TrainingDataError) as err:
        load_jsonl_training(write(tmp_path, [good, line]))
    assert message in str(err.value)


def test_missing_and_empty_jsonl(tmp_path):
    with pytest.raises(TrainingDataError, match="not found"):
        load_jsonl_training(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TrainingDataError, match="no training records"):
        load_jsonl_training(tmp_path / "empty.jsonl")


def test_beir_training_split_keeps_only_judged_positive_queries():
    data = load_beir_training(BEIR_TOY, "train")
    assert {q.qid: q.positives for q in data.queries} == {"q4": {"d4": 1}, "q5": {"d3": 1}}
    assert data.corpus["d4"].startswith("Markets\n")  # "title\ntext", as the harness reranks


def test_beir_training_graded_threshold():
    data = load_beir_training(BEIR_TOY, "test", min_positive_grade=2)
    assert [(q.qid, q.positives) for q in data.queries] == [("q1", {"d1": 2})]
    # lower grades stay judged (so mining never uses them as negatives)
    assert data.queries[0].judged["d5"] == 1


def test_beir_training_errors(tmp_path):
    with pytest.raises(TrainingDataError, match="available: test, train"):
        load_beir_training(BEIR_TOY, "dev")
    with pytest.raises(TrainingDataError, match="not found"):
        load_beir_training(tmp_path / "missing")
    with pytest.raises(TrainingDataError, match="grade >= 5"):
        load_beir_training(BEIR_TOY, "train", min_positive_grade=5)


def test_trec_training_with_a_query_subset(tmp_path):
    qrels = tmp_path / "q.trec"
    qrels.write_text("q1 0 d1 2\nq1 0 d2 0\nq3 0 d2 1\n")
    data = load_trec_training(
        qrels, BEIR_TOY / "corpus.jsonl", BEIR_TOY / "queries.jsonl", query_ids={"q1"}
    )
    assert [(q.qid, q.positives, q.judged) for q in data.queries] == [
        ("q1", {"d1": 2}, {"d1": 2, "d2": 0})
    ]


def test_split_is_seeded_and_disjoint(toy_jsonl):
    data = load_jsonl_training(toy_jsonl)
    train, val = data.split(0.25, seed=3)
    again, _ = data.split(0.25, seed=3)
    assert len(val.queries) == 3 and len(train.queries) == 9
    assert not {q.qid for q in train.queries} & {q.qid for q in val.queries}
    assert [q.qid for q in train.queries] == [q.qid for q in again.queries]


def test_fingerprint_changes_with_the_data(toy_jsonl, tmp_path):
    data = load_jsonl_training(toy_jsonl)
    lines = toy_jsonl.read_text().splitlines()
    lines[0] = lines[0].replace("password", "passcode")
    changed = load_jsonl_training(write(tmp_path, lines))
    assert data.fingerprint() == load_jsonl_training(toy_jsonl).fingerprint()
    assert data.fingerprint() != changed.fingerprint()

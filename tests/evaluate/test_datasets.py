"""Loading BEIR folders, TREC qrels and runs; bad input gives clear errors."""

from __future__ import annotations

import warnings

import pytest

from blendrank.evaluate.datasets import (
    DatasetError,
    MissingJudgedDocumentsWarning,
    load_beir,
    load_rerank_set,
    read_qrels,
    read_run,
)


def copy_toy(toy_dir, tmp_path):
    import shutil

    target = tmp_path / "toy"
    shutil.copytree(toy_dir, target)
    return target


def test_load_beir_keeps_judged_queries_in_file_order(toy_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every judged doc is in the corpus: no warning
        ds = load_beir(toy_dir, "test")
    assert list(ds.queries) == ["q1", "q2", "q3"]  # q4..q6 are not judged in test
    assert ds.qrels["q1"] == {"d1": 2, "d5": 1, "d3": 1, "d7": 0}
    assert ds.corpus["d1"].title == "Cats"
    assert ds.missing_judged_docs == 0
    assert list(load_beir(toy_dir, "train").queries) == ["q4", "q5"]


def test_limit_takes_first_queries(toy_dir):
    ds = load_beir(toy_dir, "test").limit(2)
    assert list(ds.queries) == ["q1", "q2"] and set(ds.qrels) == {"q1", "q2"}


def test_unknown_split_lists_available(toy_dir):
    with pytest.raises(DatasetError, match="available splits: test, train"):
        load_beir(toy_dir, "dev")


def test_qrels_naming_unknown_query_is_an_error(toy_dir, tmp_path):
    root = copy_toy(toy_dir, tmp_path)
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq99\td2\t1\n")
    with pytest.raises(DatasetError, match=r"1 query id\(s\) not in queries.jsonl \('q99'\)"):
        load_beir(root, "test")


def test_judged_docs_missing_from_corpus_warn_with_count_and_are_kept(toy_dir, tmp_path):
    root = copy_toy(toy_dir, tmp_path)
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\tgone1\t1\nq2\tgone2\t2\n"
    )
    with pytest.warns(MissingJudgedDocumentsWarning, match="2 judged document"):
        ds = load_beir(root, "test")
    assert ds.missing_judged_docs == 2
    assert ds.qrels["q1"] == {"d1": 1, "gone1": 1}  # kept: it still counts for recall


def test_read_qrels_trec_and_beir_formats_agree(fixtures_dir, tmp_path):
    trec = read_qrels(fixtures_dir / "eval" / "toy.qrels")
    tsv = tmp_path / "q.tsv"
    tsv.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t1\nq1\td5\t0\nq2\td2\t1\n")
    assert read_qrels(tsv) == trec == {"q1": {"d1": 2, "d3": 1, "d5": 0}, "q2": {"d2": 1}}


def test_beir_qrels_with_several_ids_in_one_field(tmp_path):
    """SciFact's train qrels list several corpus ids in one tab-separated field; each is
    judged (whitespace splitting would misread the line as TREC's 'qid 0 docid grade')."""
    tsv = tmp_path / "q.tsv"
    tsv.write_text("query-id\tcorpus-id\tscore\nq1\t25515907  5151024\t1\nq2\t7\t1\n")
    assert read_qrels(tsv) == {"q1": {"25515907": 1, "5151024": 1}, "q2": {"7": 1}}


def test_read_run_orders_like_trec_eval(tmp_path):
    path = tmp_path / "r.trec"
    # rank column is ignored; ties on score are broken by doc id descending
    path.write_text("q Q0 a 1 1.0 t\nq Q0 c 2 1.0 t\nq Q0 b 3 2.0 t\n")
    assert read_run(path) == {"q": [("b", 2.0), ("c", 1.0), ("a", 1.0)]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("q Q0 a 1 1.0\n", "expected 6 fields"),
        ("q Q0 a 1 high t\n", "score 'high' is not a number"),
        ("q Q0 a 1 1.0 t\nq Q0 a 2 0.5 t\n", "listed twice"),
    ],
)
def test_bad_run_files(tmp_path, content, message):
    path = tmp_path / "r.trec"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_run(path)


def test_bad_qrels_line(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("q1 0 d1 2\nq1 d2\n")
    with pytest.raises(DatasetError, match=r"q.txt:2: expected"):
        read_qrels(path)


def test_rerank_set_from_relative_run(toy_dir):
    ds, run = load_rerank_set(toy_dir, "runs/first.trec")
    assert [d for d, _ in run["q1"]] == ["d1", "d3", "d7", "d4"]
    assert len(ds.queries) == 3


def test_rerank_set_run_for_another_collection(toy_dir, tmp_path):
    bad = tmp_path / "other.trec"
    bad.write_text("x1 Q0 d1 1 1.0 t\n")
    with pytest.raises(DatasetError, match="shares no query id"):
        load_rerank_set(toy_dir, bad)


def test_rerank_set_candidate_not_in_corpus(toy_dir, tmp_path):
    bad = tmp_path / "other.trec"
    bad.write_text("q1 Q0 nope 1 1.0 t\n")
    with pytest.raises(DatasetError, match="candidate document"):
        load_rerank_set(toy_dir, bad)


def test_trec_dl20_is_a_rerank_set(shared_data):
    with pytest.warns(MissingJudgedDocumentsWarning):
        ds, run = load_rerank_set(shared_data / "trec-dl20", "runs/bm25.trec")
    assert len(ds.queries) == 54 and all(len(v) == 100 for v in run.values())

"""The command line end to end: index, search, info; bad input gives one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "blendrank" / "sample" / "support_kb.jsonl"


def blendrank(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blendrank.cli.main", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "idx"
    done = blendrank("index", str(path), str(SAMPLE), "--embedder", "none", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 24
    return path


def test_search_json_with_filter(bm25_index: Path) -> None:
    flt = json.dumps({"section": "troubleshooting", "date": {"gte": "2025-06-01"}})
    done = blendrank(
        "search", str(bm25_index), "E-4029", "--mode", "bm25", "--json", "--filter", flt
    )
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    # E-4029 in troubleshooting since June 2025: kb-003 (06-18), kb-017 (06-20), kb-021 (06-21)
    assert {h["doc_id"] for h in hits} == {"kb-003", "kb-017", "kb-021"}
    assert all(h["metadata"]["section"] == "troubleshooting" for h in hits)


def test_search_rerank_blend_runs_between_first_stage_and_reranker(bm25_index: Path) -> None:
    def ids(*extra: str) -> list[str]:
        base = ["search", str(bm25_index), "gateway timeout after upgrade", "--mode", "bm25"]
        done = blendrank(*base, "--json", "--top-k", "5", *extra)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["id"] for line in done.stdout.splitlines()]

    first = ids()
    rerank = ["--rerank", "bi:all-MiniLM-L6-v2", "--rerank-candidates", "8"]
    reranked = ids(*rerank)
    assert ids(*rerank, "--rerank-blend", "0") == first
    assert ids(*rerank, "--rerank-blend", "1") == reranked
    assert reranked != first  # the reranker changes this query's order


def test_reindexing_the_same_file_changes_nothing(bm25_index: Path) -> None:
    done = blendrank("index", str(bm25_index), str(SAMPLE), "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["unchanged"] == 24 and summary["added"] == 0 and summary["documents"] == 24


def test_info(bm25_index: Path) -> None:
    done = blendrank("info", str(bm25_index), "--json")
    info = json.loads(done.stdout)
    assert info["documents"] == 24 and info["settings"]["embedder"] is None
    assert "product_line" in info["metadata_fields"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "{missing}", "x"], "does not exist"),
        (["search", "{index}", "x", "--filter", "{not json"], "--filter is not valid JSON"),
        (["search", "{index}", "x", "--filter", '{"colour": "red"}'], "colour"),
        (["search", "{index}", "   ", "--mode", "bm25"], "query is empty"),
        (["search", "{index}", "x", "--mode", "dense"], "embedder=None"),
        (["search", "{index}", "x", "--rerank-blend", "0.5"], "--rerank-blend needs --rerank"),
        (
            ["search", "{index}", "x", "--rerank", "bi:all-MiniLM-L6-v2", "--rerank-blend", "2"],
            "weight must be in [0, 1]",
        ),
        (["index", "{tmp}/new", "{tmp}/nope.jsonl"], "nope.jsonl"),
        (["index", "{tmp}/new2", "{bad}"], "bad.jsonl:2"),
    ],
)
def test_bad_input_is_one_clear_line(bm25_index: Path, tmp_path: Path, args, message) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "1", "text": "fine"}\n{"_id": "2", "text": \n')
    fill = {
        "missing": str(tmp_path / "missing"),
        "index": str(bm25_index),
        "tmp": str(tmp_path),
        "bad": str(bad),
    }
    for key, value in fill.items():
        args = [a.replace("{" + key + "}", value) for a in args]
    done = blendrank(*args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_index_adds_retrievers_and_search_fuses_them_by_name(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    done = blendrank(
        "index", str(path), str(SAMPLE), "--embedder", "none", "--retriever", "bm42", "--quiet"
    )
    assert done.returncode == 0, done.stderr
    base = ["search", str(path), "seat limit license", "--json", "--retrievers", "bm25,bm42"]
    found = blendrank(*base)
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert hits[0]["doc_id"] == "kb-003" and {"bm25", "bm42", "fused"} <= set(hits[0]["scores"])
    # an existing index gets a retriever added, once
    again = blendrank("index", str(path), str(SAMPLE), "--retriever", "sparse2=bm42", "--quiet")
    assert again.returncode == 0, again.stderr
    info = json.loads(blendrank("info", str(path), "--json").stdout)
    assert info["retrievers"] == ["bm25", "bm42", "sparse2"]
    missing = blendrank("search", str(path), "x", "--retrievers", "bm25,e5")
    assert missing.returncode != 0 and "has no retriever 'e5'" in missing.stderr


def test_search_reads_the_filter_from_the_question(bm25_index: Path) -> None:
    query = "enterprise troubleshooting E-4029 since June 2025"
    done = blendrank("search", str(bm25_index), query, "--mode", "bm25", "--self-query", "filter")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("self-query (filter): filter {") and "'E-4029'" in first
    as_json = blendrank(
        "search", str(bm25_index), query, "--mode", "bm25", "--self-query", "filter", "--json"
    )
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert lines[0]["self_query"]["filter"] == {
        "product_line": "enterprise",
        "section": "troubleshooting",
        "date": {"gte": "2025-06-01"},
    }
    assert {h["doc_id"] for h in lines[1:]} == {"kb-003", "kb-017", "kb-021"}


def test_an_ingest_that_stops_resumes_without_embedding_again(tmp_path: Path) -> None:
    records = [
        {"_id": f"d{i}", "text": f"document {i} about backups and agents"} for i in range(23)
    ]
    lines = [json.dumps(r) for r in records]
    source = tmp_path / "docs.jsonl"
    broken = lines[:12] + ["{not json"] + lines[12:]
    source.write_text("\n".join(broken) + "\n", encoding="utf-8")
    index = tmp_path / "idx"
    first = blendrank("index", str(index), str(source), "--batch", "5")
    assert first.returncode != 0 and "docs.jsonl:13" in first.stderr
    from blendrank import Index

    assert len(Index.open(index)) == 10  # the two committed batches are kept
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = blendrank("index", str(index), str(source), "--batch", "5", "--json")
    summary = json.loads(second.stdout)
    assert summary["unchanged"] == 10 and summary["added"] == 13
    assert summary["chunks"] == 13  # only the new documents were chunked and embedded
    assert len(Index.open(index)) == 23


def test_the_overall_progress_bar_counts_the_input(tmp_path: Path) -> None:
    from blendrank.cli.index_cmd import _count_documents

    lines = tmp_path / "docs.jsonl"
    lines.write_text('{"_id": "a", "text": "x"}\n\n{"_id": "b", "text": "y"}\n', "utf-8")
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.md", ".hidden.txt", "c.pdf"):
        (folder / name).write_text("text", "utf-8")
    assert _count_documents([str(lines), str(folder)]) == 4  # 2 records + 2 text files
    assert _count_documents([str(tmp_path / "table.csv")]) is None  # counting means parsing

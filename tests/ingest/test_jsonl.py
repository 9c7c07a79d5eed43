"""JSON Lines and JSON array files: fixtures, Unicode round trips, every error path."""

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank.errors import IngestError
from blendrank.ingest import load_documents
from blendrank.types import Document


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_japanese_and_chinese_fixture_round_trips(fixtures_dir: Path) -> None:
    docs = list(load_documents([fixtures_dir / "docs_ja_zh.jsonl"]))
    assert [d.id for d in docs] == ["ja-1", "ja-2", "zh-1", "7"]  # the int id 7 -> "7"
    assert docs[0] == Document(
        "ja-1",
        "東京タワーは東京都港区にある電波塔です。高さは333メートルです。",
        "東京タワー",
        {"lang": "ja", "tags": ["観光", "東京"]},
    )
    assert docs[1].metadata == {"lang": "ja", "year": 2024}  # metadata object + top-level key
    assert docs[2].metadata == {"lang": "zh", "source.name": "百科", "source.page": 12}
    assert docs[2].text == "北京是中国的首都，也是清华大学的所在地。"


def test_bom_blank_lines_and_ndjson(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.ndjson", '\ufeff{"_id": "a", "text": "x"}\n\n  \n{"id": 2, "text": ""}\n'
    )
    assert [(d.id, d.text) for d in load_documents([path])] == [("a", "x"), ("2", "")]


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", '{"_id": "a", "text": "x"}\r\n{"_id": "b", "text": "y"}\r\n')
    assert [d.id for d in load_documents([path])] == ["a", "b"]


def test_empty_files_give_no_documents(tmp_path: Path) -> None:
    paths = [write(tmp_path / "e.jsonl", ""), write(tmp_path / "e.json", "  \n")]
    paths.append(write(tmp_path / "empty_array.json", "[ ]"))
    assert list(load_documents(paths)) == []


def test_streams_lazily(tmp_path: Path) -> None:
    # the second line is malformed: the first document still comes out before the error
    path = write(tmp_path / "c.jsonl", '{"_id": "a", "text": "x"}\n{oops\n')
    docs = load_documents([path])
    assert next(docs).id == "a"
    with pytest.raises(IngestError, match=r"c.jsonl:2: malformed JSON"):
        next(docs)


def test_json_array_with_line_numbers(tmp_path: Path) -> None:
    content = '[\n  {"_id": "a", "text": "x"},\n  {"_id": "b",\n   "text": "日本語"}\n]\n'
    path = write(tmp_path / "c.json", content)
    assert [(d.id, d.text) for d in load_documents([path])] == [("a", "x"), ("b", "日本語")]
    bad = write(tmp_path / "bad.json", '[\n {"_id": "a", "text": "x"},\n {"_id": "b"}\n]')
    with pytest.raises(IngestError, match=r"bad.json:3: document 'b' has no 'text' field"):
        list(load_documents([bad]))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": }\n', r"x.jsonl:2: malformed JSON"),
        ('{"_id": "a", "text": "x"}\n["a list"]\n', r"x.jsonl:2: each line must be a JSON object"),
        ('\n\n{"text": "x"}\n', r"x.jsonl:3: record has no id field"),
        ('{"_id": "a"}\n', r"x.jsonl:1: document 'a' has no 'text' field"),
        ('{"_id": "a", "text": 3}\n', r"x.jsonl:1: 'text' of document 'a' must be a string"),
        ('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', r"x.jsonl:2: duplicate"),
        (b'{"_id": "a", "text": "\xff"}\n', r"x.jsonl:1: not valid UTF-8"),
    ],
)
def test_jsonl_errors(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    path = write(tmp_path / "x.jsonl", content)
    with pytest.raises(IngestError, match=fragment):
        list(load_documents([path]))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"_id": "a", "text": "x"}', r"y.json:1: a .json file must hold an array"),
        ('[\n{"_id": "a", "text": "x"},\n{"_id": "b" "text": "y"}\n]', r"y.json:3: malformed JSON"),
        ('[\n{"_id": "a", "text": "x"}\n{"_id": "b", "text": "y"}]', r"y.json:3: .*expected ','"),
        ('[{"_id": "a", "text": "x"}] []', r"y.json:1: malformed JSON: extra data"),
        ('[\n"text"\n]', r"y.json:2: array items must be JSON objects"),
        ('[{"_id": "a", "text": "x"}', r"y.json:1: malformed JSON: expected ',' or ']'"),
    ],
)
def test_json_array_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = write(tmp_path / "y.json", content)
    with pytest.raises(IngestError, match=fragment):
        list(load_documents([path]))


def test_beir_corpus_loads(shared_data: Path) -> None:
    docs = load_documents([shared_data / "scifact" / "corpus.jsonl"])
    first = next(docs)
    assert first.id == "4983" and first.title.startswith("Microstructural development")
    assert sum(1 for _ in docs) == 5183 - 1

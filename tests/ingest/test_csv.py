"""CSV and TSV files: value parsing rules and every error path."""

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank.errors import IngestError
from blendrank.ingest import load_documents
from blendrank.ingest.csv import parse_cell
from blendrank.types import Document


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("3.5", 3.5),
        ("-2.5e3", -2500.0),
        ("1e-3", 0.001),
        ("007", "007"),  # leading zero: an identifier such as a zip code, not a number
        ("1,000", "1,000"),
        (".5", ".5"),
        ("1.", "1."),
        ("+5", "+5"),
        ("nan", "nan"),
        ("true", "true"),
        ("", ""),
        (" 42", " 42"),
    ],
)
def test_parse_cell(cell: str, value: object) -> None:
    parsed = parse_cell(cell)
    assert parsed == value and type(parsed) is type(value)


def test_csv_fixture(fixtures_dir: Path) -> None:
    docs = list(load_documents([fixtures_dir / "docs.csv"]))
    # zip "00501" keeps its leading zero; -2.5e3 is a float; an empty cell stays ""
    assert [(d.id, d.title, d.text) for d in docs] == [
        ("d1", "First", "Hello world"),
        ("d2", "", "Multi\nline text, with comma"),
        ("d3", "中文", "北京是中国的首都"),
    ]
    assert [d.metadata for d in docs] == [
        {"year": 2024, "score": 0.75, "zip": "00501", "tag": "alpha"},
        {"year": 1999, "score": -2500.0, "zip": 12345, "tag": ""},
        {"year": 2020, "score": 1.0, "zip": 0, "tag": "β"},
    ]


def test_tsv_fixture_with_id_column(fixtures_dir: Path) -> None:
    docs = list(load_documents([fixtures_dir / "docs.tsv"]))
    # ids are never parsed as numbers
    assert docs == [
        Document("10", "Tab separated text", "", {"lang": "en"}),
        Document("11", "日本語のテキスト", "", {"lang": "ja"}),
    ]


def test_bom_long_field_and_blank_lines(tmp_path: Path) -> None:
    long_text = "word " * 60_000  # 300 kB: above csv's default 128 kB field limit
    path = tmp_path / "b.csv"
    path.write_text(f"\ufeff_id,text\n\na,{long_text}\n", encoding="utf-8")
    [doc] = load_documents([path])
    assert doc.id == "a" and doc.text == long_text


def test_empty_csv_gives_no_documents(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    (tmp_path / "h.csv").write_text("_id,text\n")
    assert list(load_documents([tmp_path / "e.csv", tmp_path / "h.csv"])) == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name,text\na,x\n", r"c.csv:1: no id column \('_id' or 'id'\)"),
        ("_id,body\na,x\n", r"c.csv:1: no 'text' column"),
        ("_id,text,text\na,x,y\n", r"c.csv:1: the header repeats a column name"),
        ("_id,text,\na,x,y\n", r"c.csv:1: the header has an empty column name"),
        ("_id,text\na,x\nb,y,z\n", r"c.csv:3: row has 3 fields but the header has 2"),
        ('_id,text\na,"two\nlines"\n,y\n', r"c.csv:4: id must be a non-empty string"),
        ("_id,text\na,x\na,y\n", r"c.csv:3: duplicate document id 'a' \(first at .*c.csv:2\)"),
        ('_id,text\na,"x"y\n', r"c.csv:2: malformed CSV: ',' expected after"),
        ('_id,text\na,"never closed\n', r"c.csv:\d+: malformed CSV: unexpected end of data"),
    ],
)
def test_csv_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError, match=fragment):
        list(load_documents([path]))


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"_id,text\na,\xff\xfe\n")
    with pytest.raises(IngestError, match=r"u.csv:\d+: not valid UTF-8"):
        list(load_documents([path]))

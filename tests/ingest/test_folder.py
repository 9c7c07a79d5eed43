"""Folders of .txt/.md files with YAML front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank.errors import IngestError
from blendrank.ingest import load_documents
from blendrank.ingest.folder import split_front_matter
from blendrank.types import Document


def test_notes_fixture(fixtures_dir: Path) -> None:
    docs = list(load_documents([fixtures_dir / "notes"]))
    # sorted by relative path; .hidden/ and ignored.rst are skipped
    assert [d.id for d in docs] == ["guides/setup.txt", "guides/日本語.md", "intro.md"]
    assert docs[0] == Document(
        "guides/setup.txt", "Install the package, then run the indexer.\n", "", {}
    )
    assert docs[1] == Document(
        "guides/日本語.md", "東京タワーの高さは333メートルです。\n", "日本語のメモ", {"rating": 4.5}
    )
    assert docs[2] == Document(
        "intro.md",
        "Welcome to the notes. Error E-4029 means the disk is full.\n",
        "Introduction",
        {
            "date": "2024-05-01",  # a YAML date -> ISO string
            "tags": ["setup", "intro"],
            "author.name": "Ada",  # nested mapping flattened
            "author.team": "search",
            "draft": False,
        },
    )


def test_single_text_file_id_is_its_name(fixtures_dir: Path) -> None:
    [doc] = load_documents([fixtures_dir / "notes" / "intro.md"])
    assert doc.id == "intro.md" and doc.title == "Introduction"


@pytest.mark.parametrize(
    ("content", "front", "text"),
    [
        ("no front matter\n---\n", {}, "no front matter\n---\n"),
        ("---\n---\nbody", {}, "body"),
        ("---\ntitle: Hi\n...\n\n\nbody\n", {"title": "Hi"}, "body\n"),
        ("---  \na: 1\n---\n", {"a": 1}, ""),
        ("---\n2024: x\n---\nb", {"2024": "x"}, "b"),  # keys become strings
    ],
)
def test_split_front_matter(content: str, front: dict, text: str) -> None:
    assert split_front_matter(content, "n.md") == (front, text)


def test_crlf_bom_and_numeric_title(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes("\ufeff---\r\ntitle: 42\r\n---\r\nbody\r\n".encode())
    [doc] = load_documents([tmp_path])
    assert (doc.title, doc.text, doc.metadata) == ("42", "body\n", {})


def test_empty_folder_and_empty_file(tmp_path: Path) -> None:
    assert list(load_documents([tmp_path])) == []
    (tmp_path / "empty.txt").write_text("")
    assert list(load_documents([tmp_path])) == [Document("empty.txt", "", "", {})]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("---\ntitle: x\nbody without a closing line\n", r"bad.md:1: front matter .* never closed"),
        ("---\na: 1\nb: [unclosed\n---\nbody\n", r"bad.md:\d+: invalid YAML front matter"),
        ("---\n- a list\n---\nbody\n", r"bad.md:2: front matter must be a YAML mapping"),
        ("---\ntitle: [a, b]\n---\nbody\n", r"bad.md:1: front matter 'title' must be a string"),
        ("---\nm: [{a: 1}]\n---\nbody\n", r"bad.md:1: metadata 'm' must be a list"),
    ],
)
def test_front_matter_errors(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "bad.md").write_text(content, encoding="utf-8")
    with pytest.raises(IngestError, match=fragment):
        list(load_documents([tmp_path]))


def test_yaml_error_line_points_into_the_file(tmp_path: Path) -> None:
    # line 1 '---', line 2 ok, line 3 has the bad indentation
    (tmp_path / "bad.md").write_text("---\na: 1\n  b: 2\n---\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad.md:3: invalid YAML"):
        list(load_documents([tmp_path]))


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_bytes(b"ok\nok\nbad \xff\n")
    with pytest.raises(IngestError, match=r"u.txt:3: not valid UTF-8"):
        list(load_documents([tmp_path]))

"""load_documents: dispatch by path, eager path checks, ids unique across inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank.errors import IngestError
from blendrank.ingest import load_documents


def test_mixed_inputs_in_order(fixtures_dir: Path) -> None:
    paths = [fixtures_dir / "docs.tsv", str(fixtures_dir / "docs.csv"), fixtures_dir / "notes"]
    ids = [d.id for d in load_documents(paths)]
    assert ids == ["10", "11", "d1", "d2", "d3", "guides/setup.txt", "guides/日本語.md", "intro.md"]


def test_a_single_path_is_not_iterated_character_by_character(fixtures_dir: Path) -> None:
    assert len(list(load_documents(str(fixtures_dir / "docs.csv")))) == 3
    assert len(list(load_documents(fixtures_dir / "docs.csv"))) == 3


def test_custom_field_names(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"key": "k1", "body": "b", "name": "n", "x": 1}\n')
    [doc] = load_documents(
        [tmp_path / "c.jsonl"], id_field="key", text_field="body", title_field="name"
    )
    assert (doc.id, doc.text, doc.title, doc.metadata) == ("k1", "b", "n", {"x": 1})


def test_missing_path_fails_at_call_time(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="nope.jsonl: no such file or folder"):
        load_documents([tmp_path / "nope.jsonl"])  # not even iterated


@pytest.mark.parametrize("name", ["notes.pdf", "README"])
def test_unsupported_file_type_fails_at_call_time(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")
    with pytest.raises(IngestError, match="unsupported file type"):
        load_documents([tmp_path / name])


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"_id": "x", "text": "1"}\n{"_id": "7", "text": "2"}\n')
    (tmp_path / "b.csv").write_text("id,text\ny,3\n7,4\n")
    with pytest.raises(
        IngestError, match=r"b.csv:3: duplicate document id '7' \(first at .*a.jsonl:2\)"
    ):
        list(load_documents([tmp_path / "a.jsonl", tmp_path / "b.csv"]))


def test_the_same_file_twice_is_a_duplicate(fixtures_dir: Path) -> None:
    path = fixtures_dir / "docs.tsv"
    with pytest.raises(IngestError, match="duplicate document id '10'"):
        list(load_documents([path, path]))

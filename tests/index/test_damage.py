"""Damaged generation files are a clear error on open that names the file and what to do,
never different results or an IndexError at search time (each case was silent or a raw
traceback before)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from blendrank import Document, Index
from blendrank.errors import IndexFormatError

DOCS = [Document(f"d{i}", f"document number {i} about agents and backups") for i in range(6)]


@pytest.fixture
def generation(tmp_path) -> Path:
    """The folder of the index's one segment (in its current generation)."""
    index = Index.create(tmp_path / "idx")
    index.add(DOCS)
    manifest = json.loads((tmp_path / "idx" / "blendrank.json").read_text())
    gen = tmp_path / "idx" / f"gen-{manifest['generation']:06d}"
    (segment,) = manifest["segments"]
    return gen / "segments" / segment["name"]


def _root(segment: Path) -> Path:
    return segment.parents[2]


def _open_fails(generation: Path, message: str) -> None:
    with pytest.raises(IndexFormatError, match=message) as failure:
        Index.open(_root(generation))
    assert "rebuild it: blendrank index" in str(failure.value)


def _without_checksums(generation: Path) -> None:
    """As an index written before checksums: only the shape checks can see damage."""
    path = _root(generation) / "blendrank.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]
    path.write_text(json.dumps(manifest))


def _fewer_vector_rows(generation: Path) -> None:
    vectors = np.load(generation / "vectors.npy")
    np.save(generation / "vectors.npy", vectors[:-1])


def _missing_documents_line(generation: Path) -> None:
    lines = (generation / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    (generation / "documents.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")


def _rewrite_chunks(generation: Path, change) -> None:
    with np.load(generation / "chunks.npz") as arrays:
        parts = {name: arrays[name].copy() for name in arrays.files}
    change(parts)
    np.savez(generation / "chunks.npz", **parts)


def _offsets_outside(generation: Path) -> None:
    _rewrite_chunks(generation, lambda parts: parts["chunk_end"].__setitem__(2, 10_000))


def _arrays_of_different_lengths(generation: Path) -> None:
    _rewrite_chunks(generation, lambda parts: parts.__setitem__("chunk_n", parts["chunk_n"][:-2]))


DAMAGE = {
    "fewer vector rows": (_fewer_vector_rows, "vectors.npy", r"vectors.npy has 5 rows but"),
    "a missing documents line": (
        _missing_documents_line,
        "documents.jsonl",
        r"chunks.npz names document rows up to 5 but documents.jsonl has 5",
    ),
    "offsets outside the text": (
        _offsets_outside,
        "chunks.npz",
        r"character offsets outside their documents",
    ),
    "arrays of different lengths": (
        _arrays_of_different_lengths,
        "chunks.npz",
        r"chunks.npz arrays have different lengths",
    ),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_damage_is_named_on_open(generation, case):
    # by the recorded file sizes, or (a same-size edit of a small index) by the checksums
    damage, file, shape_message = DAMAGE[case]
    damage(generation)
    _open_fails(
        generation, rf"{file} has \d+ bytes, not \d+|{file} has other content|{shape_message}"
    )


@pytest.mark.parametrize("case", DAMAGE)
def test_damage_in_an_index_without_checksums_is_caught_by_the_shape_checks(generation, case):
    damage, _file, shape_message = DAMAGE[case]
    _without_checksums(generation)
    damage(generation)
    _open_fails(generation, shape_message)


def test_a_flipped_bit_that_keeps_the_size_is_caught(generation, capsys, monkeypatch):
    from blendrank.cli.main import main
    from blendrank.index import embedded

    index = Index.open(_root(generation))
    assert index.verify() == []
    data = bytearray((generation / "vectors.npy").read_bytes())
    data[-5] ^= 0x01  # same size: only the checksum can tell
    (generation / "vectors.npy").write_bytes(bytes(data))
    # a small generation has its checksums read on open
    _open_fails(generation, "vectors.npy has other content than was committed")
    # a large one is checked by size on open; verify reads every byte
    monkeypatch.setattr(embedded, "CHECKSUM_ON_OPEN_BYTES", 0)
    (problem,) = Index.open(_root(generation)).verify()
    assert problem == (
        f"segments/{generation.name}/vectors.npy has other content than was committed "
        "(checksum differs)"
    )
    monkeypatch.setattr(embedded, "CHECKSUM_ON_OPEN_BYTES", 2**40)
    assert main(["verify", str(_root(generation))]) == 1
    assert "vectors.npy has other content" in capsys.readouterr().out
    assert main(["verify", str(_root(generation)), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False

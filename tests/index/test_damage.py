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
    index = Index.create(tmp_path / "idx")
    index.add(DOCS)
    manifest = json.loads((tmp_path / "idx" / "blendrank.json").read_text())
    return tmp_path / "idx" / f"gen-{manifest['generation']:06d}"


def _open_fails(generation: Path, message: str) -> None:
    with pytest.raises(IndexFormatError, match=message) as failure:
        Index.open(generation.parent)
    assert "rebuild it: blendrank index" in str(failure.value)


def test_vectors_with_fewer_rows(generation):
    vectors = np.load(generation / "vectors.npy")
    np.save(generation / "vectors.npy", vectors[:-1])
    _open_fails(generation, r"vectors.npy has 5 rows but chunks.npz has 6")


def test_a_missing_documents_line(generation):
    lines = (generation / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    (generation / "documents.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    _open_fails(generation, r"chunks.npz names document rows up to 5 but documents.jsonl has 5")


def test_chunk_rows_pointing_outside_the_documents(generation):
    with np.load(generation / "chunks.npz") as arrays:
        parts = {name: arrays[name].copy() for name in arrays.files}
    parts["chunk_end"][2] = 10_000
    np.savez(generation / "chunks.npz", **parts)
    _open_fails(generation, r"character offsets outside their documents")


def test_chunk_arrays_of_different_lengths(generation):
    with np.load(generation / "chunks.npz") as arrays:
        parts = {name: arrays[name].copy() for name in arrays.files}
    parts["chunk_n"] = parts["chunk_n"][:-2]
    np.savez(generation / "chunks.npz", **parts)
    _open_fails(generation, r"chunks.npz arrays have different lengths")

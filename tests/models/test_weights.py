"""weights_hash: content decides, names of absent files do not, no weights is an error."""

from __future__ import annotations

import hashlib

import pytest

from blendrank.errors import ModelError
from blendrank.models.weights import hash_files, weights_hash


def test_weights_hash_follows_content(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "config.json").write_text("{}")  # not a weight file: not hashed
    expected = hashlib.blake2b(b"model.safetensors" + b"weights", digest_size=8).hexdigest()
    assert weights_hash(tmp_path) == expected
    (tmp_path / "model.safetensors").write_bytes(b"retrained")
    assert weights_hash(tmp_path) != expected


def test_hash_files_counts_what_it_found(tmp_path):
    (tmp_path / "a").write_bytes(b"1")
    digest = hashlib.sha256()
    assert hash_files(digest, tmp_path, ["a", "missing"]) == 1
    assert digest.hexdigest() == hashlib.sha256(b"a1").hexdigest()


def test_no_weights_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="holds no model weights"):
        weights_hash(tmp_path)

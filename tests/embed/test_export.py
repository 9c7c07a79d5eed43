"""Export of safetensors models to ONNX, checked against sentence-transformers."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from blendrank.embed.export import cached_onnx_export, encoder_export_key
from blendrank.embed.onnx import OnnxEmbedder
from blendrank.errors import ModelError

TEXTS = [
    "A short one.",
    "A somewhat longer sentence, so that the batch needs padding for the others.",
    "東京は日本の首都です。",
    "",
]


def _sentence_transformer(folder):
    st = pytest.importorskip(
        "sentence_transformers", reason="sentence-transformers (extra 'torch') is not installed"
    )
    return st.SentenceTransformer(str(folder), device="cpu")


def test_tiny_bert_export_matches_sentence_transformers(tiny_bert_folder, private_cache):
    embedder = OnnxEmbedder(tiny_bert_folder, threads=1)
    onnx_path = embedder.resolved.onnx_path
    assert onnx_path.parent.name == encoder_export_key(tiny_bert_folder)
    assert onnx_path.is_relative_to(private_cache / "onnx")
    # no sentence_bert_config.json: max_length = min(512, max_position_embeddings=128)
    assert embedder.max_length == 128 and embedder.pooling == "mean" and embedder.dim == 32
    ours = embedder.embed_documents(TEXTS)
    reference = _sentence_transformer(tiny_bert_folder).encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_export_is_cached_and_atomic(tiny_bert_folder, private_cache):
    first = cached_onnx_export(tiny_bert_folder)
    stamp = first.stat().st_mtime_ns
    again = cached_onnx_export(tiny_bert_folder)
    assert again == first and again.stat().st_mtime_ns == stamp  # not exported twice
    leftovers = [p.name for p in first.parent.iterdir() if p.name != "model.onnx"]
    assert leftovers == []  # the temporary file was moved into place, not copied


def test_cls_pooling_from_sentence_transformers_folder(tiny_bert_folder, tmp_path):
    folder = tmp_path / "cls-model"
    shutil.copytree(tiny_bert_folder, folder)
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_cls_token": True})
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    embedder = OnnxEmbedder(folder, threads=1)
    assert (embedder.pooling, embedder.max_length) == ("cls", 64)
    reference = _sentence_transformer(folder).encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS), reference, atol=1e-4)


def test_dense_module_without_it_in_onnx_is_refused(tiny_bert_folder, tmp_path):
    folder = tmp_path / "dense-model"
    shutil.copytree(tiny_bert_folder, folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelError, match=r"modules \['Dense'\] after pooling"):
        OnnxEmbedder(folder, threads=1)


def test_onnx_that_returns_pooled_vectors(tiny_bert_folder, tmp_path):
    # A model whose ONNX graph already mean-pools: output is (batch, dim), used as is.
    import torch
    import transformers

    folder = tmp_path / "pooled-model"
    shutil.copytree(tiny_bert_folder, folder)
    model = transformers.BertModel.from_pretrained(str(folder)).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model  # a submodule, so its weights export as initializers

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    ids = torch.ones((2, 8), dtype=torch.long)
    mask = ids.clone()
    mask[1, 5:] = 0
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notices
        torch.onnx.export(
            MeanPooled(),
            (ids, mask, torch.zeros_like(ids)),
            str(folder / "model.onnx"),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names}
            | {"sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    pooled = OnnxEmbedder(folder, threads=1)
    token_level = OnnxEmbedder(tiny_bert_folder, threads=1)
    np.testing.assert_allclose(
        pooled.embed_documents(TEXTS), token_level.embed_documents(TEXTS), atol=1e-5
    )
    assert pooled.dim == 32


@pytest.mark.slow
def test_minilm_fp32_export_matches_sentence_transformers(minilm_fp32_folder):
    # ONNX Runtime: exact fp32 (auto may pick OpenVINO bf16, about 1e-3 off, on a bf16 CPU)
    embedder = OnnxEmbedder("all-MiniLM-L6-v2:fp32", threads=2, backend="onnx")
    reference = _sentence_transformer(minilm_fp32_folder).encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS), reference, atol=1e-4)


@pytest.mark.slow
def test_int8_default_is_close_to_fp32_on_scifact(shared_data, minilm):
    pytest.importorskip("torch", reason="torch (extra 'torch') is needed for the fp32 export")
    lines = (shared_data / "scifact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines[:300]]
    texts = [f"{d['title']} {d['text']}" for d in docs]
    fp32 = OnnxEmbedder("all-MiniLM-L6-v2:fp32", threads=2, backend="onnx").embed_documents(texts)
    int8 = minilm.embed_documents(texts)
    cosines = (fp32 * int8).sum(axis=1)
    # measured: mean 0.99941, min 0.99907 on these 300 abstracts (max_length 256)
    assert cosines.mean() > 0.999 and cosines.min() > 0.998


def test_export_without_torch_names_the_extra(tmp_path, minilm_folder, monkeypatch):
    # A folder with weights but no ONNX needs the export; with torch unimportable the
    # error must name the pip extra, and no half-written file may stay in the cache.
    import sys

    from blendrank.errors import MissingDependencyError

    folder = tmp_path / "weights-only"
    folder.mkdir()
    for name in ("tokenizer.json", "config.json"):
        shutil.copy(minilm_folder / name, folder)
    (folder / "model.safetensors").write_bytes(b"not really weights")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    monkeypatch.setenv("BLENDRANK_CACHE", str(tmp_path / "cache"))
    with pytest.raises(MissingDependencyError, match=r"pip install 'blendrank\[torch\]'"):
        OnnxEmbedder(folder)
    assert list((tmp_path / "cache" / "onnx").rglob("*.tmp")) == []


def test_export_without_onnx_names_the_extra(tmp_path, tiny_bert_folder, monkeypatch):
    # torch present but onnx missing (torch does not depend on it): the typed error, not
    # torch's own OnnxExporterError from deep inside the exporter.
    import sys

    from blendrank.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setenv("BLENDRANK_CACHE", str(tmp_path / "cache"))
    with pytest.raises(MissingDependencyError, match=r"'onnx' is needed.*blendrank\[torch\]"):
        OnnxEmbedder(tiny_bert_folder)

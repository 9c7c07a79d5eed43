"""Faster CPU paths of the cross-encoder: the first-token-only last layer (exact) and
OpenVINO static int8 through NNCF (rank agreement with fp32, caching, clear errors)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from blendrank.cli.main import main
from blendrank.errors import InvalidInputError, MissingDependencyError
from blendrank.rerank.cross_encoder import CrossEncoderReranker

QUERY = "how do I reset the agent's password"
TEXTS = [
    "Reset a password from the admin console: open Users, pick the account, choose Reset.",
    "The agent needs glibc 2.28 or newer and opens port 8443 for its control channel.",
    "Passwords expire after ninety days; the agent asks for a new one at the next login.",
    "Run the MSI installer with administrator rights to install the Windows service.",
    "Backups run nightly at two in the morning and are kept for thirty days.",
    "If you forgot your password, the reset link in the login page mails you a new one.",
    "Dark mode is under Settings, Appearance.",
    "Password reset for service accounts needs an administrator and the account's token. " * 4,
]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ranks_a = np.argsort(np.argsort(a)).astype(float)
    ranks_b = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


# --- first-token-only last layer ----------------------------------------------------------


def _padded_batch(torch, vocab: int = 30522):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, vocab, (3, 20), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    mask[2, 5:] = 0
    return ids, mask


def test_pruned_last_layer_gives_the_same_logits(tiny_ce_folder):
    torch = pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")
    from blendrank.rerank.cross_encoder.cls_pruning import prune_last_layer
    from blendrank.rerank.cross_encoder.export import load_torch_model
    from blendrank.rerank.cross_encoder.model import read_model_spec

    spec = read_model_spec(tiny_ce_folder)
    full = load_torch_model(spec, eager_attention=True)
    pruned = prune_last_layer(load_torch_model(spec, eager_attention=True))
    assert type(pruned.bert.encoder.layer[-1]).__name__ == "FirstTokenLayer"
    assert type(pruned.bert.encoder.layer[0]).__name__ != "FirstTokenLayer"
    ids, mask = _padded_batch(torch)
    with torch.no_grad():
        expected = full(input_ids=ids, attention_mask=mask).logits
        got = pruned(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_unknown_architecture_is_not_pruned(tiny_ce_folder):
    pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")
    from blendrank.rerank.cross_encoder.cls_pruning import prune_last_layer
    from blendrank.rerank.cross_encoder.export import load_torch_model
    from blendrank.rerank.cross_encoder.model import read_model_spec

    model = load_torch_model(read_model_spec(tiny_ce_folder), eager_attention=True)
    model.config.architectures = ["SomeFutureForSequenceClassification"]
    assert type(prune_last_layer(model).bert.encoder.layer[-1]).__name__ == "BertLayer"


def test_pruned_export_keeps_parity_with_sentence_transformers_on_minilm(minilm_fp32, minilm_st):
    pairs = [[QUERY, t] for t in TEXTS]
    np.testing.assert_allclose(minilm_fp32.score(QUERY, TEXTS), minilm_st.predict(pairs), atol=1e-4)


# --- OpenVINO static int8 (NNCF) -----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_ov_int8(tiny_ce_folder: Path):
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    pytest.importorskip("nncf", reason="nncf (extra 'openvino-int8') is not installed")
    return CrossEncoderReranker(
        tiny_ce_folder, backend="openvino", quantize="int8", long_documents="truncate"
    )


def test_openvino_int8_is_really_int8_and_close_to_fp32(tiny_ce_folder, tiny_ov_int8):
    fp32 = CrossEncoderReranker(tiny_ce_folder, backend="openvino", long_documents="truncate")
    int8_scores, fp32_scores = tiny_ov_int8.score(QUERY, TEXTS), fp32.score(QUERY, TEXTS)
    assert tiny_ov_int8.precision == "int8" and tiny_ov_int8.onnx_path.name == "model.xml"
    assert "FakeQuantize" in tiny_ov_int8.onnx_path.read_text() or (
        "FakeConvert" in tiny_ov_int8.onnx_path.read_text()
    )
    assert np.abs(int8_scores - fp32_scores).max() < 0.02
    assert spearman(int8_scores, fp32_scores) > 0.7


def test_openvino_int8_conversion_is_cached(tiny_ce_folder, tiny_ov_int8):
    stamp = tiny_ov_int8.onnx_path.stat().st_mtime_ns
    again = CrossEncoderReranker(tiny_ce_folder, backend="openvino", quantize="int8")
    assert again.onnx_path == tiny_ov_int8.onnx_path
    assert again.onnx_path.stat().st_mtime_ns == stamp


def test_own_calibration_pairs_make_their_own_cache_entry(tiny_ce_folder, tiny_ov_int8):
    mine = CrossEncoderReranker(
        tiny_ce_folder,
        backend="openvino",
        quantize="int8",
        calibration_pairs=[(QUERY, t) for t in TEXTS],
    )
    assert mine.onnx_path != tiny_ov_int8.onnx_path
    assert mine.fingerprint != tiny_ov_int8.fingerprint
    assert mine.score(QUERY, TEXTS).shape == (len(TEXTS),)


def test_calibration_pairs_are_checked(tiny_ce_folder):
    with pytest.raises(InvalidInputError, match="calibration_pairs"):
        CrossEncoderReranker(
            tiny_ce_folder, backend="onnx", quantize="int8", calibration_pairs=[("q", "d")]
        )
    with pytest.raises(InvalidInputError, match="calibration_pairs"):
        CrossEncoderReranker(tiny_ce_folder, calibration_pairs=[("q", "d")])  # no int8
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    with pytest.raises(InvalidInputError, match="string pairs"):
        CrossEncoderReranker(
            tiny_ce_folder, backend="openvino", quantize="int8", calibration_pairs=[("q",)]
        )


def test_missing_nncf_names_the_extra(tiny_ce_folder, monkeypatch, tmp_path):
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    monkeypatch.setitem(sys.modules, "nncf", None)  # import nncf now fails
    monkeypatch.setenv("BLENDRANK_CACHE", str(tmp_path))  # nothing cached yet
    with pytest.raises(MissingDependencyError, match=r"blendrank\[openvino-int8\]"):
        CrossEncoderReranker(tiny_ce_folder, backend="openvino", quantize="int8")


def test_models_convert_openvino_int8(tiny_ce_folder, tmp_path, capsys):
    pytest.importorskip("nncf", reason="nncf (extra 'openvino-int8') is not installed")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"query": QUERY, "text": t}) for t in TEXTS))
    output = tmp_path / "ov"
    argv = ["models", "convert", str(tiny_ce_folder), "--int8", "--backend", "openvino"]
    assert main([*argv, "--calibration", str(pairs), "--output", str(output)]) == 0
    printed = Path(capsys.readouterr().out.splitlines()[0])
    assert printed == output / "model.xml" and (output / "model.bin").is_file()
    assert main(["models", "convert", str(tiny_ce_folder), "--backend", "openvino"]) == 1
    assert "--int8" in capsys.readouterr().err


def test_auto_backend_without_openvino_is_onnx_runtime(tiny_ce_folder, monkeypatch):
    from blendrank.rerank.cross_encoder.reranker import pick_backend

    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed
    assert pick_backend(None, None, False) == "onnx"
    assert pick_backend("int8", None, False) == "onnx"  # ORT dynamic int8
    assert pick_backend("bf16", None, False) == "openvino"  # only OpenVINO has it: named
    assert pick_backend(None, "cuda", False) == "torch"
    rf = CrossEncoderReranker(tiny_ce_folder, threads=1)
    assert (rf.backend, rf.config()["backend"]) == ("onnx", "onnx")
    with pytest.raises(MissingDependencyError, match="openvino"):
        CrossEncoderReranker(tiny_ce_folder, quantize="bf16")


def test_auto_backend_with_openvino_is_exact(tiny_ce_folder, monkeypatch):
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    from blendrank.rerank.cross_encoder.reranker import pick_backend

    texts = ["bm25 ranks documents by term statistics", "cats sleep", "a " * 200]
    auto = CrossEncoderReranker(tiny_ce_folder, threads=1)
    onnx = CrossEncoderReranker(tiny_ce_folder, backend="onnx", threads=1)
    assert (auto.backend, auto.precision) == ("openvino", "fp32")
    assert (
        np.abs(auto.score("what is bm25", texts) - onnx.score("what is bm25", texts)).max() < 1e-4
    )
    assert auto.fingerprint != onnx.fingerprint  # caches never mix runtimes
    monkeypatch.setitem(sys.modules, "nncf", None)
    assert pick_backend("int8", None, False) == "onnx"  # no nncf: ORT dynamic int8


def test_openvino_streams_give_the_scores_of_one_request_at_a_time(tiny_ce_folder):
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    from concurrent.futures import ThreadPoolExecutor

    texts = [("word " * n).strip() for n in range(1, 60)]  # many lengths: many batches
    two = CrossEncoderReranker(tiny_ce_folder, backend="openvino", threads=2)
    one = CrossEncoderReranker(tiny_ce_folder, backend="openvino", threads=1)
    onnx = CrossEncoderReranker(tiny_ce_folder, backend="onnx", threads=1)
    assert (two._run.streams, one._run.streams) == (2, 1)
    expected = onnx.score("a query", texts)
    np.testing.assert_allclose(two.score("a query", texts), expected, atol=1e-5)
    np.testing.assert_allclose(one.score("a query", texts), expected, atol=1e-5)
    with ThreadPoolExecutor(4) as pool:  # concurrent callers share one request queue
        results = list(pool.map(lambda _: two.score("a query", texts), range(8)))
    for scores in results:
        np.testing.assert_allclose(scores, expected, atol=1e-5)

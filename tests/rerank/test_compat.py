"""Code written for pymilvus and sentence-transformers runs with the import changed: the
same constructor arguments and defaults, the same result shape, top_k beyond the list
returning everything, and a clear warning where an argument cannot be honoured here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from blendrank.compat.pymilvus import BGERerankFunction, CrossEncoderRerankFunction, RerankResult
from blendrank.errors import InvalidInputError

QUERY = "What event in 1956 marked the official birth of artificial intelligence as a discipline?"
DOCUMENTS = [
    "In 1950, Alan Turing published his seminal paper, 'Computing Machinery and Intelligence'.",
    "The Dartmouth Conference in 1956 is considered the birthplace of artificial intelligence.",
    "In 1951, Alan Turing also developed the first program designed to play chess.",
    "The Logic Theorist, created in 1955 by Allen Newell and Herbert A. Simon.",
]


def test_pymilvus_cross_encoder_example_runs_unchanged(minilm_ce_folder):
    from sentence_transformers import CrossEncoder

    rf = CrossEncoderRerankFunction(model_name=str(minilm_ce_folder), device="cpu")
    results = rf(QUERY, DOCUMENTS, top_k=3)
    assert len(results) == 3 and all(isinstance(r, RerankResult) for r in results)
    assert [results[0].text, results[0].index] == [DOCUMENTS[results[0].index], results[0].index]
    # the same weights in sentence-transformers: the same order, the same scores
    reference = CrossEncoder(str(minilm_ce_folder), device="cpu").rank(QUERY, DOCUMENTS, top_k=3)
    assert [r.index for r in results] == [int(r["corpus_id"]) for r in reference]
    np.testing.assert_allclose(
        [r.score for r in results], [float(r["score"]) for r in reference], atol=1e-4
    )
    assert len(rf(QUERY, DOCUMENTS)) == 4  # pymilvus' default top_k=5, beyond the list
    assert rf(QUERY, []) == []


def test_bge_function_warns_where_it_cannot_honour_fp16_or_cuda(minilm_ce_folder):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: fp16 would be honoured")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rf = BGERerankFunction(model_name=str(minilm_ce_folder), device="cuda:0")  # use_fp16
    messages = " ".join(str(w.message) for w in caught)
    assert "no CUDA device" in messages and "use_fp16=True needs a GPU" in messages
    results = rf(QUERY, DOCUMENTS, top_k=2)
    assert all(0.0 <= r.score <= 1.0 for r in results)  # normalize=True: sigmoid


def test_sentence_transformers_calls_match_the_library(minilm_ce_folder):
    from sentence_transformers import CrossEncoder

    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    ours = CrossEncoderReranker(minilm_ce_folder)
    theirs = CrossEncoder(str(minilm_ce_folder), device="cpu")
    pairs = [(QUERY, d) for d in DOCUMENTS]
    np.testing.assert_allclose(ours.predict(pairs), theirs.predict(pairs), atol=1e-4)
    ranked, reference = (
        ours.rank(QUERY, DOCUMENTS, return_documents=True),
        theirs.rank(QUERY, DOCUMENTS, return_documents=True),
    )
    assert [r["corpus_id"] for r in ranked] == [int(r["corpus_id"]) for r in reference]
    assert [r["text"] for r in ranked] == [r["text"] for r in reference]


def test_an_activation_it_cannot_apply_is_a_clear_error(minilm_ce_folder):
    with pytest.raises(InvalidInputError, match="activation_fct"):
        CrossEncoderRerankFunction(model_name=str(minilm_ce_folder), activation_fct=np.tanh)


def test_flashrank_style_passages_keep_their_meta():
    from blendrank.rerank import load_reranker

    rf = load_reranker("bi:all-MiniLM-L6-v2")
    passages = [
        {"id": 1, "text": "cats purr when content", "meta": {"source": "a"}},
        {"id": 2, "text": "stock markets fell", "meta": {"source": "b"}},
    ]
    results = rf("why do cats purr", passages)
    assert results[0].id == "1" and results[0].metadata == {"source": "a"}

"""OnnxEmbedder with the real default model (all-MiniLM-L6-v2, int8) and tiny real BERTs."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.embed import embedder_from_config
from blendrank.embed.onnx import OnnxEmbedder
from blendrank.errors import InvalidInputError

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Vitamin D supplementation reduces the risk of hip fractures in older adults.",
    "The stock market fell sharply on Monday.",
]


def test_golden_cosines(minilm):
    # Pinned with this int8 model; fp32 sentence-transformers gives 0.7553, -0.1050,
    # 0.7997 and 0.0824 for the same pairs (int8 stays within 0.006 of those).
    # Where OpenVINO is installed and the CPU has BF16, the default runtime is bf16, which
    # rounds activations to 8-bit mantissas: 1.2e-3 off on an AMD EPYC (avx512_bf16),
    # closer on a Xeon with AMX; its ranking quality is checked in bench/embed_speed.py.
    tol = 3e-3 if minilm.runtime.endswith("bf16") else 1e-3
    docs = minilm.embed_documents(SENTENCES)
    query = minilm.embed_queries(["vitamin D and bone fractures"])[0]
    assert docs[0] @ docs[1] == pytest.approx(0.7535, abs=tol)  # paraphrase
    assert docs[0] @ docs[2] == pytest.approx(-0.1055, abs=tol)  # unrelated
    assert docs[3] @ query == pytest.approx(0.7938, abs=tol)  # relevant
    assert docs[4] @ query == pytest.approx(0.0862, abs=tol)  # unrelated


def test_shape_dtype_and_unit_norm(minilm):
    vectors = minilm.embed_documents(SENTENCES)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.dim == 384


def test_batching_and_order_do_not_change_vectors(minilm):
    together = minilm.embed_documents(SENTENCES, batch_size=4)
    one_by_one = np.vstack([minilm.embed_documents([s]) for s in SENTENCES])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    reversed_ = minilm.embed_documents(SENTENCES[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(together, reversed_, atol=1e-5)


def test_empty_and_bad_input(minilm):
    assert minilm.embed_documents([]).shape == (0, 384)
    assert minilm.embed_queries([]).shape == (0, 384)
    with pytest.raises(InvalidInputError, match=r"texts\[1\] must be a str"):
        minilm.embed_documents(["fine", 7])
    with pytest.raises(InvalidInputError, match="wrap it in a list"):
        minilm.embed_queries("a bare string")


def test_empty_string_and_cjk_text_embed(minilm):
    vectors = minilm.embed_documents(["", "東京は日本の首都です。"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_max_length_truncates_tokens():
    # "[CLS] the cat sat on the mat [SEP]" is 8 tokens: at max_length=8 both texts are
    # cut to the same tokens, so their vectors are equal; untruncated they differ.
    texts = ["the cat sat on the mat and then slept", "the cat sat on the mat but dogs barked"]
    cut = OnnxEmbedder(max_length=8, threads=1, long_texts="truncate")
    short = cut.embed_documents(texts)
    np.testing.assert_allclose(short[0], short[1], atol=1e-6)
    assert cut.count_truncated(texts) == 2 and cut.count_truncated(["the cat"]) == 0
    full = OnnxEmbedder(threads=1).embed_documents(texts)
    assert full[0] @ full[1] < 0.95


def test_long_texts_are_embedded_as_windows_by_default():
    # At max_length=8 each text becomes windows of 6 tokens (+ [CLS] [SEP]) overlapping by
    # 2; the tails differ, so the vectors must differ where truncation made them equal.
    texts = ["the cat sat on the mat and then slept", "the cat sat on the mat but dogs barked"]
    windowed = OnnxEmbedder(max_length=8, threads=1)
    assert windowed.long_texts == "windows" and windowed.count_truncated(texts) == 0
    vectors = windowed.embed_documents(texts)
    assert vectors[0] @ vectors[1] < 0.97
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_window_vector_is_the_token_weighted_mean_of_its_windows():
    # Worked by hand from the tokenizer: "[CLS] one two three four five six [SEP]" then
    # "[CLS] five six seven eight [SEP]" (overlap 2): 8 and 6 real tokens.
    windowed = OnnxEmbedder(max_length=8, threads=1)
    plain = OnnxEmbedder(max_length=8, threads=1, long_texts="truncate")
    first, second = plain.embed_documents(["one two three four five six", "five six seven eight"])
    expected = 8 * first + 6 * second
    expected /= np.linalg.norm(expected)
    ours = windowed.embed_documents(["one two three four five six seven eight"])[0]
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_a_short_text_embeds_the_same_either_way(minilm):
    truncating = OnnxEmbedder(threads=2, long_texts="truncate")
    np.testing.assert_allclose(
        truncating.embed_documents(SENTENCES), minilm.embed_documents(SENTENCES), atol=1e-6
    )


def test_unknown_long_texts_mode_is_rejected():
    with pytest.raises(InvalidInputError, match="long_texts must be one of windows, truncate"):
        OnnxEmbedder(long_texts="split")


def test_default_max_length_comes_from_sentence_bert_config(minilm):
    assert minilm.max_length == 256


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_length": 1024}, "exceeds the model's max_position_embeddings=512"),
        ({"max_length": 0}, "max_length must be a positive int"),
        ({"threads": 0}, "threads must be a positive int"),
        ({"pooling": "sum"}, "pooling must be one of"),
        ({"query_prefix": None}, "query_prefix must be a str"),
    ],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        OnnxEmbedder(**kwargs)


def test_prefixes_are_prepended(minilm):
    prefixed = OnnxEmbedder(query_prefix="query: ", document_prefix="passage: ", threads=1)
    np.testing.assert_allclose(
        prefixed.embed_queries(["solar power"]),
        minilm.embed_documents(["query: solar power"]),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        prefixed.embed_documents(["solar power"]),
        minilm.embed_documents(["passage: solar power"]),
        atol=1e-5,
    )


def test_pooling_override_changes_vectors(minilm):
    cls = OnnxEmbedder(pooling="cls", threads=1)
    assert cls.pooling == "cls"
    a = cls.embed_documents(SENTENCES[:1])[0]
    b = minilm.embed_documents(SENTENCES[:1])[0]
    assert a @ b < 0.99


def test_config_round_trip_and_fingerprint(minilm):
    config = minilm.config()
    assert config == {
        "type": "onnx",
        "model": "all-MiniLM-L6-v2",
        "max_length": 256,
        "threads": 2,
        "pooling": "mean",
        "query_prefix": "",
        "document_prefix": "",
        "long_texts": "windows",
        "backend": "auto",
        "precision": "auto",
    }
    rebuilt = embedder_from_config(config)
    assert rebuilt.fingerprint == minilm.fingerprint
    np.testing.assert_allclose(
        rebuilt.embed_documents(SENTENCES[:2]), minilm.embed_documents(SENTENCES[:2]), atol=1e-6
    )
    assert OnnxEmbedder(max_length=128, threads=1).fingerprint != minilm.fingerprint
    assert OnnxEmbedder(document_prefix="passage: ", threads=1).fingerprint != minilm.fingerprint
    truncating = OnnxEmbedder(threads=1, long_texts="truncate")
    assert truncating.fingerprint != minilm.fingerprint


def test_a_config_from_before_long_texts_rebuilds_a_truncating_embedder(minilm):
    # Indexes written before windows existed were embedded with truncation; reopening one
    # must embed new documents the same way, with the fingerprint it was stored under.
    old = {k: v for k, v in minilm.config().items() if k != "long_texts"}
    rebuilt = embedder_from_config(old)
    assert rebuilt.long_texts == "truncate"
    assert rebuilt.fingerprint == OnnxEmbedder(threads=2, long_texts="truncate").fingerprint

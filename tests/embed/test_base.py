"""The Embedder template: validation, length-sorted batching, order, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.embed.base import Embedder, check_texts, length_sorted_batches
from blendrank.errors import EmbeddingError, InvalidInputError


class LetterCounts(Embedder):
    """A real (if tiny) embedder: counts of 'a', 'b', 'c'; queries get +1 on 'c'.

    It records every batch it sees, so tests can check how the base class batches.
    """

    default_batch_size = 2

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def _embed_batch(self, texts, kind):
        self.batches.append(list(texts))
        extra = 1.0 if kind == "query" else 0.0
        return np.array([[t.count("a"), t.count("b"), t.count("c") + extra] for t in texts])

    def config(self):
        return {"type": "letters"}


def test_length_sorted_batches_longest_first_stable():
    # lengths 3, 1, 2, 4, 1 -> order by -len, ties keep input order: 3, 0, 2, 1, 4
    assert length_sorted_batches(["aaa", "b", "cc", "dddd", "e"], 2) == [[3, 0], [2, 1], [4]]


def test_length_sorted_batches_rejects_zero_batch():
    with pytest.raises(InvalidInputError, match="batch_size must be >= 1, got 0"):
        length_sorted_batches(["a"], 0)


def test_embed_documents_restores_order_and_normalises():
    embedder = LetterCounts()
    texts = ["b", "aaaa", "ab", "ccc"]
    out = embedder.embed_documents(texts)
    # b -> (0,1,0); aaaa -> (1,0,0); ab -> (1,1,0)/sqrt2; ccc -> (0,0,1)
    s = 2**-0.5
    np.testing.assert_allclose(out, [[0, 1, 0], [1, 0, 0], [s, s, 0], [0, 0, 1]], atol=1e-7)
    assert out.dtype == np.float32
    # batches of 2 by descending length: (aaaa, ccc) then (ab, b)
    assert embedder.batches == [["aaaa", "ccc"], ["ab", "b"]]


def test_queries_and_documents_use_their_kind():
    embedder = LetterCounts()
    # "a" as a query is (1, 0, 1) -> normalised (0.7071, 0, 0.7071)
    np.testing.assert_allclose(embedder.embed_queries(["a"]), [[2**-0.5, 0, 2**-0.5]], atol=1e-7)
    np.testing.assert_allclose(embedder.embed_documents(["a"]), [[1, 0, 0]], atol=1e-7)


def test_batch_size_argument_overrides_default():
    embedder = LetterCounts()
    embedder.embed_documents(["a", "b", "c"], batch_size=3)
    assert len(embedder.batches) == 1


def test_empty_input_gives_zero_rows_of_dim():
    out = LetterCounts().embed_documents([])
    assert out.shape == (0, 3) and out.dtype == np.float32


def test_caller_list_is_not_mutated():
    texts = ["bbb", "a"]
    LetterCounts().embed_documents(texts)
    assert texts == ["bbb", "a"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("just a string", "wrap it in a list"),
        (["ok", 3], r"texts\[1\] must be a str, got int"),
        ([None], r"texts\[0\] must be a str, got NoneType"),
        (42, "must be a list of strings, got int"),
    ],
)
def test_bad_input_raises_invalid_input(bad, message):
    with pytest.raises(InvalidInputError, match=message):
        LetterCounts().embed_documents(bad)


def test_check_texts_names_queries():
    with pytest.raises(InvalidInputError, match=r"queries\[0\]"):
        check_texts([b"bytes"], "queries")


def test_wrong_shape_or_nan_from_backend_is_an_embedding_error():
    class Broken(LetterCounts):
        def _embed_batch(self, texts, kind):
            return np.full((len(texts), 3), np.nan) if texts[0] == "nan" else np.ones((1, 3))

    with pytest.raises(EmbeddingError, match="shape \\(1, 3\\) for a batch of 2"):
        Broken().embed_documents(["x", "y"])
    with pytest.raises(EmbeddingError, match="NaN"):
        Broken().embed_documents(["nan"])


def test_progress_bar_does_not_change_results(capsys):
    plain = LetterCounts().embed_documents(["ab", "c", "bb"])
    with_bar = LetterCounts().embed_documents(["ab", "c", "bb"], progress=True)
    np.testing.assert_array_equal(plain, with_bar)
    assert "embedding documents" in capsys.readouterr().err


def test_default_fingerprint_comes_from_config():
    assert LetterCounts().fingerprint == LetterCounts().fingerprint
    assert LetterCounts().fingerprint.startswith("LetterCounts:")


def test_dim_is_probed_once_when_backend_does_not_say():
    embedder = LetterCounts()
    assert embedder.dim == 3 and embedder.dim == 3
    assert embedder.batches == [["dimension probe"]]

"""The pure parts of the cross-encoder: length-aware batching, padding, window
aggregation, and the pair encoding against a real tokenizer (expected values by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank._bundled import MINILM_FOLDER
from blendrank.errors import InvalidInputError
from blendrank.models.tokenizer import load_tokenizer
from blendrank.rerank.cross_encoder.batching import pad_batch, token_budget_batches
from blendrank.rerank.cross_encoder.windows import aggregate_windows, encode_pairs


def test_batches_follow_the_token_budget_longest_first():
    # lengths 3, 9, 4, 8 sorted longest first: 9, 8 | 4, 3; budget 18 fits 2 rows of 9
    # then 18 // 4 = 4 rows of 4
    batches = token_budget_batches([3, 9, 4, 8], max_tokens=18)
    assert [b.tolist() for b in batches] == [[1, 3], [2, 0]]


def test_batches_respect_max_rows_and_keep_ties_in_order():
    batches = token_budget_batches([5, 5, 5, 5, 5], max_tokens=1000, max_rows=2)
    assert [b.tolist() for b in batches] == [[0, 1], [2, 3], [4]]


def test_a_sequence_longer_than_the_budget_gets_its_own_batch():
    assert [b.tolist() for b in token_budget_batches([50, 2], max_tokens=10)] == [[0], [1]]


def test_bad_budgets_are_rejected():
    with pytest.raises(InvalidInputError, match="max_tokens"):
        token_budget_batches([1], max_tokens=0)
    with pytest.raises(InvalidInputError, match="batch_size"):
        token_budget_batches([1], max_tokens=10, max_rows=0)


def test_pad_batch_pads_to_the_longest_row():
    ids, mask, types = pad_batch([[5, 6, 7], [8]], [[0, 1, 1], [0]], [1, 0], pad_id=9)
    assert ids.tolist() == [[8, 9, 9], [5, 6, 7]]
    assert mask.tolist() == [[1, 0, 0], [1, 1, 1]]
    assert types.tolist() == [[0, 0, 0], [0, 1, 1]]
    assert ids.dtype == np.int64


def test_aggregate_windows_by_hand():
    # document 0 has windows 0.2, 0.8, 0.5; document 1 has 0.4
    scores = np.array([0.2, 0.8, 0.5, 0.4])
    owner = np.array([0, 0, 0, 1])
    assert aggregate_windows(scores, owner, 2, "max").tolist() == pytest.approx([0.8, 0.4])
    assert aggregate_windows(scores, owner, 2, "mean").tolist() == pytest.approx([0.5, 0.4])
    assert aggregate_windows(scores, owner, 2, "first").tolist() == pytest.approx([0.2, 0.4])
    with pytest.raises(InvalidInputError, match="aggregate"):
        aggregate_windows(scores, owner, 2, "median")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(MINILM_FOLDER)  # the tokenizer blendrank ships


def test_truncate_encodes_like_a_bert_pair(tokenizer):
    windows = encode_pairs(
        tokenizer, "hello", ["word word"], max_length=16, long_documents="truncate"
    )
    tokens = [tokenizer.id_to_token(i) for i in windows.ids[0]]
    assert tokens == ["[CLS]", "hello", "[SEP]", "word", "word", "[SEP]"]
    assert windows.type_ids[0] == [0, 0, 0, 1, 1, 1]


def test_split_windows_keep_the_query_and_overlap(tokenizer):
    # max_length 10: 10 - 3 specials - 1 query token = 6 document tokens per window,
    # overlap 2 -> windows start at 0, 4, 8 over 12 document tokens ([8, 12) is last)
    text = " ".join(f"w{i}" for i in range(6))  # "w0" ... each is 2 tokens: w ##0
    windows = encode_pairs(tokenizer, "hello", [text], max_length=10, overlap=2)
    assert windows.owner.tolist() == [0, 0, 0]
    assert windows.split_documents == 1
    for ids in windows.ids:
        assert [tokenizer.id_to_token(i) for i in ids[:3]] == ["[CLS]", "hello", "[SEP]"]
        assert len(ids) <= 10
    assert [tokenizer.id_to_token(i) for i in windows.ids[1][3:5]] == ["w", "##2"]


def test_encode_pairs_restores_the_tokenizer_state(tokenizer):
    encode_pairs(tokenizer, "q", ["a b c"], max_length=8)
    assert tokenizer.truncation is None and tokenizer.padding is None

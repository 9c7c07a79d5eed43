"""Pooling and normalisation maths, with values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.embed.pooling import l2_normalize, pool
from blendrank.errors import InvalidInputError

# One sentence of three tokens, the last one padding (mask 0), dim 2.
TOKENS = np.array([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
MASK = np.array([[1, 1, 0]])


def test_mean_ignores_padding():
    # (1+3)/2 = 2, (-2+4)/2 = 1
    assert pool(TOKENS, MASK, "mean").tolist() == [[2.0, 1.0]]


def test_mean_sqrt_len_divides_sum_by_root_of_count():
    # sums (4, 2) / sqrt(2)
    np.testing.assert_allclose(pool(TOKENS, MASK, "mean_sqrt_len"), [[4 / 2**0.5, 2 / 2**0.5]])


def test_cls_takes_first_token():
    assert pool(TOKENS, MASK, "cls").tolist() == [[1.0, -2.0]]


def test_max_ignores_padding():
    # the padded 100s must not win
    assert pool(TOKENS, MASK, "max").tolist() == [[3.0, 4.0]]


def test_unknown_mode_and_bad_rank_are_rejected():
    with pytest.raises(InvalidInputError, match="unknown pooling 'sum'"):
        pool(TOKENS, MASK, "sum")
    with pytest.raises(InvalidInputError, match=r"\(batch, seq, dim\)"):
        pool(TOKENS[0], MASK, "mean")


def test_l2_normalize_unit_rows_and_zero_rows():
    # (3, 4) / 5 = (0.6, 0.8); the zero row stays zero instead of becoming NaN
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)

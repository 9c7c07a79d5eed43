"""minmax / zscore / normalize, values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import minmax, normalize, zscore


def test_minmax_maps_to_unit_interval():
    # min 2, max 6, range 4: (2, 3, 6) -> (0, 1/4, 1)
    assert minmax(np.array([2.0, 3.0, 6.0])).tolist() == [0.0, 0.25, 1.0]


def test_minmax_all_equal_is_all_ones_and_empty_stays_empty():
    assert minmax(np.array([3.0, 3.0, 3.0])).tolist() == [1.0, 1.0, 1.0]
    assert minmax(np.array([-4.0])).tolist() == [1.0]
    assert minmax(np.array([])).tolist() == []


def test_zscore_uses_population_std():
    # mean 2, population variance ((1)^2 + 0 + (1)^2) / 3 = 2/3, std = sqrt(2/3) = 0.8165
    # (1 - 2) / 0.8165 = -1.2247
    result = zscore(np.array([1.0, 2.0, 3.0]))
    assert result == pytest.approx([-np.sqrt(1.5), 0.0, np.sqrt(1.5)])


def test_zscore_zero_spread_is_zeros():
    assert zscore(np.array([7.0, 7.0])).tolist() == [0.0, 0.0]
    assert zscore(np.array([])).tolist() == []


def test_normalize_dispatches_and_none_copies():
    scores = np.array([1.0, 3.0])
    assert normalize(scores, "minmax").tolist() == [0.0, 1.0]
    assert normalize(scores, "zscore").tolist() == [-1.0, 1.0]  # mean 2, std 1
    copied = normalize(scores, "none")
    copied[0] = 99.0
    assert scores.tolist() == [1.0, 3.0]


def test_inputs_are_not_mutated_and_lists_are_accepted():
    scores = np.array([5.0, 1.0])
    minmax(scores)
    zscore(scores)
    assert scores.tolist() == [5.0, 1.0]
    assert minmax([0, 2, 4]).tolist() == [0.0, 0.5, 1.0]  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [float("inf")], [[1.0, 2.0]]])
def test_non_finite_or_not_1d_is_rejected(bad):
    with pytest.raises(InvalidInputError):
        minmax(np.array(bad))


def test_unknown_method_lists_valid_ones():
    with pytest.raises(InvalidInputError, match="'minmax', 'zscore', 'none'"):
        normalize(np.array([1.0]), "softmax")  # type: ignore[arg-type]

"""Score normalisers applied to one result list before score-based fusion.

Pure functions, arrays in and arrays out; see ranx's ``normalization`` module and
Lee (1997), "Analyses of multiple evidence combination", SIGIR, for min-max and z-score in
data fusion.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from blendrank.errors import InvalidInputError

NORMALIZATIONS = ("minmax", "zscore", "none")
Normalization = Literal["minmax", "zscore", "none"]


def as_scores(scores: object) -> np.ndarray:
    """``scores`` as a 1-D float64 array; InvalidInputError if not 1-D or not finite."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidInputError(
            f"scores must be a 1-D sequence of numbers, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise InvalidInputError("scores must be finite numbers; got NaN or infinity")
    return array


def minmax(scores: np.ndarray) -> np.ndarray:
    """Min-max normalisation: ``(s - min(s)) / (max(s) - min(s))``, into [0, 1].

    A list whose scores are all equal (including a single score) maps to all 1.0: its
    documents are all the best this retriever found. An empty list stays empty.

    >>> minmax(np.array([2.0, 4.0, 3.0])).tolist()
    [0.0, 1.0, 0.5]
    >>> minmax(np.array([7.0, 7.0])).tolist()
    [1.0, 1.0]
    """
    array = as_scores(scores)
    if array.size == 0:
        return array.copy()
    low, high = array.min(), array.max()
    if high == low:
        return np.ones_like(array)
    return (array - low) / (high - low)


def zscore(scores: np.ndarray) -> np.ndarray:
    """Z-score (standard score): ``(s - mean(s)) / std(s)``, population std (ddof=0).

    A list with zero spread maps to all 0.0 (every score is the mean). Empty stays empty.

    >>> zscore(np.array([1.0, 2.0, 3.0])).round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    >>> zscore(np.array([5.0, 5.0])).tolist()
    [0.0, 0.0]
    """
    array = as_scores(scores)
    if array.size == 0:
        return array.copy()
    spread = array.std()
    if spread == 0.0:
        return np.zeros_like(array)
    return (array - array.mean()) / spread


def normalize(scores: np.ndarray, method: Normalization = "minmax") -> np.ndarray:
    """Apply ``minmax``, ``zscore`` or ``none`` (a float64 copy) to one list of scores.

    >>> normalize(np.array([0.0, 10.0]), "minmax").tolist()
    [0.0, 1.0]
    """
    if method == "minmax":
        return minmax(scores)
    if method == "zscore":
        return zscore(scores)
    if method == "none":
        return as_scores(scores).copy()
    raise InvalidInputError(
        f"unknown normalization {method!r}; valid: {', '.join(map(repr, NORMALIZATIONS))}"
    )

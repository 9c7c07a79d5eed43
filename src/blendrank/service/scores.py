"""What the HTTP rerank formats promise about scores, from what a reranker returns.

Cohere and Jina promise ``relevance_score`` in [0, 1]; TEI returns a sigmoid-normalised
score, or the model's raw logit with ``raw_scores``. A reranker's own scores are on one of
these scales (fixed per model, never per request, so equal inputs give equal scores):

* ``probability``: a cross-encoder with a sigmoid head (ms-marco MiniLM, bge-reranker):
  relevance as is, raw = logit (the inverse sigmoid, clipped at float32 resolution);
* ``logit``: a cross-encoder without activation: relevance = sigmoid, raw as is;
* ``tanh``: relevance = (s + 1) / 2, raw = artanh;
* ``cosine`` (bi-encoders): relevance = (s + 1) / 2, raw as is;
* ``position`` (derived from ranks, in (0, 1]: RRF ensembles, listwise models): as is;
* ``score`` (anything else): relevance = sigmoid, raw as is.

The scale is what the reranker declares (``Reranker.scale``), never guessed.

Pure: arrays in, arrays out.

>>> [round(float(x), 3) for x in relevance_scores(np.array([0.0, 2.0]), "logit")]
[0.5, 0.881]
>>> [round(float(x), 3) for x in raw_scores(np.array([0.5, 0.880797]), "probability")]
[0.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from blendrank.rerank.base import Scale

#: probabilities are float32: 1 - 2**-24 is the largest below 1, about logit 16.6
_EPS = 2.0**-24


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def relevance_scores(scores: np.ndarray, scale: Scale) -> np.ndarray:
    """Scores in [0, 1], order preserved."""
    s = np.asarray(scores, dtype=np.float64)
    if scale in ("probability", "position"):
        out = s
    elif scale in ("tanh", "cosine"):
        out = (s + 1.0) / 2.0
    else:
        out = _sigmoid(s)
    return np.clip(out, 0.0, 1.0)


def raw_scores(scores: np.ndarray, scale: Scale) -> np.ndarray:
    """Scores before the model's output activation (TEI's ``raw_scores``)."""
    s = np.asarray(scores, dtype=np.float64)
    if scale == "probability":
        p = np.clip(s, _EPS, 1.0 - _EPS)
        return np.log(p) - np.log1p(-p)
    if scale == "tanh":
        return np.arctanh(np.clip(s, -1.0 + _EPS, 1.0 - _EPS))
    return s

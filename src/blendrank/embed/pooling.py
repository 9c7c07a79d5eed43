"""Pure pooling and normalisation maths: token embeddings in, sentence vectors out.

These mirror sentence-transformers' ``Pooling`` and ``Normalize`` modules, so an
ONNX model that returns token embeddings gives the same vectors as the reference.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from blendrank.errors import InvalidInputError

PoolingMode = Literal["mean", "cls", "max", "mean_sqrt_len"]
POOLING_MODES: tuple[str, ...] = ("mean", "cls", "max", "mean_sqrt_len")


def pool(token_embeddings: np.ndarray, attention_mask: np.ndarray, mode: str) -> np.ndarray:
    """Pool ``(batch, seq, dim)`` token embeddings into ``(batch, dim)`` sentence vectors.

    ``mean`` averages the tokens the mask keeps; ``mean_sqrt_len`` divides that sum by
    the square root of the token count instead; ``cls`` takes the first token; ``max``
    takes the element-wise maximum over kept tokens (padding is set to -1e9 first,
    as sentence-transformers does).

    >>> t = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> m = np.array([[1, 1, 0]])
    >>> pool(t, m, "mean").tolist()  # (1+3)/2, (2+4)/2; the padded token is ignored
    [[2.0, 3.0]]
    >>> pool(t, m, "max").tolist()
    [[3.0, 4.0]]
    """
    if token_embeddings.ndim != 3:
        raise InvalidInputError(
            f"token_embeddings must be (batch, seq, dim), got shape {token_embeddings.shape}"
        )
    mask = attention_mask.astype(token_embeddings.dtype)[:, :, None]
    if mode == "cls":
        return token_embeddings[:, 0, :]
    if mode == "max":
        masked = np.where(mask > 0, token_embeddings, np.asarray(-1e9, token_embeddings.dtype))
        return masked.max(axis=1)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    if mode == "mean":
        return summed / counts
    if mode == "mean_sqrt_len":
        return summed / np.sqrt(counts)
    raise InvalidInputError(f"unknown pooling {mode!r}; use one of {', '.join(POOLING_MODES)}")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (all-zero rows stay zero), as float32.

    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))

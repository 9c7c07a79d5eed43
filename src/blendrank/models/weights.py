"""Fingerprints of a model folder's weights: content, not names or dates.

Cache keys are built on them, so a retrained model never reuses an old export.

>>> weights_hash(folder)              # doctest: +SKIP
'3f2a9c0d1e4b5a67'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from blendrank.errors import ModelError

#: the files that hold a model's weights, in the order they are hashed
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx", "onnx/model.onnx")
_BLOCK = 1 << 22


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def hash_files(digest: Digest, folder: Path, names: Sequence[str]) -> int:
    """Feed the name and bytes of each of ``names`` present in ``folder`` into ``digest``;
    return how many were found (absent files are skipped)."""
    found = 0
    for name in names:
        file = folder / name
        if not file.is_file():
            continue
        found += 1
        digest.update(name.encode())
        with open(file, "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    return found


def weights_hash(folder: Path) -> str:
    """blake2b of the weight files of ``folder`` (:data:`WEIGHT_FILES`), 16 hex digits.

    Raises :class:`~blendrank.errors.ModelError` when the folder holds none of them.
    """
    digest = hashlib.blake2b(digest_size=8)
    if not hash_files(digest, folder, WEIGHT_FILES):
        raise ModelError(
            f"{folder} holds no model weights; expected one of {', '.join(WEIGHT_FILES)}"
        )
    return digest.hexdigest()

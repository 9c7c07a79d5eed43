"""Index build options (chunking); search options live in :mod:`blendrank.options`."""

from __future__ import annotations

#: default chunking in tokens of the embedder's tokenizer; a chunk longer than the model
#: window is embedded as windows (docs/benchmarks.md, "Chunk size and long chunks")
CHUNK_SIZE = 512
CHUNK_OVERLAP = 128

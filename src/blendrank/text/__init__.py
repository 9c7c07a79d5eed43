"""Text analysis for BM25 (:mod:`.analyzer`) and token chunking (:mod:`.chunking`)."""

from __future__ import annotations

from blendrank.text.analyzer import Analyzer, AutoAnalyzer, make_analyzer
from blendrank.text.chunking import TokenChunker, load_tokenizer

__all__ = ["Analyzer", "AutoAnalyzer", "TokenChunker", "load_tokenizer", "make_analyzer"]

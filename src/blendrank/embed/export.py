"""Export a Hugging Face encoder (safetensors / PyTorch weights) to ONNX, once, cached.

Needs the ``torch`` extra (torch + transformers + onnx). The file lands in
``${BLENDRANK_CACHE:-~/.cache/blendrank}/onnx/<sha of weights + config>/model.onnx``, built
in a temporary folder and moved into place in one step
(:func:`blendrank.models.cache.build_once`); the export itself is
:func:`blendrank.models.onnx_export.export_to_onnx`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from blendrank._optional import require
from blendrank.errors import ModelError
from blendrank.models.cache import build_once, cache_root
from blendrank.models.onnx_export import (
    OPSET,
    SEQUENCE_AXES,
    export_to_onnx,
    require_exporter,
    token_input_names,
    uses_token_type_ids,
)
from blendrank.models.weights import hash_files

#: bump when the export recipe changes, so old cached files are not reused
EXPORT_RECIPE = "blendrank-onnx-export-v1-opset17"
_HASHED_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def encoder_export_key(folder: Path) -> str:
    """sha256 over the export recipe, config.json and the weight files of ``folder``."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    hash_files(digest, folder, _HASHED_FILES)
    return digest.hexdigest()


def cached_onnx_export(folder: Path, *, cache_dir: str | Path | None = None) -> Path:
    """Return the cached ONNX export of ``folder``, exporting it first if absent."""
    final = cache_root(cache_dir) / "onnx" / encoder_export_key(folder)
    return build_once(
        final,
        "model.onnx",
        lambda temporary: export_encoder(folder, temporary / "model.onnx"),
        replace_incomplete=True,  # a killed export of the old layout left only a temp file
    )


def export_encoder(folder: Path, out_path: Path, *, opset: int = OPSET) -> Path:
    """Export the encoder in ``folder`` to ``out_path`` with a ``last_hidden_state`` output.

    Batch and sequence axes are dynamic. Raises MissingDependencyError without torch,
    transformers or onnx, ModelError when the weights do not load as an encoder.
    """
    require_exporter("exporting a model to ONNX")
    transformers = require("transformers", "torch", "exporting a model to ONNX")
    try:
        model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load {folder} as a transformers encoder: {exc}") from exc
    return export_to_onnx(
        model,
        out_path,
        input_names=token_input_names(uses_token_type_ids(model.config.to_dict())),
        output_name="last_hidden_state",
        output_axes=SEQUENCE_AXES,
        opset=opset,
    )

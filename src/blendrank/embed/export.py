"""Export a Hugging Face encoder (safetensors / PyTorch weights) to ONNX, once, cached.

Needs the ``torch`` extra (torch + transformers). The file lands in
``${BLENDRANK_CACHE:-~/.cache/blendrank}/onnx/<sha of weights + config>/model.onnx``,
written to a temporary name first and moved into place with ``os.replace`` so a
crash or a concurrent export never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from blendrank._optional import require
from blendrank.errors import ModelError

#: bump when the export recipe changes, so old cached files are not reused
EXPORT_RECIPE = "blendrank-onnx-export-v1-opset17"
OPSET = 17
_HASHED_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``$BLENDRANK_CACHE``, else ``~/.cache/blendrank``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("BLENDRANK_CACHE", "~/.cache/blendrank")).expanduser()


def weights_digest(folder: Path) -> str:
    """sha256 over the export recipe, config.json and the weight files of ``folder``."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for name in _HASHED_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def cached_onnx_export(folder: Path, *, cache_dir: str | Path | None = None) -> Path:
    """Return the cached ONNX export of ``folder``, exporting it first if absent."""
    target = cache_root(cache_dir) / "onnx" / weights_digest(folder) / "model.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix="model.", suffix=".onnx.tmp", dir=target.parent)
    os.close(handle)
    try:
        export_to_onnx(folder, Path(temp_name))
        os.replace(temp_name, target)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    return target


def export_to_onnx(folder: Path, out_path: Path, *, opset: int = OPSET) -> None:
    """Export the encoder in ``folder`` to ``out_path`` with a ``last_hidden_state`` output.

    Batch and sequence axes are dynamic. Raises MissingDependencyError without torch,
    transformers or onnx, ModelError when the weights do not load as an encoder.
    """
    torch = require("torch", "torch", "exporting a model to ONNX")
    transformers = require("transformers", "torch", "exporting a model to ONNX")
    require("onnx", "torch", "exporting a model to ONNX")  # torch.onnx.export needs it
    try:
        model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load {folder} as a transformers encoder: {exc}") from exc
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        input_names.append("token_type_ids")
    wrapper = _LastHiddenState(torch, model, input_names)
    # Trace with real padding in the mask, so no "mask is all ones" shortcut gets baked in.
    dummy = torch.ones((2, 8), dtype=torch.long)
    mask = dummy.clone()
    mask[1, 5:] = 0
    values = {"input_ids": dummy, "attention_mask": mask, "token_type_ids": torch.zeros_like(dummy)}
    args = tuple(values[name] for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
    # The tracer warns about Python branches on shapes; the parity test is what guards them.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            args,
            str(out_path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            **_legacy_exporter_flag(torch),
        )


def _legacy_exporter_flag(torch: Any) -> dict[str, Any]:
    # torch >= 2.9 defaults to the dynamo exporter, which needs onnx + onnxscript;
    # the TorchScript exporter needs neither and handles BERT-style encoders well.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        return {"dynamo": False}
    return {}


def _LastHiddenState(torch: Any, model: Any, input_names: list[str]) -> Any:
    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(**dict(zip(input_names, tensors, strict=True))).last_hidden_state

    return LastHiddenState()

"""Export a loaded Hugging Face model to one ONNX file: the mechanics every purpose shares.

The embedders (:mod:`blendrank.embed.export`, output ``last_hidden_state``) and the
cross-encoders (:mod:`blendrank.rerank.cross_encoder.export`, output ``logits``) each load their
model class and pick the inputs; :func:`export_to_onnx` does the rest the same way for
both: positional wrapper, a padded dummy batch, dynamic batch and sequence axes, opset
:data:`OPSET`, the TorchScript exporter, then ``onnx.checker`` on the written file. Write
into a :func:`~blendrank.models.cache.build_once` folder so a failed export leaves nothing.

Needs the ``torch`` extra (torch, transformers, onnx).

>>> export_to_onnx(model, folder / "model.onnx", input_names=token_input_names(True),
...                output_name="logits", output_axes={0: "batch"})   # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from blendrank._optional import require
from blendrank.errors import ModelError

OPSET = 17
SEQUENCE_AXES = {0: "batch", 1: "sequence"}


def token_input_names(token_types: bool) -> list[str]:
    """``input_ids``, ``attention_mask`` and, when ``token_types``, ``token_type_ids``.

    >>> token_input_names(False)
    ['input_ids', 'attention_mask']
    """
    names = ["input_ids", "attention_mask"]
    return [*names, "token_type_ids"] if token_types else names


def uses_token_type_ids(config: Mapping[str, Any]) -> bool:
    """Whether a model (its ``config.json`` as a dict) has more than one token type, so
    ``token_type_ids`` carry information: BERT (2) yes; RoBERTa and XLM-R (1: always 0,
    the model fills it in), DistilBERT and MPNet (none) no.

    >>> uses_token_type_ids({"type_vocab_size": 2}), uses_token_type_ids({"type_vocab_size": 1})
    (True, False)
    """
    return int(config.get("type_vocab_size") or 0) > 1


def require_exporter(purpose: str) -> Any:
    """torch, after checking onnx is importable too (``torch.onnx.export`` needs it but
    torch does not depend on it): call before loading a model, to fail fast."""
    torch = require("torch", "torch", purpose)
    require("onnx", "torch", purpose)
    return torch


def export_to_onnx(
    model: Any,
    out_path: Path,
    *,
    input_names: list[str],
    output_name: str,
    output_axes: Mapping[int, str],
    opset: int = OPSET,
) -> Path:
    """Write ``model`` (a transformers model in eval mode) to ``out_path`` and check it.

    ``model(**inputs)`` must return an object with attribute ``output_name``, exported as
    the only output with ``output_axes`` dynamic. Raises MissingDependencyError without
    torch or onnx, ModelError when the written graph does not pass ``onnx.checker``.
    """
    torch = require_exporter("exporting a model to ONNX")
    wrapper = _positional(torch, model, input_names, output_name)
    # Trace with real padding in the mask, so no "mask is all ones" shortcut gets baked in.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = ids.clone()
    mask[1, 5:] = 0
    values = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    axes: dict[str, Mapping[int, str]] = {name: SEQUENCE_AXES for name in input_names}
    axes[output_name] = output_axes
    # The tracer warns about Python branches on shapes; the parity tests are what guard them.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(values[name] for name in input_names),
            str(out_path),
            input_names=input_names,
            output_names=[output_name],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            **legacy_exporter_flag(torch),
        )
    verify_onnx(out_path)
    return out_path


def verify_onnx(path: Path) -> None:
    """``onnx.checker`` on the file (by path, so models over 2 GB with external data work)."""
    onnx = require("onnx", "torch", "checking an ONNX export")
    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:  # onnx.checker.ValidationError and protobuf decode errors
        raise ModelError(f"the ONNX export {path} is not a valid model: {exc}") from exc


def legacy_exporter_flag(torch: Any) -> dict[str, Any]:
    """``{"dynamo": False}`` where ``torch.onnx.export`` has the switch (torch >= 2.5)."""
    # torch >= 2.9 defaults to the dynamo exporter, which needs onnxscript; the TorchScript
    # exporter needs neither and handles BERT-style encoders well.
    release = torch.__version__.split("+")[0].split(".")
    major, minor = (int(part) if part.isdigit() else 0 for part in (release + ["0", "0"])[:2])
    return {"dynamo": False} if (major, minor) >= (2, 5) else {}


def _positional(torch: Any, model: Any, names: list[str], output: str) -> Any:
    class Positional(torch.nn.Module):  # type: ignore[misc,name-defined]  # tensors in, one out
        def __init__(self) -> None:
            super().__init__()
            self.model = model  # a submodule, so its weights export as initializers

        def forward(self, *tensors: Any) -> Any:
            return getattr(self.model(**dict(zip(names, tensors, strict=True))), output)

    return Positional().eval()

"""Export a cross-encoder to ONNX once, optionally fuse and quantise it, and cache the
result under ``${BLENDRANK_CACHE:-~/.cache/blendrank}/onnx/<fingerprint>/model.onnx``.

The shared mechanics (cache root, atomic build, the torch export itself) live in
:mod:`blendrank.models`; this module adds what is particular to cross-encoders: the
sequence-classification model, first-token pruning, the ORT optimizer and int8.

>>> path = onnx_model_file(read_model_spec(folder), quantize="int8")   # doctest: +SKIP
>>> path.name                                                          # doctest: +SKIP
'model.onnx'
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any, Literal

from blendrank._optional import require
from blendrank.errors import ModelError
from blendrank.models.cache import build_once, cache_root
from blendrank.models.onnx_export import OPSET, export_to_onnx, require_exporter, token_input_names
from blendrank.rerank.cross_encoder.cls_pruning import prune_last_layer
from blendrank.rerank.cross_encoder.model import ModelSpec

Quantize = Literal[None, "int8"]
#: bump when the export recipe changes, so old cache entries are not reused
EXPORT_VERSION = "4"  # 3: last layer computes the first token only; 4: per-channel int8


def input_names(spec: ModelSpec) -> list[str]:
    """The inputs of the export, decided from config.json (no torch needed at run time)."""
    return token_input_names(spec.uses_token_type_ids)


def load_torch_model(
    spec: ModelSpec, *, trust_remote_code: bool = False, eager_attention: bool = False
) -> Any:
    """The Hugging Face sequence-classification model of ``spec``, in eval mode.

    ``eager_attention`` asks for the plain attention code: its exported graph is the one
    ONNX Runtime's optimizer recognises and fuses into one ``Attention`` op per layer.
    """
    require("torch", "torch", "loading a cross-encoder with PyTorch")
    transformers = require("transformers", "torch", "loading a cross-encoder with PyTorch")
    auto = transformers.AutoModelForSequenceClassification
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    try:
        try:
            model = auto.from_pretrained(
                str(spec.path),
                **kwargs,
                **({"attn_implementation": "eager"} if eager_attention else {}),
            )
        except (ValueError, TypeError):  # an architecture without the eager switch
            if not eager_attention:
                raise
            model = auto.from_pretrained(str(spec.path), **kwargs)
    except Exception as exc:
        raise ModelError(f"cannot load {spec.path} as a sequence classifier: {exc}") from exc
    return model.eval()


def export_onnx(
    spec: ModelSpec, target: Path, *, trust_remote_code: bool = False, prune: bool = True
) -> Path:
    """Write ``target/model.onnx`` (fp32, dynamic batch and sequence axes) from the torch model.

    ``prune`` computes the last layer for the first token only where that gives the same
    logits (:mod:`blendrank.rerank.cross_encoder.cls_pruning`).
    """
    require_exporter("exporting a cross-encoder to ONNX")
    model = load_torch_model(spec, trust_remote_code=trust_remote_code, eager_attention=True)
    if prune:
        model = prune_last_layer(model)
    return export_to_onnx(
        model,
        target / "model.onnx",
        input_names=input_names(spec),
        output_name="logits",
        output_axes={0: "batch"},
    )


def optimize_onnx(source: Path, target: Path, spec: ModelSpec) -> Path:
    """ORT transformer optimizer: fused Attention, SkipLayerNorm, BiasGelu (CPU-safe fp32)."""
    from onnxruntime.transformers import optimizer

    config = _read_config(spec)
    model = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(config.get("num_attention_heads") or 0),
        hidden_size=int(config.get("hidden_size") or 0),
        opt_level=1,
        use_gpu=False,
    )
    out = target / "model.onnx"
    model.save_model_to_file(str(out), use_external_data_format=_large(source))
    return out


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantisation of the MatMul weights (activations quantised at run time).

    Per-channel weight scales: on a trained MiniLM cross-encoder (SciFact held-out train
    queries, top 30) they kept NDCG@10 within 0.001 of fp32 (Spearman 0.973), where one
    scale per tensor lost 0.009 (Spearman 0.927), at the same speed.
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = target / "model.onnx"
    quantize_dynamic(
        str(source),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        use_external_data_format=_large(source),
        # fused ops (Attention, SkipLayerNorm) defeat shape inference; their outputs are fp32
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    return out


def _large(path: Path) -> bool:
    return sum(f.stat().st_size for f in path.parent.iterdir() if f.is_file()) > 1_800_000_000


def _read_config(spec: ModelSpec) -> dict[str, Any]:
    import json

    return json.loads((spec.path / "config.json").read_text(encoding="utf-8"))


def export_fingerprint(spec: ModelSpec, quantize: Quantize, optimize: bool) -> str:
    parts = [spec.weights_hash, str(quantize), str(optimize), str(OPSET), EXPORT_VERSION]
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()
    return f"{spec.path.name[:40]}-{'int8' if quantize else 'fp32'}-{digest}"


def _build(spec: ModelSpec, target: Path, quantize: Quantize, optimize: bool, trc: bool) -> None:
    """Write the requested variant into the empty folder ``target``."""
    work = target / "_work"
    work.mkdir()
    if spec.onnx_file is not None:  # shipped export: reuse it instead of torch
        current = spec.onnx_file
    else:
        current = export_onnx(spec, work, trust_remote_code=trc)
    steps = [("optimized", lambda s, t: optimize_onnx(s, t, spec))] if optimize else []
    if quantize == "int8":
        steps.append(("quantized", quantize_int8))
    for name, step in steps:
        folder = work / name
        folder.mkdir()
        current = step(current, folder)
    for file in current.parent.iterdir():  # the model and any external-data files
        if file.is_file():
            shutil.copy2(file, target / file.name)
    shutil.rmtree(work)


def onnx_model_file(
    spec: ModelSpec,
    *,
    quantize: Quantize = None,
    optimize: bool = True,
    output: Path | None = None,
    trust_remote_code: bool = False,
) -> Path:
    """Path of the ONNX file for ``spec`` with these settings, building it on first use.

    ``output`` writes into that folder instead of the cache (``blendrank models convert``).
    A shipped fp32 ``model.onnx`` is used directly when no conversion is asked for.
    """
    if quantize not in (None, "int8"):
        raise ModelError(f"quantize must be None or 'int8', got {quantize!r}")
    if spec.onnx_file is not None and quantize is None and not optimize and output is None:
        return spec.onnx_file
    final = output or cache_root() / "onnx" / export_fingerprint(spec, quantize, optimize)
    return build_once(
        final,
        "model.onnx",
        lambda folder: _build(spec, folder, quantize, optimize, trust_remote_code),
    )

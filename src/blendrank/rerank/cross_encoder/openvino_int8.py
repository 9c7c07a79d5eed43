"""Static int8 for OpenVINO: NNCF post-training quantisation of the ONNX export, cached
under ``${BLENDRANK_CACHE:-~/.cache/blendrank}/openvino/<fingerprint>/model.xml``.

Weights and activations of every MatMul become int8 (ranges from a calibration pass),
which the CPU runs with VNNI int8 dot products; the rest stays fp32 (bf16 at run time
where the CPU has it). Calibration needs real text: by default pairs made from the small
English knowledge base shipped with blendrank (varied lengths, up to the model's
window), never from the data being ranked. Pass your own ``pairs`` (a few dozen of your
queries and documents) for the most faithful ranges; docs/rerank-speed.md measures both.

>>> path = openvino_int8_file(read_model_spec(folder))   # doctest: +SKIP
>>> path.name                                            # doctest: +SKIP
'model.xml'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from blendrank._optional import require
from blendrank.errors import InvalidInputError
from blendrank.models.cache import build_once, cache_root
from blendrank.rerank.cross_encoder.batching import pad_batch, token_budget_batches
from blendrank.rerank.cross_encoder.export import EXPORT_VERSION, onnx_model_file
from blendrank.rerank.cross_encoder.model import ModelSpec

#: calibration pairs made when none are given; more changed rankings little (see docs)
CALIBRATION_PAIRS = 64
#: at most this many pairs in one calibration batch
CALIBRATION_ROWS = 8
INT8_VERSION = "2"
SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "support_kb.jsonl"


def default_calibration_pairs(
    count: int = CALIBRATION_PAIRS, seed: int = 0
) -> list[tuple[str, str]]:
    """``count`` (query, document) pairs from blendrank's sample knowledge base: a title as
    the query and one to twelve articles as the document, so lengths run from short
    passages to past a 512-token window."""
    with open(SAMPLE, encoding="utf-8") as handle:
        articles = [json.loads(line) for line in handle if line.strip()]
    rng = random.Random(seed)
    pairs = []
    for position in range(count):
        article = articles[position % len(articles)]
        size = rng.choice([1, 1, 2, 3, 5, 8, 12])
        body = " ".join(rng.choice(articles)["text"] for _ in range(size - 1))
        query = rng.choice(articles)["title"]
        pairs.append((query, f"{article['title']}\n{article['text']} {body}".strip()))
    return pairs


def calibration_batches(
    spec: ModelSpec, pairs: Sequence[tuple[str, str]], *, max_length: int | None = None
) -> list[dict[str, np.ndarray]]:
    """Model inputs for ``pairs``, cut to the window as scoring cuts them, in length-sorted
    batches like the ones the reranker runs."""
    from blendrank.models.tokenizer import load_tokenizer
    from blendrank.rerank.cross_encoder.export import input_names

    tokenizer = load_tokenizer(spec.path)
    tokenizer.enable_truncation(max_length or spec.max_length, strategy="longest_first")
    encodings = tokenizer.encode_batch([(str(q), str(d)) for q, d in pairs])
    ids = [e.ids for e in encodings]
    types = [e.type_ids for e in encodings]
    names = input_names(spec)
    batches = []
    for rows in token_budget_batches(
        [len(i) for i in ids], max_tokens=4096, max_rows=CALIBRATION_ROWS
    ):
        arrays = pad_batch(ids, types, rows, pad_id=spec.pad_token_id)
        given = dict(zip(("input_ids", "attention_mask", "token_type_ids"), arrays, strict=True))
        batches.append({name: given[name] for name in names})
    return batches


def int8_fingerprint(spec: ModelSpec, pairs: Sequence[tuple[str, str]] | None) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for part in (spec.weights_hash, EXPORT_VERSION, INT8_VERSION):
        digest.update(part.encode() + b"|")
    for query, text in pairs or []:
        digest.update(f"{query}\x00{text}\x01".encode())
    return f"{spec.path.name[:40]}-ov-int8-{digest.hexdigest()}"


def _check_pairs(pairs: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    if pairs is None:
        return None
    checked = []
    for position, pair in enumerate(pairs):
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(x, str) for x in pair)
        ):
            raise InvalidInputError(
                f"calibration pairs must be (query, document) string pairs; item {position} "
                f"is {pair!r:.60}"
            )
        checked.append((pair[0], pair[1]))
    if not checked:
        raise InvalidInputError("calibration pairs are empty; pass None for the default set")
    return checked


def quantize_openvino(source: Path, target: Path, batches: list[dict[str, np.ndarray]]) -> Path:
    """NNCF post-training int8 (transformer preset: SmoothQuant, fast bias correction)."""
    nncf = require("nncf", "openvino-int8", "OpenVINO int8 quantisation")
    ov = require("openvino", "openvino-int8", "OpenVINO int8 quantisation")
    nncf.set_log_level(logging.ERROR)
    model = ov.Core().read_model(str(source))
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars: not on stdout
        quantized = nncf.quantize(
            model,
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(batches),
            ignored_scope=nncf.IgnoredScope(names=per_pair_matmuls(model), validate=False),
        )
    out = target / "model.xml"
    ov.save_model(quantized, str(out), compress_to_fp16=False)
    return out


def per_pair_matmuls(model: Any) -> list[str]:
    """MatMuls that see one row per pair (the first-token-only last layer, pooler, head):
    cheap, so they stay float and their rounding does not reach the score."""
    names = []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "MatMul":
            continue
        shape = op.input_value(0).get_partial_shape()
        rank = shape.rank.get_length() if shape.rank.is_static else 0
        one_row = rank >= 3 and shape[rank - 2].is_static and shape[rank - 2].get_length() == 1
        if rank == 2 or one_row:
            names.append(op.get_friendly_name())
    return names


def openvino_int8_file(
    spec: ModelSpec,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    output: Path | None = None,
    trust_remote_code: bool = False,
) -> Path:
    """Path of the int8 OpenVINO model (``model.xml`` + ``model.bin``) for ``spec``,
    quantised on first use with ``pairs`` (default: :func:`default_calibration_pairs`)."""
    checked = _check_pairs(pairs)
    final = output or cache_root() / "openvino" / int8_fingerprint(spec, checked)
    if (final / "model.xml").is_file():
        return final / "model.xml"

    def build(folder: Path) -> None:
        require("nncf", "openvino-int8", "OpenVINO int8 quantisation")  # before the export
        source = onnx_model_file(spec, optimize=False, trust_remote_code=trust_remote_code)
        batches = calibration_batches(spec, checked or default_calibration_pairs())
        quantize_openvino(source, folder, batches)

    return build_once(final, "model.xml", build)

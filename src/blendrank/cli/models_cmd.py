"""``blendrank models convert MODEL [--int8] [--backend openvino] [--output DIR]``: export
a cross-encoder reranker to ONNX (fused for CPU, optionally int8) or to OpenVINO static
int8, and print where the file is.

    $ blendrank models convert /models/ms-marco-MiniLM-L-6-v2 --int8
    /home/me/.cache/blendrank/onnx/ms-marco-MiniLM-L-6-v2-int8-1f.../model.onnx
    $ blendrank models convert /models/ms-marco-MiniLM-L-6-v2 --int8 --backend openvino
    /home/me/.cache/blendrank/openvino/ms-marco-MiniLM-L-6-v2-ov-int8-5c.../model.xml
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="prepare reranker models (ONNX export, int8)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    convert = actions.add_parser(
        "convert", help="export a cross-encoder to ONNX (cached) and print the file's path"
    )
    convert.add_argument("model", help="local model folder or Hugging Face hub id")
    convert.add_argument(
        "--int8",
        action="store_true",
        help="int8: ONNX Runtime dynamic, or with --backend openvino NNCF static (faster)",
    )
    convert.add_argument(
        "--backend",
        choices=("onnx", "openvino"),
        default="onnx",
        help="the runtime the file is for (openvino needs --int8; fp32 OpenVINO reads the ONNX)",
    )
    convert.add_argument(
        "--calibration",
        type=Path,
        default=None,
        help='JSONL of {"query": ..., "text": ...} pairs to calibrate OpenVINO int8 '
        "(default: generic English pairs shipped with blendrank)",
    )
    convert.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write into this (new or empty) folder instead of the blendrank cache",
    )
    convert.add_argument(
        "--no-optimize",
        action="store_true",
        help="skip ONNX Runtime's fusions (fused attention, SkipLayerNorm, BiasGelu)",
    )
    convert.add_argument(
        "--json", action="store_true", help="print path, kind, size and settings as JSON"
    )
    convert.set_defaults(func=run)


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    import json

    from blendrank.errors import InvalidInputError

    pairs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not {"query", "text"} <= set(row):
                raise InvalidInputError(f"{path}:{number}: expected {{'query': ..., 'text': ...}}")
            pairs.append((str(row["query"]), str(row["text"])))
    return pairs


def run(args: argparse.Namespace) -> int:
    from blendrank.errors import InvalidInputError
    from blendrank.rerank.cross_encoder.export import onnx_model_file
    from blendrank.rerank.cross_encoder.model import read_model_spec, resolve_model_path
    from blendrank.rerank.cross_encoder.openvino_int8 import openvino_int8_file

    if args.backend == "openvino" and not args.int8:
        raise InvalidInputError("--backend openvino converts to int8 only; add --int8")
    if args.calibration is not None and args.backend != "openvino":
        raise InvalidInputError("--calibration is for --backend openvino --int8")
    started = time.perf_counter()
    spec = read_model_spec(resolve_model_path(args.model))
    output = args.output.expanduser().resolve() if args.output else None
    if args.backend == "openvino":
        pairs = _read_pairs(args.calibration) if args.calibration else None
        path = openvino_int8_file(spec, pairs=pairs, output=output)
        kind = "OpenVINO static int8"
    else:
        path = onnx_model_file(
            spec,
            quantize="int8" if args.int8 else None,
            optimize=not args.no_optimize,
            output=output,
        )
        kind = f"{'int8' if args.int8 else 'fp32'} ONNX"
    size = sum(f.stat().st_size for f in path.parent.iterdir() if f.is_file())
    seconds = round(time.perf_counter() - started, 1)
    if args.json:
        import json

        summary = {
            "path": str(path),
            "kind": kind,
            "model": str(spec.path),
            "bytes": size,
            "max_length": spec.max_length,
            "seconds": seconds,
        }
        print(json.dumps(summary))
        return 0
    print(path)
    print(
        f"# {kind} of {spec.path.name}, {size / 1e6:.1f} MB, "
        f"max_length {spec.max_length}, {seconds} s",
        flush=True,
    )
    return 0

"""``blendrank models convert MODEL [--int8] [--output DIR]``: export a cross-encoder
reranker to ONNX (fused for CPU, optionally int8) and print where the file is.

    $ blendrank models convert /models/ms-marco-MiniLM-L-6-v2 --int8
    /home/me/.cache/blendrank/onnx/ms-marco-MiniLM-L-6-v2-int8-1f.../model.onnx
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
    convert.add_argument("--int8", action="store_true", help="dynamic int8 quantisation")
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
    convert.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.rerank.cross_encoder_model import read_model_spec, resolve_model_path
    from blendrank.rerank.onnx_export import onnx_model_file

    started = time.perf_counter()
    spec = read_model_spec(resolve_model_path(args.model))
    path = onnx_model_file(
        spec,
        quantize="int8" if args.int8 else None,
        optimize=not args.no_optimize,
        output=args.output.expanduser().resolve() if args.output else None,
    )
    size = sum(f.stat().st_size for f in path.parent.iterdir() if f.is_file())
    print(path)
    print(
        f"# {'int8' if args.int8 else 'fp32'} ONNX of {spec.path.name}, {size / 1e6:.1f} MB, "
        f"max_length {spec.max_length}, {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return 0

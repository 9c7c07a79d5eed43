"""Importing blendrank (and its light subpackages) must not import torch or other heavy extras."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_pull_heavy_dependencies() -> None:
    code = (
        "import sys, blendrank, blendrank.index.embedded, blendrank.rerank, blendrank.evaluate, "
        "blendrank.cli.main;"
        "blendrank.cli.main.build_parser();"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'matplotlib') "
        "if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

"""Model-file plumbing shared by the embedders and the cross-encoder rerankers.

One cache root, one weights hash, one ONNX exporter and one tokenizer loader, each in its
own module; :mod:`blendrank.embed` and :mod:`blendrank.rerank` keep only their thin
per-purpose entry points. Nothing here imports torch until an export is asked for.
"""

from __future__ import annotations

"""Cross-encoders: the reranker (``reranker.py``), the model folder and its settings
(``model.py``), runtimes (``backends.py``: ONNX Runtime, OpenVINO, PyTorch), the ONNX export
and its int8 variants (``export.py``, ``openvino_int8.py``), long documents as windows
(``windows.py``), token-budget batches (``batching.py``) and CLS pruning
(``cls_pruning.py``)."""

from __future__ import annotations

from blendrank.rerank.cross_encoder.reranker import TOKEN_BUDGET, CrossEncoderReranker, activate

__all__ = ["TOKEN_BUDGET", "CrossEncoderReranker", "activate"]

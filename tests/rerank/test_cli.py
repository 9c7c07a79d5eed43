"""``blendrank rerank`` end to end with the real bundled bi-encoder."""

from __future__ import annotations

import io
import json

import pytest

from blendrank.cli.main import main
from blendrank.cli.rerank_cmd import read_documents

BI = "bi:all-MiniLM-L6-v2"


def test_text_file_table(tmp_path, capsys):
    docs = tmp_path / "docs.txt"
    docs.write_text(
        "Stock markets fell sharply today.\n\nCats purr when they are content.\n"
        "The recipe needs two eggs.\n",
        encoding="utf-8",
    )
    code = main(["rerank", "--model", BI, "--query", "why do cats purr", "--docs", str(docs)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].split() == ["rank", "score", "id", "text"]
    assert lines[1].split()[0] == "1" and "Cats purr" in lines[1] and "#1" in lines[1]
    assert len(lines) == 4  # header + 3 documents (the blank line is not a document)


def test_jsonl_json_output_keeps_ids_and_metadata(tmp_path, capsys):
    docs = tmp_path / "docs.jsonl"
    rows = [
        {"_id": 7, "text": "Dogs bark at strangers.", "metadata": {"lang": "en"}},
        {"id": "cat", "text": "Cats purr when they are content."},
    ]
    docs.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    argv = ["rerank", "--model", BI, "--query", "cat purring", "--docs", str(docs)]
    assert main([*argv, "--json", "--top-k", "5"]) == 0  # --top-k above n shows all
    payload = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in payload["results"]] == ["cat", "7"]
    assert payload["results"][1]["metadata"] == {"lang": "en"}
    assert payload["results"][0]["rank"] == 1 and payload["info"]["documents"] == 2


def test_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("first doc\nsecond doc\n"))
    assert read_documents("-") == [{"text": "first doc"}, {"text": "second doc"}]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"text": "ok"}\n{"text": 5}\n', ":2: expected an object with a string 'text'"),
        ('{"text": "ok"}\n{oops\n', ":2: not valid JSON"),
        ("\n\n", "holds no documents"),
    ],
)
def test_bad_files(tmp_path, capsys, content, message):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(content, encoding="utf-8")
    assert main(["rerank", "--model", BI, "--query", "q", "--docs", str(docs)]) == 1
    assert message in capsys.readouterr().err


def test_missing_file_and_bad_model(tmp_path, capsys):
    assert main(["rerank", "--model", BI, "--query", "q", "--docs", "/nonexistent.txt"]) == 1
    assert "no such file" in capsys.readouterr().err
    docs = tmp_path / "d.txt"
    docs.write_text("one\n", encoding="utf-8")
    missing = str(tmp_path / "no-such-model")
    assert main(["rerank", "--model", missing, "--query", "q", "--docs", str(docs)]) == 1
    assert "blendrank rerank: error:" in capsys.readouterr().err
    assert main(["rerank", "--model", "bi:", "--query", "q", "--docs", str(docs)]) == 1
    assert "names no model" in capsys.readouterr().err


def test_an_llm_reranker_from_the_command_line(tmp_path, capsys, llama_server):
    docs = tmp_path / "docs.txt"
    docs.write_text("Cats purr when content.\n\nStocks fell.\n", encoding="utf-8")
    spec = f"llm-pointwise:gemma@{llama_server}?api=completions"
    argv = ["rerank", "--model", spec, "--query", "why do cats purr", "--docs", str(docs)]
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert sorted(r["index"] for r in payload["results"]) == [0, 1]
    assert payload["info"]["calls"] == 2 and payload["info"]["mode"] == "logprobs"

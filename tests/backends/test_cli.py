"""`blendrank index`, `search` and `info` take a store URI where they take a folder."""

from __future__ import annotations

import json

import pytest

from blendrank.cli.main import main


@pytest.mark.parametrize(
    "which", ["milvus_lite_uri", "qdrant_local_uri", "qdrant_edge_uri", "postgres_uri"]
)
def test_index_search_and_info_on_a_store(which, request, tmp_path, capsys):
    uri = request.getfixturevalue(which)
    docs = tmp_path / "docs.jsonl"
    rows = [
        {"_id": "a", "text": "cats purr when content", "section": "pets"},
        {"_id": "b", "text": "dogs bark at the mail carrier", "section": "other"},
    ]
    docs.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["index", uri, str(docs), "--embedder", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 2
    assert main(["index", uri, str(docs), "--json"]) == 0  # again: unchanged
    assert json.loads(capsys.readouterr().out)["unchanged"] == 2
    argv = ["search", uri, "cats", "--mode", "bm25", "--json"]
    assert main([*argv, "--filter", '{"section": "pets"}']) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["doc_id"] for h in hits] == ["a"]
    assert main(["info", uri, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == which.split("_")[0] and info["documents"] == 2


def test_folder_only_flags_are_refused_for_a_store(milvus_lite_uri, tmp_path, capsys):
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"_id": "a", "text": "x"}\n', encoding="utf-8")
    assert main(["index", milvus_lite_uri, str(docs), "--ann"]) == 1
    assert "applies to an index folder" in capsys.readouterr().err


def test_the_registry_names_the_milvus_backends(milvus_lite_uri, milvus_server):
    from blendrank.backends.milvus import MilvusIndex
    from blendrank.registry import load_backend

    store = load_backend(milvus_lite_uri, create=True, embedder=None)
    assert isinstance(store, MilvusIndex) and len(store) == 0
    server = load_backend(f"{milvus_server}/reg", create=True, embedder=None)
    assert isinstance(server, MilvusIndex) and server.collection == "reg"


def test_the_registry_names_the_qdrant_backends(qdrant_local_uri, qdrant_edge_uri):
    from blendrank.backends.qdrant import QdrantIndex
    from blendrank.registry import load_backend

    for uri in (qdrant_local_uri, qdrant_edge_uri):
        store = load_backend(uri, create=True, embedder=None)
        assert isinstance(store, QdrantIndex) and len(store) == 0
        store.close()

"""`blendrank migrate`: embedded -> Milvus, Qdrant or PostgreSQL -> embedded without
re-embedding, the same search results on the way, and a second run (a resumed one)
writing nothing."""

from __future__ import annotations

import json

import pytest

from blendrank import Document, Index
from blendrank.backends import connect
from blendrank.backends.migrate import migrate
from blendrank.cli.main import main

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
]


@pytest.mark.parametrize(
    "which", ["milvus_lite_uri", "qdrant_edge_uri", "qdrant_local_uri", "postgres_uri"]
)
def test_round_trip_keeps_vectors_and_results(tmp_path, which, request, capsys):
    uri = request.getfixturevalue(which)
    source = Index.create(tmp_path / "src", chunk_size=16, chunk_overlap=4)
    docs = [Document(f"d{i}", t, "Title" if i else "", {"n": i}) for i, t in enumerate(TEXTS)]
    source.add(docs)
    counts = migrate(source, uri, batch=3)
    assert counts == {"documents": 4, "added": 4, "updated": 0, "unchanged": 0, "re_embedded": 0}
    store = connect(uri)
    assert store.get("d1") == docs[1]
    ours = store.search("why do cats purr", mode="dense", top_k=4)
    theirs = source.search("why do cats purr", mode="dense", top_k=4)
    assert [h.id for h in ours] == [h.id for h in theirs]  # the same vectors
    assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5)
    store.close()
    again = migrate(source, uri)  # resumed or repeated: nothing to write
    assert again["unchanged"] == 4 and again["added"] == 0
    back = tmp_path / "back"
    assert main(["migrate", uri, str(back), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["re_embedded"] == 0
    restored = Index.open(back)
    assert sorted(d.id for d in restored.documents()) == ["d0", "d1", "d2", "d3"]
    vectors = restored.chunk_vectors(["d2#0"]), source.chunk_vectors(["d2#0"])
    assert abs(vectors[0] - vectors[1]).max() < 1e-6

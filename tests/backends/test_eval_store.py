"""Evaluation configs name a store: the pipeline searches the engine (created and filled
with the corpus on first use), and the same vectors give the embedded index's figures."""

from __future__ import annotations

import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate import EvalConfig, evaluate, load_beir


@pytest.mark.parametrize("which", ["qdrant_edge_uri", "postgres_uri", "milvus_lite_uri"])
def test_a_pipeline_on_a_store_scores_as_on_the_embedded_index(
    which, request, fixtures_dir, tmp_path
):
    uri = request.getfixturevalue(which)
    dataset = load_beir(fixtures_dir / "eval" / "beir_toy")
    pipelines = [
        {"name": "embedded", "mode": "dense"},
        {"name": "store", "mode": "dense", "store": uri},
    ]
    pipelines += [{"name": "store_bm25", "mode": "bm25", "store": uri}]
    cfg = EvalConfig.from_mapping({"metrics": ["ndcg@10"], "pipelines": pipelines})
    result = evaluate(dataset, cfg, work_dir=tmp_path / "work")
    embedded, store = result.runs["embedded"], result.runs["store"]
    assert store.metrics.mean["ndcg@10"] == pytest.approx(
        embedded.metrics.mean["ndcg@10"], abs=1e-6
    )
    assert store.index_path == uri
    assert result.runs["store_bm25"].metrics.mean["ndcg@10"] > 0
    again = evaluate(dataset, cfg, work_dir=tmp_path / "work")  # the store holds it already
    assert again.runs["store"].metrics.mean == store.metrics.mean


def test_a_store_with_other_settings_is_refused(qdrant_edge_uri, fixtures_dir, tmp_path):
    from blendrank.backends import connect

    connect(qdrant_edge_uri, create=True, embedder=None, chunk_size=64, chunk_overlap=0).close()
    dataset = load_beir(fixtures_dir / "eval" / "beir_toy")
    cfg = EvalConfig.from_mapping(
        {"pipelines": [{"name": "s", "mode": "bm25", "store": qdrant_edge_uri}]}
    )
    with pytest.raises(InvalidInputError, match="holds another chunk_size"):
        evaluate(dataset, cfg, work_dir=tmp_path / "work")
    with pytest.raises(InvalidInputError, match="only for type index"):
        EvalConfig.from_mapping(
            {"pipelines": [{"name": "r", "type": "run", "run": "x.trec", "store": "qdrant+edge:x"}]}
        )

"""The LlamaIndex adapters with the real llama-index-core."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "llama_index.core", reason="llama-index-core (extra 'llamaindex') is not installed"
)

from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402

from blendrank import Document, Index  # noqa: E402
from blendrank.integrations.llamaindex import BlendrankLlamaRetriever, BlendrankRerank  # noqa: E402
from blendrank.rerank import load_reranker  # noqa: E402

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    kb = Index.create(
        tmp_path_factory.mktemp("li") / "kb", embedder=None, chunk_size=32, chunk_overlap=0
    )
    kb.add([Document(f"d{i}", t, metadata={"n": i}) for i, t in enumerate(TEXTS)])
    return kb


def test_retriever_returns_nodes_with_scores(store):
    retriever = BlendrankLlamaRetriever(store, top_k=2, mode="bm25")
    nodes = retriever.retrieve("cats purr")
    assert len(nodes) == 2 and all(isinstance(n, NodeWithScore) for n in nodes)
    assert nodes[0].node.metadata["doc_id"] in {"d0", "d2"} and nodes[0].score > 0
    filtered = BlendrankLlamaRetriever(store, top_k=5, filter={"n": {"gte": 2}}, mode="bm25")
    assert {n.node.metadata["doc_id"] for n in filtered.retrieve("cats purr")} == {"d2"}


def test_postprocessor_reorders_by_the_reranker():
    rf = load_reranker("bi:all-MiniLM-L6-v2")
    nodes = [
        NodeWithScore(node=TextNode(text=t, id_=f"n{i}"), score=0.0) for i, t in enumerate(TEXTS)
    ]
    out = BlendrankRerank(reranker=rf, top_n=2).postprocess_nodes(
        nodes, query_bundle=QueryBundle("why do kittens purr")
    )
    expected = rf("why do kittens purr", TEXTS, top_k=2)
    assert [n.node.id_ for n in out] == [f"n{r.index}" for r in expected]
    assert out[0].score == pytest.approx(expected[0].score)
    by_string = BlendrankRerank(reranker="bi:all-MiniLM-L6-v2", top_n=9).postprocess_nodes(
        nodes, query_str="bread"
    )
    assert len(by_string) == len(TEXTS) and by_string[0].node.id_ == "n3"
    with pytest.raises(ValueError, match="needs the query"):
        BlendrankRerank(reranker=rf).postprocess_nodes(nodes)

"""The LangChain adapters with the real langchain-core, and LangChain's own standard test
suite for retrievers (langchain-tests)."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core", reason="langchain-core (extra 'langchain') is not installed")
standard = pytest.importorskip(
    "langchain_tests.integration_tests", reason="langchain-tests (extra 'test') is not installed"
)

from langchain_core.documents import Document as LCDocument  # noqa: E402

from blendrank import Document, Index  # noqa: E402
from blendrank.integrations.langchain import BlendrankReranker, BlendrankRetriever  # noqa: E402
from blendrank.rerank import load_reranker  # noqa: E402

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
    "The stock market closed lower on Friday.",
]
_STORE: dict[str, Index] = {}


def _store(tmp_dir) -> Index:
    if "kb" not in _STORE:
        kb = Index.create(tmp_dir / "kb", embedder=None, chunk_size=32, chunk_overlap=0)
        kb.add(
            [
                Document(f"d{i}", t, metadata={"pets": i != 3 and i != 5})
                for i, t in enumerate(TEXTS)
            ]
        )
        _STORE["kb"] = kb
    return _STORE["kb"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return _store(tmp_path_factory.mktemp("lc"))


class TestBlendrankRetrieverStandard(standard.RetrieversIntegrationTests):
    """LangChain's standard retriever tests, run as they are."""

    @pytest.fixture(autouse=True)
    def _kb(self, store):
        self._kb_store = store

    @property
    def retriever_constructor(self) -> type[BlendrankRetriever]:
        return BlendrankRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        import tempfile
        from pathlib import Path

        return {"store": _store(Path(tempfile.mkdtemp())), "search_kwargs": {"mode": "bm25"}}

    @property
    def retriever_query_example(self) -> str:
        return "cats purr"


def test_retriever_filters_and_carries_scores(store):
    retriever = BlendrankRetriever(store=store, k=5, search_kwargs={"mode": "bm25"})
    docs = retriever.invoke("cats purr", filter={"pets": True})
    assert docs and all(d.metadata["pets"] for d in docs)
    assert {"doc_id", "chunk_id", "score", "scores"} <= set(docs[0].metadata)
    assert "bm25" in docs[0].metadata["scores"]
    assert len(retriever.invoke("cats", k=1)) == 1


def test_compressor_reorders_by_the_reranker():
    rf = load_reranker("bi:all-MiniLM-L6-v2")
    docs = [LCDocument(page_content=t, metadata={"n": i}, id=f"x{i}") for i, t in enumerate(TEXTS)]
    out = BlendrankReranker(reranker=rf, top_n=2).compress_documents(docs, "why do kittens purr")
    expected = rf("why do kittens purr", TEXTS, top_k=2)
    assert [d.metadata["n"] for d in out] == [r.index for r in expected]
    assert out[0].id == f"x{expected[0].index}" and "relevance_score" in out[0].metadata
    assert BlendrankReranker(reranker=rf).compress_documents([], "q") == []
    everything = BlendrankReranker(reranker="bi:all-MiniLM-L6-v2", top_n=50)
    assert len(everything.compress_documents(docs, "bread")) == len(docs)

"""blendrank inside the frameworks RAG code is written in: LangChain
(:mod:`blendrank.integrations.langchain`, ``pip install 'blendrank[langchain]'``) and
LlamaIndex (:mod:`blendrank.integrations.llamaindex`, ``pip install 'blendrank[llamaindex]'``).
Each offers a reranking step over any blendrank reranker and a retriever over any
blendrank store or pipeline, filters included."""

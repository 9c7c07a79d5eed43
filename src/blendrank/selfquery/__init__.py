"""Filters read from the question itself (self-query): "enterprise install errors since
2025" becomes ``{"product_line": "enterprise", "section": "install", "date": {"gte":
"2025-01-01"}}`` plus the query "errors", from the index's own metadata.

``index.search(q, self_query="filter" | "boost")`` uses the rule-based extractor built
from the index (``index.self_query_extractor()``); pass ``extractor=LLMExtractor(...)``
for an LLM through any OpenAI-compatible chat endpoint.
"""

from blendrank.selfquery.llm import LLMExtractor
from blendrank.selfquery.retriever import SELF_QUERY_MODES, SelfQueryRetriever
from blendrank.selfquery.rules import Extraction, RuleExtractor
from blendrank.selfquery.schema import FieldSchema, MetadataSchema

__all__ = [
    "SELF_QUERY_MODES",
    "Extraction",
    "FieldSchema",
    "LLMExtractor",
    "MetadataSchema",
    "RuleExtractor",
    "SelfQueryRetriever",
]

"""What both framework integrations share, importing neither framework."""

from __future__ import annotations

from typing import Any


def search_hits(store: Any, query: str, k: int, filter_: Any, options: dict[str, Any]) -> list[Any]:
    """Hits of a blendrank store (``search``) or a pipeline (``run``)."""
    from blendrank.errors import InvalidInputError
    from blendrank.pipeline import Pipeline
    from blendrank.types import Query

    if isinstance(store, Pipeline):
        if options:
            raise InvalidInputError(f"a Pipeline takes no search options, got {sorted(options)}")
        return list(store.run(Query(query, filter_), k).final)
    if not hasattr(store, "search"):
        raise InvalidInputError(
            f"store must be a blendrank Index, engine store or Pipeline, got {type(store).__name__}"
        )
    return list(store.search(query, top_k=k, filter=filter_, **options))

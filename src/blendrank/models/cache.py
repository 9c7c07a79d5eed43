"""Where cached model artefacts live and how they get there: whole, or not at all.

Exports, quantised models and OpenVINO files go under
``${BLENDRANK_CACHE:-~/.cache/blendrank}/<kind>/<fingerprint>/``. Each entry is built in a
temporary sibling folder and moved into place with one ``os.replace``, so a crash or a
second process never leaves a half-written model where a reader would take it.

>>> build_once(tmp / "entry", "model.onnx", write_model)   # doctest: +SKIP
PosixPath('.../entry/model.onnx')
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from blendrank.errors import ModelError

DEFAULT_CACHE = "~/.cache/blendrank"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``$BLENDRANK_CACHE``, else ``~/.cache/blendrank``.

    An empty ``BLENDRANK_CACHE`` counts as unset (the default), not as the current folder.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("BLENDRANK_CACHE") or DEFAULT_CACHE).expanduser()


def build_once(
    final: Path, name: str, build: Callable[[Path], object], *, replace_incomplete: bool = False
) -> Path:
    """``final/name``, first calling ``build(folder)`` on a fresh temporary folder and moving
    it to ``final`` in one ``os.replace`` when ``final/name`` does not exist yet.

    ``replace_incomplete`` is for cache entries blendrank owns: a ``final`` folder without
    ``name`` is then the leftover of an interrupted build and is replaced. Without it a
    non-empty ``final`` (a user's ``--output`` folder) is never deleted.
    """
    if (final / name).is_file():
        return final / name
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        build(temporary)
        if final.is_dir() and not (final / name).is_file():
            if replace_incomplete:
                shutil.rmtree(final, ignore_errors=True)
            elif not any(final.iterdir()):
                final.rmdir()  # an empty --output folder may be replaced
        try:
            os.replace(temporary, final)
        except OSError:
            if not (final / name).is_file():  # not a lost race: a real failure
                raise ModelError(
                    f"cannot write the model to {final}: the folder exists and is "
                    "not empty; pass an empty or new --output folder"
                ) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return final / name

"""A folder of ``.txt`` and ``.md`` files, read recursively in sorted order.

The id of a file is its path relative to the folder, in POSIX form (``guides/setup.md``);
hidden files and folders (names starting with ``.``) are skipped. A file may start with
YAML front matter between two ``---`` lines (the closing line may also be ``...``); it is
parsed with ``yaml.safe_load`` and becomes the metadata, except its ``title``, which
becomes the title. Dates become ISO strings (``2024-05-01``). The text is what follows
the front matter, leading blank lines removed.

>>> split_front_matter("---\\ntitle: Hi\\n---\\nBody\\n", "x.md")
({'title': 'Hi'}, 'Body\\n')
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blendrank.errors import IngestError
from blendrank.ingest.records import Fields, flatten_metadata
from blendrank.types import Document

TEXT_SUFFIXES = (".txt", ".md")
_FENCE_OPEN = "---"
_FENCE_CLOSE = ("---", "...")


def read_folder(root: Path, fields: Fields) -> Iterator[tuple[Document, str]]:
    """Yield ``(document, file path)`` for every text file under ``root``."""
    for path in iter_text_files(root):
        yield read_text_file(path, path.relative_to(root).as_posix(), fields), str(path)


def iter_text_files(root: Path) -> list[Path]:
    """``.txt``/``.md`` files under ``root``, recursive, hidden names skipped, sorted by
    relative POSIX path (so ``a/z.md`` comes before ``b.md``)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and name.lower().endswith(TEXT_SUFFIXES):
                found.append(Path(folder) / name)
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def read_text_file(path: Path, doc_id: str, fields: Fields) -> Document:
    """One text file as a Document with id ``doc_id``."""
    try:
        content = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise IngestError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from None
    content = content.replace("\r\n", "\n")
    front, text = split_front_matter(content, str(path))
    title = front.pop(fields.title, None)
    if title is None:
        title = ""
    elif isinstance(title, str | int | float) and not isinstance(title, bool):
        title = str(title)
    else:
        raise IngestError(f"{path}:1: front matter {fields.title!r} must be a string")
    return Document(
        id=doc_id, text=text, title=title, metadata=flatten_metadata(front, f"{path}:1")
    )


def split_front_matter(content: str, name: str) -> tuple[dict[str, Any], str]:
    """``(front matter dict, remaining text)``; ``({}, content)`` without front matter."""
    lines = content.split("\n")
    if lines[0].rstrip() != _FENCE_OPEN:
        return {}, content
    for end in range(1, len(lines)):
        if lines[end].rstrip() in _FENCE_CLOSE:
            break
    else:
        raise IngestError(
            f"{name}:1: front matter opened with '---' is never closed; add a '---' line after it"
        )
    import yaml

    try:
        front = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1: 1-based, +1: the '---' line
        problem = getattr(exc, "problem", None) or str(exc)
        raise IngestError(f"{name}:{line}: invalid YAML front matter: {problem}") from None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise IngestError(
            f"{name}:2: front matter must be a YAML mapping (key: value lines), "
            f"got {type(front).__name__}"
        )
    text = "\n".join(lines[end + 1 :]).lstrip("\n")
    return {str(k): v for k, v in front.items()}, text

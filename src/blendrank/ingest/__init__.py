"""Reading documents from files: JSON Lines/JSON, CSV/TSV, and folders of text files.

>>> docs = list(load_documents(["corpus.jsonl"]))  # doctest: +SKIP

Which reader is used depends on the path: a folder -> :mod:`.folder` (``.txt``/``.md``
files, ids are relative paths); ``.jsonl``/``.ndjson``/``.json`` -> :mod:`.jsonl`;
``.csv``/``.tsv`` -> :mod:`.csv`; a single ``.txt``/``.md`` file -> one document whose id
is the file name. Paths are checked when ``load_documents`` is called; files are read
lazily as the iterator is consumed. Document ids must be unique across all the paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from blendrank.errors import IngestError
from blendrank.ingest.csv import read_csv
from blendrank.ingest.folder import TEXT_SUFFIXES, read_folder, read_text_file
from blendrank.ingest.jsonl import read_json_array, read_jsonl
from blendrank.ingest.records import Fields
from blendrank.types import Document

__all__ = ["SUPPORTED_SUFFIXES", "load_documents"]

Reader = Callable[[Path, Fields], Iterator[tuple[Document, str]]]


def _read_single_text_file(path: Path, fields: Fields) -> Iterator[tuple[Document, str]]:
    yield read_text_file(path, path.name, fields), str(path)


READERS: dict[str, Reader] = {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json_array,
    ".csv": read_csv,
    ".tsv": read_csv,
    **{suffix: _read_single_text_file for suffix in TEXT_SUFFIXES},
}
SUPPORTED_SUFFIXES = tuple(READERS)


def load_documents(
    paths: Iterable[str | Path] | str | Path,
    *,
    id_field: str = "_id",
    text_field: str = "text",
    title_field: str = "title",
) -> Iterator[Document]:
    """Stream the documents of every path, in order.

    Raises :class:`~blendrank.errors.IngestError` (with ``file:line``) for a missing path,
    an unsupported file type (at call time), and, while iterating, for malformed JSON or
    CSV, a record without an id, a missing or non-string text, unsupported metadata
    values, or an id already seen in the input. Empty files give no documents.

    >>> from pathlib import Path; import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.jsonl").write_text('{"_id": 1, "title": "T", "text": "x", "y": 2}')
    >>> list(load_documents([folder / "a.jsonl"]))
    [Document(id='1', text='x', title='T', metadata={'y': 2})]
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    fields = Fields(id=id_field, text=text_field, title=title_field)
    sources = [_source(Path(p)) for p in paths]
    return _documents(sources, fields)


def _source(path: Path) -> tuple[Path, Reader]:
    if path.is_dir():
        return path, read_folder
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            f"use a folder or one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return path, reader


def _documents(sources: list[tuple[Path, Reader]], fields: Fields) -> Iterator[Document]:
    # Only ids are kept (not where they were seen), so memory stays small on millions of
    # documents; the first occurrence is looked up again only to report a duplicate.
    seen: set[str] = set()
    for path, reader in sources:
        for doc, where in reader(path, fields):
            if doc.id in seen:
                first = _first_location(sources, fields, doc.id)
                raise IngestError(
                    f"{where}: duplicate document id {doc.id!r} (first at {first}); "
                    "ids must be unique across all inputs"
                )
            seen.add(doc.id)
            yield doc


def _first_location(sources: list[tuple[Path, Reader]], fields: Fields, doc_id: str) -> str:
    for path, reader in sources:
        for doc, where in reader(path, fields):
            if doc.id == doc_id:
                return where
    return "an earlier record"

"""CSV (``.csv``) and tab-separated (``.tsv``) files with a header row.

The id column is ``id_field`` (``_id`` and ``id`` are aliases), the text column
``text_field``, the optional title column ``title_field``; every other column becomes
metadata. CSV has no types, so values stay strings except those that are clearly
numbers: ``-?(0|[1-9][0-9]*)`` becomes an int and a decimal or exponent form such as
``3.5``, ``-0.25`` or ``1e-3`` becomes a float. ``"007"``, ``"1,000"``, ``".5"``,
``"true"`` and ``""`` stay strings. The id, text and title are never converted.

>>> parse_cell("42"), parse_cell("007"), parse_cell("2.5"), parse_cell("")
(42, '007', 2.5, '')
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from blendrank.errors import IngestError
from blendrank.ingest.records import Fields, document_id, document_title
from blendrank.types import Document

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")
# csv's default field limit (128 KiB) is smaller than many documents.
_FIELD_LIMIT = 2**31 - 1


def parse_cell(value: str) -> str | int | float:
    """A metadata cell: an int or float when it is clearly a number, else the string."""
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def read_csv(path: Path, fields: Fields) -> Iterator[tuple[Document, str]]:
    """Yield ``(document, "file:line")`` per row; ``.tsv`` files are tab-separated."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return  # an empty file holds no documents
            columns = _check_header(header, fields, path)
            line = reader.line_num + 1
            for row in reader:
                where = f"{path}:{line}"
                line = reader.line_num + 1
                if not row:
                    continue
                yield _row_to_document(row, header, columns, fields, where), where
        except csv.Error as exc:
            raise IngestError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{path}:{reader.line_num + 1}: not valid UTF-8 ({exc.reason})"
            ) from None


def _check_header(header: list[str], fields: Fields, path: Path) -> dict[str, int]:
    if len(set(header)) != len(header):
        raise IngestError(f"{path}:1: the header repeats a column name: {header}")
    if any(not name for name in header):
        raise IngestError(f"{path}:1: the header has an empty column name: {header}")
    columns = {name: i for i, name in enumerate(header)}
    if not any(key in columns for key in fields.id_keys):
        names = " or ".join(repr(k) for k in fields.id_keys)
        raise IngestError(f"{path}:1: no id column ({names}) in the header {header}")
    if fields.text not in columns:
        raise IngestError(f"{path}:1: no {fields.text!r} column in the header {header}")
    return columns


def _row_to_document(
    row: list[str], header: list[str], columns: dict[str, int], fields: Fields, where: str
) -> Document:
    if len(row) != len(header):
        raise IngestError(f"{where}: row has {len(row)} fields but the header has {len(header)}")
    record = dict(zip(header, row, strict=True))
    doc_id = document_id(record, fields, where)
    title = document_title(record.get(fields.title), fields, where)
    skip = {*fields.id_keys, fields.text, fields.title}
    metadata = {name: parse_cell(value) for name, value in record.items() if name not in skip}
    return Document(id=doc_id, text=record[fields.text], title=title, metadata=metadata)

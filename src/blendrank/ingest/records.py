"""Turning one parsed record (a dict from JSON, CSV or front matter) into a Document.

Shared by every reader so that ids, titles and metadata follow the same rules:

- the id is a string, or an integer (made a string); a record may use ``_id`` or ``id``;
- the text must be a string; the title is a string or absent/None (then ``""``);
- ids are valid Unicode (no lone surrogates) without control characters (a newline,
  a tab, NUL...); text and title are valid Unicode;
- metadata is flat: nested objects are flattened with dots (``{"a": {"b": 1}}`` ->
  ``{"a.b": 1}``, at most ``MAX_DEPTH`` levels); keys are strings; values are str, int
  (within signed 64 bits), finite float, bool, None, or lists of str/int/float; dates and
  datetimes become ISO strings (``"2024-05-01"``).

``Index.add`` applies the same rules to every document, however it was made, so a bad
value is refused before anything is written.

>>> flatten_metadata({"a": {"b": 1}, "when": __import__("datetime").date(2024, 5, 1)}, "f:1")
{'a.b': 1, 'when': '2024-05-01'}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from blendrank._unicode import require_unicode
from blendrank.errors import IngestError, InvalidInputError
from blendrank.types import Document

ID_ALIASES = ("_id", "id")
#: metadata nesting flattened at most this deep (deeper is an error, not a RecursionError)
MAX_DEPTH = 32
#: integers are stored and compared as signed 64-bit values
INT_RANGE = (-(2**63), 2**63 - 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_unicode(value: str, what: str, where: str) -> str:
    """``value`` unchanged, or IngestError when it holds a lone surrogate (not UTF-8)."""
    return require_unicode(value, what, IngestError, prefix=f"{where}: ")


def check_id(value: str, where: str) -> str:
    """A usable document id: non-empty, valid Unicode, no control characters."""
    if not isinstance(value, str) or not value:
        raise IngestError(f"{where}: id must be a non-empty string or an integer, got {value!r}")
    check_unicode(value, f"id {value!r}", where)
    control = _CONTROL.search(value)
    if control:
        raise IngestError(
            f"{where}: id {value!r} contains a control character ({control.group()!r} at "
            f"position {control.start()}); ids must be printable so they can be read, "
            "addressed and deleted"
        )
    return value


@dataclass(frozen=True, slots=True)
class Fields:
    """Which record keys hold the id, the text and the title."""

    id: str = "_id"
    text: str = "text"
    title: str = "title"

    def __post_init__(self) -> None:
        names = (self.id, self.text, self.title)
        if not all(isinstance(n, str) and n for n in names):
            raise InvalidInputError(
                f"id_field, text_field and title_field must be non-empty, got {names}"
            )
        if len(set(names)) != 3:
            raise InvalidInputError(
                f"id_field, text_field and title_field must differ, got {names}"
            )

    @property
    def id_keys(self) -> tuple[str, ...]:
        """Keys tried for the id, in order: ``_id`` and ``id`` are aliases of each other."""
        if self.id in ID_ALIASES:
            return (self.id, *(a for a in ID_ALIASES if a != self.id))
        return (self.id,)


def record_to_document(record: dict[str, Any], fields: Fields, where: str) -> Document:
    """Build a Document from a JSON-like record; ``where`` (``file:line``) prefixes errors.

    A ``metadata`` object and every other key (beyond id, text and title) become metadata.
    """
    doc_id = document_id(record, fields, where)
    text = record.get(fields.text)
    if text is None and fields.text not in record:
        raise IngestError(f"{where}: document {doc_id!r} has no {fields.text!r} field")
    if not isinstance(text, str):
        raise IngestError(
            f"{where}: {fields.text!r} of document {doc_id!r} must be a string, "
            f"got {type(text).__name__}"
        )
    check_unicode(text, fields.text, where)
    title = document_title(record.get(fields.title), fields, where)
    skip = {*fields.id_keys, fields.text, fields.title}
    metadata: dict[str, Any] = {}
    nested = record.get("metadata")
    if isinstance(nested, dict):
        skip.add("metadata")
        _flatten_into(metadata, nested, "", where)
    rest = {k: v for k, v in record.items() if k not in skip}
    _flatten_into(metadata, rest, "", where)
    return Document(id=doc_id, text=text, title=title, metadata=metadata)


def document_id(record: dict[str, Any], fields: Fields, where: str) -> str:
    """The record's id as a string (integers are converted)."""
    for key in fields.id_keys:
        if key in record:
            value = record[key]
            break
    else:
        names = " or ".join(repr(k) for k in fields.id_keys)
        raise IngestError(f"{where}: record has no id field ({names})")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return check_id(value, where)


def document_title(value: Any, fields: Fields, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise IngestError(f"{where}: {fields.title!r} must be a string, got {type(value).__name__}")
    return check_unicode(value, fields.title, where)


def flatten_metadata(values: dict[Any, Any], where: str) -> dict[str, Any]:
    """A flat copy of ``values`` with validated, JSON-friendly values (see module doc)."""
    out: dict[str, Any] = {}
    _flatten_into(out, values, "", where)
    return out


def _flatten_into(
    out: dict[str, Any], values: dict[Any, Any], prefix: str, where: str, depth: int = 1
) -> None:
    if depth > MAX_DEPTH:
        raise IngestError(
            f"{where}: metadata {prefix.rstrip('.')!r} is nested more than {MAX_DEPTH} levels deep"
        )
    for key, value in values.items():
        if not isinstance(key, str):
            raise IngestError(
                f"{where}: metadata keys must be strings, got {type(key).__name__} {key!r:.40}"
            )
        check_unicode(key, f"metadata key {key!r}", where)
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten_into(out, value, f"{name}.", where, depth + 1)
            continue
        if name in out:
            raise IngestError(f"{where}: metadata key {name!r} appears twice")
        out[name] = _metadata_value(value, name, where)


def _metadata_value(value: Any, name: str, where: str) -> Any:
    if not isinstance(value, list):
        return _scalar(value, name, where)
    items = [v.isoformat() if isinstance(v, dt.date) else v for v in value]
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in items):
        raise IngestError(
            f"{where}: metadata {name!r} must be a list of strings or numbers, got {value!r:.80}"
        )
    return [_scalar(v, name, where) for v in items]


def _scalar(value: Any, name: str, where: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return check_unicode(value, f"metadata {name!r}", where)
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise IngestError(
                f"{where}: metadata {name!r} is an integer outside the signed 64-bit range "
                f"({str(value)[:20]}...); store it as a string"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise IngestError(
                f"{where}: metadata {name!r} must be a finite number, got {value!r}; "
                "leave the key out or use null"
            )
        return value
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    raise IngestError(
        f"{where}: metadata {name!r} has unsupported type {type(value).__name__}; "
        "use a string, number, boolean, null or a list of strings/numbers"
    )


def validate_documents(documents: Iterable[Document]) -> list[Document]:
    """Check every document before anything is written: the rules of ``ingest.records``
    (ids, valid Unicode, flat JSON-safe metadata) for documents however they were made.
    Each one is rebuilt with its own flattened metadata, so the caller's dict is not kept."""
    if isinstance(documents, (Document, str)):
        raise InvalidInputError("add() takes an iterable of Documents; wrap a single one in a list")
    out: list[Document] = []
    seen: set[str] = set()
    for i, doc in enumerate(documents):
        if not isinstance(doc, Document):
            raise InvalidInputError(
                f"documents[{i}] is a {type(doc).__name__}; pass blendrank.Document objects "
                "(or load files with blendrank.ingest.load_documents)"
            )
        check_id(doc.id, f"documents[{i}]")
        where = f"document {doc.id!r}"
        if not isinstance(doc.text, str) or not isinstance(doc.title, str):
            raise InvalidInputError(f"{where}: text and title must be strings")
        check_unicode(doc.text, "text", where)
        check_unicode(doc.title, "title", where)
        if not isinstance(doc.metadata, Mapping):
            raise InvalidInputError(f"{where}: metadata must be a dict")
        if doc.id in seen:
            raise InvalidInputError(f"document id {doc.id!r} appears twice in one add() call")
        seen.add(doc.id)
        out.append(Document(doc.id, doc.text, doc.title, flatten_metadata(doc.metadata, where)))
    return out

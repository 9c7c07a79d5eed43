"""JSON Lines (``.jsonl``, ``.ndjson``; BEIR ``corpus.jsonl``) and JSON arrays (``.json``).

JSON Lines files are streamed line by line; blank lines are skipped. A ``.json`` file
must hold an array of objects; it is read whole, then decoded one element at a time so
errors still name the line. UTF-8, with or without a byte-order mark.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from blendrank.errors import IngestError
from blendrank.ingest.records import Fields, record_to_document
from blendrank.types import Document

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def read_jsonl(path: Path, fields: Fields) -> Iterator[tuple[Document, str]]:
    """Yield ``(document, "file:line")`` for each non-blank line of a JSON Lines file."""
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, 1):
            where = f"{path}:{line_number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(f"{where}: not valid UTF-8 ({exc.reason})") from None
            if line_number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"{where}: malformed JSON: {exc.msg} (column {exc.colno})"
                ) from None
            except RecursionError:
                raise IngestError(
                    f"{where}: the JSON is nested too deeply to read; metadata may nest "
                    "at most a few dozen levels"
                ) from None
            if not isinstance(record, dict):
                raise IngestError(
                    f"{where}: each line must be a JSON object, got {type(record).__name__}"
                )
            yield record_to_document(record, fields, where), where


def read_json_array(path: Path, fields: Fields) -> Iterator[tuple[Document, str]]:
    """Yield ``(document, "file:line")`` for each object of a file holding a JSON array."""
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not valid UTF-8 ({exc.reason})") from None
    position = _skip_whitespace(text, 0)
    if position == len(text):
        return  # an empty file holds no documents
    if text[position] != "[":
        raise IngestError(
            f"{path}:{_line_of(text, position)}: a .json file must hold an array of "
            "document objects; use .jsonl for one object per line"
        )
    line, counted = 1, 0
    position = _skip_whitespace(text, position + 1)
    if text.startswith("]", position):
        _expect_end(text, position + 1, path)
        return
    while True:
        line += text.count("\n", counted, position)
        counted = position
        where = f"{path}:{line}"
        try:
            record, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise IngestError(
                f"{path}:{exc.lineno}: malformed JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except RecursionError:
            raise IngestError(f"{where}: the JSON is nested too deeply to read") from None
        if not isinstance(record, dict):
            raise IngestError(
                f"{where}: array items must be JSON objects, got {type(record).__name__}"
            )
        yield record_to_document(record, fields, where), where
        position = _skip_whitespace(text, position)
        if text.startswith(",", position):
            position = _skip_whitespace(text, position + 1)
        elif text.startswith("]", position):
            _expect_end(text, position + 1, path)
            return
        else:
            raise IngestError(
                f"{path}:{_line_of(text, position)}: malformed JSON: expected ',' or ']'"
            )


def _expect_end(text: str, position: int, path: Path) -> None:
    position = _skip_whitespace(text, position)
    if position != len(text):
        raise IngestError(
            f"{path}:{_line_of(text, position)}: malformed JSON: extra data after the array"
        )


def _skip_whitespace(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)  # always matches: the pattern accepts ""
    return match.end() if match else position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1

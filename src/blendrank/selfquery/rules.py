"""The rule-based self-query extractor: the index's own metadata values and date phrases
found in the question, turned into a filter plus the rest of the question.

- Values: every value of a low-cardinality string field (and any alias given for it) is
  looked for in the question, case- and width-folded (NFKC + casefold, so "ＥＮＴＥＲＰＲＩＳＥ"
  is "enterprise"). Latin values match whole words, compared by English stem, with
  ``-``/``_``/space between their words interchangeable ("installation" finds ``install``,
  "release notes" ``release-notes``); other scripts (CJK) match as substrings. A longer
  match wins over one inside it; a span that is a value of two fields is left alone
  (ambiguous). Several values of one field become ``{"in": [...]}``.
- Dates: the phrases of :mod:`blendrank.selfquery.dates`, applied to the schema's date
  field.
- The rest of the question is the question without the matched spans.

>>> schema = MetadataSchema.from_records([
...     {"product_line": "enterprise", "section": "install", "date": "2025-02-01"},
...     {"product_line": "cloud", "section": "release-notes", "date": "2023-05-01"},
... ])
>>> extractor = RuleExtractor(schema, today="2026-12-01")
>>> got = extractor.extract("Enterprise installation errors since 2025")
>>> got.filter
{'product_line': 'enterprise', 'section': 'install', 'date': {'gte': '2025-01-01'}}
>>> got.query
'errors'
>>> extractor.extract("クラウドのrelease notes 2023年").filter
{'section': 'release-notes', 'date': {'gte': '2023-01-01', 'lt': '2024-01-01'}}
>>> RuleExtractor(schema, aliases={"cloud": ["クラウド"]}).extract("クラウドの障害").filter
{'product_line': 'cloud'}
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.selfquery.dates import find_dates, merge_ranges
from blendrank.selfquery.schema import MetadataSchema

_WORD = re.compile(r"[0-9a-z]+")
_SEPARATORS = set(" -_/.")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Extraction:
    """A filter read from a question: ``filter`` (always valid for the index; {} when
    nothing was found), ``query`` (the question without what the filter says), the
    ``matches`` that produced it and the extractor (``source``)."""

    filter: dict[str, Any]
    query: str
    matches: list[dict[str, Any]] = field(default_factory=list)
    source: str = "rules"

    def to_dict(self) -> dict[str, Any]:
        return {
            "filter": self.filter,
            "query": self.query,
            "matches": self.matches,
            "source": self.source,
        }


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` NFKC-normalised and casefolded character by character, and for each
    folded character the position of the original one it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).casefold()
        out.append(folded)
        where.extend([i] * len(folded))
    where.append(len(text))
    return "".join(out), where


class RuleExtractor:
    """Filters from a question by the rules in the module docstring.

    ``schema``: the index's :class:`MetadataSchema` (``index.metadata_schema()``).
    ``today``: the date relative phrases count back from (default: today, UTC).
    ``aliases``: more words for a value, ``{"cloud": ["クラウド", "云"]}`` or by field
    ``{"product_line": {"cloud": [...]}}``. ``fields``: look for values of these fields
    only (default: every low-cardinality string field holding one value per document;
    list fields such as tags overlap a question's topic words, name them to include
    them). ``date_field``: the field date
    phrases constrain (default :attr:`MetadataSchema.date_field`; None for no dates).
    """

    name = "rules"

    def __init__(
        self,
        schema: MetadataSchema,
        *,
        today: str | dt.date | None = None,
        aliases: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        date_field: str | None | bool = True,
    ) -> None:
        import Stemmer

        self.schema = schema
        self._today = _date(today) if today is not None else None
        self._stem = Stemmer.Stemmer("english").stemWord
        names = (
            list(fields)
            if fields is not None
            else [n for n, f in schema.fields.items() if not f.multi]
        )
        unknown = [n for n in names if n not in schema.fields]
        if unknown:
            raise InvalidInputError(
                f"fields {unknown} are not metadata fields of this index; it has "
                f"{', '.join(schema.fields) or 'none'}"
            )
        self.date_field = schema.date_field if date_field is True else (date_field or None)
        if self.date_field is not None and self.date_field not in schema.fields:
            raise InvalidInputError(f"date_field {self.date_field!r} is not a metadata field")
        # (folded surface form, field, value): every value and alias to look for
        self._forms: list[tuple[str, str, str]] = []
        for name in names:
            f = schema.fields[name]
            if f.categorical:
                self._forms += [(fold(v)[0], name, v) for v in f.values]
        for key, more in (aliases or {}).items():
            if isinstance(more, Mapping):  # by field
                for value, words in more.items():
                    self._add_aliases(key, value, words)
            else:
                owners = [n for n in names if key in schema.fields[n].values]
                if not owners:
                    raise InvalidInputError(
                        f"alias for {key!r}: no metadata field of this index has that value"
                    )
                for owner in owners:
                    self._add_aliases(owner, key, more)
        self._latin = [
            (tuple(self._stem(w) for w in _WORD.findall(form)), name, value)
            for form, name, value in self._forms
            if form.isascii() and _WORD.search(form)
        ]
        self._other = [(form, n, v) for form, n, v in self._forms if not form.isascii()]

    def _add_aliases(self, name: str, value: str, words: Any) -> None:
        if name not in self.schema.fields or value not in self.schema.fields[name].values:
            raise InvalidInputError(f"alias for {name}={value!r}: no such value in the index")
        if isinstance(words, str):
            words = [words]
        for word in words:
            if not isinstance(word, str) or not word.strip():
                raise InvalidInputError(f"aliases must be non-empty strings, got {word!r}")
            self._forms.append((fold(word.strip())[0], name, value))

    @property
    def today(self) -> dt.date:
        return self._today or dt.datetime.now(dt.UTC).date()

    def config(self) -> dict[str, Any]:
        return {"type": "rules", "date_field": self.date_field}

    def extract(self, question: str) -> Extraction:
        if not isinstance(question, str):
            raise InvalidInputError(f"the question must be a str, got {type(question).__name__}")
        folded, where = fold(question)
        taken = [False] * (len(folded) + 1)
        matches: list[dict[str, Any]] = []
        for start, end, name, value in self._value_matches(folded):
            if any(taken[start:end]):
                continue
            for i in range(start, end):
                taken[i] = True
            matches.append(_match(question, where, start, end, name, value))
        ranges = []
        if self.date_field is not None:
            for date in find_dates(folded, self.today):
                if any(taken[date.start : date.end]):
                    continue
                for i in range(date.start, date.end):
                    taken[i] = True
                ranges.append(date.range)
                m = _match(question, where, date.start, date.end, self.date_field, None)
                matches.append({**m, "range": date.range})
        matches.sort(key=lambda m: m["start"])
        out: dict[str, Any] = {}
        for name in dict.fromkeys(m["field"] for m in matches if m.get("value") is not None):
            values = sorted({m["value"] for m in matches if m["field"] == name})
            out[name] = values[0] if len(values) == 1 else {"in": values}
        if ranges and self.date_field is not None:
            out[self.date_field] = merge_ranges(ranges)
        return Extraction(out, _rest(question, matches), matches, self.name)

    def _value_matches(self, folded: str) -> list[tuple[int, int, str, str]]:
        """(start, end, field, value) of every value form in the folded question, longest
        first; a span two fields claim is dropped."""
        found: dict[tuple[int, int], set[tuple[str, str]]] = {}
        words = [(m.start(), m.end(), self._stem(m.group())) for m in _WORD.finditer(folded)]
        for stems, name, value in self._latin:
            n = len(stems)
            for i in range(len(words) - n + 1):
                if tuple(w[2] for w in words[i : i + n]) != stems:
                    continue
                gaps = (folded[words[j][1] : words[j + 1][0]] for j in range(i, i + n - 1))
                if all(set(g) <= _SEPARATORS and len(g) <= 1 for g in gaps):
                    found.setdefault((words[i][0], words[i + n - 1][1]), set()).add((name, value))
        for form, name, value in self._other:
            cjk = bool(_CJK.search(form))
            for m in re.finditer(re.escape(form), folded):
                if not cjk and not _whole_word(folded, m.start(), m.end()):
                    continue
                found.setdefault((m.start(), m.end()), set()).add((name, value))
        # a span claimed by one (field, value) only; two claims are ambiguous
        out = [(a, b, *next(iter(owners))) for (a, b), owners in found.items() if len(owners) == 1]
        return sorted(out, key=lambda m: (m[0] - m[1], m[0]))


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


def _match(
    question: str, where: list[int], start: int, end: int, name: str, value: str | None
) -> dict[str, Any]:
    a, b = where[start], where[end - 1] + 1
    return {"field": name, "value": value, "text": question[a:b], "start": a, "end": b}


def _rest(question: str, matches: list[dict[str, Any]]) -> str:
    """The question without the matched spans, whitespace collapsed; the whole question
    when nothing but punctuation would be left."""
    parts, at = [], 0
    for m in sorted(matches, key=lambda m: m["start"]):
        parts.append(question[at : m["start"]])
        parts.append(" ")
        at = max(at, m["end"])
    parts.append(question[at:])
    rest = " ".join("".join(parts).split())
    return rest if _LATIN_WORD.search(rest) else question


def _date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(
            f"today must be an ISO date like 2026-12-01, got {value!r}"
        ) from None

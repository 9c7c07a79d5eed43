"""Self-query: date phrases, value matches, the leftover query, filter and boost modes,
the LLM extractor against a real llama.cpp server, and no invalid filter ever."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blendrank import Document, Index
from blendrank.errors import InvalidInputError
from blendrank.filter import compile_filter
from blendrank.selfquery import LLMExtractor, MetadataSchema, RuleExtractor
from blendrank.selfquery.dates import find_dates
from blendrank.selfquery.llm import _json_object
from blendrank.selfquery.rules import fold

TODAY = dt.date(2026, 12, 1)
RECORDS = [
    {"product_line": "enterprise", "section": "install", "date": "2025-03-01", "lang": "en"},
    {"product_line": "cloud", "section": "release-notes", "date": "2023-05-01", "lang": "ja"},
    {"product_line": "mobile", "section": "api", "date": "2022-07-01", "lang": "zh"},
    {"product_line": "desktop", "section": "faq", "date": "2026-10-01", "tags": ["x"]},
]
SCHEMA = MetadataSchema.from_records(RECORDS)


@pytest.fixture
def rules() -> RuleExtractor:
    return RuleExtractor(SCHEMA, today=TODAY)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("since 2025", {"gte": "2025-01-01"}),
        ("from 2025 on.", {"gte": "2025-01-01"}),
        ("after 2024", {"gte": "2025-01-01"}),
        ("before 2024", {"lt": "2024-01-01"}),
        ("in 2024", {"gte": "2024-01-01", "lt": "2025-01-01"}),
        ("during march 2024", {"gte": "2024-03-01", "lt": "2024-04-01"}),
        ("since march 2025", {"gte": "2025-03-01"}),
        ("between 2022 and 2024", {"gte": "2022-01-01", "lt": "2025-01-01"}),
        ("last 6 months", {"gte": "2026-06-01"}),
        ("in the past two years", {"gte": "2024-12-01"}),
        ("last 10 days", {"gte": "2026-11-21"}),
        ("this year", {"gte": "2026-01-01"}),
        ("last year", {"gte": "2025-01-01", "lt": "2026-01-01"}),
        ("last month", {"gte": "2026-11-01", "lt": "2026-12-01"}),
        ("2025年以降", {"gte": "2025-01-01"}),
        ("2025年3月から", {"gte": "2025-03-01"}),
        ("2024年より後", {"gte": "2025-01-01"}),
        ("2024年より前", {"lt": "2024-01-01"}),
        ("2024年の", {"gte": "2024-01-01", "lt": "2025-01-01"}),
        ("過去6か月", {"gte": "2026-06-01"}),
        ("直近3ヶ月", {"gte": "2026-09-01"}),
        ("今年", {"gte": "2026-01-01"}),
        ("昨年", {"gte": "2025-01-01", "lt": "2026-01-01"}),
        ("自2025年起", {"gte": "2025-01-01"}),
        ("2024年之后", {"gte": "2025-01-01"}),
        ("2024年之前", {"lt": "2024-01-01"}),
        ("过去三个月", {"gte": "2026-09-01"}),
        ("近两年", {"gte": "2024-12-01"}),
        ("去年", {"gte": "2025-01-01", "lt": "2026-01-01"}),
        ("２０２５年以降", {"gte": "2025-01-01"}),  # full-width digits
    ],
)
def test_date_phrases(phrase: str, expected: dict) -> None:
    found = find_dates(fold(phrase)[0], TODAY)
    assert [m.range for m in found] == [expected]


@pytest.mark.parametrize("text", ["error 2025 on startup", "the 2024 roadmap", "E-2025"])
def test_a_bare_number_is_no_date(text: str) -> None:
    assert find_dates(fold(text)[0], TODAY) == []


def test_values_match_whole_words_folded(rules: RuleExtractor) -> None:
    assert rules.extract("ENTERPRISE installation problems").filter == {
        "product_line": "enterprise",
        "section": "install",
    }
    assert rules.extract("ｅｎｔｅｒｐｒｉｓｅ版のAPI").filter == {
        "product_line": "enterprise",
        "section": "api",
    }
    assert rules.extract("a cloudy morning, rapid installs").filter == {"section": "install"}
    assert rules.extract("release notes, release_notes or release-notes").filter == {
        "section": "release-notes"
    }
    # two values of one field: either
    assert rules.extract("cloud and mobile FAQ").filter == {
        "product_line": {"in": ["cloud", "mobile"]},
        "section": "faq",
    }
    assert rules.extract("nothing to see here").filter == {}


def test_the_rest_of_the_question(rules: RuleExtractor) -> None:
    got = rules.extract("Enterprise install errors since 2025?")
    assert got.filter == {
        "product_line": "enterprise",
        "section": "install",
        "date": {"gte": "2025-01-01"},
    }
    assert got.query == "errors ?"
    assert [m["text"] for m in got.matches] == ["Enterprise", "install", "since 2025"]
    # all of it a filter: the question stays the query
    assert rules.extract("cloud api").query == "cloud api"


def test_aliases_ambiguity_and_bad_options() -> None:
    extractor = RuleExtractor(SCHEMA, aliases={"cloud": ["クラウド", "云"]}, today=TODAY)
    assert extractor.extract("クラウドの障害 2024年の").filter == {
        "product_line": "cloud",
        "date": {"gte": "2024-01-01", "lt": "2025-01-01"},
    }
    two = MetadataSchema.from_records([{"a": "beta"}, {"b": "beta"}, {"a": "gamma"}])
    assert RuleExtractor(two).extract("beta gamma").filter == {"a": "gamma"}  # beta: ambiguous
    with pytest.raises(InvalidInputError, match="no metadata field of this index has that value"):
        RuleExtractor(SCHEMA, aliases={"saas": ["x"]})
    with pytest.raises(InvalidInputError, match="not metadata fields of this index"):
        RuleExtractor(SCHEMA, fields=["colour"])
    with pytest.raises(InvalidInputError, match="ISO date"):
        RuleExtractor(SCHEMA, today="yesterday")
    assert RuleExtractor(SCHEMA, date_field=None).extract("cloud since 2025").filter == {
        "product_line": "cloud"
    }


def test_high_cardinality_fields_are_not_a_dictionary() -> None:
    records = [{"id": f"doc {i}", "kind": "a" if i % 2 else "b"} for i in range(500)]
    schema = MetadataSchema.from_records(records)
    assert not schema.fields["id"].categorical and schema.fields["kind"].values == ("a", "b")
    assert schema.date_field is None


def test_checked_drops_what_the_index_cannot_filter() -> None:
    proposed = {
        "product_line": {"in": ["cloud", "saas"]},
        "section": ["faq"],
        "date": {"gte": "2025-13-45", "lt": "2026-01-01", "near": "now"},
        "colour": "red",
        "lang": 3,
    }
    assert SCHEMA.checked(proposed) == {
        "product_line": "cloud",
        "section": "faq",
        "date": {"lt": "2026-01-01"},
    }
    assert SCHEMA.checked("not a dict") == {}


_WORDS = st.sampled_from(
    [
        "enterprise", "ＣＬＯＵＤ", "mobile", "install", "release notes", "api", "faq",
        "since", "before", "after", "in", "2024", "2025", "1999", "last", "3", "months",
        "年", "以降", "より前", "之后", "过去", "个月", "今年", "去年", "errors", "の", ",",
        "between", "and", "march", "クラウド", "e-4029", "0", "十", "两", "years",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=12), st.booleans())
def test_no_invalid_filter_is_ever_produced(words: list[str], spaced: bool) -> None:
    question = (" " if spaced else "").join(words)
    extractor = RuleExtractor(SCHEMA, aliases={"cloud": "クラウド"}, today=TODAY)
    got = extractor.extract(question)
    compile_filter(got.filter)  # valid in the filter language
    assert SCHEMA.checked(got.filter) == got.filter  # and for this index's fields
    rng = got.filter.get("date")
    if rng is not None and "gte" in rng and "lt" in rng:
        assert rng["gte"] <= rng["lt"] or rng  # an empty range is valid, it matches nothing
    assert got.query.strip()


def test_json_object_finds_the_first_object() -> None:
    assert _json_object('Sure! ```json\n{"filter": {}, "query": "x"}\n``` done') == {
        "filter": {},
        "query": "x",
    }
    assert _json_object('[1, 2] then {bad} then {"a": 1} {"b": 2}') == {"a": 1}
    assert _json_object("no json here") is None


def _kb(tmp_path) -> Index:
    docs = [
        Document("e25", "Installer fails with error E-4029", metadata=RECORDS[0]),
        Document(
            "c23",
            "Installer fails with error E-4029 on old hosts",
            metadata={**RECORDS[1], "section": "install"},
        ),
        Document("m22", "Mobile API returns E-4029", metadata=RECORDS[2]),
        Document("d26", "Desktop FAQ: E-4029 explained", metadata=RECORDS[3]),
    ]
    index = Index.create(tmp_path / "kb", embedder=None)
    index.add(docs)
    return index


def test_filter_and_boost_modes(tmp_path) -> None:
    index = _kb(tmp_path)
    question = "cloud installer error E-4029"
    off = index.search(question, mode="bm25", per="document")
    assert off[0].doc_id == "e25"  # BM25 alone prefers the shorter enterprise page
    hard = index.pipeline(mode="bm25", self_query="filter").run(question, 10)
    assert [h.doc_id for h in hard.final] == ["c23"]
    read = hard.first_stage.info["self_query"]
    assert read["filter"] == {"product_line": "cloud", "section": "install"}
    assert read["mode"] == "filter" and read["query"] == "error E-4029"
    soft = index.search(question, mode="bm25", self_query="boost")
    assert soft[0].doc_id == "c23" and len(soft) == 4  # matching first, nothing excluded
    assert "matching" in soft[0].scores and "matching" not in soft[1].scores
    # the query's own filter still applies
    none = index.search(question, mode="bm25", self_query="filter", filter={"lang": "en"})
    assert none == []
    with pytest.raises(InvalidInputError, match="self_query must be one of off, filter, boost"):
        index.search(question, self_query="maybe")


@pytest.mark.slow
def test_llm_extractor_on_a_real_server_never_yields_an_invalid_filter(llama_server) -> None:
    extractor = LLMExtractor(SCHEMA, llama_server, "gemma", today=TODAY, timeout=60)
    for question in ("enterprise install errors since 2025", "クラウドのAPI 2024年の"):
        got = extractor.extract(question)
        assert got.source in ("llm", "llm+rules")
        compile_filter(got.filter)
        assert SCHEMA.checked(got.filter) == got.filter
        assert got.query.strip()


def test_llm_extractor_falls_back_when_the_server_is_gone() -> None:
    extractor = LLMExtractor(SCHEMA, "http://127.0.0.1:9/v1", "m", timeout=2, today=TODAY)
    extractor.client._http.max_retries = 0
    got = extractor.extract("enterprise api since 2025")
    assert got.source == "llm+rules"
    assert got.filter == {
        "product_line": "enterprise",
        "section": "api",
        "date": {"gte": "2025-01-01"},
    }
    assert "failed" in got.matches[-1]["reason"]

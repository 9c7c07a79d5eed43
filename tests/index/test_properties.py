"""Property tests (hypothesis): random documents, ids, metadata and filters never raise
anything but a clear InvalidInputError / FilterError, never commit a bad document, and a
refused write leaves the index exactly as it was."""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (extra 'test') is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from blendrank import Document, Index  # noqa: E402
from blendrank.errors import InvalidInputError  # noqa: E402

BASELINE = Document("baseline", "agents and backups", metadata={"n": 1, "tags": ["a"]})
# every code point, lone surrogates and control characters included
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
# ... and text a user would write, so that about half the inputs are valid
CLEAN_TEXT = st.text(st.characters(categories=["L", "N", "Zs", "Pd"]), max_size=12)
CLEAN_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | CLEAN_TEXT
    | st.lists(CLEAN_TEXT | st.integers(-100, 100), max_size=3)
)
CLEAN_METADATA = st.dictionaries(CLEAN_TEXT, CLEAN_VALUES, max_size=4)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.dates()
    | st.binary(max_size=4)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(ANY_TEXT | st.integers(), inner, max_size=3)
        | st.sets(st.integers(), max_size=2)
    ),
    max_leaves=6,
)
METADATA = st.dictionaries(ANY_TEXT | st.integers() | st.tuples(st.integers()), VALUES, max_size=4)
ANY_DOCUMENT = st.builds(
    Document,
    id=(CLEAN_TEXT | ANY_TEXT).filter(lambda s: s != BASELINE.id),
    text=CLEAN_TEXT | ANY_TEXT,
    title=CLEAN_TEXT | ANY_TEXT,
    metadata=CLEAN_METADATA | METADATA,
)
CLEAN_DOCUMENT = st.builds(
    Document,
    id=CLEAN_TEXT.filter(lambda s: s.strip() and s != BASELINE.id),
    text=CLEAN_TEXT,
    title=CLEAN_TEXT,
    metadata=CLEAN_METADATA,
)
DOCUMENTS = st.lists(CLEAN_DOCUMENT, min_size=1, max_size=3) | st.lists(
    ANY_DOCUMENT | CLEAN_DOCUMENT, min_size=1, max_size=3
)
FILTER_VALUES = st.recursive(
    SCALARS | st.lists(SCALARS, max_size=3),
    lambda inner: st.dictionaries(
        st.sampled_from(["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists"]) | ANY_TEXT,
        inner,
        max_size=2,
    ),
    max_leaves=5,
)
CLEAN_FILTERS = st.dictionaries(
    st.sampled_from(["n", "tags"]),
    st.integers(-5, 5)
    | st.dictionaries(
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), st.integers(-5, 5), max_size=2
    )
    | st.fixed_dictionaries({"in": st.lists(CLEAN_TEXT | st.integers(-5, 5), min_size=1)}),
    min_size=1,
    max_size=2,
)
FILTERS = CLEAN_FILTERS | st.recursive(
    st.dictionaries(st.sampled_from(["n", "tags", "date"]) | ANY_TEXT, FILTER_VALUES, max_size=2),
    lambda inner: st.dictionaries(
        st.sampled_from(["and", "or", "not", "$and"]),
        st.lists(inner, max_size=2) | inner,
        max_size=2,
    ),
    max_leaves=6,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def index() -> Index:
    folder = Path(tempfile.mkdtemp(prefix="blendrank-props-"))
    index = Index.create(folder / "idx", embedder=None)
    index.add([BASELINE])
    return index


def _contents(index: Index) -> list[tuple]:
    return [(d.id, d.text, d.title, json.dumps(d.metadata)) for d in index.documents()]


def _json_safe(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


@SETTINGS
@given(docs=DOCUMENTS)
def test_random_documents_are_stored_cleanly_or_refused_without_a_trace(index, docs):
    before = _contents(index)
    generation = index.info()["generation"]
    try:
        index.add(docs)
    except InvalidInputError:
        assert _contents(index) == before and index.info()["generation"] == generation
        assert _contents(Index.open(index.path)) == before
        return
    reopened = Index.open(index.path)
    for doc in docs:
        stored = reopened.get(doc.id)
        assert stored is not None and stored.text == doc.text
        assert all(isinstance(k, str) and _json_safe(v) for k, v in stored.metadata.items())
    # every filter still works on what was stored
    assert reopened.search("agents", mode="bm25", filter={"n": {"gte": 0}})
    index.delete([d.id for d in docs])
    assert _contents(index) == before


@SETTINGS
@given(spec=FILTERS)
def test_random_filters_search_or_say_what_is_wrong(index, spec):
    try:
        hits = index.search("agents", mode="bm25", filter=spec)
    except InvalidInputError:  # FilterError is one
        return
    assert all(h.doc_id == BASELINE.id for h in hits)


def test_the_strategies_reach_both_outcomes():
    # A guard for the two tests above: their inputs must hit success and refusal alike.
    good = Document("g", "fine", metadata={"d": dt.date(2025, 1, 1), "x": [1, 2]})
    with tempfile.TemporaryDirectory() as folder:
        index = Index.create(Path(folder) / "idx", embedder=None)
        assert index.add([good])["added"] == 1
        with pytest.raises(InvalidInputError):
            index.add([Document("b", "x", metadata={"f": math.nan})])

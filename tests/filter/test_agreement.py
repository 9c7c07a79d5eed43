"""The columnar table and the per-record matcher agree on random records and filters.

Records and filters come from ``random.Random(seed)``; every field keeps the types it holds
across records (as real metadata does), so the table raises no type error and both paths
must return the same rows.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from blendrank.filter import MetadataTable, compile_filter, matches

WORDS = ["alpha", "beta", "gamma", "delta", "eps"]
NUMBERS = [-2, 0, 1, 1.5, 3, 10, 10.0]
DATES = [
    "2024-12-31",
    "2025-01-01",
    "2025-01-01T00:00:00",  # the same instant as the line above
    "2025-01-01T02:00:00+02:00",  # and again, with an offset
    "2025-03-15T12:30",
    "2026-07-04",
]
MIXED_TEXT = ["2025-01-01", "2025-01-01T00:00:00", "later", "alpha"]  # stays a string column

# field -> (pool of scalar values, may hold lists)
FIELDS: dict[str, tuple[list[Any], bool]] = {
    "s": (WORDS, True),
    "n": (NUMBERS, True),
    "d": (DATES, True),
    "b": ([True, False], False),
    "mix": (WORDS[:2] + NUMBERS[:3] + [True], True),  # strings, numbers and booleans together
    "m": (MIXED_TEXT, False),
}
RANGED = {"n": NUMBERS + [2, 100], "d": DATES + ["2025-02-01", "2023-01-01T10:00:00Z"]}


def random_record(rng: random.Random) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for field, (pool, lists) in FIELDS.items():
        roll = rng.random()
        if roll < 0.15:
            continue  # missing
        if roll < 0.2:
            record[field] = None
        elif lists and roll < 0.4:
            record[field] = [rng.choice(pool) for _ in range(rng.randint(0, 3))]
        else:
            record[field] = rng.choice(pool)
    if rng.random() < 0.3:
        record["obj"] = {"nested": rng.choice(WORDS)}
    return record


def random_condition(rng: random.Random) -> dict[str, Any]:
    field = rng.choice([*FIELDS, "obj", "absent"])
    pool = FIELDS[field][0] if field in FIELDS else WORDS
    ops = ["eq", "ne", "in", "nin", "exists", "implicit"]
    if field in RANGED:
        ops += ["gt", "gte", "lt", "lte", "range2"]
    op = rng.choice(ops)
    dollar = "$" if rng.random() < 0.3 else ""
    if op == "implicit":
        return {field: rng.choice(pool)}
    if op == "exists":
        return {field: {dollar + "exists": rng.random() < 0.5}}
    if op in ("in", "nin"):
        return {field: {dollar + op: rng.sample(pool, rng.randint(1, min(3, len(pool))))}}
    if op == "range2":
        low, high = rng.choice(RANGED[field]), rng.choice(RANGED[field])
        return {field: {dollar + "gte": low, dollar + "lt": high}}
    if op in ("gt", "gte", "lt", "lte"):
        return {field: {dollar + op: rng.choice(RANGED[field])}}
    return {field: {dollar + op: rng.choice(pool)}}


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        return random_condition(rng)
    if roll < 0.6:
        return {**random_condition(rng), **random_condition(rng)}  # top-level AND
    if roll < 0.75:
        return {"not": random_filter(rng, depth + 1)}
    key = rng.choice(["and", "or", "$and", "$or"])
    return {key: [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


@pytest.mark.parametrize("seed", range(25))
def test_table_and_per_record_agree(seed):
    rng = random.Random(seed)
    records = [random_record(rng) for _ in range(150)]
    table = MetadataTable.from_records(records)
    assert set(table.field_kinds()["m"]) == {"string"}  # the mixed column stayed text
    assert table.field_kinds()["d"] == ("date",)
    for _ in range(40):
        spec = random_filter(rng)
        compiled = compile_filter(spec)
        expected = np.array([matches(compiled, record) for record in records], dtype=bool)
        got = table.evaluate(compiled, strict=False)
        disagree = np.flatnonzero(got != expected).tolist()
        assert not disagree, (spec, [records[i] for i in disagree[:3]])


def test_the_generator_exercises_both_outcomes():
    # guard against a generator that only ever produces all-True or all-False masks
    rng = random.Random(1234)
    records = [random_record(rng) for _ in range(150)]
    table = MetadataTable.from_records(records)
    fractions = [table.evaluate(random_filter(rng), strict=False).mean() for _ in range(200)]
    assert 0.2 < float(np.mean([0 < f < 1 for f in fractions]))

"""Validate kb.jsonl and questions.jsonl of the self-query benchmark (stdlib only).

python bench/data/selfquery/check.py
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
PRODUCT_LINES = {"enterprise", "cloud", "mobile", "desktop"}
SECTIONS = {"install", "faq", "troubleshooting", "release-notes", "security", "api"}
LANGS = {"en", "ja", "zh"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load(name):
    rows = []
    with open(HERE / name, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{name}:{n}: {e}")
    return rows


def satisfies(meta, flt):
    for key, want in flt.items():
        if key == "date":
            if "gte" in want and not meta["date"] >= want["gte"]:
                return False
            if "lt" in want and not meta["date"] < want["lt"]:
                return False
        elif isinstance(want, dict):
            if meta[key] not in want["in"]:
                return False
        elif meta[key] != want:
            return False
    return True


def check_filter(qid, flt, errors):
    for key, want in flt.items():
        if key == "date":
            if (
                not want
                or set(want) - {"gte", "lt"}
                or not all(DATE.match(v) for v in want.values())
            ):
                errors.append(f"{qid}: bad date filter {want}")
        elif key in ("product_line", "section"):
            allowed = PRODUCT_LINES if key == "product_line" else SECTIONS
            if isinstance(want, str):
                vals = [want]
            elif isinstance(want, dict) and set(want) == {"in"}:
                vals = want["in"]
                if len(vals) < 2 or vals != sorted(vals):
                    errors.append(f"{qid}: 'in' list must hold 2+ sorted values: {vals}")
            else:
                errors.append(f"{qid}: bad {key} filter {want}")
                continue
            if set(vals) - allowed:
                errors.append(f"{qid}: unknown {key} value in {vals}")
        else:
            errors.append(f"{qid}: unknown filter key {key}")


def main():
    errors = []
    kb = load("kb.jsonl")
    qs = load("questions.jsonl")
    docs = {}
    for i, d in enumerate(kb, 1):
        m = d.get("metadata", {})
        if d.get("_id") != f"d{i:03d}":
            errors.append(f"doc {i}: id {d.get('_id')} out of order")
        if d["_id"] in docs:
            errors.append(f"duplicate doc id {d['_id']}")
        docs[d["_id"]] = d
        if not d.get("title") or not d.get("text"):
            errors.append(f"{d['_id']}: empty title/text")
        if (
            m.get("product_line") not in PRODUCT_LINES
            or m.get("section") not in SECTIONS
            or m.get("lang") not in LANGS
            or not DATE.match(m.get("date", ""))
            or not "2022-01-01" <= m["date"] <= "2026-11-30"
        ):
            errors.append(f"{d['_id']}: bad metadata {m}")
    seen = set()
    for q in qs:
        qid = q.get("_id")
        if qid in seen:
            errors.append(f"duplicate question id {qid}")
        seen.add(qid)
        if q.get("lang") not in LANGS or q.get("forms") not in {"english", "native", "none"}:
            errors.append(f"{qid}: bad lang/forms")
        check_filter(qid, q["filter"], errors)
        if (q["forms"] == "none") != (q["filter"] == {}):
            errors.append(f"{qid}: forms 'none' iff empty filter")
        if not 1 <= len(q["relevant"]) <= 3:
            errors.append(f"{qid}: {len(q['relevant'])} relevant")
        for rid in q["relevant"]:
            if rid not in docs:
                errors.append(f"{qid}: unknown relevant {rid}")
            elif not satisfies(docs[rid]["metadata"], q["filter"]):
                errors.append(f"{qid}: {rid} does not satisfy {q['filter']}")
    print(f"docs: {len(kb)}  by lang: {dict(Counter(d['metadata']['lang'] for d in kb))}")
    print(f"  by year: {dict(sorted(Counter(d['metadata']['date'][:4] for d in kb).items()))}")
    print(f"questions: {len(qs)}  by lang: {dict(Counter(q['lang'] for q in qs))}")
    print(f"  by lang/forms: {dict(sorted(Counter((q['lang'], q['forms']) for q in qs).items()))}")
    print(
        f"  by number of filter fields: {dict(sorted(Counter(len(q['filter']) for q in qs).items()))}"
    )
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Self-query on a labelled set: how well filters are read from questions (precision and
recall per field) and what it does to search (Hit@5 and MRR@10 with extraction off, as a
hard filter, as a soft boost).

    python bench/self_query.py [--llm http://127.0.0.1:PORT/v1 --llm-model NAME]

Data: bench/data/selfquery/ (written for this benchmark, see its README): 192 product
documents (en/ja/zh) with product_line, section, date and lang metadata, and 103 questions
(37 en, 33 ja, 33 zh) with the filter each states and the documents that answer it.
"Today" is 2026-12-01. The index is the default (BM25 + all-MiniLM-L6-v2 int8, hybrid RRF,
per document). Extractors: the rule-based one from the index's own metadata, without and
with an alias dictionary for the Japanese and Chinese names of the values (given below,
as a user would), and optionally an LLM through an OpenAI-compatible endpoint.

A field counts as extracted correctly when its constraint equals the expected one exactly
(the same value, the same set, the same date range). Writes the "self-query" section of
docs/benchmarks.md and bench/results/self_query.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, REPO, machine, save_json, write_section  # noqa: E402

DATA = REPO / "bench" / "data" / "selfquery"
TODAY = "2026-12-01"
FIELDS = ("product_line", "section", "date")
#: what a user would give the extractor for the Japanese and Chinese names of the values
ALIASES = {
    "product_line": {
        "enterprise": ["エンタープライズ", "企业版", "企业"],
        "cloud": ["クラウド", "云服务", "云端", "云"],
        "mobile": ["モバイル", "移动端", "移动版", "移动"],
        "desktop": ["デスクトップ", "桌面版", "桌面"],
    },
    "section": {
        "install": ["インストール", "安装"],
        "security": ["セキュリティ", "安全"],
        "release-notes": ["リリースノート", "发布说明", "更新说明"],
        "troubleshooting": ["トラブルシューティング", "故障排除", "故障排查"],
        "faq": ["よくある質問", "常见问题"],
    },
}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def open_index(rebuild: bool):
    from blendrank import Document, Index

    path = CACHE / "index-selfquery-default"
    if rebuild and path.exists():
        shutil.rmtree(path)
    if path.exists():
        return Index.open(path)
    docs = [
        Document(d["_id"], d["text"], d.get("title", ""), d["metadata"])
        for d in read_jsonl(DATA / "kb.jsonl")
    ]
    index = Index.create(path)
    index.add(docs, progress=True)
    return index


def extraction_scores(questions: list[dict], extract) -> dict:
    """Per field: precision, recall (and counts), over every question; per language too."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "got": 0, "want": 0})
    exact = 0
    seconds = 0.0
    for q in questions:
        t0 = time.perf_counter()
        got = extract(q["text"]).filter
        seconds += time.perf_counter() - t0
        want = q["filter"]
        exact += got == want
        for scope in ("all", q["lang"]):
            for field in FIELDS:
                c = counts[f"{scope}/{field}"]
                c["got"] += field in got
                c["want"] += field in want
                c["tp"] += field in got and got.get(field) == want.get(field)
    out = {}
    for key, c in counts.items():
        out[key] = {
            "precision": c["tp"] / c["got"] if c["got"] else None,
            "recall": c["tp"] / c["want"] if c["want"] else None,
            **c,
        }
    out["exact"] = exact / len(questions)
    out["ms_per_question"] = 1000 * seconds / len(questions)
    return out


def search_scores(index, questions: list[dict], mode: str, extractor) -> dict:
    hits5: dict[str, list[float]] = defaultdict(list)
    rr: dict[str, list[float]] = defaultdict(list)
    for q in questions:
        found = index.search(
            q["text"], top_k=10, per="document", self_query=mode, extractor=extractor
        )
        ids = [h.doc_id for h in found]
        relevant = set(q["relevant"])
        first = next((i for i, d in enumerate(ids) if d in relevant), None)
        for scope in ("all", q["lang"]):
            hits5[scope].append(float(first is not None and first < 5))
            rr[scope].append(0.0 if first is None else 1.0 / (first + 1))
    return {
        scope: {"hit@5": sum(v) / len(v), "mrr@10": sum(rr[scope]) / len(rr[scope])}
        for scope, v in hits5.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--llm", help="an OpenAI-compatible /v1 URL for the LLM extractor")
    parser.add_argument("--llm-model", default="")
    args = parser.parse_args()
    from blendrank.selfquery import LLMExtractor, RuleExtractor

    questions = read_jsonl(DATA / "questions.jsonl")
    index = open_index(args.rebuild)
    schema = index.metadata_schema()
    extractors = {
        "rules": RuleExtractor(schema, today=TODAY),
        "rules + aliases": RuleExtractor(schema, today=TODAY, aliases=ALIASES),
    }
    if args.llm:
        extractors[f"LLM ({args.llm_model or 'server default'})"] = LLMExtractor(
            schema, args.llm, args.llm_model, today=TODAY, fallback=None
        )
    results: dict = {"extraction": {}, "search": {}}
    for label, extractor in extractors.items():
        results["extraction"][label] = extraction_scores(questions, extractor.extract)
        print(label, json.dumps(results["extraction"][label]["exact"]), flush=True)
    results["search"]["off"] = search_scores(index, questions, "off", None)
    for label, extractor in extractors.items():
        for mode in ("filter", "boost"):
            key = f"{mode}, {label}"
            results["search"][key] = search_scores(index, questions, mode, extractor)
            print(key, results["search"][key]["all"], flush=True)
    save_json("self_query", {"machine": machine(), **results})
    write_section("self-query", report(questions, results))
    print(report(questions, results))


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report(questions: list[dict], results: dict) -> str:
    langs = ("en", "ja", "zh")
    counts = {lang: sum(q["lang"] == lang for q in questions) for lang in langs}
    lines = [
        "## Self-query: filters read from the question",
        "",
        f"{len(questions)} labelled questions ({', '.join(f'{counts[x]} {x}' for x in langs)}) "
        "over 192 product documents with product_line, section and date metadata "
        "(`bench/data/selfquery/`, written for this benchmark; today = 2026-12-01). "
        "Extraction, per field: precision = correct / extracted, recall = correct / "
        "expected, a constraint being correct when it equals the expected one exactly.",
        "",
        "| extractor | field | precision | recall | precision en / ja / zh | recall en / ja / zh |",
        "|---|---|---:|---:|---|---|",
    ]
    for label, scores in results["extraction"].items():
        for field in FIELDS:
            a = scores[f"all/{field}"]
            per = [scores.get(f"{lang}/{field}", {}) for lang in langs]
            lines.append(
                f"| {label} | {field} | {_pct(a['precision'])} | {_pct(a['recall'])} | "
                + " / ".join(_pct(p.get("precision")) for p in per)
                + " | "
                + " / ".join(_pct(p.get("recall")) for p in per)
                + " |"
            )
        lines.append(f"| {label} | whole filter exact | | {_pct(scores['exact'])} | | |")
    lines += [
        "",
        "| search (hybrid, per document) | Hit@5 | MRR@10 | Hit@5 en / ja / zh |",
        "|---|---:|---:|---|",
    ]
    for label, scores in results["search"].items():
        a = scores["all"]
        lines.append(
            f"| {label} | {a['hit@5']:.3f} | {a['mrr@10']:.3f} | "
            + " / ".join(f"{scores[lang]['hit@5']:.3f}" for lang in langs)
            + " |"
        )
    ms = {k: v["ms_per_question"] for k, v in results["extraction"].items()}
    lines += [
        "",
        "Extraction time per question: "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in ms.items())
        + ". `filter` searches the rest of the question with the filter ANDed in; `boost` "
        "fuses (RRF) the question's ranking with the ranking of the documents that match "
        "the filter, so nothing is excluded. The aliases are the Japanese and Chinese names "
        "of the values, listed in `bench/self_query.py`: without them a question that "
        "writes クラウド instead of cloud gets no product_line. Reproduce: "
        "`python bench/self_query.py`.",
        "",
        f"Machine: {machine()}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Shared helpers for the benchmark scripts: data loading, machine facts, report sections."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BLENDRANK_SHARED_DATA", REPO.parent / "shared" / "data"))
CACHE = REPO / "bench" / "cache"
RESULTS = REPO / "bench" / "results"
BENCHMARKS_MD = REPO / "docs" / "benchmarks.md"


def load_beir(name: str, split: str = "test"):
    """(documents, queries {qid: text}, qrels {qid: {docid: grade}}) of a BEIR folder."""
    from blendrank.types import Document

    folder = DATA / name
    if not (folder / "corpus.jsonl").exists():
        sys.exit(f"{folder} not found: the benchmarks need ../shared/data (see DATA.md)")
    docs = []
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            docs.append(Document(str(r["_id"]), r.get("text") or "", r.get("title") or ""))
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, grade = line.split("\t")
            if int(grade) > 0:
                qrels.setdefault(qid, {})[did] = int(grade)
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if str(r["_id"]) in qrels:
                queries[str(r["_id"])] = r["text"]
    return docs, queries, qrels


def plain_bm25s_model(docs):
    """The reference: bm25s with its own tokenizer, English stopwords and Snowball stemming,
    over "title\ntext" (the text blendrank indexes). Returns (model, stemmer)."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    corpus = [f"{d.title}\n{d.text}" if d.title else d.text for d in docs]
    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    return model, stemmer


def ndcg_at_10(qrels: dict, run: dict) -> float:
    from ranx import Qrels, Run, evaluate

    run = {q: d for q, d in run.items() if d} or {next(iter(qrels)): {"__none__": 0.0}}
    # queries a system returns nothing for count as 0, as trec_eval does
    return float(evaluate(Qrels(qrels), Run(run), "ndcg@10", make_comparable=True))


# CPU flags that change what ONNX Runtime, OpenVINO and numpy can use
_SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> str:
    cpu, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    import numpy

    shown = "/".join(f for f in _SPEED_FLAGS if f in flags) or "none of avx2/avx512/amx"
    return (
        f"{cpu} (flags {shown}), {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, {dt.date.today().isoformat()}"
    )


def write_section(name: str, body: str) -> None:
    """Replace the ``name`` section of docs/benchmarks.md (between BEGIN/END markers)."""
    write_section_in(BENCHMARKS_MD, name, body, "# Benchmarks\n")


def write_section_in(path: Path, name: str, body: str, heading: str) -> None:
    """Replace the ``name`` section of the Markdown file ``path`` (between BEGIN/END
    markers), appending it when absent; a new file starts with ``heading``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else heading
    block = f"<!-- BEGIN {name} -->\n{body.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    path.write_text(text, encoding="utf-8")


def save_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")

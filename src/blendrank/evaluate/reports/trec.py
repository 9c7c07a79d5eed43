"""TREC run files (``qid Q0 docid rank score tag``), one per pipeline.

>>> import io
>>> buf = io.StringIO()
>>> format_trec_run({"q1": [("d2", 0.9), ("d1", 0.4)]}, "bm25", buf)
>>> print(buf.getvalue(), end="")
q1 Q0 d2 1 0.9 bm25
q1 Q0 d1 2 0.4 bm25
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from blendrank.evaluate.datasets import Run

if TYPE_CHECKING:
    from blendrank.evaluate.runner import EvalResult


def safe_tag(name: str) -> str:
    """A run tag / file stem without spaces or path characters.

    >>> safe_tag("hybrid + bi/MiniLM")
    'hybrid_bi_MiniLM'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"


def format_trec_run(ranking: Run, tag: str, out: TextIO) -> None:
    """Write ``ranking`` in rank order; scores as Python writes floats (round-trips)."""
    tag = safe_tag(tag)
    for qid, docs in ranking.items():
        for rank, (doc_id, score) in enumerate(docs, start=1):
            out.write(f"{qid} Q0 {doc_id} {rank} {float(score)!r} {tag}\n")


def write_trec_run(ranking: Run, tag: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        format_trec_run(ranking, tag, handle)
    return path


def write_trec_runs(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """One ``<pipeline>.trec`` per pipeline under ``out_dir``."""
    out = Path(out_dir)
    return {
        name: write_trec_run(run.ranking, name, out / f"{safe_tag(name)}.trec")
        for name, run in result.runs.items()
    }

"""Training data for cross-encoders: queries with graded positives, judged negatives and a
corpus to mine more negatives from.

Three sources, all ending in one :class:`TrainingSet`:

* a BEIR folder and a qrels split (``load_beir_training``),
* TREC qrels plus a corpus and queries (``load_trec_training``),
* a JSONL of ``{"query", "positive" | "positives", "negatives"}`` records
  (``load_jsonl_training``).

>>> ts = load_jsonl_training("train.jsonl")                  # doctest: +SKIP
>>> len(ts.queries), ts.queries[0].positives               # doctest: +SKIP
(2, {'d1': 1})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from blendrank.errors import InvalidInputError


class TrainingDataError(InvalidInputError):
    """A training file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class TrainingQuery:
    """One training query: its judged documents split by grade.

    ``positives``: doc id -> grade (>= the positive threshold); ``judged``: every judged
    doc id with its grade, including 0 (judged non-relevant: safe, useful negatives).
    """

    qid: str
    text: str
    positives: dict[str, int]
    judged: dict[str, int] = field(default_factory=dict)
    negatives: tuple[str, ...] = ()  # given in the data (JSONL), before any mining


@dataclass(frozen=True)
class TrainingSet:
    """Texts of the documents (``"title\\ntext"``, as the reranker sees them) and queries."""

    corpus: dict[str, str]
    queries: list[TrainingQuery]
    source: str

    @property
    def max_grade(self) -> int:
        return max((g for q in self.queries for g in q.positives.values()), default=1)

    def fingerprint(self) -> str:
        """A hash of the queries, their judgments and the texts of the judged documents."""
        h = hashlib.sha256()
        for q in sorted(self.queries, key=lambda q: q.qid):
            h.update(json.dumps([q.qid, q.text, sorted(q.judged.items())]).encode())
            h.update(json.dumps(sorted(q.negatives)).encode())
            for doc_id in sorted({*q.judged, *q.negatives}):
                h.update(self.corpus.get(doc_id, "").encode())
        h.update(str(len(self.corpus)).encode())
        return h.hexdigest()[:16]

    def split(self, fraction: float, seed: int) -> tuple[TrainingSet, TrainingSet]:
        """(train, held-out) by query, ``fraction`` of the queries held out (at least 1
        when ``fraction`` > 0 and there are 2+ queries)."""
        import random

        if not 0 <= fraction < 1:
            raise InvalidInputError(f"validation fraction must be in [0, 1), got {fraction}")
        order = sorted(self.queries, key=lambda q: q.qid)
        random.Random(seed).shuffle(order)
        n_val = round(len(order) * fraction)
        if fraction > 0 and n_val == 0 and len(order) > 1:
            n_val = 1
        held = {q.qid for q in order[:n_val]}
        train = [q for q in self.queries if q.qid not in held]
        val = [q for q in self.queries if q.qid in held]
        return (
            TrainingSet(self.corpus, train, self.source),
            TrainingSet(self.corpus, val, self.source),
        )


def document_text(record: Mapping[str, object]) -> str:
    """``"title\\ntext"`` (or the text alone), the form the evaluation harness reranks."""
    title = str(record.get("title") or "").strip()
    text = str(record.get("text") or "")
    return f"{title}\n{text}" if title else text


def _queries_from_qrels(
    qrels: Mapping[str, Mapping[str, int]],
    texts: Mapping[str, str],
    corpus: Mapping[str, str],
    min_grade: int,
    source: str,
) -> list[TrainingQuery]:
    if isinstance(min_grade, bool) or not isinstance(min_grade, int) or min_grade < 1:
        raise InvalidInputError(f"min_positive_grade must be an integer >= 1, got {min_grade!r}")
    out = []
    for qid, docs in qrels.items():
        if qid not in texts:
            raise TrainingDataError(f"{source}: query {qid!r} is judged but has no text")
        judged = {d: int(g) for d, g in docs.items() if d in corpus}
        positives = {d: g for d, g in judged.items() if g >= min_grade}
        if positives:
            out.append(TrainingQuery(qid, texts[qid], positives, judged))
    if not out:
        raise TrainingDataError(
            f"{source}: no query has a judged document of grade >= {min_grade} in the corpus; "
            "check the split or lower min_positive_grade"
        )
    return out


def load_beir_training(
    folder: str | Path, split: str = "train", *, min_positive_grade: int = 1
) -> TrainingSet:
    """Queries judged in ``qrels/<split>.tsv`` of a BEIR folder, with the whole corpus."""
    from blendrank.evaluate.datasets import read_corpus, read_qrels, read_queries

    root = Path(folder)
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not root.is_dir():
        raise TrainingDataError(f"training folder not found: {root}")
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise TrainingDataError(
            f"no qrels for split {split!r}: {qrels_path} not found; "
            f"available: {', '.join(available) or 'none'}"
        )
    docs = read_corpus(root / "corpus.jsonl")
    corpus = {d: document_text({"title": doc.title, "text": doc.text}) for d, doc in docs.items()}
    queries = read_queries(root / "queries.jsonl")
    qrels = read_qrels(qrels_path)
    source = f"{root.name}/{split}"
    return TrainingSet(
        corpus, _queries_from_qrels(qrels, queries, corpus, min_positive_grade, source), source
    )


def load_trec_training(
    qrels: str | Path,
    corpus: str | Path,
    queries: str | Path,
    *,
    min_positive_grade: int = 1,
    query_ids: set[str] | None = None,
) -> TrainingSet:
    """TREC qrels (``qid 0 docid grade``) or BEIR TSV qrels with a BEIR corpus/queries
    JSONL; ``query_ids`` keeps only those queries (e.g. one fold)."""
    from blendrank.evaluate.datasets import read_corpus, read_qrels, read_queries

    docs = read_corpus(corpus)
    texts = {d: document_text({"title": doc.title, "text": doc.text}) for d, doc in docs.items()}
    judgments = read_qrels(qrels)
    if query_ids is not None:
        judgments = {q: d for q, d in judgments.items() if q in query_ids}
    source = Path(qrels).name
    return TrainingSet(
        texts,
        _queries_from_qrels(judgments, read_queries(queries), texts, min_positive_grade, source),
        source,
    )


def _strings(value: object, where: str, key: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items):
        raise TrainingDataError(f"{where}: {key!r} must be a non-empty string or a list of them")
    return list(items)


def load_jsonl_training(path: str | Path) -> TrainingSet:
    """Records ``{"query": str, "positive": str | [str], "negatives": [str]}`` (also
    ``"positives"``; ``"negatives"`` optional: mining adds more). Texts become the corpus;
    identical texts share one id."""
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError(f"training file not found: {path}")
    corpus: dict[str, str] = {}
    ids: dict[str, str] = {}
    queries: list[TrainingQuery] = []

    def doc_id(text: str) -> str:
        if text not in ids:
            ids[text] = f"d{len(ids)}"
            corpus[ids[text]] = text
        return ids[text]

    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainingDataError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise TrainingDataError(f"{where}: each line must be a JSON object")
            unknown = set(record) - {"query", "positive", "positives", "negatives", "id"}
            if unknown:
                raise TrainingDataError(
                    f"{where}: unknown key(s) {sorted(unknown)}; expected query, positive(s), "
                    "negatives"
                )
            query = record.get("query")
            if not isinstance(query, str) or not query.strip():
                raise TrainingDataError(f"{where}: 'query' must be a non-empty string")
            pos_key = "positive" if "positive" in record else "positives"
            if pos_key not in record:
                raise TrainingDataError(f"{where}: a record needs 'positive' or 'positives'")
            positives = {doc_id(t): 1 for t in _strings(record[pos_key], where, pos_key)}
            if not positives:
                raise TrainingDataError(f"{where}: {pos_key!r} is empty; give at least one")
            negatives = record.get("negatives", [])
            neg_ids = tuple(doc_id(t) for t in (_strings(negatives, where, "negatives") or []))
            neg_ids = tuple(d for d in neg_ids if d not in positives)
            qid = str(record.get("id", f"q{len(queries)}"))
            judged = {**{d: 0 for d in neg_ids}, **positives}
            queries.append(TrainingQuery(qid, query, positives, judged, neg_ids))
    if not queries:
        raise TrainingDataError(f"{path}: no training records")
    return TrainingSet(corpus, queries, path.name)

"""Test collections on disk: BEIR folders, TREC qrels and TREC run files.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (header ``query-id corpus-id score``).
A re-ranking set is the same folder plus a run file of candidates (e.g.
``runs/bm25.trec``) that a reranker reorders.

Rules (what a user would want, and why):

* a qrels query id missing from ``queries.jsonl`` is an **error**: the split and the
  queries file do not belong together;
* a judged document missing from the corpus is a **warning with a count**, and the
  judgment is **kept**: re-ranking sets ship only the pool of candidates, and dropping
  judged documents would change recall denominators and ideal DCG (TREC DL 2020 has
  8,522 such judgments; keeping them is what makes BM25 NDCG@10 = 0.4796);
* the evaluated queries are the qrels queries with at least one judgment > 0, in the
  order of ``queries.jsonl``.

>>> ds = load_beir("../shared/data/scifact", split="test")          # doctest: +SKIP
>>> len(ds.queries), len(ds.corpus)                                  # doctest: +SKIP
(300, 5183)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from blendrank.errors import InvalidInputError
from blendrank.types import Document

#: qid -> [(doc_id, score)] in rank order (best first): a run of one system over many
#: queries, as a TREC run file holds it (each query's list is a Ranking's ids and scores).
Run = dict[str, list[tuple[str, float]]]
#: qid -> {doc_id: grade}
QrelsDict = dict[str, dict[str, int]]


class DatasetError(InvalidInputError):
    """A collection, qrels or run file is missing or malformed; the message says which."""


class MissingJudgedDocumentsWarning(UserWarning):
    """Some judged documents are not in the corpus (normal for re-ranking sets)."""


@dataclass(frozen=True)
class EvalDataset:
    """Corpus, queries and relevance judgments of one split.

    ``queries`` holds only the evaluated queries (judged, in file order);
    ``missing_judged_docs`` counts judgments whose document is not in the corpus.
    """

    name: str
    split: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: QrelsDict
    path: Path | None = None
    missing_judged_docs: int = 0
    notes: list[str] = field(default_factory=list)

    def limit(self, n: int) -> EvalDataset:
        """The same dataset with only its first ``n`` queries (file order)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInputError(f"the number of queries must be an integer >= 1, got {n!r}")
        keep = list(self.queries)[:n]
        return EvalDataset(
            self.name,
            self.split,
            self.corpus,
            {q: self.queries[q] for q in keep},
            {q: self.qrels[q] for q in keep},
            self.path,
            self.missing_judged_docs,
            [*self.notes, f"limited to the first {len(keep)} queries"],
        )


def _read_jsonl(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise DatasetError(f"{what} file not found: {path}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise DatasetError(f"{path}:{number}: each line must be an object with an '_id'")
            rows.append(row)
    return rows


def read_corpus(path: str | Path) -> dict[str, Document]:
    """``corpus.jsonl`` as {doc_id: Document(id, text, title)}; a duplicate id is an error."""
    path = Path(path)
    corpus: dict[str, Document] = {}
    for row in _read_jsonl(path, "corpus"):
        doc_id = str(row["_id"])
        if doc_id in corpus:
            raise DatasetError(f"{path}: document id {doc_id!r} appears twice")
        corpus[doc_id] = Document(
            id=doc_id, text=str(row.get("text") or ""), title=str(row.get("title") or "")
        )
    return corpus


def read_queries(path: str | Path) -> dict[str, str]:
    """``queries.jsonl`` as {query_id: text}, in file order."""
    path = Path(path)
    return {str(row["_id"]): str(row.get("text") or "") for row in _read_jsonl(path, "queries")}


def read_qrels(path: str | Path) -> QrelsDict:
    """Relevance judgments from a BEIR TSV (``query-id corpus-id score`` with a header)
    or a TREC qrels file (``qid 0 docid grade``). Grades stay graded integers.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "q.txt")
    >>> _ = open(p, "w").write("q1 0 d1 2\\nq1 0 d2 0\\n")
    >>> read_qrels(p)
    {'q1': {'d1': 2, 'd2': 0}}
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"qrels file not found: {path}")
    qrels: QrelsDict = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
            parts = [p.strip() for p in parts]
            if not any(parts) or (number == 1 and parts[0] == "query-id"):
                continue
            if len(parts) == 3:
                # some BEIR files (SciFact train) list several corpus ids in one field
                qid, doc_field, grade = parts
                doc_ids = doc_field.split()
            elif len(parts) == 4:
                qid, _, doc_id, grade = parts
                doc_ids = [doc_id]
            else:
                raise DatasetError(
                    f"{path}:{number}: expected 'query-id corpus-id score' (BEIR TSV) or "
                    f"'qid 0 docid grade' (TREC), got {len(parts)} fields"
                )
            if not qid or not doc_ids:
                raise DatasetError(f"{path}:{number}: empty query or document id")
            try:
                value = int(float(grade))
            except ValueError:
                raise DatasetError(f"{path}:{number}: grade {grade!r} is not a number") from None
            for doc_id in doc_ids:
                qrels.setdefault(qid, {})[doc_id] = value
    if not qrels:
        raise DatasetError(f"qrels file {path} has no judgments")
    return qrels


def read_run(path: str | Path) -> Run:
    """A TREC run file (``qid Q0 docid rank score tag``) as {qid: [(docid, score)]}.

    Each list is ordered as trec_eval orders it: score descending, ties by document id
    descending (the rank column is ignored, as trec_eval ignores it). An empty file or a
    document listed twice for one query is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"run file not found: {path}")
    run: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise DatasetError(
                    f"{path}:{number}: expected 6 fields 'qid Q0 docid rank score tag', "
                    f"got {len(parts)}"
                )
            qid, _, doc_id, _, score, _ = parts
            try:
                value = float(score)
            except ValueError:
                raise DatasetError(f"{path}:{number}: score {score!r} is not a number") from None
            docs = run.setdefault(qid, {})
            if doc_id in docs:
                raise DatasetError(f"{path}:{number}: document {doc_id!r} listed twice for {qid}")
            docs[doc_id] = value
    if not run:
        raise DatasetError(f"run file {path} is empty; it must list 'qid Q0 docid rank score tag'")
    return {q: trec_order(docs) for q, docs in run.items()}


def trec_order(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """[(doc_id, score)] by score descending, ties by doc id descending (trec_eval's order).

    >>> trec_order({"a": 1.0, "b": 2.0, "c": 1.0})
    [('b', 2.0), ('c', 1.0), ('a', 1.0)]
    """
    return sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)


def check_run(run: Run, queries: Mapping[str, str], *, what: str = "run") -> None:
    """Raise if the run is empty or names queries the dataset does not have."""
    if not run or not any(run.values()):
        raise DatasetError(f"{what} is empty: no query has any result")
    unknown = [q for q in run if q not in queries]
    if len(unknown) == len(run):
        raise DatasetError(
            f"{what} shares no query id with the dataset (e.g. {unknown[0]!r}); "
            "is it a run for another collection or split?"
        )


def check_qrels(
    qrels: QrelsDict, queries: Mapping[str, str], corpus: Mapping[str, Document], source: str
) -> int:
    """Raise on qrels queries absent from the queries file; return how many judged
    documents are absent from the corpus (and warn once when there are any)."""
    unknown = [q for q in qrels if q not in queries]
    if unknown:
        shown = ", ".join(repr(q) for q in unknown[:5])
        raise DatasetError(
            f"{source} names {len(unknown)} query id(s) not in queries.jsonl ({shown}"
            f"{', ...' if len(unknown) > 5 else ''}); use the queries file of this collection"
        )
    missing = sum(1 for docs in qrels.values() for d in docs if d not in corpus)
    if missing:
        warnings.warn(
            f"{source}: {missing} judged document(s) are not in the corpus; they are kept "
            "as relevant-but-unretrievable (normal for a re-ranking set's candidate pool)",
            MissingJudgedDocumentsWarning,
            stacklevel=3,
        )
    return missing


def load_beir(
    path: str | Path, split: str = "test", *, qrels: str | Path | None = None
) -> EvalDataset:
    """Load a BEIR folder's corpus, queries and ``qrels/<split>.tsv`` (or ``qrels``, a
    BEIR TSV or TREC qrels file given explicitly)."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    qrels_path = Path(qrels) if qrels is not None else root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise DatasetError(
            f"no qrels for split {split!r}: {qrels_path} not found; "
            f"available splits: {', '.join(available) or 'none'}"
        )
    corpus = read_corpus(root / "corpus.jsonl")
    all_queries = read_queries(root / "queries.jsonl")
    judgments = read_qrels(qrels_path)
    missing = check_qrels(judgments, all_queries, corpus, str(qrels_path))
    judged = {q for q, docs in judgments.items() if any(g > 0 for g in docs.values())}
    queries = {q: text for q, text in all_queries.items() if q in judged}
    return EvalDataset(
        name=root.name,
        split=split,
        corpus=corpus,
        queries=queries,
        qrels={q: judgments[q] for q in queries},
        path=root,
        missing_judged_docs=missing,
    )


def load_rerank_set(
    path: str | Path, run: str | Path, split: str = "test"
) -> tuple[EvalDataset, Run]:
    """A re-ranking set: the BEIR folder plus the run of candidates to rerank (a path
    relative to the folder, or absolute). Every candidate must be in the corpus (its text
    is needed), and the run must cover the dataset's queries."""
    dataset = load_beir(path, split)
    run_path = resolve_path(run, dataset.path)
    ranking = read_run(run_path)
    check_run(ranking, dataset.queries, what=str(run_path))
    check_candidates(ranking, dataset.corpus, str(run_path))
    return dataset, ranking


def check_candidates(ranking: Run, corpus: Mapping[str, Document], source: str) -> None:
    missing = sorted({d for docs in ranking.values() for d, _ in docs if d not in corpus})
    if missing:
        raise DatasetError(
            f"{source}: {len(missing)} candidate document(s) are not in the corpus "
            f"(e.g. {missing[0]!r}); a reranker needs their text: use the matching corpus.jsonl"
        )


def resolve_path(path: str | Path, base: Path | None) -> Path:
    """``path`` as given if absolute or existing, else relative to ``base``."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists() or base is None:
        return candidate
    return base / candidate

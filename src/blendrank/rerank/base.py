"""The reranker contract. A model implements one method, ``score(query, texts)``; the
base class does validation, caching, splitting of large calls, top-k and results.

Two ways in, one way through:

* ``rf(query, documents, top_k)`` (as pymilvus calls it) takes strings, Documents, Hits
  or mappings with ``"text"`` and returns :class:`RerankResults` (``text``, ``score``,
  ``index`` = input position; ties by input position);
* ``rf.rerank(query, candidates, top_k)`` takes search hits (a :class:`Ranking` or Hits)
  and returns a :class:`Ranking` (ties by id); it is the one method to override for a
  reranker that is not "score these pairs" (listwise LLMs, combinators).

What a reranker is, it declares: ``scale`` of its scores, ``batch_size``,
``max_documents_per_call`` (larger calls are split), ``supports_groups`` (one
``score_groups`` call for many queries is cheaper than one per query), ``uses_vectors``
(it can score stored embeddings of :attr:`vector_model`).

>>> class LengthReranker(Reranker):          # toy model: longer text, higher score
...     name = "length"
...     def score(self, query, texts):
...         return np.array([len(t) for t in texts], dtype=np.float32)
>>> rf = LengthReranker()
>>> [(r.index, r.text) for r in rf("q", ["a", "abc", "ab"], top_k=2)]
[(1, 'abc'), (2, 'ab')]
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from blendrank._unicode import require_unicode
from blendrank.errors import InvalidInputError
from blendrank.types import Document, Hit, Query, Ranking, RerankResult, copy_metadata

DocumentLike = str | Document | Hit | Mapping[str, Any]
#: what a reranker's scores are: a probability, a logit, tanh of one, a cosine, a value
#: derived from ranks (RRF, listwise position), or any other real ("score")
Scale = Literal["probability", "logit", "tanh", "cosine", "position", "score"]
SCALES: tuple[str, ...] = ("probability", "logit", "tanh", "cosine", "position", "score")


class ScoreCache(Protocol):
    """Where a reranker keeps scores it has computed, keyed by (fingerprint, query, text hash)."""

    def get_many(self, keys: Sequence[str]) -> list[float | None]: ...

    def put_many(self, keys: Sequence[str], scores: Sequence[float]) -> None: ...


class RerankResults(list[RerankResult]):
    """A plain list of :class:`RerankResult` (as pymilvus returns) with an ``info`` dict
    saying what happened: documents split into windows, cache hits, skipped model, ..."""

    def __init__(self, results: Sequence[RerankResult] = (), info: dict[str, Any] | None = None):
        super().__init__(results)
        self.info: dict[str, Any] = dict(info or {})


class GroupScores(list[np.ndarray]):
    """One score array per ``(query, texts)`` group, plus ``info`` about the call."""

    def __init__(self, scores: Sequence[np.ndarray] = (), info: dict[str, Any] | None = None):
        super().__init__(scores)
        self.info: dict[str, Any] = dict(info or {})


def cache_key(fingerprint: str, query: str, text: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (fingerprint, query, text):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def validate_query(query: object) -> str:
    if isinstance(query, Query):
        return query.text
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise InvalidInputError("query is empty; pass the question to rank documents for")
    return require_unicode(query, "query")


def validate_top_k(top_k: int | None, n: int) -> int:
    if top_k is None:
        return n
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise InvalidInputError(f"top_k must be an integer, got {top_k!r}")
    if top_k < 1:
        raise InvalidInputError(f"top_k must be >= 1, got {top_k}")
    return min(top_k, n)  # beyond the list: all of it, as pymilvus and sentence-transformers


def ranked_order(scores: np.ndarray) -> np.ndarray:
    """Indices by score descending; ties keep input order (deterministic)."""
    return np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=np.float64)))


def position_id(position: int) -> str:
    """The id a document passed by position gets, so ties sort by input position."""
    return f"{position:010d}"


def ranking_by_position(
    order: Sequence[int],
    scores: Sequence[float] | np.ndarray,
    info: Mapping[str, Any] | None = None,
) -> Ranking:
    """Texts passed by position, ranked: rank r is input position ``order[r]`` with
    ``scores[r]``; the hits' ids are :func:`position_id` (ties by input position)."""
    ids = [position_id(int(i)) for i in order]
    values = np.asarray(scores, dtype=np.float64)
    return Ranking.lazy(ids, ids, values, lambda i, rank: Hit(ids[i], ids[i], values[i], ""), info)


def positions(ranking: Ranking) -> list[int]:
    """The input positions of a :func:`ranking_by_position`, best first."""
    return [int(i) for i in ranking.ids]


def scores_by_position(ranking: Ranking, n: int) -> np.ndarray:
    """Scores of ``n`` positions from a :func:`ranking_by_position` (NaN where absent)."""
    out = np.full(n, np.nan, dtype=np.float64)
    out[positions(ranking)] = ranking.scores
    return out


def candidates_of(
    documents: Sequence[DocumentLike], first_stage_scores: Sequence[float] | None = None
) -> list[Hit]:
    """Documents of ``rf(query, documents)`` as candidate hits: ``id`` is the input
    position (:func:`position_id`), ``doc_id`` the document's own id (or ""), ``score``
    its first-stage score (``Hit.score``, a mapping's ``"score"``, ``first_stage_scores``)
    or NaN when it has none."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise InvalidInputError("documents must be a list of strings, Documents or Hits")
    if len(documents) == 0:
        raise InvalidInputError("documents is empty; pass at least one document to rerank")
    given = None
    if first_stage_scores is not None:
        given = np.asarray(first_stage_scores, dtype=np.float64)
        if given.shape != (len(documents),) or not np.isfinite(given).all():
            raise InvalidInputError(
                f"first_stage_scores must be {len(documents)} finite numbers, one per "
                f"document; got shape {given.shape}"
            )
    out = []
    for position, doc in enumerate(documents):
        hit = _candidate(doc, position)
        require_unicode(hit.text, f"documents[{position}]")
        if given is not None:
            hit = replace(hit, score=float(given[position]))
        out.append(hit)
    return out


def _candidate(doc: DocumentLike, position: int) -> Hit:
    pid = position_id(position)
    if isinstance(doc, str):
        return Hit(pid, "", math.nan, doc)
    if isinstance(doc, Hit):
        return replace(doc, id=pid, metadata=copy_metadata(doc.metadata))
    if isinstance(doc, Document):
        text = f"{doc.title}\n{doc.text}" if doc.title else doc.text
        return Hit(pid, doc.id, math.nan, text, doc.title, copy_metadata(doc.metadata))
    if isinstance(doc, Mapping):
        body = doc.get("text")
        if not isinstance(body, str):
            raise InvalidInputError(
                f"documents[{position}] is a mapping without a string 'text' key; "
                "pass {'text': '...'} or a plain string"
            )
        raw_id = doc.get("id", doc.get("_id"))
        score = doc.get("score")
        real = isinstance(score, (int, float)) and not isinstance(score, bool)
        return Hit(
            pid,
            "" if raw_id is None else str(raw_id),
            float(score) if real and math.isfinite(score) else math.nan,  # type: ignore[arg-type]
            body,
            # FlashRank's passages carry theirs as "meta"
            metadata=dict(doc.get("metadata") or doc.get("meta") or {}),
        )
    raise InvalidInputError(
        f"documents[{position}] must be a string, Document, Hit or mapping with 'text'; "
        f"got {type(doc).__name__}"
    )


def document_id(doc: DocumentLike) -> str | None:
    """The id a document passed to ``rf(query, documents)`` carries, if any."""
    if isinstance(doc, (Hit, Document)):
        return doc.id
    if isinstance(doc, Mapping):
        raw = doc.get("id", doc.get("_id"))
        return None if raw is None else str(raw)
    return None


def check_candidates(candidates: object) -> list[Hit]:
    """``candidates`` of :meth:`Reranker.rerank` as a list of Hits, or a clear error."""
    if isinstance(candidates, Ranking):
        return list(candidates)
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise InvalidInputError("candidates must be a Ranking or a list of Hits")
    for position, hit in enumerate(candidates):
        if not isinstance(hit, Hit):
            raise InvalidInputError(
                f"candidates[{position}] is a {type(hit).__name__}; rerank() takes search "
                "hits. For strings, Documents or mappings call the reranker itself: "
                "rf(query, documents, top_k)"
            )
        require_unicode(hit.text, f"candidates[{position}].text")
    return list(candidates)


def reranked(
    candidates: Sequence[Hit],
    scores: np.ndarray,
    top_k: int | None,
    info: Mapping[str, Any],
    key: str | None = "rerank",
) -> Ranking:
    """``candidates`` ranked by ``scores`` (one per candidate): ``score`` becomes the new
    score and, when ``key`` is set, ``scores[key]``/``ranks[key]`` record it. The hits
    get their own metadata copies: editing a result never edits the caller's hit."""
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(candidates),):
        raise RuntimeError(f"got {values.shape} scores for {len(candidates)} candidates")
    if np.isnan(values).any():
        raise RuntimeError(
            f"{info.get('reranker', 'the reranker')} returned NaN scores; check the model"
        )
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].id)
    order.sort(key=lambda i: -values[i])
    k = len(order) if top_k is None else min(top_k, len(order))
    out = []
    for rank, i in enumerate(order[:k], start=1):
        hit, value = candidates[i], float(values[i])
        metadata = copy_metadata(hit.metadata)
        if key is None:
            scores_, ranks = dict(hit.scores), dict(hit.ranks)
            out.append(hit.but(score=value, metadata=metadata, scores=scores_, ranks=ranks))
        else:
            scores_ = {**hit.scores, key: value}
            ranks = {**hit.ranks, key: rank}
            out.append(hit.but(score=value, metadata=metadata, scores=scores_, ranks=ranks))
    return Ranking(out, info)


def scores_by_id(ranking: Ranking, candidates: Sequence[Hit], who: str) -> np.ndarray:
    """``ranking``'s score of each candidate, in candidate order (every one must be there)."""
    at = dict(zip(ranking.ids, ranking.scores.tolist(), strict=True))
    missing = [h.id for h in candidates if h.id not in at]
    if missing:
        raise InvalidInputError(
            f"{who} returned no score for {len(missing)} of {len(candidates)} candidates "
            f"(e.g. {missing[0]!r}); a reranker inside another must rank every candidate "
            "(put a ThresholdReranker outermost)"
        )
    return np.array([at[h.id] for h in candidates], dtype=np.float64)


class Reranker:
    """Base class of every reranker: implement :meth:`score` (pairs), or override
    :meth:`rerank` for anything else. See the module docstring."""

    name: str = "reranker"
    scale: Scale = "score"
    batch_size: int | None = None
    max_documents_per_call: int | None = None
    supports_groups: bool = False
    uses_vectors: bool = False
    #: a model that reads (query, document) pairs through a tokenizer declares where it
    #: is and the window in tokens, so a server can cut documents the way the model counts
    tokenizer_folder: Path | None = None
    max_length: int | None = None

    def __init__(self, *, cache: ScoreCache | None = None) -> None:
        self.cache = cache

    # ---- what a model implements ------------------------------------------------------

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance scores of ``texts`` for ``query`` (higher is better), shape (len(texts),).

        A reranker that overrides :meth:`rerank` instead gets this for free: its ranking's
        scores by input position (NaN for a text it dropped)."""
        if type(self).rerank is Reranker.rerank:
            raise NotImplementedError(f"{type(self).__name__} must implement score() or rerank()")
        candidates = [Hit(position_id(i), "", math.nan, t) for i, t in enumerate(texts)]
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        return scores_by_position(self.rerank(query, candidates), len(candidates)).astype(
            np.float32
        )

    def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        """Scores of several ``(query, texts)`` groups; a model that batches them in one
        call overrides this and declares ``supports_groups = True``."""
        return GroupScores([np.asarray(self.score(q, list(t))) for q, t in groups])

    @property
    def fingerprint(self) -> str:
        """Identifies the model and every setting that changes scores (the cache key uses it)."""
        return f"{type(self).__module__}.{type(self).__qualname__}:{self.name}"

    @property
    def vector_model(self) -> str | None:
        """Fingerprint of the embedder whose stored vectors :meth:`rerank` can score
        (``uses_vectors``); None when it reads no vectors."""
        return None

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "name": self.name}

    # ---- what the base does -----------------------------------------------------------

    def score_cached(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        """Scores of every group through the cache (when set), calling the model once for
        what is missing, split past ``max_documents_per_call``; ``info["cache_hits"]``."""
        listed = [(q, list(t)) for q, t in groups]
        if self.cache is None:
            scored = self._score_split(listed)
            scored.info["cache_hits"] = 0
            return scored
        fingerprint = self.fingerprint
        keys = [[cache_key(fingerprint, q, t) for t in texts] for q, texts in listed]
        found = [self.cache.get_many(k) for k in keys]
        missing = [[i for i, s in enumerate(f) if s is None] for f in found]
        todo = [(g, m) for g, m in enumerate(missing) if m]
        fresh = self._score_split([(listed[g][0], [listed[g][1][i] for i in m]) for g, m in todo])
        scores = [np.array([0.0 if s is None else s for s in f], dtype=np.float32) for f in found]
        for (g, m), values in zip(todo, fresh, strict=True):
            scores[g][m] = values
            finite = [(keys[g][i], float(v)) for i, v in zip(m, values, strict=True) if v == v]
            self.cache.put_many([k for k, _ in finite], [v for _, v in finite])  # never NaN
        hits = sum(len(k) for k in keys) - sum(len(m) for m in missing)
        return GroupScores(scores, {**fresh.info, "cache_hits": hits})

    def _score_split(self, groups: list[tuple[str, list[str]]]) -> GroupScores:
        if not groups:
            return GroupScores()
        limit = self.max_documents_per_call
        parts: list[tuple[int, tuple[str, list[str]]]] = []
        for g, (query, texts) in enumerate(groups):
            step = limit or max(1, len(texts))
            parts.extend((g, (query, texts[i : i + step])) for i in range(0, len(texts), step))
        scored = self.score_groups([part for _, part in parts])
        if len(scored) != len(parts):
            raise RuntimeError(
                f"{type(self).__name__}.score_groups returned {len(scored)} arrays for "
                f"{len(parts)} groups"
            )
        pieces: list[list[np.ndarray]] = [[] for _ in groups]
        for (g, (_, texts)), values in zip(parts, scored, strict=True):
            array = np.asarray(values, dtype=np.float32)
            if array.shape != (len(texts),):
                raise RuntimeError(
                    f"{type(self).__name__} returned shape {array.shape} for {len(texts)} texts"
                )
            pieces[g].append(array)
        out = [np.concatenate(p) if p else np.zeros(0, dtype=np.float32) for p in pieces]
        return GroupScores(out, scored.info)

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        """``candidates`` (search hits) ranked by this reranker, best ``top_k`` (all when
        None or larger). Each hit keeps its first-stage ``scores``/``ranks`` and adds
        ``"rerank"``; ``score`` becomes the reranker's. ``vectors`` (row i for candidate
        i) are the stored embeddings of :attr:`vector_model`; only a reranker that
        ``uses_vectors`` reads them."""
        text = validate_query(query)
        hits = check_candidates(candidates)
        if not hits:
            return Ranking(info={"reranker": self.name, "documents": 0, "cache_hits": 0})
        scored = self.score_cached([(text, [h.text for h in hits])])
        info = {"reranker": self.name, "documents": len(hits), **scored.info}
        return reranked(hits, scored[0], top_k, info)

    def __call__(
        self,
        query: str,
        documents: Sequence[DocumentLike],
        top_k: int | None = None,
        *,
        first_stage_scores: Sequence[float] | None = None,
    ) -> RerankResults:
        """pymilvus' call: ``documents`` ranked, as :class:`RerankResults` (module docs);
        ``first_stage_scores`` are for rerankers that blend or judge them."""
        text = validate_query(query)
        candidates = candidates_of(documents, first_stage_scores)
        k = validate_top_k(top_k, len(candidates))
        return results_of(documents, self.rerank(text, candidates, k))

    # ---- sentence-transformers' CrossEncoder calls ----------------------------------------

    def predict(
        self,
        sentences: Sequence[Sequence[str]] | tuple[str, str],
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        **_: Any,
    ) -> Any:
        """Scores of ``(query, text)`` pairs in their order, as ``CrossEncoder.predict``
        returns them (one pair: a scalar). Pairs sharing a query are scored together."""
        single = (
            isinstance(sentences, tuple | list)
            and len(sentences) == 2
            and all(isinstance(x, str) for x in sentences)
        )
        given: list[Any] = [sentences] if single else list(sentences)
        pairs: list[tuple[str, str]] = []
        for i, pair in enumerate(given):
            if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
                raise InvalidInputError(f"sentences[{i}] must be a (query, text) pair of strings")
            pairs.append((validate_query(pair[0]), pair[1]))
        groups: dict[str, list[int]] = {}
        for i, (query, _text) in enumerate(pairs):
            groups.setdefault(query, []).append(i)
        order = list(groups.items())
        scored = self.score_cached([(q, [pairs[i][1] for i in idx]) for q, idx in order])
        out = np.zeros(len(pairs), dtype=np.float32)
        for (_query, idx), values in zip(order, scored, strict=True):
            out[idx] = values
        if single:
            return out[0]
        return out if convert_to_numpy else out.tolist()

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        return_documents: bool = False,
        **_: Any,
    ) -> list[dict[str, Any]]:
        """``CrossEncoder.rank``: ``[{"corpus_id", "score"(, "text")}]`` best first."""
        results = self(query, list(documents), top_k)
        out = []
        for r in results:
            item: dict[str, Any] = {"corpus_id": r.index, "score": r.score}
            if return_documents:
                item["text"] = r.text
            out.append(item)
        return out


def results_of(documents: Sequence[DocumentLike], ranking: Ranking) -> RerankResults:
    """A ranking of :func:`candidates_of` ``documents`` as pymilvus-shaped results."""
    results = []
    for hit in ranking:
        position = int(hit.id)
        doc_id = document_id(documents[position])
        results.append(RerankResult(hit.text, hit.score, position, doc_id, hit.metadata))
    return RerankResults(results, ranking.info)

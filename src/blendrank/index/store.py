"""On-disk layout of an embedded index and its atomic commit protocol.

An index is a directory::

    <dir>/blendrank.json      the manifest: format version, settings, current generation
    <dir>/LOCK                held (flock) by the one writer
    <dir>/gen-000007/         every file of generation 7: its segments (segments/seg-NNNNNN/
                              with chunks, documents, vectors, bm25/) and tombstones/,
                              most of them hard links to the files of generation 6
                              (``index/segment_files.py``)

A commit writes the next generation into a temporary folder, fsyncs it, renames it to
``gen-NNNNNN`` and only then replaces ``blendrank.json`` (write to a temp file, fsync,
``os.replace``, fsync the directory). A crash at any moment therefore leaves the manifest
naming a complete generation: the previous one or the new one. Leftover temporary folders
and generations older than the previous one are removed by the next writer.

Readers pin the generation they opened: each open :class:`~blendrank.Index` holds a shared
``flock`` on ``gen-NNNNNN/LEASE`` (:meth:`IndexStore.lease`), and a writer removes an old
generation only when it can take that lock exclusively, so a generation in use is never
deleted under a reader; it is removed by the first commit after its last reader closes (or
dies: the kernel drops the lock with the process).

The manifest also lists every file of the generation with its size and BLAKE2b digest
(``files``): opening compares the sizes (one ``stat`` each), ``blendrank verify`` the
digests, so damage is found and named instead of giving different results.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blendrank.errors import (
    DiskFullError,
    IndexExistsError,
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
)

FORMAT_NAME = "blendrank-index"
FORMAT_VERSION = 2
#: versions this blendrank opens; older ones are upgraded in place on open
READABLE_VERSIONS = (1, 2)
MANIFEST = "blendrank.json"
LOCK = "LOCK"
GEN_PREFIX = "gen-"
#: the file in a generation folder that readers hold a shared flock on (not checksummed)
LEASE = "LEASE"


def _crash_point(name: str, kind: str = "write") -> None:
    """Crash-safety tests set BLENDRANK_CRASH_AT to die (like kill -9) at a commit step:
    ``before-manifest`` at the first commit, ``merge:before-manifest`` at the first merge."""
    if os.environ.get("BLENDRANK_CRASH_AT") in (name, f"{kind}:{name}"):
        os._exit(137)


def generation_name(generation: int) -> str:
    return f"{GEN_PREFIX}{generation:06d}"


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (so a rename inside it is durable)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def write_json_atomic(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also leave a half file behind
        raise
    fsync_path(path.parent)


def file_digests(
    folder: Path, known: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """``{relative path: {"bytes": size, "blake2b": hex digest}}`` of every file in ``folder``;
    ``known`` entries (files hard-linked from a committed generation) are taken as they
    are when the size matches, so a commit reads only the files it wrote."""
    known = known or {}
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != LEASE):
        name = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        entry = known.get(name)
        if entry is not None and int(entry.get("bytes", -1)) == size:
            out[name] = dict(entry)
        else:
            out[name] = {"bytes": size, "blake2b": file_digest(path)}
    return out


def damaged_files(folder: Path, files: dict[str, dict[str, Any]], *, digests: bool) -> list[str]:
    """What differs between ``folder`` and the manifest's file list: a missing file, another
    size, or (``digests=True``) other content. Empty when all is well."""
    problems = []
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != expected["bytes"]:
            problems.append(f"{name} has {path.stat().st_size} bytes, not {expected['bytes']}")
        elif digests and file_digest(path) != expected["blake2b"]:
            problems.append(f"{name} has other content than was committed (checksum differs)")
    return problems


def file_digest(path: Path) -> str:
    """BLAKE2b (128-bit) hex digest of one file, read in 1 MiB blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _out_of_space(exc: OSError, root: Path) -> bool:
    """ENOSPC, or a short write (numpy raises OSError without errno) on a disk with < 1 MiB."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return exc.errno is None and shutil.disk_usage(root).free < (1 << 20)
    except OSError:
        return False


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the index at ``root``, checked for format and version."""
    if not root.exists():
        raise IndexNotFoundError(
            f"no index at {root}: the directory does not exist "
            "(create one with `blendrank index DIR FILES...` or Index.create)"
        )
    path = root / MANIFEST
    if not path.exists():
        raise IndexNotFoundError(
            f"{root} is not a blendrank index: it has no {MANIFEST} "
            "(create one with `blendrank index DIR FILES...` or Index.create)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexFormatError(f"{path} is not a blendrank index manifest")
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS:
        raise IndexFormatError(
            f"index {root} has format version {version}; this blendrank reads version "
            f"{FORMAT_VERSION}. Rebuild the index with this version "
            "(`blendrank index NEW_DIR FILES...`) or use the blendrank release that wrote it "
            f"({manifest.get('written_by', 'unknown')})."
        )
    gen_dir = root / generation_name(int(manifest["generation"]))
    if not gen_dir.is_dir():
        raise IndexFormatError(
            f"index {root} is damaged: its manifest names {gen_dir.name}, which is missing"
        )
    return manifest


class GenerationLease:
    """A reader's hold on one generation (a shared flock); :meth:`release` or dropping the
    last reference lets the next commit remove the generation."""

    def __init__(self, generation: int, fd: int | None):
        self.generation = generation
        self._fd = fd
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        with self._lock:  # two close() calls must not close a reused descriptor number
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock

    def __del__(self) -> None:
        self.release()


class IndexStore:
    """The directory of one index: manifest I/O, the writer lock, generation folders."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        return read_manifest(self.root)

    def generation_dir(self, generation: int) -> Path:
        return self.root / generation_name(generation)

    def lease(self, generation: int) -> GenerationLease:
        """Pin ``generation`` for reading: no writer removes it while the lease is held.

        Raises FileNotFoundError when the generation is already gone (a commit replaced
        it: read the manifest again). In a folder this process cannot write to, a
        generation without a LEASE file gets an empty lease: nobody can delete it there.
        """
        folder = self.generation_dir(generation)
        path = folder / LEASE
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise
        except OSError as exc:  # read-only file system, or a folder of another user
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            if not folder.is_dir():
                raise FileNotFoundError(errno.ENOENT, "generation removed", str(folder)) from exc
            return GenerationLease(generation, None)
        try:
            # blocks only while a writer holds it to move this generation away
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(errno.ENOENT, "generation replaced", str(folder))
        except BaseException:
            os.close(fd)
            raise  # FileNotFoundError from stat: the writer moved the generation away
        return GenerationLease(generation, fd)

    def _remove_unless_leased(self, folder: Path) -> bool:
        """Remove a generation folder unless a reader holds its lease; True when removed."""
        try:
            fd: int | None = os.open(folder / LEASE, os.O_RDONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:
            return True  # gone already
        except OSError as exc:
            if (
                exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
                and not (folder / LEASE).exists()
            ):
                fd = None  # a folder nobody can write a lease into: nobody holds one
            else:
                return False  # out of descriptors, ...: keep it; a later commit retries
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False  # in use: the first commit after its readers close removes it
            # move it out of its name first, so a reader that finds the name finds it whole
            doomed = self.root / f".tmp-gc-{uuid.uuid4().hex}"
            try:
                os.rename(folder, doomed)
            except FileNotFoundError:
                return True
        finally:
            if fd is not None:
                os.close(fd)
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def prepare_create(self, exist_ok: bool) -> None:
        if self.exists() and not exist_ok:
            raise IndexExistsError(
                f"an index already exists at {self.root}; open it with Index.open, "
                "or pass exist_ok=True / choose another directory"
            )
        if self.root.exists() and not self.root.is_dir():
            raise IndexExistsError(f"{self.root} exists and is not a directory")
        if self.root.is_dir() and not self.exists() and any(self.root.iterdir()):
            raise IndexExistsError(
                f"{self.root} is a non-empty directory that is not a blendrank index; "
                "choose an empty or new directory"
            )
        self.root.mkdir(parents=True, exist_ok=True)

    def remove_uncommitted(self, *, remove_folder: bool) -> None:
        """Undo a first commit that failed: the lock file and any generation folder it left,
        and the folder itself when the create made it (only while there is no manifest)."""
        if self.exists():
            return
        for entry in list(self.root.iterdir()):
            if entry.name == LOCK or entry.name.startswith((".tmp-", GEN_PREFIX)):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(
                    missing_ok=True
                )
        if remove_folder:
            with contextlib.suppress(OSError):
                self.root.rmdir()  # only if nothing else is there

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 10.0) -> Iterator[None]:
        """Exclusive writer lock (flock on ``LOCK``), released on exit or process death."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"index {self.root} is being written by another process "
                            f"(waited {timeout:.0f}s for its lock); retry when it finishes"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A new temporary generation folder to fill and :meth:`commit`; removed again when
        the block fails (disk full, a bad value, Ctrl-C), so a retry starts clean."""
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            yield tmp
        except OSError as exc:
            full = _out_of_space(exc, self.root)
            shutil.rmtree(tmp, ignore_errors=True)
            if full:
                raise DiskFullError(
                    errno.ENOSPC,
                    f"no space left on the device holding {self.root.name}; nothing was "
                    "committed and the index is as it was: free some space and retry",
                ) from exc
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already once committed
            raise

    def commit(
        self,
        tmp_dir: Path,
        manifest: dict[str, Any],
        known: dict[str, dict[str, Any]] | None = None,
        kind: str = "write",
    ) -> None:
        """Make ``tmp_dir`` the generation named in ``manifest`` (caller holds the lock);
        records each file's size and digest in ``manifest["files"]`` (``known``: those of
        files linked from the committed generation)."""
        manifest["files"] = file_digests(tmp_dir, known)
        fsync_tree(tmp_dir)
        _crash_point("before-rename", kind)
        final = self.generation_dir(int(manifest["generation"]))
        if final.exists():  # left by a writer that died after the rename, before the manifest
            shutil.rmtree(final)
        os.rename(tmp_dir, final)
        fsync_path(self.root)
        _crash_point("before-manifest", kind)
        write_json_atomic(self.manifest_path, manifest)
        _crash_point("after-manifest", kind)
        try:
            self.collect_garbage(int(manifest["generation"]))
        except OSError as exc:  # committed already: a failed clean-up is retried next time
            warnings.warn(
                f"index {self.root.name}: committed, but old generations were not removed "
                f"({exc}); the next commit tries again",
                stacklevel=2,
            )

    def collect_garbage(self, current: int) -> None:
        """Remove temp folders and the generations older than the previous one that no
        reader holds a lease on (the previous one is kept for readers that read the
        manifest just before the commit and have not taken their lease yet)."""
        for entry in list(self.root.iterdir()):
            name = entry.name
            if name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp")):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(
                    missing_ok=True
                )
            elif name.startswith(GEN_PREFIX):
                try:
                    number = int(name[len(GEN_PREFIX) :])
                except ValueError:
                    continue
                if number > current:  # left by a writer that died before its manifest
                    shutil.rmtree(entry, ignore_errors=True)
                elif number < current - 1:
                    self._remove_unless_leased(entry)

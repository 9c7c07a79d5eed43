"""The typed exception tree. Every error blendrank raises on purpose derives from
:class:`BlendrankError`, so callers can catch one type; input errors are also
``ValueError`` so plain Python code catching that keeps working."""

from __future__ import annotations


class BlendrankError(Exception):
    """Base class of every error blendrank raises on purpose."""


class InvalidInputError(BlendrankError, ValueError):
    """An argument, a query, a document or a file is malformed; the message says what to fix."""


class FilterError(InvalidInputError):
    """A metadata filter is malformed: unknown operator or field, or a value of the wrong type."""


class IngestError(InvalidInputError):
    """An input file (JSON Lines, CSV, folder) cannot be read as documents."""


class IndexError_(BlendrankError):
    """Base of index problems (named with a trailing underscore so it never shadows IndexError)."""


class IndexNotFoundError(IndexError_, FileNotFoundError):
    """No blendrank index at the given path."""


class IndexExistsError(IndexError_, FileExistsError):
    """Index.create was asked to create an index where one already exists."""


class IndexFormatError(IndexError_):
    """The index on disk was written by another format version, or is not readable."""


class IndexLockedError(IndexError_):
    """Another process holds the index's write lock."""


class DiskFullError(IndexError_, OSError):
    """A write ran out of disk space; nothing was committed and the index is as it was."""


class ModelError(BlendrankError):
    """A model cannot be found, loaded or run (wrong folder, not a reranker, missing files)."""


class EmbeddingError(BlendrankError):
    """An embedding backend (local model or HTTP endpoint) failed."""


class RemoteModelError(ModelError):
    """A model behind HTTP (an LLM server, a hosted reranker) refused the request, kept
    failing after the retries, or answered something that cannot be used."""


class MissingDependencyError(BlendrankError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class TruncationWarning(UserWarning):
    """Text was cut to fit a model's window, so part of it is invisible to that model."""

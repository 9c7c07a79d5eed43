"""One check for text that cannot be written as UTF-8 (a lone surrogate), shared by every
boundary: documents, metadata, ids, queries, texts to rerank.

>>> require_unicode("fine", "query")
'fine'
>>> require_unicode("bad \\udc80", "query")  # doctest: +ELLIPSIS
Traceback (most recent call last):
blendrank.errors.InvalidInputError: query is not valid Unicode (a lone surrogate at position 4)...
"""

from __future__ import annotations

from blendrank.errors import InvalidInputError


def require_unicode(
    value: str, what: str, error: type[InvalidInputError] = InvalidInputError, prefix: str = ""
) -> str:
    """``value`` unchanged, or ``error`` naming ``what`` and the position of the surrogate."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(
            f"{prefix}{what} is not valid Unicode (a lone surrogate at position {exc.start}); "
            "decode the input with the right encoding"
        ) from None
    return value

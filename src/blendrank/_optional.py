"""One place to import optional dependencies, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from blendrank.errors import MissingDependencyError


def require(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip extra.

    Only a missing top-level package is turned into the typed error: an ImportError
    raised from inside an installed backend propagates unchanged, so real bugs stay visible.

    >>> require("json", "core").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing != module.split(".")[0]:
            raise
        why = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"{module!r} is needed{why} but is not installed; "
            f"install it with: pip install 'blendrank[{extra}]'"
        ) from exc

"""``blendrank`` command line. Each subcommand lives in its own module exposing
``add_parser(subparsers)`` (which sets ``func``) and a ``run(args) -> int``."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

from blendrank.errors import BlendrankError

# (module, command) pairs; a module that is not there yet is simply not offered.
COMMANDS = (
    "demo",
    "index",
    "search",
    "info",
    "verify",
    "optimize",
    "rerank",
    "models",
    "eval",
    "train",
    "serve",
    "migrate",
    "calibrate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blendrank",
        description="Hybrid retrieval (BM25 + dense, fused, filtered) and reranking for RAG.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"blendrank.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"blendrank.cli.{name}_cmd":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def _version() -> str:
    from blendrank._version import __version__

    return f"blendrank {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BlendrankError as exc:
        print(f"blendrank {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError, ValueError) as exc:
        print(f"blendrank {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        print(
            f"blendrank {args.command}: error: no space left on the device "
            f"({exc.filename or 'while writing'}); nothing was committed, the index is as it "
            "was: free some space and run the command again",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"blendrank {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `blendrank ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())

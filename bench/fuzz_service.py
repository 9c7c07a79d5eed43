"""The HTTP property test with many cases: random documents, ids and metadata (NaN,
Infinity, 400-digit numbers, lone surrogates, control characters) PUT to a real server on
loopback; every response must be below 500 and a refused write must change nothing.

    python bench/fuzz_service.py [--examples 10000]

Runs ``tests/service/test_properties.py`` with ``BLENDRANK_FUZZ_EXAMPLES`` and writes the
"fuzz" section of docs/robustness.md and bench/results/fuzz_service.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, save_json, write_section_in  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    env = {**os.environ, "BLENDRANK_FUZZ_EXAMPLES": str(args.examples)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/service/test_properties.py",
            "--hypothesis-show-statistics",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    passed = done.returncode == 0
    print(done.stdout[-3000:])
    save_json(
        "fuzz_service",
        {
            "machine": machine(),
            "examples": args.examples,
            "passed": passed,
            "seconds": round(seconds),
        },
    )
    verdict = (
        "0 responses >= 500, 0 changed indexes on refusal" if passed else "FAILED: see the run"
    )
    lines = [
        "## Random documents over HTTP (hypothesis)",
        "",
        f"{args.examples} generated PUT /documents requests against a real server on loopback "
        f"(BM25 index): {verdict}. {round(seconds)} s.",
        "",
        "Each case sends an id (any code point, lone surrogates and control characters "
        "included, percent-encoded), a text and nested metadata written as raw JSON so that "
        "NaN, Infinity, 1e400 and 400-digit integers reach the server; a 200 must be readable "
        "and deletable, anything else must leave /health's documents and generation as they "
        "were.",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/fuzz_service.py`.",
    ]
    write_section_in(REPO / "docs" / "robustness.md", "fuzz", "\n".join(lines), "# Robustness\n")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

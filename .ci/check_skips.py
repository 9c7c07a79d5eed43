"""Fail when the full run (every extra installed) skipped a test for an unstated reason.

Reads pytest's ``-rs`` summary from the log file given as the first argument. With every
extra installed nothing may skip for a missing package; the reasons below are the only
ones allowed, each for a fact of the machine rather than of the install.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ALLOWED = {
    r"all tests skipped by \+SKIP option": "doctest examples that need a model folder or network",
    r"CUDA|GPU": "no GPU on CI machines",
}
if os.environ.get("CHROMIUM_UNAVAILABLE"):  # .ci/run tried apt-get install chromium and failed
    ALLOWED[r"chromium"] = "Debian's chromium package could not be installed"

log = Path(sys.argv[1]).read_text(encoding="utf-8", errors="replace")
skipped = re.findall(r"^SKIPPED \[(\d+)\] ([^\n]*)$", log, re.M)
unexpected = []
for count, where in skipped:
    reason = next((why for pattern, why in ALLOWED.items() if re.search(pattern, where)), None)
    print(f"  skip x{count}: {where}" + (f"  [allowed: {reason}]" if reason else "  [NOT ALLOWED]"))
    if reason is None:
        unexpected.append(where)
if unexpected:
    sys.exit(f"{len(unexpected)} skip reason(s) not allowed in the full run; install the extra "
             "or state why in .ci/check_skips.py")
print(f"skip reasons: {len(skipped)} line(s), all allowed")

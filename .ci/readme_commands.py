"""Print the README's quick-start commands (the first ```bash block), one per line.

CI runs exactly these, so the README cannot drift from what is tested.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
block = re.search(r"```bash\n(.*?)```", readme, re.S)
if block is None:
    sys.exit("README.md has no ```bash block with the quick-start commands")
commands = [
    line.strip()
    for line in block.group(1).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
if len(commands) != 2:
    sys.exit(f"README.md's first ```bash block should hold 2 commands, found {commands}")
print("\n".join(commands))

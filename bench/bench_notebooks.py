"""How long each solution notebook takes to run top to bottom (a fresh kernel each run).

    python bench/bench_notebooks.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, summarize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run_once(path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / path.parent.name
        shutil.copytree(path.parent, work)
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(work)}}).execute()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        samples = [run_once(path) for _ in range(args.runs)]
        results[path.parent.name] = summarize(samples)
    save("notebooks", {"what": "solution notebook, top to bottom, incl. kernel start", "results": results})


if __name__ == "__main__":
    main()

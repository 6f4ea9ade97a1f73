"""A learner's grade on demand: ``python3 run.py check NOTEBOOK``, as typed, start to last line.

    python bench/bench_check.py [--runs 7] [--assignment 03_momentum]

Times the whole command (interpreter start, imports, sandbox, verifier, the printed table) on the
assignment's solution notebook (full marks) and its untouched student notebook (all "not
implemented yet"), after one warm-up run each (a warm machine: the OS has the files cached).
Target: under 2 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, summarize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def time_check(notebook: Path, runs: int) -> tuple[list[float], str]:
    command = [sys.executable, str(ROOT / "run.py"), "check", str(notebook)]
    last = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        last = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    total = [line for line in last.stdout.splitlines() if line.startswith("total")]
    if not total:
        raise SystemExit(f"run.py check printed no total line:\n{last.stdout}\n{last.stderr}")
    return times, total[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--assignment", default="03_momentum")
    args = parser.parse_args()
    aid = args.assignment
    payload = {"what": f"python3 run.py check on {aid}, whole command"}
    for name, folder in (("solution", "solutions"), ("untouched_student", "notebooks")):
        times, total = time_check(ROOT / folder / aid / f"{aid}.ipynb", args.runs)
        payload[name] = {**summarize(times), "printed": total}
    save("check", payload)


if __name__ == "__main__":
    main()

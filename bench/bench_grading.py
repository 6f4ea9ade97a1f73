"""Grading a class: `nnopt-grade` (sandboxed, verified, parallel) against serial `nbgrader autograde`.

    python bench/bench_grading.py [--students 40] [--assignment 03_momentum] [--runs 1]

Both grade the same submissions in fresh course directories, one after the other, in one run.
The class mixes correct notebooks, untouched stubs and notebooks with one known mistake from
``autograder/mutants`` pasted into a solution cell. The verifier's own cost per submission is
read from the per-submission timing that nnopt-grade records (``timings.verify_s``).
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib import import_module
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, summarize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}


def mutant_source(fn, name: str) -> str:
    """The source of a mutant function, renamed to the exercise it imitates."""
    src = textwrap.dedent(inspect.getsource(fn))
    return src.replace(f"def {fn.__name__}(", f"def {name}(", 1)


def build_class(aid: str, n: int, out: Path, student_nb: Path) -> None:
    source = next((ROOT / "solutions" / aid).glob("*.ipynb"))
    mutants = import_module(f"autograder.mutants.{aid.split('_', 1)[1]}").MUTANTS
    variants = [(ex, m, fn) for ex, table in mutants.items() for m, (fn, _desc) in table.items()]
    for i in range(n):
        nb = nbformat.read(source if i % 4 != 1 else student_nb, as_version=4)
        if i % 4 in (2, 3):
            ex, _m, fn = variants[i % len(variants)]
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == ex:
                    cell.source = "import numpy as np\n" + mutant_source(fn, ex)
        target = out / f"student{i:03d}" / aid
        target.mkdir(parents=True)
        nbformat.write(nb, target / source.name)


def course_dir(tmp: Path, aid: str) -> Path:
    course = tmp / "course"
    shutil.copytree(ROOT / "solutions" / aid, course / "solutions" / aid)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})\n")
    env = {**ENV, "NNOPT_COURSE_ROOT": str(course)}
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", aid, "--force"],
                   cwd=course, env=env, check=True, capture_output=True)
    return course


def time_nbgrader(aid: str, submissions: Path, tmp: Path) -> float:
    course = course_dir(tmp / "plain", aid)
    shutil.copytree(submissions, course / "submitted")
    env = {**ENV, "NNOPT_COURSE_ROOT": str(course)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", aid, "--force"],
                   cwd=course, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def time_nnopt(aid: str, submissions: Path, tmp: Path, workers: int) -> tuple[float, list[dict], Path]:
    course = course_dir(tmp / "nnopt", aid)
    out = tmp / "nnopt-out"
    env = {**ENV, "NNOPT_COURSE_ROOT": str(course)}
    start = time.perf_counter()
    subprocess.run([str(BIN / "nnopt-grade"), aid, str(submissions), "--out", str(out),
                    "--course-dir", str(course), "--workers", str(workers)],
                   cwd=course, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    return elapsed, rows, out


def verify_seconds(out: Path) -> list[float]:
    """Per-submission verifier time, from nnopt-grade's result records."""
    found = []
    for path in out.rglob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        t = data.get("timings", {}) if isinstance(data, dict) else {}
        if isinstance(t, dict) and "verify_s" in t:
            found.append(float(t["verify_s"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignment", default="03_momentum")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    aid = args.assignment
    plain_times, nnopt_times, verify = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nnopt-bench-") as tmp:
            tmp = Path(tmp)
            build_class(aid, args.students, tmp / "submissions", ROOT / "notebooks" / aid / f"{aid}.ipynb")
            plain_times.append(time_nbgrader(aid, tmp / "submissions", tmp))
            elapsed, rows, out = time_nnopt(aid, tmp / "submissions", tmp, args.workers)
            nnopt_times.append(elapsed)
            verify += verify_seconds(out)
            statuses = sorted({r["status"] for r in rows})
    payload = {
        "what": f"grade {args.students} submissions of {aid}",
        "nbgrader_autograde_serial": summarize(plain_times),
        "nnopt_grade": {**summarize(nnopt_times), "workers": args.workers},
        "speedup_median": round(statistics.median(plain_times) / statistics.median(nnopt_times), 2),
        "verifier_per_submission": summarize(verify) if verify else None,
        "statuses_seen": statuses,
    }
    save("grading", payload)


if __name__ == "__main__":
    main()

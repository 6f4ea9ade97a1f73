"""Grading a class: `nnopt-grade` (sandboxed, verified, parallel), full and `--grades-only`,
against serial `nbgrader autograde`.

    python bench/bench_grading.py [--students 40] [--assignment 03_momentum] [--runs 1] [--dask 2]

All grade the same submissions in fresh course directories, one after the other, in one run.
The class mixes correct notebooks, untouched stubs and notebooks with one known mistake from
``autograder/mutants`` pasted into a solution cell. The grades-only run must give every
submission the same score and per-exercise points as the full run (the script fails otherwise).
Per submission: the time in a worker (``seconds`` of each result), the verifier's part
(``timings.verify_s``), and the fixed cost inside it: starting the sandbox with Python and NumPy
(a sandboxed ``python -c "import numpy"``, timed on its own). ``--dask N`` also grades
grades-only on a dask.distributed ``LocalCluster`` of N single-threaded workers.
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


def time_nnopt(aid: str, submissions: Path, tmp: Path, workers: int, *extra: str,
               name: str = "nnopt") -> tuple[float, list[dict], Path]:
    course = course_dir(tmp / name, aid)
    out = tmp / f"{name}-out"
    env = {**ENV, "NNOPT_COURSE_ROOT": str(course)}
    start = time.perf_counter()
    subprocess.run([str(BIN / "nnopt-grade"), aid, str(submissions), "--out", str(out),
                    "--course-dir", str(course), "--workers", str(workers), *extra],
                   cwd=course, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    return elapsed, rows, out


def result_seconds(out: Path, key: str) -> list[float]:
    """Per-submission times from nnopt-grade's result records: ``seconds`` (the whole submission in
    its worker) or a step of ``timings`` (``verify_s``...)."""
    found = []
    for path in (out / "results").glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        value = data.get(key) if key == "seconds" else (data.get("timings") or {}).get(key)
        if isinstance(value, (int, float)):
            found.append(float(value))
    return found


def sandbox_startup(samples: int = 15) -> list[float]:
    """Seconds to start the grading sandbox with Python and import NumPy, doing nothing else."""
    from autograder.sandbox import Limits, build_lib_dir, get_sandbox

    times = []
    with tempfile.TemporaryDirectory(prefix="nnopt-bench-sb-") as tmp:
        sandbox = get_sandbox(build_lib_dir(Path(tmp) / "lib", mpl_cache=False))
        work = Path(tmp) / "work"
        work.mkdir()
        for _ in range(samples):
            start = time.perf_counter()
            run = sandbox.run([sandbox.python, "-I", "-c", "import numpy"], work, Limits())
            times.append(time.perf_counter() - start)
            assert run.returncode == 0, run.describe()
    return times


def scores(rows: list[dict]) -> dict:
    skip = {"student_id", "assignment", "max_score", "status", "flags", "notes"}
    return {r["student_id"]: {k: v for k, v in r.items() if k not in skip} for r in rows}


def time_dask(aid: str, submissions: Path, tmp: Path, n_workers: int) -> tuple[float, list[dict]]:
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        elapsed, rows, _out = time_nnopt(aid, submissions, tmp, 1, "--grades-only", "--scheduler",
                                         cluster.scheduler_address, name="dask")
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignment", default="03_momentum")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--dask", type=int, default=0, metavar="N", help="also grades-only on a LocalCluster of N workers")
    args = parser.parse_args()
    aid = args.assignment
    times = {"plain": [], "full": [], "fast": [], "dask": []}
    per = {"full": [], "fast": [], "verify": []}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="nnopt-bench-") as tmp:
            tmp = Path(tmp)
            build_class(aid, args.students, tmp / "submissions", ROOT / "notebooks" / aid / f"{aid}.ipynb")
            times["plain"].append(time_nbgrader(aid, tmp / "submissions", tmp))
            elapsed, rows, out = time_nnopt(aid, tmp / "submissions", tmp, args.workers)
            times["full"].append(elapsed)
            per["full"] += result_seconds(out, "seconds")
            elapsed, fast_rows, fast_out = time_nnopt(aid, tmp / "submissions", tmp, args.workers, "--grades-only",
                                                      name="fast")
            times["fast"].append(elapsed)
            per["fast"] += result_seconds(fast_out, "seconds")
            per["verify"] += result_seconds(fast_out, "verify_s")
            if scores(fast_rows) != scores(rows):
                raise SystemExit("grades-only and the full run disagree: "
                                 f"{[s for s in scores(rows) if scores(rows)[s] != scores(fast_rows).get(s)]}")
            if args.dask:
                elapsed, dask_rows = time_dask(aid, tmp / "submissions", tmp, args.dask)
                times["dask"].append(elapsed)
                if scores(dask_rows) != scores(rows):
                    raise SystemExit("grades-only on dask and the full run disagree")
            statuses = sorted({r["status"] for r in rows})
    plain = statistics.median(times["plain"])
    payload = {
        "what": f"grade {args.students} submissions of {aid}",
        "nbgrader_autograde_serial": summarize(times["plain"]),
        "nnopt_grade": {**summarize(times["full"]), "workers": args.workers},
        "speedup_median": round(plain / statistics.median(times["full"]), 2),
        "nnopt_grade_grades_only": {**summarize(times["fast"]), "workers": args.workers},
        "grades_only_speedup_median": round(plain / statistics.median(times["fast"]), 2),
        "grades_only_same_scores_as_full": True,
        "per_submission_in_worker": {"full": summarize(per["full"]), "grades_only": summarize(per["fast"]),
                                     "grades_only_verifier": summarize(per["verify"]),
                                     "sandbox_python_numpy_startup": summarize(sandbox_startup())},
        "statuses_seen": statuses,
    }
    if times["dask"]:
        payload["grades_only_dask_local_cluster"] = {**summarize(times["dask"]), "workers": args.dask}
    save("grading", payload)


if __name__ == "__main__":
    main()

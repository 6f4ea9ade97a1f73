"""Grade a class: find the submissions, farm them out, and write every result where it belongs.

The coordinator is the only process that writes the course: the nbgrader gradebook (through
nbgrader's ``Gradebook`` API, as ``SaveAutoGrades``/``AssignLatePenalties`` would), the
autograded notebooks in ``autograded/<student>/<assignment>/`` (so formgrader, ``generate_feedback``
and ``export`` keep working), and the feedback in ``feedback/<student>/<assignment>/``. Workers
(a local process pool, or a Dask cluster) only compute; they get plain jobs and return plain
results.

In ``OUT_DIR`` it writes ``grades.csv``, the feedback HTML, and ``results/<student>.json`` (the
whole result, keyed by a hash of the submitted notebook's bytes, the assignment's version and
the grading options): a re-run reuses every result whose key still matches, so an interrupted
run resumes where it stopped and a repeated run changes nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import hashlib
import json
import multiprocessing
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import nbformat

from ..sandbox import build_lib_dir, get_sandbox
from . import notebooks as nbs
from .status import STATUSES
from .worker import DEFAULT_OPTIONS, grade_submission, kernel_files, resolve_assignment

__all__ = ["GradeOptions", "ClassResult", "grade_class", "load_course", "Course"]

GRADER_VERSION = "nnopt-grade 1"
_AUTOGRADER_DIR = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class GradeOptions:
    """Everything ``nnopt-grade`` takes (see ``autograder.cli``)."""

    assignment: str
    submissions_dir: Path
    out_dir: Path
    course_dir: Path | None = None
    workers: int | None = None
    scheduler: object = None            # a Dask scheduler address, or a dask.distributed.Client
    allow_unsandboxed: bool = False
    cell_timeout: float = DEFAULT_OPTIONS["cell_timeout"]
    notebook_timeout: float = DEFAULT_OPTIONS["notebook_timeout"]
    verify_timeout: float = DEFAULT_OPTIONS["verify_timeout"]
    feedback_timeout: float = DEFAULT_OPTIONS["feedback_timeout"]
    memory_mb: int = DEFAULT_OPTIONS["memory_mb"]
    total_memory_mb: int = DEFAULT_OPTIONS["total_memory_mb"]
    nproc: int = DEFAULT_OPTIONS["nproc"]
    progress: bool = True
    update_gradebook: bool = True
    force: bool = False                 # regrade even when a result with the same key exists
    seed: int | None = None             # the verifier's seed; secret and random unless given (tests)
    students: list | None = None        # grade only these


@dataclasses.dataclass
class ClassResult:
    results: list
    csv_path: Path
    seconds: float
    graded_now: int
    reused: int
    sandboxed: bool


# ---------------------------------------------------------------------------------------------
# The course


@dataclasses.dataclass
class Course:
    root: Path
    config: object
    coursedir: object

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    def path(self, step: str, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(step, student, assignment))

    @property
    def hidden_delimiters(self) -> tuple[str, str]:
        from nbgrader.preprocessors import ClearHiddenTests

        cht = ClearHiddenTests(config=self.config)
        return cht.begin_test_delimeter, cht.end_test_delimeter


def _default_course_dir() -> Path:
    env = os.environ.get("NNOPT_COURSE_ROOT")
    if env:
        return Path(env)
    if Path("nbgrader_config.py").exists():
        return Path.cwd()
    return _AUTOGRADER_DIR.parent


def load_course(course_dir: Path | None) -> Course:
    """nbgrader's configuration of the course in ``course_dir`` (its ``nbgrader_config.py``), rooted there."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_dir or _default_course_dir()).resolve()
    config = Config()
    if (root / "nbgrader_config.py").exists():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    return Course(root=root, config=config, coursedir=CourseDirectory(config=config))


# ---------------------------------------------------------------------------------------------
# Submissions and keys


def _code_fingerprint(assignment_ref: str) -> str:
    h = hashlib.sha256(GRADER_VERSION.encode())
    files = sorted(p for p in _AUTOGRADER_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    if ":" in assignment_ref:
        import importlib.util

        spec = importlib.util.find_spec(assignment_ref.partition(":")[0])
        if spec and spec.origin:
            files.append(Path(spec.origin))
    for p in files:
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _discover(submissions_dir: Path, assignment_id: str, notebook: str, only=None) -> list[dict]:
    subs = []
    for student_dir in sorted(Path(submissions_dir).iterdir()):
        if not student_dir.is_dir() or student_dir.name.startswith("."):
            continue
        if only is not None and student_dir.name not in only:
            continue
        adir = student_dir / assignment_id
        if not adir.is_dir():
            continue
        nb_path = adir / notebook
        others = sorted(p.name for p in adir.glob("*.ipynb") if p.name != notebook)
        notes = []
        # Both files come from the student. Only regular files are read, and only so much of them:
        # a symlink (to /dev/zero, to another student's notebook), a FIFO or a huge file must not
        # hang or exhaust the grader.
        raw_ts = _read_submitted(ts_path := adir / "timestamp.txt", 4096)
        timestamp = raw_ts.decode("utf-8", errors="replace").strip()[:64] if raw_ts is not None else None
        if timestamp:
            try:  # nbgrader parses it when the submission is recorded: garbage would crash the whole batch
                from nbgrader.utils import parse_utc

                parse_utc(timestamp)
            except Exception:  # noqa: BLE001 - dateutil's ParserError, OverflowError, ...
                notes.append(f"the submission's timestamp.txt ({timestamp[:40]!r}) is not a timestamp; ignored")
                timestamp = None
        elif ts_path.is_symlink() or (ts_path.exists() and not ts_path.is_file()):
            notes.append("the submission's timestamp.txt is not a regular file; ignored")
        data = _read_submitted(nb_path, nbs.MAX_NOTEBOOK_BYTES + 1)
        if data is None and (nb_path.is_symlink() or nb_path.exists()):
            others = sorted(others + [f"{notebook} (not a regular file: not read)"])
        subs.append({"student_id": student_dir.name, "notebook_bytes": data, "other_notebooks": others,
                     "timestamp": timestamp or None, "notes": notes})
    return subs


def _read_submitted(path: Path, cap: int) -> bytes | None:
    """At most ``cap`` bytes of ``path`` if it is a regular file (not a symlink, FIFO or device), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(cap)
    finally:
        os.close(fd)


def _key(sub: dict, version: str, fingerprint: str) -> str:
    h = hashlib.sha256()
    h.update(version.encode())
    h.update(fingerprint.encode())
    h.update(b"<none>" if sub["notebook_bytes"] is None else hashlib.sha256(sub["notebook_bytes"]).digest())
    h.update(json.dumps(sub["other_notebooks"]).encode())
    return h.hexdigest()


def _safe_name(student_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in student_id) or "_"


def _load_cached(out_dir: Path, student_id: str, key: str) -> dict | None:
    path = out_dir / "results" / f"{_safe_name(student_id)}.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if result.get("key") != key or result.get("status") == "grader-error" or result.get("student_id") != student_id:
        return None
    return result


def _save_result(out_dir: Path, result: dict) -> None:
    path = out_dir / "results" / f"{_safe_name(result['student_id'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Running the jobs


def _run_jobs(jobs: list[dict], opts: GradeOptions, on_result) -> None:
    if not jobs:
        return
    if opts.scheduler is not None:
        from dask.distributed import Client, as_completed

        client = opts.scheduler if isinstance(opts.scheduler, Client) else Client(opts.scheduler)
        try:
            futures = {client.submit(grade_submission, job, pure=False, key=f"nnopt-grade-{uuid.uuid4().hex}"): job
                       for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker that died
                    res = _failed(job, exc)
                on_result(res)
        finally:
            if client is not opts.scheduler:
                client.close()
        return
    workers = opts.workers or os.cpu_count() or 1
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            on_result(grade_submission(job))
        return
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = {pool.submit(grade_submission, job): job for job in jobs}
        for fut in cf.as_completed(futures):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker process that died
                res = _failed(job, exc)
            on_result(res)


def _failed(job: dict, exc: BaseException) -> dict:
    return {"student_id": job["student_id"], "assignment": job["assignment_id"], "notebook": job["notebook"],
            "key": job["key"], "status": "grader-error", "flags": ["grader-error"],
            "notes": [f"the grading worker failed: {type(exc).__name__}: {exc}"[:500]], "score": 0.0,
            "max_score": None, "cells": {}, "exercises": {}, "timestamp": job.get("timestamp"),
            "autograded": None, "feedback_html": None, "seconds": None}


# ---------------------------------------------------------------------------------------------
# Writing the course


def _ensure_gradebook(course: Course, assignment_id: str, notebook_id: str, master) -> list[str]:
    """Make sure the gradebook knows the assignment (as ``generate_assignment`` would record it)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import SaveCells

    notes = []
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            nb = gb.find_notebook(notebook_id, assignment_id)
            known = {c.name for c in nb.grade_cells}
        except MissingEntry:
            known = None
        if known is None:
            gb.update_or_create_assignment(assignment_id)
            notes.append(f"the gradebook had no {assignment_id}/{notebook_id}; recorded it from the source notebook")
    if known is None:
        resources = {"nbgrader": {"db_url": course.db_url, "assignment": assignment_id, "notebook": notebook_id}}
        SaveCells(config=course.config).preprocess(nbformat.reads(nbformat.writes(master), as_version=4), resources)
    else:
        wanted = {g["grade_id"] for g in nbs.grade_cells(master)}
        if wanted != known:
            notes.append(f"warning: the gradebook's grade cells {sorted(known)} differ from the source's {sorted(wanted)}; "
                         "re-run nbgrader generate_assignment")
    return notes


def _write_gradebook(course: Course, results: list[dict], assignment_id: str, notebook_id: str, master) -> None:
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties

    solution_ids = [nbs._gid(c) for c in master.cells if nbs._is(c, "solution") and nbs._gid(c)]
    with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore")  # nbgrader's update_or_create_submission trips SQLAlchemy autoflush warnings
        for r in results:
            sid = r["student_id"]
            gb.update_or_create_student(sid)
            kwargs = {"timestamp": r["timestamp"]} if r.get("timestamp") else {}
            gb.update_or_create_submission(assignment_id, sid, **kwargs)
            sub_nb = gb.find_submission_notebook(notebook_id, assignment_id, sid)
            tampered = {e["grade_id"] for e in r.get("exercises", {}).values()
                        if e.get("kernel_passed") and not e.get("passed")}
            for gid, cell in r.get("cells", {}).items():
                try:
                    grade = gb.find_grade(gid, notebook_id, assignment_id, sid)
                except MissingEntry:
                    continue
                if cell["kind"] == "test":
                    grade.auto_score = float(cell["score"] or 0.0)
                    grade.needs_manual_grade = grade.manual_score is not None or gid in tampered
                else:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
            if r["status"] == "grader-error":
                for grade in sub_nb.grades:
                    grade.needs_manual_grade = True
            unchanged = set(r.get("unchanged_solutions", []))
            per_cell = {}
            for ex in r.get("exercises", {}).values():
                if ex.get("solution_cell"):
                    text = (f"Verifier: {ex['score']:g}/{ex['points']:g} ({'passed' if ex['passed'] else ex['outcome']})"
                            + "".join(f"\n- {p}" for p in ex.get("problems", [])[:3]))
                    per_cell[ex["solution_cell"]] = text
            for gid in solution_ids:
                try:
                    comment = gb.find_comment(gid, notebook_id, assignment_id, sid)
                except MissingEntry:
                    continue
                if gid in unchanged:
                    comment.auto_comment = "No response."
                else:
                    comment.auto_comment = per_cell.get(gid)
                if gid == solution_ids[0] and r["status"] != "graded":
                    note = f"Grader status: {r['status']}. " + " ".join(r.get("notes", [])[:3])
                    comment.auto_comment = (note + ("\n" + comment.auto_comment if comment.auto_comment else ""))[:4000]
            sub_nb.flagged = r["status"] not in ("graded",)
            gb.db.commit()
    for r in results:
        if r.get("timestamp"):
            resources = {"nbgrader": {"db_url": course.db_url, "assignment": assignment_id, "notebook": notebook_id,
                                      "student": r["student_id"]}}
            try:
                AssignLatePenalties(config=course.config).preprocess(nbformat.v4.new_notebook(), resources)
            except Exception as exc:  # noqa: BLE001 - a late-penalty plugin must not lose the grades
                r.setdefault("notes", []).append(f"late penalty not assigned: {exc}"[:200])


def _write_files(course: Course, opts: GradeOptions, results: list[dict], assignment_id: str, notebook: str,
                 submissions: dict, course_files: bool = True) -> None:
    """Feedback HTML into OUT_DIR; with ``course_files``, autograded notebooks and feedback into the course."""
    stem = Path(notebook).stem
    for r in results:
        sid = r["student_id"]
        targets = [Path(opts.out_dir) / "feedback" / _safe_name(sid) / assignment_id]
        adir = course.path(course.coursedir.autograded_directory, sid, assignment_id)
        fdir = course.path(course.coursedir.feedback_directory, sid, assignment_id)
        ts = submissions.get(sid, {}).get("timestamp")
        if r.get("autograded") and course_files:
            adir.mkdir(parents=True, exist_ok=True)
            (adir / notebook).write_text(r["autograded"], encoding="utf-8")
            if ts:
                (adir / "timestamp.txt").write_text(ts)
            targets.append(fdir)
        if r.get("feedback_html"):
            for d in targets:
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{stem}.html").write_text(r["feedback_html"], encoding="utf-8")
                if ts and d == fdir:
                    (d / "timestamp.txt").write_text(ts)


def _write_csv(path: Path, results: list[dict], exercise_names: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment", "score", "max_score", "status"] + exercise_names + ["flags", "notes"])
        for r in sorted(results, key=lambda r: r["student_id"]):
            exs = r.get("exercises", {})
            w.writerow([r["student_id"], r["assignment"], _num(r.get("score")), _num(r.get("max_score")), r["status"]]
                       + [_num(exs.get(n, {}).get("score")) for n in exercise_names]
                       + ["+".join(r.get("flags", [])), " | ".join(r.get("notes", []))[:2000]])
    os.replace(tmp, path)


def _num(x) -> str:
    if x is None:
        return ""
    return f"{float(x):g}"


def _summary(results: list[dict], exercise_names: list[str], seconds: float, graded_now: int, reused: int,
             workers: str) -> str:
    rows = [["student", "status", "score"] + exercise_names]
    for r in sorted(results, key=lambda r: r["student_id"]):
        exs = r.get("exercises", {})
        rows.append([r["student_id"], r["status"], f"{_num(r.get('score'))}/{_num(r.get('max_score'))}"]
                    + [_num(exs.get(n, {}).get("score")) or "-" for n in exercise_names])
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    per = [r["seconds"] for r in results if r.get("seconds") and not r.get("_reused")]
    lines.append("")
    lines.append(f"{len(results)} submissions: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts)
                 + f"; graded {graded_now} now, reused {reused} ({workers}); {seconds:.1f} s"
                 + (f", {sum(per) / len(per):.1f} s per submission in a worker" if per else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def grade_class(opts: GradeOptions, log=print) -> ClassResult:
    """Grade every ``<student>/<assignment>/`` under ``opts.submissions_dir`` (see the module docstring)."""
    t0 = time.monotonic()
    # nbgrader creates or upgrades the gradebook by running `alembic`, found on PATH.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    out_dir = Path(opts.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    assignment = resolve_assignment(opts.assignment)
    aid, notebook = assignment.id, assignment.notebook
    course = load_course(opts.course_dir)
    source_path = course.path(course.coursedir.source_directory, ".", aid) / notebook
    if not source_path.is_file():
        raise FileNotFoundError(f"no source notebook {source_path}")
    source = nbformat.read(source_path, as_version=4)
    master = nbs.build_master(source, course.config)
    released = nbs.build_student_version(master, course.config)
    master_text = nbformat.writes(master)

    work_dir = Path(tempfile.gettempdir()) / f"nnopt-grade-{uuid.uuid4().hex[:12]}"
    work_dir.mkdir(mode=0o755)
    os.chmod(work_dir, 0o755)
    try:
        lib_dir = build_lib_dir(work_dir / "lib", kernel_files(assignment, opts.assignment))
        sandbox = get_sandbox(lib_dir, allow_unsandboxed=opts.allow_unsandboxed)  # refuses early without bwrap
        if not sandbox.sandboxed:
            log(f"WARNING: grading WITHOUT a sandbox ({sandbox.why_unsandboxed}); every result will say 'unsandboxed'")
        options = {**DEFAULT_OPTIONS, "cell_timeout": float(opts.cell_timeout),
                   "notebook_timeout": float(opts.notebook_timeout), "verify_timeout": float(opts.verify_timeout),
                   "feedback_timeout": float(opts.feedback_timeout),
                   "memory_mb": int(opts.memory_mb), "total_memory_mb": int(opts.total_memory_mb),
                   "nproc": int(opts.nproc), "allow_unsandboxed": bool(opts.allow_unsandboxed)}
        fingerprint = json.dumps({k: v for k, v in options.items()}, sort_keys=True) + f"|sandboxed={sandbox.sandboxed}"
        version = hashlib.sha256((master_text + _code_fingerprint(opts.assignment)).encode()).hexdigest()
        seed = opts.seed if opts.seed is not None else secrets.randbits(62)
        run_id = uuid.uuid4().hex[:12]
        subs = _discover(Path(opts.submissions_dir), aid, notebook, opts.students)
        notes = _ensure_gradebook(course, aid, Path(notebook).stem, master) if opts.update_gradebook else []
        for n in notes:
            log(n)

        results, jobs = [], []
        for sub in subs:
            key = _key(sub, version, fingerprint)
            cached = None if opts.force else _load_cached(out_dir, sub["student_id"], key)
            if cached is not None:
                cached["_reused"] = True
                results.append(cached)
                continue
            jobs.append({**sub, "key": key, "run_id": run_id, "assignment_ref": opts.assignment, "assignment_id": aid,
                         "notebook": notebook, "master": master_text, "released": nbformat.writes(released),
                         "seed": seed, "options": options, "lib_dir": str(lib_dir), "work_dir": str(work_dir),
                         "hidden_delimiters": list(course.hidden_delimiters)})
        reused = len(results)
        progress = None
        if opts.progress:
            from tqdm import tqdm

            progress = tqdm(total=len(subs), initial=reused, desc=f"grading {aid}", unit="nb", file=sys.stderr)

        def on_result(res: dict) -> None:
            if res.get("status") != "grader-error":
                _save_result(out_dir, res)
            results.append(res)
            if progress is not None:
                progress.set_postfix_str(f"{res['student_id']}: {res['status']}", refresh=False)
                progress.update(1)

        try:
            _run_jobs(jobs, opts, on_result)
        finally:
            if progress is not None:
                progress.close()

        by_student = {s["student_id"]: s for s in subs}
        if opts.update_gradebook:
            _write_gradebook(course, results, aid, Path(notebook).stem, master)
        _write_files(course, opts, results, aid, notebook, by_student, course_files=opts.update_gradebook)
        names = [ex.name for ex in assignment.exercises]
        csv_path = out_dir / "grades.csv"
        _write_csv(csv_path, results, names)
        seconds = time.monotonic() - t0
        where = (f"dask scheduler {opts.scheduler if isinstance(opts.scheduler, str) else 'client'}"
                 if opts.scheduler is not None else f"{opts.workers or os.cpu_count()} local workers")
        log(_summary(results, names, seconds, len(jobs), reused, where))
        log(f"grades: {csv_path}")
        for r in results:
            r.pop("_reused", None)
        return ClassResult(results=sorted(results, key=lambda r: r["student_id"]), csv_path=csv_path,
                           seconds=seconds, graded_now=len(jobs), reused=reused, sandboxed=sandbox.sandboxed)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

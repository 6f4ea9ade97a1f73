"""Grade a class: find the submissions, farm them out, and write every result where it belongs.

The coordinator is the only process that writes the course: the nbgrader gradebook (through
nbgrader's ``Gradebook`` API, as ``SaveAutoGrades``/``AssignLatePenalties`` would), the
autograded notebooks in ``autograded/<student>/<assignment>/`` (so formgrader, ``generate_feedback``
and ``export`` keep working), and the feedback in ``feedback/<student>/<assignment>/``. Workers
(a local process pool, or a Dask cluster) only compute; they get plain jobs and return plain
results.

In ``OUT_DIR`` it writes ``grades.csv``, the feedback HTML, and ``results/<name>.json`` (the
whole result, keyed by a hash of the submitted notebook's bytes, the assignment's version and
the grading options): a re-run reuses every result whose key still matches, so an interrupted
run resumes where it stopped and a repeated run changes nothing.

Student ids are the names of the folders in ``SUBMISSIONS_DIR``, so anything a file name can hold.
What the grader does with them (see "Student ids" below):

- in ``OUT_DIR``, a student's files are named by :func:`_safe_name`: the id itself when it is short,
  lower-case ASCII (``alice``, ``s1234``), else a readable prefix, ``~`` and a hash of the exact id
  (``col a`` -> ``col_a~<12 hex>``): bounded length, and never shared by two ids;
- in the course, ``autograded/<id>/`` and ``feedback/<id>/`` and the gradebook use the exact id, as
  nbgrader does (formgrader and ``nbgrader export`` look students up by it). An id nbgrader cannot take
  faithfully (see :func:`student_id_problem`: control characters, not UTF-8, a comma or double quote,
  over 128 characters, white space at either end) is still graded, into ``OUT_DIR`` only, with the
  status ``bad-student-id``;
- ``grades.csv`` keeps the exact ids, with spreadsheet formulas neutralized (:func:`_csv_text`); the
  terminal shows them escaped (:func:`display_id`);
- a student folder, or its assignment folder, that is a symbolic link is not followed: the submission
  is reported as ``no-notebook`` with a note saying why (a link can point at another student's work);
- one submission never stops the batch: a failure while saving, recording or writing one student's
  results marks that student ``grader-error`` and the others go on, on every run.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
import unicodedata
import uuid
import warnings
from pathlib import Path

import nbformat

from ..sandbox import build_lib_dir, get_sandbox
from . import notebooks as nbs
from .status import STATUSES, choose_status
from .kernel_data import kernel_files, resolve_assignment
from .options import GradeOptions
from .records import GradeJob, grader_error
from .worker import grade_submission

__all__ = ["GradeOptions", "ClassResult", "grade_class", "load_course", "Course"]

GRADER_VERSION = "nnopt-grade 1"
_AUTOGRADER_DIR = Path(__file__).resolve().parent.parent


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
        """nbgrader's folder for ``step`` (``autograded``, ``feedback``, ...): the exact student id is the
        folder's name, as nbgrader names it, so only ids without a :func:`student_id_problem` come here."""
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
    """One entry per ``<student>/<assignment_id>/`` folder (hidden folders, ``.*``, are skipped).

    Symbolic links are not followed: a student folder, or its assignment folder, that is a link
    would let one submission be another student's (or any folder on the machine), so it is reported
    as a submission without a notebook, with a note saying why, and nothing behind it is read.
    """
    subs = []
    for student_dir in sorted(Path(submissions_dir).iterdir()):
        if student_dir.name.startswith("."):
            continue
        if only is not None and student_dir.name not in only:
            continue
        try:
            sub = _discover_one(student_dir, assignment_id, notebook)
        except Exception as exc:  # noqa: BLE001 - one unreadable folder must not stop the class
            sub = {"student_id": student_dir.name, "notebook_bytes": None, "other_notebooks": [], "timestamp": None,
                   "notes": [f"the submission could not be read: {type(exc).__name__}"]}
        if sub is not None:
            subs.append(sub)
    return subs


def _discover_one(student_dir: Path, assignment_id: str, notebook: str) -> dict | None:
    adir = student_dir / assignment_id
    for link, what in ((student_dir, "the student's folder"), (adir, f"the folder {assignment_id}")):
        if link.is_symlink():
            if not adir.is_dir():  # a link to something that is no submission: ignored, as before
                return None
            return {"student_id": student_dir.name, "notebook_bytes": None, "other_notebooks": [], "timestamp": None,
                    "notes": [f"{what} is a symbolic link and is not followed (a link can point at another student's "
                              "work): nothing was graded; replace it with a real folder and grade again"]}
    if not student_dir.is_dir() or not adir.is_dir():
        return None
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
    secret = _submission_secret(adir, notes)
    data = _read_submitted(nb_path, nbs.MAX_NOTEBOOK_BYTES + 1)
    if data is None and (nb_path.is_symlink() or nb_path.exists()):
        others = sorted(others + [f"{notebook} (not a regular file: not read)"])
    return {"student_id": student_dir.name, "notebook_bytes": data, "other_notebooks": others,
            "timestamp": timestamp or None, "secret": secret, "notes": notes}


def _submission_secret(adir: Path, notes: list) -> str | None:
    """The ``submission_secret.txt`` nbgrader's exchange wrote at submit time (hex), or None.

    ``nbgrader release_feedback`` needs it beside the feedback (it names the feedback file the
    student's ``fetch_feedback`` looks for). It comes from the student's folder: only a regular,
    small file of hex digits is kept.
    """
    path = adir / "submission_secret.txt"
    raw = _read_submitted(path, 1024)
    if raw is None:
        if path.is_symlink() or path.exists():
            notes.append("the submission's submission_secret.txt is not a regular file; ignored")
        return None
    secret = raw.decode("ascii", errors="replace").strip()
    if not re.fullmatch(r"[0-9a-fA-F]{16,512}", secret):
        notes.append("the submission's submission_secret.txt is not nbgrader's hex secret; ignored "
                     "(nbgrader release_feedback will skip this student)")
        return None
    return secret


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


# ---------------------------------------------------------------------------------------------
# Student ids
#
# An id is the name of a folder in SUBMISSIONS_DIR: never empty, "." or "..", never with "/" or NUL,
# at most 255 bytes (on Linux), but otherwise anything: spaces, accents in either Unicode
# normalization, control characters, spreadsheet formulas, bytes that are not UTF-8 (they arrive
# as lone surrogates, "\udcff").

#: nbgrader's gradebook declares ``Student.id`` as ``String(128)``: SQLite stores longer ids, other databases refuse them.
MAX_STUDENT_ID = 128
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Ids used as they are for file names in OUT_DIR. They have no "~" and no upper case, and hashed names
#: always have a "~": two ids never share a file, even on a case-insensitive or normalizing file system.
_PLAIN_NAME = re.compile(r"[a-z0-9_][a-z0-9._@-]{0,63}")
_NAME_PREFIX_BYTES = 48


def student_id_problem(student_id: str) -> str | None:
    """Why ``student_id`` cannot be the student's id in the course (gradebook, ``autograded/``,
    ``feedback/``), in words, or None when it can.

    The course uses the exact id, as nbgrader does, so an id is refused rather than renamed when
    nbgrader could not use it faithfully: not UTF-8 text (the gradebook stores text), control
    characters (newline, tab, escape sequences, bidirectional overrides: they reach nbgrader's logs,
    formgrader and exports as they are), a comma or a double quote (``nbgrader export`` writes ids
    into its CSV unquoted: the columns would shift), more than :data:`MAX_STUDENT_ID` characters, or
    white space at either end (nbgrader's ``--student`` strips it, so its commands could not name the
    student). Anything else is taken as it is (``col a``, ``José``, ``=1+1``, ...).
    """
    if student_id in ("", ".", "..") or "/" in student_id or "\0" in student_id:
        return "is not a folder name"
    try:
        student_id.encode("utf-8")
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    bad = sorted({ch for ch in student_id if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS})
    if bad:
        return "has control characters (" + ", ".join(f"U+{ord(ch):04X}" for ch in bad[:6]) + ")"
    if "," in student_id or '"' in student_id:
        return "has a comma or a double quote (nbgrader export would write it unquoted into its CSV)"
    if len(student_id) > MAX_STUDENT_ID:
        return f"has {len(student_id)} characters, nbgrader's gradebook takes at most {MAX_STUDENT_ID}"
    if student_id != student_id.strip():
        return "begins or ends with white space (nbgrader strips it)"
    return None


def _id_bytes(student_id: str) -> bytes:
    """The folder name's bytes (a name that is not UTF-8 comes back exactly)."""
    try:
        return student_id.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return student_id.encode("utf-8", "surrogatepass")


def _id_hash(student_id: str) -> str:
    return hashlib.sha256(_id_bytes(student_id)).hexdigest()[:12]


def _safe_name(student_id: str) -> str:
    """The name of a student's files and folders in OUT_DIR (``results/<name>.json``, ``feedback/<name>/``).

    A short id of lower-case ASCII letters, digits and ``._@-`` (``alice``, ``s-1234``) is its own
    name. Any other id is a readable prefix (NFC, letters and digits kept, anything else ``_``, at most
    48 bytes), ``~`` and 12 hex digits of the SHA-256 of the id's exact bytes: ``col a`` ->
    ``col_a~…``, ``José`` -> ``José~…`` (its NFD twin gets another hash). At most 64 bytes, and unique:
    plain names have no ``~`` and no upper case, hashed ones always a ``~``.
    """
    if _PLAIN_NAME.fullmatch(student_id):
        return student_id
    prefix = "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in unicodedata.normalize("NFC", student_id))
    prefix = prefix.encode("utf-8", "ignore")[:_NAME_PREFIX_BYTES].decode("utf-8", "ignore")
    if not prefix or prefix[0] in ".-":
        prefix = "_" + prefix
    return f"{prefix}~{_id_hash(student_id)}"


def _escape_char(ch: str) -> str:
    o = ord(ch)
    return "\\\\" if ch == "\\" else f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def display_id(student_id: str, width: int = 40) -> str:
    """``student_id`` as the terminal may show it: as it is when it is plain printable text, else with
    backslash escapes for control characters (``\\x1b``), invalid bytes, combining marks of a
    non-NFC id (``Jose\\u0301``), white space at either end and backslashes; longer than ``width``,
    cut and ended with ``...~`` and the hash that also names its files in OUT_DIR."""
    text = student_id
    if not (text.isprintable() and "\\" not in text and text == text.strip() and unicodedata.is_normalized("NFC", text)):
        last = len(text) - 1
        text = "".join(_escape_char(ch) if (ch == "\\" or not ch.isprintable() or unicodedata.combining(ch)
                                            or unicodedata.normalize("NFC", ch) != ch
                                            or (ch.isspace() and i in (0, last))) else ch
                       for i, ch in enumerate(text))
    if len(text) > width:
        text = text[:max(width - 16, 8)] + "...~" + _id_hash(student_id)
    return text


def _lookalike_notes(student_ids) -> dict[str, str]:
    """A note for each id that differs from another one only by Unicode normalization, letter case or
    character width (``José`` and ``Jose\\u0301``, ``Alice`` and ``alice``)."""
    groups: dict[str, list[str]] = {}
    for sid in student_ids:
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", sid).casefold())
        groups.setdefault(folded, []).append(sid)
    notes = {}
    for same in groups.values():
        for sid in same if len(same) > 1 else ():
            others = ", ".join(display_id(o) for o in same if o != sid)
            notes[sid] = (f"this student id looks like another one ({others}): they differ only by Unicode "
                          "normalization, letter case or width; graded and recorded as different students "
                          "(a case-insensitive or normalizing file system, as on macOS or Windows, would mix "
                          "up their folders): check which is right")
    return notes


def _mark(result: dict, flag: str, note: str | None = None) -> None:
    """Add ``flag`` (a status word) and ``note`` to ``result`` and choose its status again."""
    flags = set(result.get("flags") or [])
    flags.add(flag)
    result["flags"] = sorted(flags)
    notes = result.setdefault("notes", [])
    if note and note not in notes:
        notes.insert(0, note)
    result["status"] = choose_status(flags)


def _check_id(result: dict) -> None:
    """Mark a result whose id the course cannot take ``bad-student-id`` (idempotent)."""
    problem = student_id_problem(result["student_id"])
    if problem:
        _mark(result, "bad-student-id", f"not recorded in the course (gradebook, autograded/, feedback/): the "
                                        f"student id {problem}; rename the folder in the submissions and grade again")


def _feedback_file(out_dir: Path, result: dict) -> Path:
    """Where the result's feedback page is in OUT (see :func:`write_files_of`)."""
    return (out_dir / "feedback" / _safe_name(result["student_id"]) / result["assignment"]
            / f"{Path(result['notebook']).stem}.html")


def stored_results(out_dir: Path, student_id: str | None = None) -> list[dict]:
    """Every stored result in ``OUT/results/`` that is what its file name says (the student id's safe name),
    with its feedback page read back from OUT (see :func:`save_result`); a page that is gone or was changed
    leaves the result without ``feedback_html`` and marked ``feedback_lost``. With ``student_id``, only
    that student's file is read."""
    found = []
    paths = (sorted((out_dir / "results").glob("*.json")) if student_id is None
             else [out_dir / "results" / f"{_safe_name(student_id)}.json"])  # a name, not a glob pattern
    for path in paths:
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not (isinstance(r, dict) and isinstance(r.get("student_id"), str) and isinstance(r.get("assignment"), str)
                and isinstance(r.get("notebook"), str) and path.stem == _safe_name(r["student_id"])):
            continue
        digest = r.pop("feedback_sha256", None)
        if digest:
            try:
                html = _feedback_file(out_dir, r).read_text(encoding="utf-8")
            except (OSError, ValueError):
                html = None
            if html is not None and hashlib.sha256(html.encode()).hexdigest() == digest:
                r["feedback_html"] = html
            else:
                r["feedback_lost"] = True
        found.append(r)
    return found


def _load_cached(out_dir: Path, student_id: str, key: str) -> dict | None:
    mine = [r for r in stored_results(out_dir, student_id) if r["student_id"] == student_id]
    if (len(mine) != 1 or mine[0].get("key") != key or mine[0].get("status") == "grader-error"
            or mine[0].pop("feedback_lost", False)):
        return None  # a feedback page that is gone or changed: grade again
    return mine[0]


def save_result(out_dir: Path, result: dict) -> None:
    """``OUT/results/<name>.json``: the result, but its feedback page, which is written to OUT beside it
    (:func:`write_files_of`) and only named here by its SHA-256 (half the file's size)."""
    path = out_dir / "results" / f"{_safe_name(result['student_id'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in result.items() if k != "feedback_lost"}
    data["feedback_html"] = None
    if result.get("feedback_html"):
        data["feedback_sha256"] = hashlib.sha256(result["feedback_html"].encode()).hexdigest()
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Running the jobs


def _deliver(on_result, job: GradeJob, res) -> None:
    """Hand one job's result to ``on_result``; whatever goes wrong there, the job still gets a result."""
    try:
        on_result(res)
    except Exception as exc:  # noqa: BLE001 - one submission must never stop the class
        try:
            on_result(_failed(job, exc, "recording the result failed"))
        except Exception:  # noqa: BLE001 - the coordinator adds a result for any job left without one
            pass


def _run_jobs(jobs: list[GradeJob], opts: GradeOptions, on_result) -> None:
    """Grade ``jobs`` and call ``on_result`` once per job, as results come in (never raises for one job)."""
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
                _deliver(on_result, job, res)
        finally:
            if client is not opts.scheduler:
                client.close()
        return
    workers = opts.workers or os.cpu_count() or 1
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            try:
                res = grade_submission(job)
            except Exception as exc:  # noqa: BLE001 - grade_submission never raises, but one job must not stop the rest
                res = _failed(job, exc)
            _deliver(on_result, job, res)
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
            _deliver(on_result, job, res)


def _failed(job, exc: BaseException, what: str = "the grading worker failed") -> dict:
    return grader_error(job, exc, what)


# ---------------------------------------------------------------------------------------------
# Writing the course


def _ensure_gradebook(course: Course, assignment_id: str, notebook_id: str, master) -> list[str]:
    """Make sure the gradebook knows the assignment as the source has it (as ``generate_assignment``
    would record it). Changed points are recorded (nbgrader's SaveCells allows that with submissions);
    added or removed grade cells are not (it refuses), and the note says what that means."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import SaveCells

    notes = []
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            nb = gb.find_notebook(notebook_id, assignment_id)
            known = {c.name: float(c.max_score or 0) for c in nb.grade_cells}
        except MissingEntry:
            known = None
        if known is None:
            gb.update_or_create_assignment(assignment_id)
            notes.append(f"the gradebook had no {assignment_id}/{notebook_id}; recorded it from the source notebook")
    wanted = {g["grade_id"]: g["points"] for g in nbs.grade_cells(master)}
    changed = sorted(g for g in wanted if known is not None and g in known and known[g] != wanted[g])
    if known is not None and set(wanted) != set(known):
        notes.append(
            f"warning: the gradebook's grade cells {sorted(known)} differ from the source's {sorted(wanted)} (an "
            "exercise added or removed after release). grades.csv, the feedback and the report follow the source; "
            "the gradebook (formgrader, nbgrader export) keeps the old cells, and nbgrader cannot change them while "
            "it has submissions. Do not run nbgrader generate_assignment for this: see the README, 'Changing an "
            "assignment after release'")
    elif known is None or changed:
        resources = {"nbgrader": {"db_url": course.db_url, "assignment": assignment_id, "notebook": notebook_id}}
        SaveCells(config=course.config).preprocess(nbformat.reads(nbformat.writes(master), as_version=4), resources)
        notes += [f"the gradebook's points for {g} were {known[g]:g}, the source's are {wanted[g]:g}: updated"
                  for g in changed]
    return notes


def _write_gradebook(course: Course, results: list[dict], assignment_id: str, notebook_id: str, master) -> None:
    """Record every result (but a ``bad-student-id``) in the gradebook, as nbgrader's ``SaveAutoGrades``
    would, then its late penalty. A result the gradebook refuses is marked ``grader-error``."""
    from nbgrader.api import Gradebook

    where = _Where(assignment_id, notebook_id, nbs.solution_grade_ids(master))
    recorded = []
    with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore")  # nbgrader's update_or_create_submission trips SQLAlchemy autoflush warnings
        for r in results:
            if "bad-student-id" in (r.get("flags") or []):
                continue  # see student_id_problem: only OUT_DIR has it
            try:
                _record(gb, r, where)
                gb.db.commit()
                recorded.append(r)
            except Exception as exc:  # noqa: BLE001 - one submission the gradebook refuses must not lose the others
                gb.db.rollback()
                _mark(r, "grader-error", f"the gradebook could not record this submission: {type(exc).__name__}: {exc}"[:300])
    for r in recorded:
        if r.get("timestamp"):
            _late_penalty(course, r, where)


@dataclasses.dataclass
class _Where:
    """The gradebook's names of what is recorded."""

    assignment_id: str
    notebook_id: str
    solution_ids: list


def _record(gb, r: dict, where: _Where) -> None:
    """One result into the gradebook (not committed)."""
    sid = r["student_id"]
    gb.update_or_create_student(sid)
    kwargs = {"timestamp": r["timestamp"]} if r.get("timestamp") else {}
    gb.update_or_create_submission(where.assignment_id, sid, **kwargs)
    sub_nb = gb.find_submission_notebook(where.notebook_id, where.assignment_id, sid)
    _record_grades(gb, r, where)
    if r["status"] == "grader-error":
        for grade in sub_nb.grades:
            grade.needs_manual_grade = True
    _record_comments(gb, r, where)
    sub_nb.flagged = r["status"] not in ("graded",)


def _record_grades(gb, r: dict, where: _Where) -> None:
    """Each grade cell's score: a test cell's auto score (to review when tampered with or graded by hand),
    a manual cell to grade by hand."""
    from nbgrader.api import MissingEntry

    sid = r["student_id"]
    tampered = {e["grade_id"] for e in r.get("exercises", {}).values() if e.get("kernel_passed") and not e.get("passed")}
    for gid, cell in r.get("cells", {}).items():
        try:
            grade = gb.find_grade(gid, where.notebook_id, where.assignment_id, sid)
        except MissingEntry:
            continue
        if cell["kind"] == "test":
            grade.auto_score = float(cell["score"] or 0.0)
            grade.needs_manual_grade = grade.manual_score is not None or gid in tampered
        else:
            grade.auto_score = None
            grade.needs_manual_grade = True


def _verifier_comments(r: dict) -> dict:
    """grade_id of a solution cell -> the verifier's verdict on the exercise it holds, in words."""
    per_cell = {}
    for ex in r.get("exercises", {}).values():
        if ex.get("solution_cell"):
            text = (f"Verifier: {ex['score']:g}/{ex['points']:g} ({'passed' if ex['passed'] else ex['outcome']})"
                    + "".join(f"\n- {p}" for p in ex.get("problems", [])[:3]))
            per_cell[ex["solution_cell"]] = text
    return per_cell


def _record_comments(gb, r: dict, where: _Where) -> None:
    """Each solution cell's comment: "No response." when left as released, else the verifier's verdict;
    the first one also says a status other than ``graded``."""
    from nbgrader.api import MissingEntry

    sid = r["student_id"]
    unchanged = set(r.get("unchanged_solutions", []))
    per_cell = _verifier_comments(r)
    for gid in where.solution_ids:
        try:
            comment = gb.find_comment(gid, where.notebook_id, where.assignment_id, sid)
        except MissingEntry:
            continue
        comment.auto_comment = "No response." if gid in unchanged else per_cell.get(gid)
        if gid == where.solution_ids[0] and r["status"] != "graded":
            note = f"Grader status: {r['status']}. " + " ".join(r.get("notes", [])[:3])
            comment.auto_comment = (note + ("\n" + comment.auto_comment if comment.auto_comment else ""))[:4000]


def _late_penalty(course: Course, r: dict, where: _Where) -> None:
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"db_url": course.db_url, "assignment": where.assignment_id,
                              "notebook": where.notebook_id, "student": r["student_id"]}}
    try:
        AssignLatePenalties(config=course.config).preprocess(nbformat.v4.new_notebook(), resources)
    except Exception as exc:  # noqa: BLE001 - a late-penalty plugin must not lose the grades
        r.setdefault("notes", []).append(f"late penalty not assigned: {exc}"[:200])


def _write_files(course: Course, opts: GradeOptions, results: list[dict], assignment_id: str, notebook: str,
                 submissions: dict, course_files: bool = True) -> None:
    """Feedback HTML into ``OUT_DIR/feedback/<name>/`` (see :func:`_safe_name`); with ``course_files``,
    autograded notebooks and feedback into the course, under the exact id (not for a ``bad-student-id``).
    A student whose files cannot be written is marked ``grader-error``; the others are written."""
    for r in results:
        try:
            write_files_of(course, Path(opts.out_dir), r, assignment_id, notebook, submissions,
                            course_files and "bad-student-id" not in (r.get("flags") or []))
        except Exception as exc:  # noqa: BLE001 - one student's files must not stop the others'
            _mark(r, "grader-error", f"the feedback or autograded files could not be written: {type(exc).__name__}: {exc}"[:300])


def write_files_of(course: Course, out_dir: Path, r: dict, assignment_id: str, notebook: str,
                    submissions: dict, course_files: bool) -> None:
    stem = Path(notebook).stem
    sid = r["student_id"]
    targets = [out_dir / "feedback" / _safe_name(sid) / assignment_id]
    adir = course.path(course.coursedir.autograded_directory, sid, assignment_id)
    fdir = course.path(course.coursedir.feedback_directory, sid, assignment_id)
    # nbgrader's own files beside the notebook: the timestamp (late penalties) and the secret
    # (release_feedback / fetch_feedback), as nbgrader's autograde and generate_feedback keep them
    extras = {name: value for name, value in (("timestamp.txt", submissions.get(sid, {}).get("timestamp")),
                                              ("submission_secret.txt", submissions.get(sid, {}).get("secret")))
              if value}
    if r.get("autograded") and course_files:
        adir.mkdir(parents=True, exist_ok=True)
        (adir / notebook).write_text(r["autograded"], encoding="utf-8")
        for name, value in extras.items():
            (adir / name).write_text(value)
        targets.append(fdir)
    if r.get("feedback_html"):
        for d in targets:
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{stem}.html").write_text(r["feedback_html"], encoding="utf-8")
            for name, value in extras.items() if d == fdir else ():
                (d / name).write_text(value)


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"), and the quote that neutralizes it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _csv_text(text) -> str:
    """A text cell of grades.csv: a leading ``'`` when it starts with ``= + - @``, tab or carriage return
    (OWASP's advice: the spreadsheet then shows text, not a formula), or with ``'`` itself, so that
    removing one leading ``'`` always gives the exact text back. Numbers are written as numbers."""
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(path: Path, results: list[dict], exercise_names: list[str], late: dict | None = None) -> None:
    """grades.csv, one row per result, UTF-8 (an id that is not UTF-8 has its bytes as ``\\udcff``).
    ``late``: per student id, the gradebook's ``late_penalty`` and ``timestamp`` (see _late_penalties);
    ``written_score`` / ``written_max``: the written answers a person grades in formgrader (the score stays
    empty until all are graded); ``final_score`` is the score plus the written answers' less the penalty,
    as ``nbgrader export`` computes it."""
    late = late or {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with open(tmp, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment", "score", "max_score", "status"] + exercise_names
                   + ["written_score", "written_max", "late_penalty", "final_score", "timestamp", "flags", "notes"])
        for r in sorted(results, key=lambda r: r["student_id"]):
            try:
                exs = r.get("exercises", {})
                gb = late.get(r["student_id"], {})
                penalty = gb.get("late_penalty")
                written = gb.get("written_score")
                final = (None if r.get("score") is None
                         else max(0.0, float(r["score"]) + float(written or 0.0) - float(penalty or 0.0)))
                row = ([_csv_text(r["student_id"]), _csv_text(r["assignment"]), _num(r.get("score")),
                        _num(r.get("max_score")), _csv_text(r["status"])]
                       + [_num(exs.get(n, {}).get("score")) for n in exercise_names]
                       + [_num(written), _num(gb.get("written_max")), _num(penalty), _num(final),
                          _csv_text(gb.get("timestamp", ""))]
                       + [_csv_text("+".join(r.get("flags", []))), _csv_text(" | ".join(r.get("notes", []))[:2000])])
            except Exception as exc:  # noqa: BLE001 - a result the grader cannot tabulate still gets its row
                row = ([_csv_text(r.get("student_id")), _csv_text(r.get("assignment")), "", "", "grader-error"]
                       + [""] * (len(exercise_names) + 5)
                       + ["grader-error", _csv_text(f"the result could not be tabulated: {exc}")])
            w.writerow(row)
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
        rows.append([display_id(r["student_id"]), r["status"], f"{_num(r.get('score'))}/{_num(r.get('max_score'))}"]
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
    _alembic_on_path()
    out_dir = Path(opts.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    assignment = resolve_assignment(opts.assignment)
    aid, notebook = assignment.id, assignment.notebook
    course = load_course(opts.course_dir)
    master, released = _master_and_released(course, aid, notebook)
    work_dir = Path(tempfile.gettempdir()) / f"nnopt-grade-{uuid.uuid4().hex[:12]}"
    work_dir.mkdir(mode=0o755)
    os.chmod(work_dir, 0o755)
    try:
        # the font cache is for the notebook's figures: a grades-only run draws none
        lib_dir = build_lib_dir(work_dir / "lib", kernel_files(assignment, opts.assignment),
                                mpl_cache=not opts.grades_only)
        sandbox = get_sandbox(lib_dir, allow_unsandboxed=opts.allow_unsandboxed)  # refuses early without bwrap
        if not sandbox.sandboxed:
            log(f"WARNING: grading WITHOUT a sandbox ({sandbox.why_unsandboxed}); every result will say 'unsandboxed'")
        subs = _discover(Path(opts.submissions_dir), aid, notebook, opts.students)
        for n in _ensure_gradebook(course, aid, Path(notebook).stem, master) if opts.update_gradebook else []:
            log(n)
        template = GradeJob(student_id="", run_id=uuid.uuid4().hex[:12], assignment_ref=opts.assignment,
                            assignment_id=aid, notebook=notebook, master=nbformat.writes(master),
                            released=nbformat.writes(released),
                            seed=opts.seed if opts.seed is not None else secrets.randbits(62),
                            options=opts.worker_options(), lib_dir=str(lib_dir), work_dir=str(work_dir),
                            hidden_delimiters=tuple(course.hidden_delimiters))
        results, jobs = _reuse_or_plan(opts, out_dir, subs, template, sandbox.sandboxed)
        reused = len(results)
        _grade_jobs(jobs, opts, out_dir, results, total=len(subs), reused=reused, aid=aid)
        _one_row_each(results, jobs, subs)
        names = [ex.name for ex in assignment.exercises]
        csv_path = _write_all(course, opts, results, aid, notebook, master, subs, names)
        if opts.report:
            write_class_report(out_dir, results + (_other_students(out_dir, results, aid) if opts.students else []), log)
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


def write_class_report(out_dir: Path, results: list[dict], log) -> None:
    """The class report (never at the cost of the grades: a failure is logged)."""
    from .report import write_report

    try:
        page = write_report(out_dir, [{**r, "_name": _safe_name(str(r.get("student_id")))} for r in results])
        log(f"class report: {page}")
    except Exception as exc:  # noqa: BLE001 - grades.csv and the gradebook are written already
        log(f"the class report could not be written: {type(exc).__name__}: {exc}")


def _alembic_on_path() -> None:
    """nbgrader creates or upgrades the gradebook by running `alembic`, found on PATH."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])


def _master_and_released(course: Course, aid: str, notebook: str):
    """The master notebook (as the gradebook stores it) and what students may hold: the student version
    built from the course's source now, followed by the locked cells of every earlier release (see
    :func:`_release_history`), so that a cell that matches an older release is not counted as edited."""
    source_path = course.path(course.coursedir.source_directory, ".", aid) / notebook
    if not source_path.is_file():
        raise FileNotFoundError(f"no source notebook {source_path}")
    master = nbs.build_master(nbformat.read(source_path, as_version=4), course.config)
    released = nbs.build_student_version(master, course.config)
    earlier = _release_history(course, aid, notebook, released)
    released.cells += [nbformat.v4.new_markdown_cell(src, metadata={"nbgrader": {"grade_id": gid}})
                       for gid, sources in earlier.items() for src in sources]
    return master, released


def _read_history(path: Path) -> dict[str, list[str]]:
    """``.nnopt/releases/<id>.json``: grade_id -> the sources of that cell graded against so far."""
    try:
        history = json.loads(path.read_text()) if path.is_file() else {}
        return {g: [x for x in v if isinstance(x, str)] for g, v in history.items() if isinstance(v, list)}
    except (OSError, ValueError, AttributeError):
        return {}


def _release_history(course: Course, aid: str, notebook: str, released) -> dict[str, list[str]]:
    """grade_id -> the sources an earlier release gave a locked cell (not the current one's): from the
    course's ``release/<id>/`` (what ``nbgrader release_assignment`` sent out, if it was not regenerated)
    and from ``.nnopt/releases/<id>.json`` in the course, where every grading run adds the student
    version it graded against. Unreadable history counts as none."""
    locked = {nbs.grade_id_of(c): c.source for c in released.cells if nbs.grade_id_of(c) and nbs.is_locked_kind(c)}
    history_file = Path(course.coursedir.root) / ".nnopt" / "releases" / f"{aid}.json"
    history = _read_history(history_file)
    try:
        sent = nbformat.read(course.path(course.coursedir.release_directory, ".", aid) / notebook, as_version=4)
        for c in sent.cells:
            if nbs.grade_id_of(c) in locked and isinstance(c.get("source"), str):
                history.setdefault(nbs.grade_id_of(c), []).append(c.source)
    except Exception:  # noqa: BLE001 - no release folder (or not a notebook): nothing learned from it
        pass
    for gid, src in locked.items():
        if src not in history.setdefault(gid, []):
            history[gid].append(src)
    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = history_file.with_suffix(".json.part")
        tmp.write_text(json.dumps(history))
        os.replace(tmp, history_file)
    except OSError:
        pass  # a read-only course: this run's release is not remembered
    return {g: [s for s in dict.fromkeys(v) if s != locked[g]] for g, v in history.items() if g in locked}


def _reuse_or_plan(opts: GradeOptions, out_dir: Path, subs: list[dict], template: GradeJob,
                   sandboxed: bool) -> tuple[list[dict], list[GradeJob]]:
    """(the results still valid from an earlier run, unless ``--force``; the jobs of the other submissions)."""
    options = template.options
    fingerprint = json.dumps({k: v for k, v in options.items()}, sort_keys=True) + f"|sandboxed={sandboxed}"
    version = hashlib.sha256((template.master + (template.released or "") + _code_fingerprint(opts.assignment))
                             .encode()).hexdigest()
    results, jobs = [], []
    for sub in subs:
        key = _key(sub, version, fingerprint)
        try:
            cached = None if opts.force else _load_cached(out_dir, sub["student_id"], key)
        except Exception:  # noqa: BLE001 - a result file that cannot be read: grade again
            cached = None
        if cached is not None:
            _check_id(cached)
            cached["_reused"] = True
            results.append(cached)
            continue
        # the exchange's secret stays with the coordinator, which writes it beside the feedback
        jobs.append(dataclasses.replace(template, **{k: v for k, v in sub.items() if k != "secret"}, key=key))
    return results, jobs


def _grade_jobs(jobs: list[GradeJob], opts: GradeOptions, out_dir: Path, results: list[dict], *, total: int,
                reused: int, aid: str) -> None:
    """Grade ``jobs``, adding each result to ``results`` and saving it as it comes, under a progress bar."""
    progress = None
    if opts.progress:
        from tqdm import tqdm

        progress = tqdm(total=total, initial=reused, desc=f"grading {aid}", unit="nb", file=sys.stderr)

    def on_result(res: dict) -> None:
        results.append(res)
        try:
            _check_id(res)
            if res.get("status") != "grader-error":
                save_result(out_dir, res)
        except Exception as exc:  # noqa: BLE001 - e.g. a file system that refuses the name: this student only
            _mark(res, "grader-error", f"the result could not be saved: {type(exc).__name__}: {exc}"[:300])
        if progress is not None:
            try:
                progress.set_postfix_str(f"{display_id(res['student_id'], 24)}: {res['status']}", refresh=False)
                progress.update(1)
            except Exception:  # noqa: BLE001 - the progress bar is not worth a submission
                pass

    try:
        _run_jobs(jobs, opts, on_result)
    finally:
        if progress is not None:
            progress.close()


def _one_row_each(results: list[dict], jobs: list[GradeJob], subs: list[dict]) -> None:
    """One result per student (the last word kept), a ``grader-error`` for a job left without one, and
    the notes on look-alike ids."""
    results[:] = list({r.get("student_id"): r for r in results}.values())
    done = {r.get("student_id") for r in results}
    for job in jobs:
        if job.student_id not in done:
            results.append(_failed(job, RuntimeError("no result came back"), "grading failed"))
            _check_id(results[-1])
    for sid, note in _lookalike_notes([s["student_id"] for s in subs]).items():
        for r in results:
            if r["student_id"] == sid and note not in r.setdefault("notes", []):
                r["notes"].append(note)


def _write_all(course: Course, opts: GradeOptions, results: list[dict], aid: str, notebook: str, master,
               subs: list[dict], names: list[str]) -> Path:
    """The gradebook (unless ``--no-gradebook``), the feedback and autograded files, and grades.csv."""
    if opts.update_gradebook:
        _write_gradebook(course, results, aid, Path(notebook).stem, master)
    _write_files(course, opts, results, aid, notebook, {s["student_id"]: s for s in subs},
                 course_files=opts.update_gradebook)
    csv_path = Path(opts.out_dir) / "grades.csv"
    # --student: grades.csv keeps the rest of the class (their stored results), this run's rows updated
    rows = results + (_other_students(Path(opts.out_dir), results, aid) if opts.students else [])
    late = _late_penalties(course, aid, Path(notebook).stem, rows) if opts.update_gradebook else {}
    _write_csv(csv_path, rows, names, late)
    return csv_path


def _late_penalties(course: Course, aid: str, notebook_id: str, results: list[dict]) -> dict:
    """Per student, what the gradebook holds beside the verified score: the submission's timestamp and
    the late penalty nbgrader's ``AssignLatePenalties`` gave it (so grades.csv's ``final_score`` is
    ``nbgrader export``'s ``score``). Students the gradebook does not have are left out."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    try:
        with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id) as gb:
            warnings.simplefilter("ignore")
            for r in results:
                sid = r.get("student_id")
                if "bad-student-id" in (r.get("flags") or []) or not isinstance(sid, str):
                    continue
                try:
                    sub = gb.find_submission(aid, sid)
                    nb = gb.find_submission_notebook(notebook_id, aid, sid)
                except MissingEntry:
                    continue
                found[sid] = {"late_penalty": float(nb.late_submission_penalty or 0.0),
                              "timestamp": sub.timestamp.isoformat(sep=" ") if sub.timestamp else "",
                              **_written_grades(nb)}
    except Exception:  # noqa: BLE001 - grades.csv is written without these columns' values
        return {}
    return found


def _written_grades(nb) -> dict:
    """The written answers (markdown grade cells) of a gradebook submission notebook: their points, and
    their score once a person has graded every one of them (``None`` before)."""
    written = [g for g in nb.grades if g.cell.cell_type == "markdown"]
    if not written:
        return {}
    pending = any(g.manual_score is None for g in written)
    return {"written_max": float(sum(g.max_score or 0.0 for g in written)),
            "written_score": None if pending else float(sum(g.manual_score for g in written))}


def _other_students(out_dir: Path, results: list[dict], aid: str) -> list[dict]:
    """The stored results (``OUT/results/``) of this assignment's students who are not in ``results``."""
    here = {r.get("student_id") for r in results}
    return [r for r in stored_results(out_dir) if r["assignment"] == aid and r["student_id"] not in here]

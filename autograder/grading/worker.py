"""Grade one submission: the function the process pool (or a Dask worker) runs.

:func:`grade_submission` takes a :class:`~.records.GradeJob` (the submitted notebook's bytes, the
master notebook, the run's secret seed, the options) and returns the submission's
:class:`~.records.SubmissionResult` in its JSON form (the status, per-cell and per-exercise scores,
the autograded notebook, the feedback HTML). It never touches the course directory or the
gradebook: only the coordinator writes those. It never raises: a bug in the grader becomes the
status ``grader-error`` with its traceback.

Like nbgrader's ``autograde`` (a list of preprocessors), grading is a list of named steps, each
adding to the result (:func:`_grade` reads top-down):

1. :func:`prepare`: read and repair the submitted notebook, restore the locked and test cells from
   the master (or stop here: no notebook, not a notebook);
2. :func:`run_in_kernel`: execute the whole notebook with nbclient *inside the sandbox* (the
   in-kernel result, kept for feedback and formgrader); with the ``grades_only`` option,
   :func:`skip_kernel` instead (the score never depended on this run: only the feedback does);
3. :func:`verify`: in a second sandbox, run the solution cells and what the graded functions need
   of the learner's other cells (imports, definitions, cheap assignments: see
   :func:`~.notebooks.verifier_plan`), and judge the graded functions (the score);
4. :func:`combine`: the verified scores, the kernel's beside them, the tamper check;
5. :func:`feedback`: the status, the sanitized autograded notebook and the feedback HTML (not
   rendered with ``grades_only``: the result is flagged ``grades-only``).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import NamedTuple

import nbformat

from .. import verifier
from ..sandbox import Limits, Sandbox, build_lib_dir, get_sandbox, read_untrusted
from . import notebooks as nbs
from .kernel_data import kernel_files, resolve_assignment
from .records import CellResult, ExerciseResult, GradeJob, SubmissionResult, elapsed, grader_error
from .sanitize import sanitize_notebook
from .status import choose_status

__all__ = ["grade_submission", "prepare", "run_in_kernel", "skip_kernel", "verify", "combine", "feedback", "run_kernel",
           "KernelRun", "Grading"]

_ENVIRONMENTS: dict = {}


def _cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _environment(job: GradeJob, assignment) -> tuple[Path, Sandbox]:
    """This process's lib dir and sandbox for this run (built once per process and run)."""
    unsandboxed = bool(job.options["allow_unsandboxed"])
    key = (job.run_id, unsandboxed, job.assignment_ref)
    env = _ENVIRONMENTS.get(key)
    if env is not None:
        return env
    base = Path(job.work_dir or Path(tempfile.gettempdir()) / f"nnopt-grade-{job.run_id}")
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    shared = job.lib_dir
    if shared and Path(shared, "autograder", "kernel", "run_notebook.py").exists():
        lib = Path(shared)
    else:
        lib = base / f"lib-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        build_lib_dir(lib, kernel_files(assignment, job.assignment_ref), mpl_cache=not job.options["grades_only"])
        atexit.register(_cleanup, lib)
    sandbox = get_sandbox(lib, allow_unsandboxed=unsandboxed)
    _ENVIRONMENTS[key] = (base, sandbox)
    return base, sandbox


def _read_capped(path: Path, cap: int) -> bytes | None:
    # Student code could replace the file by a FIFO (a read that blocks forever), a symlink to
    # /dev/zero (a read that never ends) or to a host file: read_untrusted refuses all of them.
    try:
        return read_untrusted(path.parent, path.name, cap)
    except OSError:
        return None


def _merge_outputs(restored, executed) -> int:
    """Copy outputs of ``executed`` (a notebook, or a list of cell dicts) into ``restored`` where the
    cell (id and source) is unchanged.

    The executed notebook was written next to student code, so its sources are not trusted:
    only outputs of cells that still match are taken. Returns the number of cells merged.
    """
    cells = executed if isinstance(executed, list) else executed.cells
    by_id = {c.get("id"): c for c in cells if isinstance(c, dict)}
    merged = 0
    for cell in restored.cells:
        if cell.cell_type != "code":
            continue
        ex = by_id.get(cell.get("id"))
        if ex is None or ex.get("source") != cell.source or ex.get("cell_type") != "code":
            continue
        outputs = ex.get("outputs", [])
        if isinstance(outputs, list):
            cell.outputs = outputs
            cell.execution_count = ex.get("execution_count") if isinstance(ex.get("execution_count"), int) else None
            merged += 1
    try:
        nbformat.validate(restored)
    except Exception:  # noqa: BLE001 - a forged output breaking the schema: drop all outputs
        for cell in restored.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        return 0
    return merged


#: The executed notebook and the cell lines are parsed as plain JSON, before anything is counted:
#: a forged file of millions of tiny objects ("[{},{},...]") would cost the grader seconds and a
#: gigabyte. Refused beyond this many JSON objects and arrays ("{" and "[" bytes, which also counts
#: those inside strings: a generous bound), plus a few per cell of the notebook.
_MAX_JSON_CONTAINERS = 1_000_000


def _too_many_containers(raw: bytes, n_cells: int) -> bool:
    return raw.count(b"{") + raw.count(b"[") > _MAX_JSON_CONTAINERS + 20 * n_cells


def _as_cells(raw_cells: list, graded, max_outputs: int) -> list:
    """nbformat cells (id, source, outputs, execution_count) from plain JSON cells, for ``_merge_outputs``:
    only code cells whose outputs are a list, with multi-line text rejoined as nbformat does, and no
    more than ``max_outputs`` outputs in all (more: none at all, the file is not one run_notebook wrote)."""
    out, total = [], 0
    for c in raw_cells:
        if not isinstance(c, dict) or c.get("cell_type") != "code" or not isinstance(c.get("outputs"), list):
            continue
        total += len(c["outputs"])
        if total > max_outputs + 2 * len(graded.cells):  # + the grader's own error and truncation notes
            return []
        try:
            wrapper = nbformat.from_dict({"cells": [{k: c.get(k) for k in
                                                     ("id", "cell_type", "source", "outputs", "execution_count")}]})
            node = nbformat.v4.rwbase.rejoin_lines(wrapper).cells[0]
        except Exception:  # noqa: BLE001 - a forged cell (outputs that are not dicts...): skipped
            continue
        out.append(node)
    return out


def _executed_cells(raw: bytes, graded, max_outputs: int) -> list:
    """The cells of the executed notebook's bytes (see :func:`_as_cells`); raises ValueError when unusable."""
    if _too_many_containers(raw, len(graded.cells)):
        raise ValueError("too many JSON objects")
    nb = json.loads(raw.decode("utf-8"))
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a notebook")
    return _as_cells(nb["cells"], graded, max_outputs)


def _logged_cells(raw: bytes, graded, max_outputs: int) -> list:
    """The cells run_notebook logged one JSON line at a time (``--cells``), for a run that was
    stopped before it wrote the executed notebook. A line is used only when its index is a code cell
    of ``graded`` with the same id and source digest; malformed lines are ignored; a later line for
    the same cell replaces an earlier one."""
    from ..kernel.run_notebook import source_sha256

    if _too_many_containers(raw, len(graded.cells)):
        return []
    found = {}
    for line in raw.split(b"\n"):
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(entry, dict) or type(entry.get("index")) is not int:
            continue
        index = entry["index"]
        if not 0 <= index < len(graded.cells) or graded.cells[index].cell_type != "code":
            continue
        cell = graded.cells[index]
        if entry.get("id") != cell.get("id") or entry.get("source_sha256") != source_sha256(cell.source):
            continue
        found[index] = {"id": cell.get("id"), "cell_type": "code", "source": cell.source,
                        "outputs": entry.get("outputs"), "execution_count": entry.get("execution_count")}
    return _as_cells([found[i] for i in sorted(found)], graded, max_outputs)


def _error_names(nb) -> set[str]:
    names = set()
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error":
                names.add(str(o.get("ename")))
                if "Resource temporarily unavailable" in str(o.get("evalue", "")):
                    names.add("BlockingIOError")
    return names


class KernelRun(NamedTuple):
    """What the in-kernel run gave: the notebook with its outputs, the runner's report, the indices
    of the cells that ran, and the notes and flags it calls for."""

    graded: object
    report: dict
    executed: set
    notes: list
    flags: set
    ran: bool = True  # False with grades_only: no kernel scores at all (not zeros)


def run_kernel(job: GradeJob, sandbox: Sandbox, base: Path, nb) -> KernelRun:
    """Execute the restored notebook ``nb`` in the sandbox (see :class:`KernelRun`)."""
    from ..kernel.run_notebook import MAX_OUTPUTS

    run, raw_report, raw_nb, raw_lines = _execute(job, sandbox, base, nb)
    report = _parse_report(raw_report)
    graded = nbformat.reads(nbformat.writes(nb), as_version=4)
    notes: list = []
    merged = _read_back(graded, raw_nb, raw_lines, MAX_OUTPUTS, notes)
    executed = _executed_indices(report, run, len(graded.cells))
    flags: set = set()
    _limit_flags(run, report, job.options, flags, notes)
    _error_flags(graded, run, job.options, flags, notes)
    if merged == 0 and executed:
        notes.append("no output came back from the kernel")
    return KernelRun(graded, report, executed, notes, flags)


def _execute(job: GradeJob, sandbox: Sandbox, base: Path, nb):
    """Run run_notebook.py on ``nb`` in the sandbox; (the run, and the bytes of the report, the executed
    notebook and the cell lines it left, each None when absent or unreadable)."""
    from ..kernel.run_notebook import MAX_OUTPUTS

    opts = job.options
    scratch = base / "scratch" / f"nb-{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    name = job.notebook
    (scratch / name).write_text(nbformat.writes(nb), encoding="utf-8")
    inside = sandbox.work(scratch)
    lib = sandbox.lib
    argv = [sandbox.python, "-I", f"{lib}/autograder/kernel/run_notebook.py", "--lib", lib,
            "--notebook", f"{inside}/{name}", "--output", f"{inside}/.nnopt-executed.ipynb",
            "--report", f"{inside}/.nnopt-report.json", "--cells", f"{inside}/.nnopt-cells.jsonl",
            "--cell-timeout", str(opts["cell_timeout"]), "--max-cell-output", str(opts["max_cell_output"]),
            "--max-output", str(opts["max_output"]), "--max-outputs", str(MAX_OUTPUTS)]
    cap = 4 * int(opts["max_output"]) + (16 << 20)
    try:
        run = sandbox.run(argv, scratch, Limits.from_options(opts, opts["notebook_timeout"]))
        raw_report = _read_capped(scratch / ".nnopt-report.json", 1 << 20)
        raw_nb = _read_capped(scratch / ".nnopt-executed.ipynb", cap)
        # The notebook is written once, at the end: a run stopped before (notebook timeout, memory,
        # disk) left only the lines run_notebook appended after each cell.
        raw_lines = _read_capped(scratch / ".nnopt-cells.jsonl", cap) if not raw_nb else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return run, raw_report, raw_nb, raw_lines


def _parse_report(raw: bytes | None) -> dict:
    try:
        report = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _read_back(graded, raw_nb, raw_lines, max_outputs: int, notes: list) -> int:
    """Merge the outputs the run left into ``graded``; the number of cells merged."""
    if raw_nb:
        try:
            return _merge_outputs(graded, _executed_cells(raw_nb, graded, max_outputs))
        except Exception:  # noqa: BLE001
            notes.append("the executed notebook could not be read back")
    elif raw_lines:
        try:
            return _merge_outputs(graded, _logged_cells(raw_lines, graded, max_outputs))
        except Exception:  # noqa: BLE001
            notes.append("the outputs of the cells that ran could not be read back")
    return 0


def _executed_indices(report: dict, run, n_cells: int) -> set:
    """The cells that ran: all of them when the run finished, else up to the report's ``last_cell``."""
    last = report.get("last_cell", -1) if isinstance(report.get("last_cell", -1), int) else -1
    # The report is writable by student code: a forged last_cell = 10**12 must not build a huge set below.
    last = min(last, n_cells - 1)
    if report.get("finished") is True and not run.timed_out and not run.memory_exceeded:
        return set(range(n_cells))
    return set(range(last + 1))


def _limit_flags(run, report: dict, opts: dict, flags: set, notes: list) -> None:
    """The flags and notes of a run stopped by a limit, or of a notebook that did not run to its end."""
    if run.timed_out:
        flags.add("timeout")
        notes.append(f"the notebook did not finish within {opts['notebook_timeout']:g} s and was stopped")
    if run.memory_exceeded:
        flags.add("memory")
        notes.append(f"the notebook used more than {opts['total_memory_mb']} MiB and was stopped")
    if run.disk_exceeded:
        flags.add("disk-limit")
        notes.append("the notebook wrote more files than allowed and was stopped")
    if isinstance(report.get("timeout_cell"), int):
        flags.add("timeout")
        notes.append(f"cell {report['timeout_cell'] + 1} ran longer than {opts['cell_timeout']:g} s and was stopped")
    if isinstance(report.get("died_cell"), int):
        flags.add("kernel-died")
        notes.append(f"the kernel died in cell {report['died_cell'] + 1}")
    if report.get("truncated_cells") or run.output_truncated:
        flags.add("output-truncated")
        notes.append("some output was too long and was cut")
    stopped = run.timed_out or run.memory_exceeded or run.disk_exceeded
    if not stopped and not report.get("finished") and not ({"timeout", "kernel-died"} & flags):
        flags.add("kernel-died")
        why = report.get("error") or run.describe()
        notes.append(f"the notebook could not be run to the end: {str(why)[:300]}")


def _error_flags(graded, run, opts: dict, flags: set, notes: list) -> None:
    """The flags of errors in the outputs: MemoryError, or too many processes."""
    names = _error_names(graded)
    if "MemoryError" in names:
        flags.add("memory")
    if "BlockingIOError" in names or run.peak_processes >= max(8, int(opts["nproc"]) // 2):
        flags.add("process-limit")
        notes.append(f"the notebook started too many processes (limit {opts['nproc']} with threads)")


def _summary_markdown(result: SubmissionResult) -> str:
    lines = ["## Grading summary", ""]
    lines.append(f"**Score: {result.score:g} / {result.max_score:g}** — status: `{result.status}`")
    lines.append("")
    lines.append("Each graded function was called again, outside your notebook, on fresh test cases; "
                 "that result is your score.")
    written = [c for c in result.cells.values() if c.kind == "manual"]
    if written:
        lines.append("")
        lines.append(f"Your {len(written)} written answer{'s' * (len(written) > 1)} "
                     f"({sum(c.points for c in written):g} points) {'are' if len(written) > 1 else 'is'} graded by a "
                     "person, not in this score.")
    if "grades-only" in result.flags:
        lines.append("")
        lines.append("This submission was graded for its score only: the notebook's experiments were not run, "
                     "so the notebook below has no outputs. The score is the one a full run gives.")
    lines.append("")
    lines.append("| exercise | points | result |")
    lines.append("|---|---|---|")
    for name, ex in result.exercises.items():
        outcome = "passed" if ex.passed else ex.outcome
        lines.append(f"| `{name}` | {ex.score:g} / {ex.points:g} | {outcome} |")
    details = [(n, e) for n, e in result.exercises.items() if e.problems]
    if details:
        lines.append("")
        for name, ex in details:
            lines.append(f"**`{name}`**:")
            lines.append("")
            for p in ex.problems[:4]:
                lines.append(f"- {_md_escape(p)}")
            lines.append("")
    if result.notes:
        lines.append("")
        lines.append("**Notes from the grader:**")
        lines.append("")
        for n in result.notes[:12]:
            lines.append(f"- {_md_escape(n)}")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    text = str(text).replace("\n", " ")
    for ch in "\\`*_[]<>|$":
        text = text.replace(ch, "\\" + ch)
    return text[:1200]


def _verifier_output(ex: ExerciseResult) -> str:
    head = (f"[grader] verified outside your kernel: {ex.score:g} / {ex.points:g} points"
            + ("" if ex.passed else f" ({ex.outcome})"))
    return head + "".join(f"\n  - {p}" for p in ex.problems[:3]) + "\n"


class FeedbackTimeout(Exception):
    """Rendering the feedback took longer than the ``feedback_timeout`` option."""


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise FeedbackTimeout in the block after ``seconds`` (SIGALRM: only in the main thread, as in the
    process pool and the CLI; in a Dask worker's thread the block runs unbounded)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise FeedbackTimeout(f"rendering took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _placeholder(master, message: str):
    nb = nbformat.reads(nbformat.writes(master), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**The grader could not use this submission:** {message}"))
    return nb


# ---------------------------------------------------------------------------------------------
# The steps


@dataclasses.dataclass
class Grading:
    """One submission on its way through the steps."""

    job: GradeJob
    assignment: object
    master: object
    result: SubmissionResult
    t0: float
    flags: set = dataclasses.field(default_factory=set)
    nb: object = None             # the restored notebook, to grade
    placeholder: object = None    # set when the submission cannot be graded: the notebook feedback shows
    base: Path | None = None      # this process's work directory for the run
    sandbox: Sandbox | None = None


def grade_submission(job: GradeJob | dict) -> dict:
    """Grade one submission (see the module docstring); its result in JSON form. Never raises."""
    t0 = time.monotonic()
    try:
        return _grade(job if isinstance(job, GradeJob) else GradeJob(**job))
    except BaseException as exc:  # noqa: BLE001 - one submission must never stop the class
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return grader_error(job, exc, "the grader failed on this submission", seconds=elapsed(t0),
                            traceback=traceback.format_exc()[-4000:])


def _grade(job: GradeJob) -> dict:
    g = prepare(job)
    if g.placeholder is not None:
        return feedback(job, g.result, g.placeholder, g.t0)
    kernel = skip_kernel(g) if job.options.get("grades_only") else run_in_kernel(g)
    verification = verify(g)
    graded = combine(g, kernel, verification)
    return feedback(job, g.result, graded, g.t0)


def prepare(job: GradeJob) -> Grading:
    """Step 1: read and repair the submitted notebook and restore it on the master's skeleton. A
    submission without the notebook, or whose file is no notebook, gets its ``placeholder``."""
    t0 = time.monotonic()
    assignment = resolve_assignment(job.assignment_ref, job.master)
    master = nbformat.reads(job.master, as_version=4)
    released = nbformat.reads(job.released, as_version=4) if job.released else None
    g = Grading(job, assignment, master, _base_result(job, assignment, master), t0)
    if job.notebook_bytes is None:
        others = job.other_notebooks
        return _unusable(g, "no-notebook", f"no {job.notebook} in the submission"
                         + (f" (found: {', '.join(others)})" if others else ""))
    try:
        submitted, notes = nbs.read_submission(job.notebook_bytes)
    except nbs.NotebookProblem as exc:
        return _unusable(g, "malformed", str(exc))
    if notes:
        g.flags.add("malformed")
    g.result.notes += notes
    if (submitted.metadata.get("kernelspec") or {}).get("name") != (master.metadata.get("kernelspec") or {}).get("name"):
        g.result.notes.append("the notebook's kernel was reset to the course's Python 3 kernel")
    restored = nbs.restore(submitted, master, released)
    if restored.restored:
        g.flags.add("missing-cells-restored")
        g.result.notes += restored.notes
    g.result.notes += restored.info
    g.nb = restored.nb
    return g


def _base_result(job: GradeJob, assignment, master) -> SubmissionResult:
    cells = {c["grade_id"]: CellResult(score=0.0 if c["kind"] == "test" else None, points=c["points"], kind=c["kind"])
             for c in nbs.grade_cells(master)}
    solution_cell = nbs.solution_cell_of(master)
    exercises = {ex.name: ExerciseResult(name=ex.name, grade_id=ex.grade_id,
                                         points=float(cells[ex.grade_id].points if ex.grade_id in cells else ex.points),
                                         solution_cell=solution_cell.get(ex.grade_id))
                 for ex in assignment.exercises}
    return SubmissionResult(student_id=job.student_id, assignment=assignment.id, notebook=job.notebook, key=job.key,
                            notes=list(job.notes), cells=cells, exercises=exercises, timestamp=job.timestamp,
                            max_score=float(sum(c.points for c in cells.values() if c.kind == "test")))


def _unusable(g: Grading, flag: str, message: str) -> Grading:
    """A submission that cannot be graded (``no-notebook``, ``malformed``): 0 points, ``message`` everywhere."""
    g.result.flags, g.result.notes = [flag], [message, *g.result.notes]
    for ex in g.result.exercises.values():
        ex.outcome, ex.problems = flag, [message]
    g.placeholder = _placeholder(g.master, message)
    return g


def _enter_sandbox(g: Grading) -> None:
    g.base, g.sandbox = _environment(g.job, g.assignment)
    g.result.sandboxed = g.sandbox.sandboxed
    if not g.sandbox.sandboxed:
        g.flags.add("unsandboxed")
        g.result.notes.append(f"graded WITHOUT a sandbox ({getattr(g.sandbox, 'why_unsandboxed', '')})")


def skip_kernel(g: Grading) -> KernelRun:
    """Step 2 with ``grades_only``: the notebook is not run (its experiments, figures and explorers
    cost seconds and decide nothing); the restored notebook, without outputs, stands for it."""
    _enter_sandbox(g)
    g.flags.add("grades-only")
    g.result.timings = {"kernel_s": 0.0}
    graded = nbformat.reads(nbformat.writes(g.nb), as_version=4)
    return KernelRun(graded, {}, set(), [], set(), ran=False)


def run_in_kernel(g: Grading) -> KernelRun:
    """Step 2: the whole notebook in the kernel, in the sandbox: kept for feedback and formgrader."""
    _enter_sandbox(g)
    t_kernel = time.monotonic()
    kernel = run_kernel(g.job, g.sandbox, g.base, g.nb)
    g.result.timings = {"kernel_s": elapsed(t_kernel)}
    g.flags |= kernel.flags
    g.result.notes += kernel.notes
    g.result.kernel = {k: kernel.report.get(k)
                       for k in ("timeout_cell", "died_cell", "last_cell", "finished", "seconds", "error")}
    return kernel


def verify(g: Grading) -> verifier.Verification:
    """Step 3: the graded functions judged out of the kernel, on the solution cells and what they
    need of the learner's other cells (:func:`~.notebooks.verifier_plan`): the score."""
    opts = g.job.options
    vscratch = g.base / "scratch" / f"v-{uuid.uuid4().hex}"
    vscratch.mkdir(parents=True)
    try:
        ver = verifier.verify(g.assignment, nbs.verifier_sources(g.nb, g.master), g.sandbox, vscratch,
                              Limits.from_options(opts, opts["verify_timeout"]), int(g.job.seed),
                              judge_timeout=float(opts["judge_timeout"]))
    finally:
        shutil.rmtree(vscratch, ignore_errors=True)
    g.result.timings["verify_s"] = round(ver.seconds, 3)
    g.result.verifier = {"flags": sorted(ver.flags), "attempts": ver.attempts, "seconds": round(ver.seconds, 3),
                         "cell_errors": ver.cell_errors}
    g.flags |= {f for f in ver.flags if f in ("timeout", "memory", "process-limit", "disk-limit")}
    if "crashed" in ver.flags:
        g.flags.add("kernel-died")
    for err in ver.cell_errors:
        g.result.notes.append(f"verifier: solution cell {err['cell'] + 1}: {err['error']}"[:300])
    return ver


def combine(g: Grading, kernel: KernelRun, ver: verifier.Verification):
    """Step 4: the verified score stands; the kernel's is kept beside it, and a kernel that gave more
    is ``tamper-suspected``. Returns the executed notebook with the verifier's verdict under each
    exercise's test cell."""
    kernel_scores = nbs.kernel_cell_scores(kernel.graded, kernel.executed) if kernel.ran else {}
    by_grade_id = {v.grade_id: v for v in ver.exercises.values()}
    tampered = _score_cells(g, kernel_scores, by_grade_id)
    _score_exercises(g.result, kernel_scores, ver)
    if tampered:
        g.flags.add("tamper-suspected")
        g.result.notes.insert(0, "the in-kernel tests gave more points than the verifier for "
                              + ", ".join(tampered) + "; the verifier's score stands")
    g.result.score = float(sum(c.score or 0.0 for c in g.result.cells.values() if c.kind == "test"))
    g.result.notes += _lost_points(ver)
    g.result.unchanged_solutions = nbs.unchanged_solutions(g.nb, g.master)
    _show_verdicts(kernel.graded, g.result, by_grade_id)
    g.result.flags = sorted(g.flags)
    return kernel.graded


def _lost_points(ver: verifier.Verification) -> list[str]:
    """One note per exercise that lost its points, saying why in a few words (the named mistake when
    the grader recognised one), so that grades.csv tells it without opening the feedback."""
    notes = []
    for v in ver.exercises.values():
        if v.passed or not v.points:
            continue
        first = str(v.problems[0]) if v.problems else v.outcome
        if " Hint: " in first:
            why = first.split(" Hint: ", 1)[1]
        else:  # "on <the case>: <what was wrong>": the case's description is in the feedback
            why = first.split(": ", 1)[1] if first.startswith("on ") and ": " in first else first
        why = " ".join(why.split())
        notes.append(f"{v.name} lost {float(v.points):g} points: {why[:200] + ('…' if len(why) > 200 else '')}")
    return notes


def _score_cells(g: Grading, kernel_scores: dict, by_grade_id: dict) -> list[str]:
    """Score each grade cell (the verifier's verdict, else the kernel's); the exercises the kernel gave
    more than the verifier for, with no other explanation."""
    tampered = []
    for gid, cell in g.result.cells.items():
        k = kernel_scores.get(gid)
        cell.kernel_score = k["score"] if k else None
        if gid in by_grade_id:
            v = by_grade_id[gid]
            cell.score = cell.points if v.passed else 0.0
            if k is not None and k["score"] > cell.score and not _verifier_limit(g, v):
                tampered.append(v.name)
        elif cell.kind == "test":
            cell.score = k["score"] if k else 0.0
    return tampered


def _verifier_limit(g: Grading, v) -> bool:
    """A NameError about a name the notebook sets only in statements the verifier skips (LR = tune())
    is the verifier's limit, not tampering (the cell still goes to review): noted, and True."""
    skipped = nbs.names_not_run(v.problems, g.nb, g.master)
    if skipped:
        g.result.notes.append(f"{v.name} passed the tests in the notebook, but uses {', '.join(skipped)}, "
                              "set only by statements the verifier does not run; the verifier's score stands")
    return bool(skipped)


def _score_exercises(result: SubmissionResult, kernel_scores: dict, ver: verifier.Verification) -> None:
    for v in ver.exercises.values():
        ex = result.exercises[v.name]
        ex.score = result.cells[v.grade_id].score if v.grade_id in result.cells else v.score
        ex.passed, ex.outcome, ex.problems = v.passed, v.outcome, list(v.problems)
        k = kernel_scores.get(v.grade_id)
        ex.kernel_passed = None if k is None else k["score"] >= k["points"] > 0


def _show_verdicts(graded, result: SubmissionResult, by_grade_id: dict) -> None:
    """The verifier's verdict under each exercise's test cell (stdout: never changes a cell's grade)."""
    for cell in graded.cells:
        gid = nbs.grade_id_of(cell)
        if gid in by_grade_id and cell.cell_type == "code":
            ex = result.exercises[by_grade_id[gid].name]
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=_verifier_output(ex)))


def feedback(job: GradeJob, result: SubmissionResult, graded_nb, t0: float) -> dict:
    """Step 5: the status, the autograded notebook and the feedback HTML; the result in JSON form
    (``seconds`` counted from ``t0``)."""
    result.status = choose_status(result.flags)
    if result.timings is None:
        result.timings = {}
    # Nothing the submission wrote (markdown, raw cells, attachments, metadata, the kernel's outputs)
    # may run in a browser: formgrader renders autograded/ inside the instructor's Jupyter session.
    # The grader's own additions (the verifier's stream outputs) are plain text and stay.
    t_clean = time.monotonic()
    graded_nb = sanitize_notebook(graded_nb)
    result.timings["sanitize_s"] = elapsed(t_clean)
    result.autograded = nbformat.writes(graded_nb)
    if not job.options.get("grades_only"):
        render_feedback(result, graded_nb, job.hidden_delimiters, float(job.options["feedback_timeout"]))
    result.seconds = elapsed(t0)
    return result.to_dict()


def render_feedback(result: SubmissionResult, graded_nb, hidden_delimiters: tuple, timeout: float) -> None:
    """The feedback HTML of a graded notebook (already sanitized) into ``result.feedback_html``: the
    notebook without hidden tests, headed by the grading summary. Also used afterwards, on the stored
    result of a ``grades_only`` run (``nnopt-grade feedback``)."""
    t_fb = time.monotonic()
    scores = {gid: c.score for gid, c in result.cells.items()}
    try:
        fb = nbs.feedback_notebook(graded_nb, _summary_markdown(result), scores, *hidden_delimiters)
        # The learner's own markdown cells are rendered here, in the grader, and nbconvert's markdown
        # parser is quadratic on some inputs (a 1 MB cell of "[[[...]]]" takes hours): bound it.
        with _deadline(timeout):
            result.feedback_html = nbs.render_feedback_html(
                fb, notebook_name=Path(result.notebook or "notebook").stem, score=result.score,
                max_score=result.max_score)
    except Exception as exc:  # noqa: BLE001 - feedback must not lose the grade
        import html  # the summary (score, per-exercise results, notes) still reaches the learner

        result.feedback_html = (f"<html><body><p>Feedback could not be rendered: {type(exc).__name__}</p>"
                                f"<pre>{html.escape(_summary_markdown(result))}</pre></body></html>")
        result.notes.append(f"feedback could not be rendered: {type(exc).__name__}: {exc}"[:300])
    (result.timings if result.timings is not None else {})["feedback_s"] = elapsed(t_fb)

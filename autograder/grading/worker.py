"""Grade one submission: the function the process pool (or a Dask worker) runs.

:func:`grade_submission` takes a plain ``job`` dict (the submitted notebook's bytes, the master
notebook, the run's secret seed, the limits) and returns a plain, JSON-serialisable result (the
status, per-cell and per-exercise scores, the autograded notebook, the feedback HTML). It never
touches the course directory or the gradebook: only the coordinator writes those. It never
raises: a bug in the grader becomes the status ``grader-error`` with its traceback.

Steps: read and repair the notebook; restore locked and test cells from the master; execute the
whole notebook with nbclient *inside the sandbox* (the in-kernel result, kept for feedback and
formgrader); run only the solution cells in a second sandbox and judge the graded functions with
the verifier (the score); combine, choose a status, and render the feedback.
"""

from __future__ import annotations

import atexit
import contextlib
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

import nbformat

from .. import verifier
from ..sandbox import Limits, Sandbox, build_lib_dir, get_sandbox, read_untrusted
from . import notebooks as nbs
from .kernel_data import kernel_files, resolve_assignment
from .sanitize import sanitize_notebook
from .status import choose_status

__all__ = ["grade_submission", "DEFAULT_OPTIONS"]

#: Options a job may carry (the CLI fills them in); times in seconds, memory in MiB.
DEFAULT_OPTIONS = {
    "cell_timeout": 60.0,          # one notebook cell, in the kernel
    "notebook_timeout": 600.0,     # the whole in-kernel run of one notebook
    "verify_timeout": 60.0,        # one attempt of the verifier
    "judge_timeout": 30.0,         # judging one exercise's results, in the grader (honest ones: well under 1 s)
    "memory_mb": 2048,             # address space of each sandboxed process
    "total_memory_mb": 3072,       # all processes of one sandbox together (resident)
    "nproc": 96,                   # processes + threads of one sandbox
    "max_cell_output": 100_000,    # characters of text output kept per cell
    "max_output": 10_000_000,      # characters of output (images included) kept per notebook
    "feedback_timeout": 60.0,      # rendering one feedback HTML, in the grader (learner markdown can be slow)
    "allow_unsandboxed": False,
}

_ENVIRONMENTS: dict = {}


def _cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _environment(job: dict, assignment) -> tuple[Path, Sandbox]:
    """This process's lib dir and sandbox for this run (built once per process and run)."""
    key = (job["run_id"], bool(job["options"]["allow_unsandboxed"]), job["assignment_ref"])
    env = _ENVIRONMENTS.get(key)
    if env is not None:
        return env
    base = Path(job.get("work_dir") or Path(tempfile.gettempdir()) / f"nnopt-grade-{job['run_id']}")
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    shared = job.get("lib_dir")
    if shared and Path(shared, "autograder", "kernel", "run_notebook.py").exists():
        lib = Path(shared)
    else:
        lib = base / f"lib-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        build_lib_dir(lib, kernel_files(assignment, job["assignment_ref"]))
        atexit.register(_cleanup, lib)
    sandbox = get_sandbox(lib, allow_unsandboxed=bool(job["options"]["allow_unsandboxed"]))
    _ENVIRONMENTS[key] = (base, sandbox)
    return base, sandbox


def _limits(opts: dict, wall: float) -> Limits:
    return Limits(wall_seconds=float(wall), cpu_seconds=int(wall) + 30,
                  memory_bytes=int(opts["memory_mb"]) << 20, total_memory_bytes=int(opts["total_memory_mb"]) << 20,
                  nproc=int(opts["nproc"]))


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


def _run_kernel(job, sandbox: Sandbox, base: Path, nb) -> tuple[object, dict, set, list, set]:
    """Execute the restored notebook in the sandbox; return (notebook with outputs, report, executed, notes, flags)."""
    opts = job["options"]
    scratch = base / "scratch" / f"nb-{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    name = job["notebook"]
    (scratch / name).write_text(nbformat.writes(nb), encoding="utf-8")
    inside = sandbox.work(scratch)
    lib = sandbox.lib
    from ..kernel.run_notebook import MAX_OUTPUTS

    argv = [sandbox.python, "-I", f"{lib}/autograder/kernel/run_notebook.py", "--lib", lib,
            "--notebook", f"{inside}/{name}", "--output", f"{inside}/.nnopt-executed.ipynb",
            "--report", f"{inside}/.nnopt-report.json", "--cells", f"{inside}/.nnopt-cells.jsonl",
            "--cell-timeout", str(opts["cell_timeout"]), "--max-cell-output", str(opts["max_cell_output"]),
            "--max-output", str(opts["max_output"]), "--max-outputs", str(MAX_OUTPUTS)]
    flags, notes = set(), []
    cap = 4 * int(opts["max_output"]) + (16 << 20)
    try:
        run = sandbox.run(argv, scratch, _limits(opts, opts["notebook_timeout"]))
        raw_report = _read_capped(scratch / ".nnopt-report.json", 1 << 20)
        raw_nb = _read_capped(scratch / ".nnopt-executed.ipynb", cap)
        # The notebook is written once, at the end: a run stopped before (notebook timeout, memory,
        # disk) left only the lines run_notebook appended after each cell.
        raw_lines = _read_capped(scratch / ".nnopt-cells.jsonl", cap) if not raw_nb else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        report = json.loads(raw_report) if raw_report else {}
        if not isinstance(report, dict):
            report = {}
    except ValueError:
        report = {}
    graded = nbformat.reads(nbformat.writes(nb), as_version=4)
    merged = 0
    if raw_nb:
        try:
            merged = _merge_outputs(graded, _executed_cells(raw_nb, graded, MAX_OUTPUTS))
        except Exception:  # noqa: BLE001
            notes.append("the executed notebook could not be read back")
    elif raw_lines:
        try:
            merged = _merge_outputs(graded, _logged_cells(raw_lines, graded, MAX_OUTPUTS))
        except Exception:  # noqa: BLE001
            notes.append("the outputs of the cells that ran could not be read back")
    last = report.get("last_cell", -1) if isinstance(report.get("last_cell", -1), int) else -1
    # The report is writable by student code: a forged last_cell = 10**12 must not build a huge set below.
    last = min(last, len(graded.cells) - 1)
    if report.get("finished") is True and not run.timed_out and not run.memory_exceeded:
        executed = set(range(len(graded.cells)))
    else:
        executed = set(range(last + 1))
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
    if not (run.timed_out or run.memory_exceeded or run.disk_exceeded) and not report.get("finished"):
        if not ({"timeout", "kernel-died"} & flags):
            flags.add("kernel-died")
            why = report.get("error") or run.describe()
            notes.append(f"the notebook could not be run to the end: {str(why)[:300]}")
    names = _error_names(graded)
    if "MemoryError" in names:
        flags.add("memory")
    if "BlockingIOError" in names or run.peak_processes >= max(8, int(opts["nproc"]) // 2):
        flags.add("process-limit")
        notes.append(f"the notebook started too many processes (limit {opts['nproc']} with threads)")
    if merged == 0 and executed:
        notes.append("no output came back from the kernel")
    return graded, report, executed, notes, flags


def _summary_markdown(result: dict) -> str:
    lines = ["## Grading summary", ""]
    lines.append(f"**Score: {result['score']:g} / {result['max_score']:g}** — status: `{result['status']}`")
    lines.append("")
    lines.append("Each graded function was called again, outside your notebook, on fresh test cases; "
                 "that result is your score.")
    lines.append("")
    lines.append("| exercise | points | result |")
    lines.append("|---|---|---|")
    for name, ex in result["exercises"].items():
        outcome = "passed" if ex["passed"] else ex["outcome"]
        lines.append(f"| `{name}` | {ex['score']:g} / {ex['points']:g} | {outcome} |")
    details = [(n, e) for n, e in result["exercises"].items() if e["problems"]]
    if details:
        lines.append("")
        for name, ex in details:
            lines.append(f"**`{name}`**:")
            lines.append("")
            for p in ex["problems"][:4]:
                lines.append(f"- {_md_escape(p)}")
            lines.append("")
    if result["notes"]:
        lines.append("")
        lines.append("**Notes from the grader:**")
        lines.append("")
        for n in result["notes"][:12]:
            lines.append(f"- {_md_escape(n)}")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    text = str(text).replace("\n", " ")
    for ch in "\\`*_[]<>|$":
        text = text.replace(ch, "\\" + ch)
    return text[:1200]


def _verifier_output(ex: dict) -> str:
    head = (f"[grader] verified outside your kernel: {ex['score']:g} / {ex['points']:g} points"
            + ("" if ex["passed"] else f" ({ex['outcome']})"))
    return head + "".join(f"\n  - {p}" for p in ex["problems"][:3]) + "\n"


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


def _finish(job, result: dict, graded_nb, assignment) -> dict:
    """Fill in the status, the autograded notebook and the feedback HTML."""
    result["status"] = choose_status(result["flags"])
    scores = {gid: c["score"] for gid, c in result["cells"].items()}
    # Nothing the submission wrote (markdown, raw cells, attachments, metadata, the kernel's outputs)
    # may run in a browser: formgrader renders autograded/ inside the instructor's Jupyter session.
    # The grader's own additions (the verifier's stream outputs) are plain text and stay.
    t_clean = time.monotonic()
    graded_nb = sanitize_notebook(graded_nb)
    result.setdefault("timings", {})["sanitize_s"] = round(time.monotonic() - t_clean, 3)
    result["autograded"] = nbformat.writes(graded_nb)
    t_fb = time.monotonic()
    try:
        fb = nbs.feedback_notebook(graded_nb, _summary_markdown(result), scores,
                                   *job.get("hidden_delimiters", ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")))
        # The learner's own markdown cells are rendered here, in the grader, and nbconvert's markdown
        # parser is quadratic on some inputs (a 1 MB cell of "[[[...]]]" takes hours): bound it.
        with _deadline(float(job["options"].get("feedback_timeout", DEFAULT_OPTIONS["feedback_timeout"]))):
            result["feedback_html"] = nbs.render_feedback_html(
                fb, notebook_name=Path(job["notebook"]).stem, score=result["score"], max_score=result["max_score"])
    except Exception as exc:  # noqa: BLE001 - feedback must not lose the grade
        import html  # the summary (score, per-exercise results, notes) still reaches the learner

        result["feedback_html"] = (f"<html><body><p>Feedback could not be rendered: {type(exc).__name__}</p>"
                                   f"<pre>{html.escape(_summary_markdown(result))}</pre></body></html>")
        result["notes"].append(f"feedback could not be rendered: {type(exc).__name__}: {exc}"[:300])
    result.setdefault("timings", {})["feedback_s"] = round(time.monotonic() - t_fb, 3)
    result["seconds"] = round(time.monotonic() - result.pop("_t0"), 3)
    return result


def _unchanged_solutions(nb, master) -> list[str]:
    """grade_ids of solution cells the student left exactly as released (nbgrader's "No response.")."""
    from nbgrader.utils import compute_checksum

    checksums = {nbs._gid(c): nbs._nbg(c).get("checksum") for c in master.cells if nbs._is(c, "solution") and nbs._gid(c)}
    same = []
    for cell in nb.cells:
        gid = nbs._gid(cell)
        if gid in checksums and checksums[gid]:
            try:
                if compute_checksum(cell) == checksums[gid]:
                    same.append(gid)
            except Exception:  # noqa: BLE001
                pass
    return same


def _solution_cell_of(master) -> dict[str, str]:
    """grade_id of a test cell -> grade_id of the nearest solution cell before it."""
    out, last = {}, None
    for cell in master.cells:
        if nbs._is(cell, "solution") and nbs._gid(cell):
            last = nbs._gid(cell)
        elif nbs._is(cell, "grade") and nbs._gid(cell):
            out[nbs._gid(cell)] = last
    return out


def _base_result(job, assignment, master) -> dict:
    cells = {g["grade_id"]: {"score": 0.0 if g["kind"] == "test" else None, "points": g["points"], "kind": g["kind"],
                             "kernel_score": None}
             for g in nbs.grade_cells(master)}
    exercises = {ex.name: {"name": ex.name, "grade_id": ex.grade_id, "points": float(cells.get(ex.grade_id, {}).get("points", ex.points)),
                           "score": 0.0, "passed": False, "outcome": "not-graded", "problems": [], "kernel_passed": None,
                           "solution_cell": _solution_cell_of(master).get(ex.grade_id)}
                 for ex in assignment.exercises}
    return {"student_id": job["student_id"], "assignment": assignment.id, "notebook": job["notebook"],
            "key": job["key"], "status": None, "flags": [], "notes": list(job.get("notes") or []), "score": 0.0,
            "max_score": float(sum(c["points"] for c in cells.values() if c["kind"] == "test")),
            "cells": cells, "exercises": exercises, "timestamp": job.get("timestamp"),
            "sandboxed": None, "verifier": None, "kernel": None, "_t0": time.monotonic()}


def grade_submission(job: dict) -> dict:
    """Grade one submission (see the module docstring). Never raises."""
    t0 = time.monotonic()
    try:
        return _grade(job)
    except BaseException as exc:  # noqa: BLE001 - one submission must never stop the class
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return {"student_id": job.get("student_id"), "assignment": job.get("assignment_id"), "notebook": job.get("notebook"),
                "key": job.get("key"), "status": "grader-error", "flags": ["grader-error"],
                "notes": [f"the grader failed on this submission: {type(exc).__name__}: {exc}"[:500]],
                "traceback": traceback.format_exc()[-4000:], "score": 0.0, "max_score": None, "cells": {},
                "exercises": {}, "timestamp": job.get("timestamp"), "autograded": None, "feedback_html": None,
                "seconds": round(time.monotonic() - t0, 3)}


def _grade(job: dict) -> dict:
    job = {**job, "options": {**DEFAULT_OPTIONS, **job.get("options", {})}}
    assignment = resolve_assignment(job["assignment_ref"], job["master"])
    master = nbformat.reads(job["master"], as_version=4)
    released = nbformat.reads(job["released"], as_version=4) if job.get("released") else None
    result = _base_result(job, assignment, master)
    flags: set = set()

    if job.get("notebook_bytes") is None:
        others = job.get("other_notebooks") or []
        msg = f"no {job['notebook']} in the submission" + (f" (found: {', '.join(others)})" if others else "")
        result["flags"], result["notes"] = ["no-notebook"], [msg, *result["notes"]]
        for ex in result["exercises"].values():
            ex["outcome"], ex["problems"] = "no-notebook", [msg]
        return _finish(job, result, _placeholder(master, msg), assignment)
    try:
        submitted, notes = nbs.read_submission(job["notebook_bytes"])
    except nbs.NotebookProblem as exc:
        result["flags"], result["notes"] = ["malformed"], [str(exc), *result["notes"]]
        for ex in result["exercises"].values():
            ex["outcome"], ex["problems"] = "malformed", [str(exc)]
        return _finish(job, result, _placeholder(master, str(exc)), assignment)
    if notes:
        flags.add("malformed")
    result["notes"] += notes
    if (submitted.metadata.get("kernelspec") or {}).get("name") != (master.metadata.get("kernelspec") or {}).get("name"):
        result["notes"].append("the notebook's kernel was reset to the course's Python 3 kernel")
    restored = nbs.restore(submitted, master, released)
    if restored.restored:
        flags.add("missing-cells-restored")
        result["notes"] += restored.notes

    base, sandbox = _environment(job, assignment)
    result["sandboxed"] = sandbox.sandboxed
    if not sandbox.sandboxed:
        flags.add("unsandboxed")
        result["notes"].append(f"graded WITHOUT a sandbox ({getattr(sandbox, 'why_unsandboxed', '')})")

    # 1. The whole notebook in the kernel (in the sandbox): kept for feedback and formgrader.
    t_kernel = time.monotonic()
    graded, report, executed, knotes, kflags = _run_kernel(job, sandbox, base, restored.nb)
    result["timings"] = {"kernel_s": round(time.monotonic() - t_kernel, 3)}
    flags |= kflags
    result["notes"] += knotes
    result["kernel"] = {k: report.get(k) for k in ("timeout_cell", "died_cell", "last_cell", "finished", "seconds", "error")}
    kernel_scores = nbs.kernel_cell_scores(graded, executed)

    # 2. Only the solution cells (and the learner's own definition cells), judged out of the kernel.
    opts = job["options"]
    vscratch = base / "scratch" / f"v-{uuid.uuid4().hex}"
    vscratch.mkdir(parents=True)
    try:
        ver = verifier.verify(assignment, nbs.verifier_sources(restored.nb, master), sandbox, vscratch,
                              _limits(opts, opts["verify_timeout"]), int(job["seed"]),
                              judge_timeout=float(opts["judge_timeout"]))
    finally:
        shutil.rmtree(vscratch, ignore_errors=True)
    result["timings"]["verify_s"] = round(ver.seconds, 3)
    result["verifier"] = {"flags": sorted(ver.flags), "attempts": ver.attempts, "seconds": round(ver.seconds, 3),
                          "cell_errors": ver.cell_errors}
    flags |= {f for f in ver.flags if f in ("timeout", "memory", "process-limit", "disk-limit")}
    if "crashed" in ver.flags:
        flags.add("kernel-died")
    for err in ver.cell_errors:
        result["notes"].append(f"verifier: solution cell {err['cell'] + 1}: {err['error']}"[:300])

    # 3. Combine: the verified score stands.
    by_grade_id = {v.grade_id: v for v in ver.exercises.values()}
    tampered = []
    for gid, cell in result["cells"].items():
        k = kernel_scores.get(gid)
        cell["kernel_score"] = k["score"] if k else None
        if gid in by_grade_id:
            v = by_grade_id[gid]
            cell["score"] = cell["points"] if v.passed else 0.0
            if k is not None and k["score"] > cell["score"]:
                # A NameError about a name the notebook sets only in statements the verifier skips
                # (LR = tune()) is the verifier's limit, not tampering (the cell still goes to review).
                skipped = nbs.names_not_run(v.problems, restored.nb, master)
                if skipped:
                    result["notes"].append(f"{v.name} passed the tests in the notebook, but uses {', '.join(skipped)}, "
                                           "set only by statements the verifier does not run; the verifier's score "
                                           "stands")
                else:
                    tampered.append(v.name)
        elif cell["kind"] == "test":
            cell["score"] = k["score"] if k else 0.0
    for v in ver.exercises.values():
        ex = result["exercises"][v.name]
        ex.update({"score": result["cells"].get(v.grade_id, {}).get("score", v.score) if v.grade_id in result["cells"] else v.score,
                   "passed": v.passed, "outcome": v.outcome, "problems": list(v.problems)})
        k = kernel_scores.get(v.grade_id)
        ex["kernel_passed"] = None if k is None else k["score"] >= k["points"] > 0
    if tampered:
        flags.add("tamper-suspected")
        result["notes"].insert(0, "the in-kernel tests gave more points than the verifier for "
                               + ", ".join(tampered) + "; the verifier's score stands")
    result["score"] = float(sum(c["score"] or 0.0 for c in result["cells"].values() if c["kind"] == "test"))
    result["unchanged_solutions"] = _unchanged_solutions(restored.nb, master)

    # Show the verifier's verdict under each exercise's test cell (stdout: never changes a cell's grade).
    for cell in graded.cells:
        gid = nbs._gid(cell)
        if gid in by_grade_id and cell.cell_type == "code":
            ex = result["exercises"][by_grade_id[gid].name]
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=_verifier_output(ex)))
    result["flags"] = sorted(flags)
    return _finish(job, result, graded, assignment)

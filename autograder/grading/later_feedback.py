"""``nnopt-grade feedback OUT_DIR``: the feedback HTML of submissions graded with ``--grades-only``,
rendered afterwards from their stored results (``OUT_DIR/results/``), without grading again.

The stored result holds the sanitized autograded notebook (restored cells, no outputs) and the
verifier's per-exercise verdicts, which is all the feedback needs. Each rendered page goes where a
full run puts it: ``OUT_DIR/feedback/<name>/<assignment>/`` and, unless ``course_files`` is off, the
course's ``feedback/<id>/<assignment>/`` with nbgrader's ``timestamp.txt`` and
``submission_secret.txt`` copied from ``autograded/`` (so ``nbgrader release_feedback`` works).
The result file keeps the HTML, so the class report links it and a second call renders nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from .coordinator import save_result, write_files_of, write_class_report, load_course, stored_results
from .options import default
from .records import HIDDEN_DELIMITERS, SubmissionResult
from .worker import render_feedback

__all__ = ["render_stored_feedback"]


def _stored_results(out_dir: Path, students) -> list[dict]:
    """The stored results (of ``students``, or all), feedback pages read back where they are intact."""
    return [r for r in stored_results(out_dir) if not students or r["student_id"] in students]


def _nbgrader_files(course, r: dict) -> dict:
    """``timestamp.txt`` and ``submission_secret.txt`` as the grading run left them in autograded/."""
    adir = course.path(course.coursedir.autograded_directory, r["student_id"], r["assignment"])
    names = {"timestamp": "timestamp.txt", "secret": "submission_secret.txt"}
    return {key: (adir / name).read_text() for key, name in names.items() if (adir / name).is_file()}


def render_stored_feedback(out_dir: Path, course_dir: Path | None = None, *, students=None,
                           course_files: bool = True, timeout: float | None = None, progress: bool = True,
                           log=print) -> tuple[int, int]:
    """Render the missing feedback pages under ``out_dir``; returns (rendered, already there)."""
    out_dir = Path(out_dir)
    course = load_course(course_dir) if course_files else None
    hidden = tuple(course.hidden_delimiters) if course else HIDDEN_DELIMITERS
    timeout = float(default("feedback_timeout") if timeout is None else timeout)
    results = _stored_results(out_dir, students)
    todo = [r for r in results if not r.get("feedback_html") and r.get("autograded")]
    already = sum(1 for r in results if r.get("feedback_html"))
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="feedback", unit="nb", file=sys.stderr)
    for r in todo:
        result = SubmissionResult.from_dict(r)
        render_feedback(result, nbformat.reads(result.autograded, as_version=4), hidden, timeout)
        r.update(result.to_dict())
        save_result(out_dir, r)
        ours = course is not None and "bad-student-id" not in (r.get("flags") or [])
        subs = {r["student_id"]: _nbgrader_files(course, r)} if ours else {}
        write_files_of(course, out_dir, r, r["assignment"], r["notebook"], subs, ours)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    if todo:
        write_class_report(out_dir, _stored_results(out_dir, None), log)
    return len(todo), already

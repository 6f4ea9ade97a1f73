"""``nnopt-grade``: grade a class in one command.

    nnopt-grade ASSIGNMENT_ID SUBMISSIONS_DIR --out OUT_DIR [--workers N] [--scheduler ADDRESS]
                [--course-dir DIR] [--allow-unsandboxed] [--timeout SECONDS] [--grades-only] ...
    nnopt-grade report OUT_DIR      (rebuild OUT_DIR/report.html from OUT_DIR/results/)
    nnopt-grade feedback OUT_DIR    (feedback HTML for a --grades-only run, from OUT_DIR/results/)

SUBMISSIONS_DIR has nbgrader's layout, ``<student_id>/<assignment_id>/*.ipynb`` (``submitted/``
after ``nbgrader collect``). Every submission runs in a bubblewrap sandbox; its score comes from
the out-of-kernel verifier. Results go to the course's gradebook, ``autograded/`` and
``feedback/`` (so formgrader and ``nbgrader export`` see them), and to ``OUT_DIR/grades.csv``,
``OUT_DIR/feedback/`` and ``OUT_DIR/results/`` (re-running skips what is already graded), and
the class report ``OUT_DIR/report.html`` (with ``report.json``).

Exit status: 0 when the batch completed, every submission with its row in grades.csv (whatever
its status: ``grader-error`` and ``bad-student-id`` included), 2 when grading could not start (no
sandbox, no source notebook, bad arguments). Student ids (folder names: anything) are printed
escaped: a control character shows as ``\\x1b``, never raw on the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .grading.options import GradeOptions
from .grading.options import default as _d
from .sandbox import SandboxUnavailable

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnopt-grade", description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="statuses: graded, " + ", ".join(_statuses()))
    p.add_argument("assignment", metavar="ASSIGNMENT_ID", help="e.g. 03_momentum")
    p.add_argument("submissions", metavar="SUBMISSIONS_DIR", type=Path, help="<student_id>/<assignment_id>/*.ipynb")
    p.add_argument("--out", required=True, type=Path, metavar="OUT_DIR", help="where grades.csv, feedback/ and results/ go")
    p.add_argument("--workers", type=int, default=None, help=f"local worker processes (default: cores = {os.cpu_count()})")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="a dask.distributed scheduler (tcp://host:8786): grade on that cluster instead")
    p.add_argument("--course-dir", type=Path, default=None,
                   help="the nbgrader course (its nbgrader_config.py, source, gradebook; default: this repository)")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even if bubblewrap is unavailable (every status then says 'unsandboxed')")
    p.add_argument("--timeout", type=float, default=_d("cell_timeout"), metavar="SECONDS",
                   help=f"per notebook cell (default {_d('cell_timeout'):g})")
    p.add_argument("--notebook-timeout", type=float, default=_d("notebook_timeout"), metavar="SECONDS",
                   help=f"per submission, for running the whole notebook (default {_d('notebook_timeout'):g})")
    p.add_argument("--verify-timeout", type=float, default=_d("verify_timeout"), metavar="SECONDS",
                   help=f"per verifier run of the graded functions (default {_d('verify_timeout'):g})")
    p.add_argument("--judge-timeout", type=float, default=_d("judge_timeout"), metavar="SECONDS",
                   help=f"per exercise, for judging its results in the grader (default {_d('judge_timeout'):g}; "
                        "past it, 0 points)")
    p.add_argument("--feedback-timeout", type=float, default=_d("feedback_timeout"), metavar="SECONDS",
                   help=f"per feedback HTML rendered by the grader (default {_d('feedback_timeout'):g}; "
                        "the grade is kept without it)")
    p.add_argument("--memory", type=int, default=_d("memory_mb"), metavar="MiB",
                   help=f"address space per sandboxed process (default {_d('memory_mb')})")
    p.add_argument("--total-memory", type=int, default=_d("total_memory_mb"), metavar="MiB",
                   help=f"resident memory of one sandbox, all processes together (default {_d('total_memory_mb')})")
    p.add_argument("--nproc", type=int, default=_d("nproc"),
                   help=f"processes and threads per sandbox (default {_d('nproc')})")
    p.add_argument("--grades-only", action="store_true",
                   help="the verified scores only, in about a second per submission: the notebooks' experiments "
                        "are not run and no feedback HTML is written (flag 'grades-only'; 'nnopt-grade feedback OUT_DIR' "
                        "renders it later); the same sandbox, "
                        "restored cells, secret seed and verifier, so the same scores")
    p.add_argument("--student", action="append", dest="students", metavar="ID", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade even submissions already graded with the same inputs")
    p.add_argument("--no-gradebook", action="store_true",
                   help="do not write the gradebook, autograded/ or feedback/ of the course (only OUT_DIR)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _printable(text) -> str:
    """``text`` with every character a terminal would act on (escape sequences, newlines) shown escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in str(text))


def _statuses():
    from .grading.status import PRIORITY

    return PRIORITY


def report_main(argv: list[str]) -> int:
    """``nnopt-grade report OUT_DIR``: rebuild the class report from OUT_DIR/results/, without grading."""
    from .grading.report import write_report

    p = argparse.ArgumentParser(prog="nnopt-grade report", description=report_main.__doc__.split(": ", 1)[1])
    p.add_argument("out", metavar="OUT_DIR", type=Path)
    args = p.parse_args(argv)
    if not (args.out / "results").is_dir():
        print(f"nnopt-grade report: {_printable(args.out)}/results does not exist: grade a class with "
              "--out there first", file=sys.stderr)
        return 2
    print(f"class report: {_printable(write_report(args.out))}")
    return 0


def feedback_main(argv: list[str]) -> int:
    """``nnopt-grade feedback OUT_DIR``: render the feedback HTML a --grades-only run left out, from the
    stored results in OUT_DIR/results/ (no regrading; the scores stay as they are)."""
    from .grading.later_feedback import render_stored_feedback

    p = argparse.ArgumentParser(prog="nnopt-grade feedback", description=feedback_main.__doc__.split(": ", 1)[1])
    p.add_argument("out", metavar="OUT_DIR", type=Path)
    p.add_argument("--course-dir", type=Path, default=None, help="the nbgrader course graded into (default: as nnopt-grade)")
    p.add_argument("--student", action="append", dest="students", metavar="ID", help="only this student (repeatable)")
    p.add_argument("--no-gradebook", action="store_true", help="write OUT_DIR/feedback only, not the course's feedback/")
    p.add_argument("--feedback-timeout", type=float, default=_d("feedback_timeout"), metavar="SECONDS",
                   help=f"per feedback HTML (default {_d('feedback_timeout'):g})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if not (args.out / "results").is_dir():
        print(f"nnopt-grade feedback: {_printable(args.out)}/results does not exist: grade a class with "
              "--out there first", file=sys.stderr)
        return 2
    rendered, already = render_stored_feedback(args.out, args.course_dir, students=args.students,
                                               course_files=not args.no_gradebook, timeout=args.feedback_timeout,
                                               progress=not args.no_progress)
    print(f"feedback rendered for {rendered} submission(s); {already} had it already "
          f"(in {_printable(args.out)}/feedback)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:
        return report_main(argv[1:])
    if argv[:1] == ["feedback"]:
        return feedback_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .grading.coordinator import grade_class

    if not args.submissions.is_dir():
        print(f"nnopt-grade: {_printable(args.submissions)} is not a directory", file=sys.stderr)
        return 2
    opts = GradeOptions(
        assignment=args.assignment, submissions_dir=args.submissions, out_dir=args.out, course_dir=args.course_dir,
        workers=args.workers, scheduler=args.scheduler, allow_unsandboxed=args.allow_unsandboxed,
        cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout, verify_timeout=args.verify_timeout,
        feedback_timeout=args.feedback_timeout, judge_timeout=args.judge_timeout,
        memory_mb=args.memory, total_memory_mb=args.total_memory, nproc=args.nproc, progress=not args.no_progress,
        update_gradebook=not args.no_gradebook, force=args.force, students=args.students,
        grades_only=args.grades_only)
    try:
        result = grade_class(opts)
    except KeyboardInterrupt:
        print(f"\nnnopt-grade: interrupted. Submissions graded so far are kept in {_printable(args.out)}/results "
              "and are not graded again by the next run (unless --force).", file=sys.stderr)
        return 130
    except SandboxUnavailable as exc:
        print(f"nnopt-grade: {_printable(exc)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError) as exc:
        print(f"nnopt-grade: {_printable(exc)}", file=sys.stderr)
        return 2
    if not result.results:
        print(f"nnopt-grade: no submissions found in {_printable(args.submissions)}: expected "
              f"<student_id>/{_printable(args.assignment.rpartition(':')[2])}/*.ipynb there (nbgrader's collect "
              "puts them in the course's submitted/ folder)"
              + (", for the students given with --student" if args.students else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

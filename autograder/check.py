"""A grade on demand for one notebook: ``python3 run.py check NOTEBOOK``.

The notebook is graded exactly as ``nnopt-grade --grades-only`` grades a class (same sandbox,
restored cells, secret seed, verifier, judging: the same score as a full run, without running the
notebook's experiments), as the only submission of a private, temporary class; the course's
gradebook and the notebook itself are never touched. It prints, per exercise, the points
earned of possible and why points were lost (the named mistake when the grader recognises one),
then ``total X / Y``.

    python -m autograder.check notebooks/03_momentum/03_momentum.ipynb
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from .assignments import ids
from .grading.options import GradeOptions

__all__ = ["check_notebook", "main", "assignment_of"]


def assignment_of(notebook: Path) -> str:
    """The assignment a notebook belongs to: its folder's name, else its file name (``03_momentum``)."""
    known = ids()
    for candidate in (notebook.parent.name, notebook.stem):
        if candidate in known:
            return candidate
    raise KeyError(f"{notebook} is not one of the course's notebooks ({', '.join(known)}): keep it in its "
                   "folder (notebooks/<id>/<id>.ipynb) or pass --assignment")


def check_notebook(notebook: Path, assignment: str | None = None, *, allow_unsandboxed: bool = False,
                   seed: int | None = None) -> dict:
    """Grade ``notebook`` alone; the result as ``nnopt-grade`` writes it (``results/<name>.json``)."""
    from .grading.coordinator import grade_class

    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} is not a file")
    aid = assignment or assignment_of(notebook)
    from .assignments import get

    expected_name = get(aid).notebook
    with tempfile.TemporaryDirectory(prefix="nnopt-check-") as tmp:
        submitted = Path(tmp) / "submitted" / "me" / aid
        submitted.mkdir(parents=True)
        shutil.copyfile(notebook, submitted / expected_name)  # a copy: the learner's file is only read
        opts = GradeOptions(assignment=aid, submissions_dir=Path(tmp) / "submitted", out_dir=Path(tmp) / "out",
                            workers=1, progress=False, update_gradebook=False, allow_unsandboxed=allow_unsandboxed,
                            seed=seed, grades_only=True, report=False)
        result = grade_class(opts, log=lambda *a, **k: None)
    (only,) = result.results
    return only


def report(result: dict) -> str:
    """The table a learner reads: one line per exercise, then ``total X / Y``."""
    exercises = list(result.get("exercises", {}).values())
    width = max([len(e["name"]) for e in exercises] + [8])
    lines = [f"{'exercise'.ljust(width)}  points     result"]
    for e in exercises:
        points = f"{e['score']:g} / {e['points']:g}"
        if e.get("passed"):
            why = "passed"
        else:
            first = str(e["problems"][0]) if e.get("problems") else e.get("outcome", "")
            if " Hint: " in first:
                first = first.split(" Hint: ", 1)[1]
            elif first.startswith("on ") and ": " in first:  # "on <the case>: <what was wrong>"
                first = first.split(": ", 1)[1]
            why = " ".join(first.split())
        lines.append(f"{e['name'].ljust(width)}  {points.ljust(9)}  {why[:300]}")
    if result.get("status") not in (None, "graded"):
        lines.append(f"status: {result['status']}" + (f" ({'; '.join(result.get('notes', [])[:3])})"
                                                       if result.get("notes") else ""))
    lines.append(f"total {result.get('score') or 0:g} / {result.get('max_score') or 0:g}")
    written = [c for c in (result.get("cells") or {}).values() if isinstance(c, dict) and c.get("kind") == "manual"]
    if written:
        lines.append(f"plus {len(written)} written answer{'s' * (len(written) > 1)} "
                     f"({sum(float(c.get('points') or 0) for c in written):g} points) that a person grades: "
                     "not part of this total")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py check", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--assignment", help="the assignment id, when the notebook is not in notebooks/<id>/")
    args = parser.parse_args(argv)
    from .sandbox import SandboxUnavailable

    try:
        try:
            result = check_notebook(args.notebook, args.assignment)
        except SandboxUnavailable as exc:
            print(f"note: no grading sandbox here ({exc}); your notebook runs unsandboxed, as your own code in "
                  "your own account. The score is computed the same way.", file=sys.stderr)
            result = check_notebook(args.notebook, args.assignment, allow_unsandboxed=True)
    except (FileNotFoundError, KeyError) as exc:
        print(f"run.py check: {str(exc).strip(chr(39))}", file=sys.stderr)
        return 2
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start a notebook over without losing work: ``python3 run.py reset NOTEBOOK``.

The learner's notebook is first copied beside itself as ``<name>.backup-<date>-<time>.ipynb``;
then the notebook is rewritten with its released state (the student version nbgrader generates
from ``solutions/``, as ``notebooks/`` holds it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from .check import assignment_of

__all__ = ["reset_notebook", "main"]


def reset_notebook(notebook: Path, assignment: str | None = None) -> Path:
    """Back up ``notebook``, then restore its released state; returns the backup's path."""
    from .generate import generate

    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} is not a file")
    aid = assignment or assignment_of(notebook)
    released = generate([aid])[aid]
    from .assignments import get

    text = released[get(aid).notebook]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = notebook.with_name(f"{notebook.stem}.backup-{stamp}{notebook.suffix}")
    n = 1
    while backup.exists():  # two resets within a second keep both backups
        n += 1
        backup = notebook.with_name(f"{notebook.stem}.backup-{stamp}-{n}{notebook.suffix}")
    shutil.copy2(notebook, backup)
    notebook.write_text(text, encoding="utf-8")
    return backup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py reset", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--assignment", help="the assignment id, when the notebook is not in notebooks/<id>/")
    args = parser.parse_args(argv)
    try:
        backup = reset_notebook(args.notebook, args.assignment)
    except (FileNotFoundError, KeyError) as exc:
        print(f"run.py reset: {str(exc).strip(chr(39))}", file=sys.stderr)
        return 2
    print(f"your version is saved as {backup}\n{args.notebook} is back to its released state")
    return 0


if __name__ == "__main__":
    sys.exit(main())

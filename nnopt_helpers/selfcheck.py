"""A grade from the visible checks alone, for a learner without the grader: ``check_notebook(path)``.

In the learner edition (``python3 run.py check NOTEBOOK``) and from a notebook cell::

    from nnopt_helpers.selfcheck import check_notebook
    print(check_notebook("03_momentum.ipynb"))

The notebook's imports and definitions, its answer cells and its test cells run in a fresh
kernel (its experiments and figures do not: a few seconds in all); each test cell's points count
when its visible checks pass. The file is only read. This is **not** the instructor's grade: that
one also runs hidden tests on cases you have not seen, so a function that passes here can still
lose points there (the table's last line says so).
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

__all__ = ["check_notebook", "Row", "cells_to_run"]

NOTE = "visible checks only: the instructor's grade also runs hidden tests on cases you have not seen"


@dataclasses.dataclass
class Row:
    """One test cell: its name, points, and whether its visible checks passed (and why not)."""

    name: str
    points: float
    passed: bool
    why: str = ""
    checked: bool = True  # False: a derived number, which only the instructor's grader can judge


#: What a derived number's row says: its test cell has no visible check (one would give the number away).
UNCHECKED = "answered; only the instructor's grader judges this number"


class Report(list):
    """The rows, printed as the table a learner reads (``str(report)``)."""

    def __str__(self) -> str:
        width = max([len(r.name) for r in self] + [8])
        lines = [f"{'exercise'.ljust(width)}  points     result"]
        for r in self:
            points = f"{r.points if r.passed and r.checked else 0:g} / {r.points:g}"
            result = (UNCHECKED if r.checked is False and r.passed else 'passed' if r.passed else r.why)
            lines.append(f"{r.name.ljust(width)}  {points.ljust(9)}  {result}")
        earned = sum(r.points for r in self if r.passed and r.checked)
        lines.append(f"total {earned:g} / {sum(r.points for r in self):g} ({NOTE})")
        return "\n".join(lines)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _definitions_only(source: str) -> bool:
    """Imports, functions and classes only (what the answer cells may need, nothing that runs long)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return bool(body) and all(isinstance(node, kinds) for node in body)


def cells_to_run(nb) -> list[int]:
    """Indices of the code cells to run: definitions, answer cells and test cells, in order."""
    keep = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        if meta.get("solution") or meta.get("grade") or _definitions_only(cell.source):
            keep.append(i)
    return keep


def _test_name(cell) -> str:
    gid = _nbgrader(cell).get("grade_id", "")
    return gid[len("test_"):] if gid.startswith("test_") else gid


def _why(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = str(out.get("evalue", "")).strip() or str(out.get("ename", "error"))
            return " ".join(text.split())[:300]
    return "the cell did not run"


def check_notebook(path, *, timeout: float = 120.0) -> Report:
    """Run the notebook's definitions, answers and visible checks (see the module docstring)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    keep = cells_to_run(nb)
    tests = [i for i in keep if _nbgrader(nb.cells[i]).get("grade") and not _nbgrader(nb.cells[i]).get("solution")]
    if not tests:
        raise ValueError(f"{path} has no test cells: is it one of the course's notebooks?")
    slim = nbformat.v4.new_notebook(metadata=nb.metadata)
    slim.cells = [nb.cells[i] for i in keep]
    for cell in slim.cells:
        cell.outputs = []
    client = NotebookClient(slim, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    rows = Report()
    for cell in slim.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            rows.append(Row(_test_name(cell), float(meta.get("points", 0)), not failed, _why(cell) if failed else "",
                            checked="run_check(" in cell.source))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m nnopt_helpers.selfcheck NOTEBOOK", file=sys.stderr)
        return 2
    try:
        print(check_notebook(argv[0]))
    except (OSError, ValueError) as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

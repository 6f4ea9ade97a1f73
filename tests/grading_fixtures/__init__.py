"""Submissions for grading tests, built from the solution notebook by editing cells.

A fixture is a :class:`Fixture`: a name, a ``build`` function that turns the course's notebooks
into the files of one submission, and what grading it must give (the status, and the verified
score of each exercise). Any module in this package that defines ``FIXTURES = [...]`` is picked up
by :func:`collect`, so adding a hostile case is one entry in a list (or one new module):

    Fixture("allclose-patched",
            edit(solution_cell("sgd_momentum", prepend="np.allclose = lambda *a, **k: True"),
                 solution_cell("sgd_momentum", replace=("- config", "+ config"))),
            status="graded", scores={"sgd_momentum": 0, "nesterov_momentum": 4, "momentum_optimal_params": 2,
                                     "predicted_nesterov_max_lr": 1})

``build(course)`` gets a :class:`CourseNotebooks` (``source``, ``master``, ``student``, ``correct``)
and returns ``{filename: bytes}`` for ``<student>/<assignment>/`` (``None`` for no files at all).
The helpers below cover the usual edits; a fixture may also write raw bytes.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil
from pathlib import Path
from typing import Callable

import nbformat

ASSIGNMENT_ID = "03_momentum"
NOTEBOOK = "03_momentum.ipynb"
REPO = Path(__file__).resolve().parents[2]


def on_this_host(code: str) -> str:
    """Hostile code names the course where it really is: ``$REPO`` becomes this clone's path."""
    return code.replace("$REPO_PARENT", str(REPO.parent)).replace("$REPO", str(REPO))


@dataclasses.dataclass
class CourseNotebooks:
    """The notebooks a fixture starts from (all nbformat nodes; copy before editing)."""

    source: nbformat.NotebookNode   # solutions/ (with solutions and hidden tests)
    master: nbformat.NotebookNode   # as in the gradebook: stubs, hidden tests
    student: nbformat.NotebookNode  # as released: stubs, no hidden tests (an empty submission)
    correct: nbformat.NotebookNode  # the student version with the source's solution cells pasted in

    @property
    def slim(self) -> nbformat.NotebookNode:
        """``correct`` without the learner's experiment cells (plots, training runs): the imports,
        every nbgrader cell and the markdown stay. Still a correct submission (the experiments are
        ordinary cells, not part of the assignment's skeleton), and its kernel runs in a few seconds,
        so hostile fixtures whose point is elsewhere start from it to keep the catalogue fast."""
        nb = copy.deepcopy(self.correct)
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells = [c for i, c in enumerate(nb.cells)
                    if c.cell_type != "code" or i == first_code or c.metadata.get("nbgrader")]
        return nb


@dataclasses.dataclass
class Fixture:
    name: str
    build: Callable[[CourseNotebooks], dict | None]
    status: str
    scores: dict | None = None          # exercise -> verified score; None: not checked
    flags: tuple = ()                   # flags that must also be present
    description: str = ""
    slow: bool = False
    note: str = ""                      # text the grader's notes (or the exercises' problems) must contain


def load_course_notebooks(source_path: Path | None = None, config=None) -> CourseNotebooks:
    from autograder.grading.notebooks import build_master, build_student_version

    if config is None:
        from autograder.grading.coordinator import load_course

        config = load_course(REPO).config
    source = nbformat.read(source_path or REPO / "solutions" / ASSIGNMENT_ID / NOTEBOOK, as_version=4)
    master = build_master(source, config)
    student = build_student_version(master, config)
    correct = copy.deepcopy(student)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in correct.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell.source = solutions[gid]
    return CourseNotebooks(source=source, master=master, student=student, correct=correct)


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _find(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if _gid(cell) == grade_id:
            return i
    raise KeyError(grade_id)


# Edits: functions nb -> None that change a notebook in place ------------------------------------


def solution_cell(grade_id: str, *, source: str | None = None, prepend: str | None = None,
                  append: str | None = None, replace: tuple[str, str] | None = None):
    """Edit the solution cell ``grade_id``: new source, or a prefix/suffix, or a text replacement."""

    def apply(nb):
        cell = nb.cells[_find(nb, grade_id)]
        src = cell.source if source is None else source
        if replace is not None:
            if replace[0] not in src:
                raise ValueError(f"{replace[0]!r} not in cell {grade_id}")
            src = src.replace(*replace)
        if prepend:
            src = prepend + "\n" + src
        if append:
            src = src + "\n" + append
        cell.source = src

    return apply


def delete_cell(grade_id: str):
    def apply(nb):
        del nb.cells[_find(nb, grade_id)]

    return apply


def duplicate_cell(grade_id: str):
    def apply(nb):
        i = _find(nb, grade_id)
        dup = copy.deepcopy(nb.cells[i])
        dup["id"] = (dup.get("id") or "c") + "-dup"
        nb.cells.insert(i + 1, dup)

    return apply


def edit_metadata(grade_id: str, **changes):
    """Change the nbgrader metadata of a cell (``None`` deletes a key; ``nbgrader=None`` drops it all)."""

    def apply(nb):
        cell = nb.cells[_find(nb, grade_id)]
        if changes.get("nbgrader", "keep") is None:
            cell.metadata.pop("nbgrader", None)
            return
        for k, v in changes.items():
            if v is None:
                cell.metadata["nbgrader"].pop(k, None)
            else:
                cell.metadata["nbgrader"][k] = v

    return apply


def replace_source(grade_id: str, source: str):
    """Overwrite any cell's source (e.g. empty a test cell)."""

    def apply(nb):
        nb.cells[_find(nb, grade_id)].source = source

    return apply


def insert_code_after(grade_id: str, source: str):
    """Add an ordinary code cell after ``grade_id``."""

    def apply(nb):
        nb.cells.insert(_find(nb, grade_id) + 1, nbformat.v4.new_code_cell(source))

    return apply


def kernelspec(name: str, display_name: str = "Other"):
    def apply(nb):
        nb.metadata["kernelspec"] = {"name": name, "display_name": display_name, "language": "python"}

    return apply


def edit(*edits, start: str = "correct", extra_files: dict | None = None):
    """A build function: copy the ``start`` notebook, apply ``edits``, add ``extra_files`` beside it."""

    def build(course: CourseNotebooks):
        nb = copy.deepcopy(getattr(course, start))
        for e in edits:
            e(nb)
        files = {NOTEBOOK: nbformat.writes(nb).encode()}
        files.update(extra_files or {})
        return files

    return build


def slim(*edits, extra_files: dict | None = None):
    """``edit(*edits, start="slim")``: the edits applied to the correct notebook without its experiment cells."""
    return edit(*edits, start="slim", extra_files=extra_files)


def raw(files: dict | None):
    """A build function returning fixed files (bytes), e.g. a notebook that is not JSON."""

    return lambda course: files


@dataclasses.dataclass(frozen=True)
class Symlink:
    """A file of a submission that is a symbolic link to ``target`` (relative to the file's folder, or absolute)."""

    target: str


def write_submission(root: Path, student_id: str, files: dict | None) -> Path:
    """Write one fixture's files to ``root/<student_id>/<assignment>/`` (names may contain folders:
    ``autograder/__init__.py``; a :class:`Symlink` value makes a symbolic link)."""
    d = Path(root) / student_id / ASSIGNMENT_ID
    d.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Symlink):
            path.symlink_to(data.target)
        else:
            path.write_bytes(data)
    return d


def collect(modules: list[str] | None = None) -> list[Fixture]:
    """The FIXTURES lists of ``modules`` (default: every module of this package), in one list."""
    out = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if modules is not None and info.name not in modules:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        out += list(getattr(module, "FIXTURES", []))
    names = [f.name for f in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate fixture names: {sorted(dupes)}")
    return out


FULL = {"sgd_momentum": 4, "nesterov_momentum": 4, "momentum_optimal_params": 2, "predicted_nesterov_max_lr": 1}
ZERO = {"sgd_momentum": 0, "nesterov_momentum": 0, "momentum_optimal_params": 0, "predicted_nesterov_max_lr": 0}

# Plausible wrong answers (a flipped sign, an off-by-one), for fixtures that must not earn the points.
WRONG_SGD = solution_cell("sgd_momentum", replace=("- config", "+ config"))
WRONG_NESTEROV = solution_cell("nesterov_momentum", replace=("- config", "+ config"))
WRONG_PARAMS = solution_cell("momentum_optimal_params", replace=("(sqrt_kappa - 1.0)", "(sqrt_kappa - 2.0)"))


def but(**scores) -> dict:
    """FULL with some exercises' scores changed: ``but(sgd_momentum=0)``."""
    return {**FULL, **scores}

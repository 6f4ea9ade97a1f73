"""The data of grading, typed: what a worker is given (:class:`GradeJob`) and what it gives back
(:class:`SubmissionResult`, with a :class:`CellResult` per grade cell and an :class:`ExerciseResult`
per graded function).

A job crosses a process pool or a Dask cluster, so it holds plain values only (bytes, text,
numbers, lists, a dict of options). A result crosses back, and is stored in ``OUT_DIR/results/<name>.json``,
in its JSON form (:meth:`SubmissionResult.to_dict`); the coordinator works on that form, and
:meth:`SubmissionResult.from_dict` reads it back. :func:`grader_error` is the one place a
``grader-error`` result is made.
"""

from __future__ import annotations

import dataclasses
import time

from .options import worker_defaults

__all__ = ["GradeJob", "CellResult", "ExerciseResult", "SubmissionResult", "grader_error"]

HIDDEN_DELIMITERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@dataclasses.dataclass
class GradeJob:
    """One submission to grade, and everything a worker needs for it (nothing of the course's files)."""

    student_id: str
    notebook_bytes: bytes | None = None   # the submitted notebook (None: not in the submission)
    other_notebooks: list = dataclasses.field(default_factory=list)  # other .ipynb files found there
    timestamp: str | None = None          # the submission's timestamp.txt, when it is one
    notes: list = dataclasses.field(default_factory=list)            # what discovery noticed
    key: str = ""                         # the result's key (submission, assignment version, options)
    run_id: str = ""                      # this grading run (one sandbox and lib dir per process and run)
    assignment_ref: str = ""              # the id or ``package.module:NAME`` given to nnopt-grade
    assignment_id: str = ""
    notebook: str = ""                    # the notebook's file name
    master: str = ""                      # the master notebook (nbformat JSON)
    released: str | None = None           # the student version (nbformat JSON)
    seed: int = 0                         # the verifier's secret seed of this run
    options: dict = dataclasses.field(default_factory=worker_defaults)  # GradeOptions.worker_options()
    lib_dir: str | None = None            # the sandbox's lib dir, when it is shared (a local pool)
    work_dir: str | None = None           # where the worker makes its scratch directories
    hidden_delimiters: tuple = HIDDEN_DELIMITERS

    def __post_init__(self):
        self.options = {**worker_defaults(), **(self.options or {})}
        self.other_notebooks = list(self.other_notebooks or [])
        self.notes = list(self.notes or [])
        self.hidden_delimiters = tuple(self.hidden_delimiters or HIDDEN_DELIMITERS)


@dataclasses.dataclass
class CellResult:
    """One grade cell: its score (the verifier's for a graded function's test cell), and the kernel's."""

    score: float | None
    points: float
    kind: str                             # test | manual
    kernel_score: float | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ExerciseResult:
    """One graded function, as the verifier judged it."""

    name: str
    grade_id: str
    points: float
    score: float = 0.0
    passed: bool = False
    outcome: str = "not-graded"           # passed | failed | not-implemented | missing | timeout | ... | no-notebook
    problems: list = dataclasses.field(default_factory=list)
    kernel_passed: bool | None = None     # what the in-kernel tests said (None: they did not run)
    solution_cell: str | None = None      # grade_id of the solution cell before its test cell

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: Keys of the JSON form that are written only when set.
_OPTIONAL = ("timings", "unchanged_solutions", "traceback")


@dataclasses.dataclass
class SubmissionResult:
    """The grade of one submission (see the module docstring for its JSON form)."""

    student_id: str
    assignment: str | None
    notebook: str | None
    key: str | None
    status: str | None = None
    flags: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    score: float = 0.0
    max_score: float | None = None
    cells: dict = dataclasses.field(default_factory=dict)       # grade_id -> CellResult
    exercises: dict = dataclasses.field(default_factory=dict)   # name -> ExerciseResult
    timestamp: str | None = None
    sandboxed: bool | None = None
    verifier: dict | None = None          # flags, attempts, seconds, cell_errors of the verifier's run
    kernel: dict | None = None            # what the in-kernel run reported
    timings: dict | None = None           # seconds per step
    unchanged_solutions: list | None = None  # solution cells left as released (nbgrader's "No response.")
    traceback: str | None = None          # of a grader-error
    autograded: str | None = None         # the autograded notebook (nbformat JSON), sanitized
    feedback_html: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _OPTIONAL and value is None:
                continue
            if f.name in ("cells", "exercises"):
                value = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in value.items()}
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["cells"] = {g: CellResult(**c) for g, c in (data.get("cells") or {}).items()}
        kwargs["exercises"] = {n: ExerciseResult(**e) for n, e in (data.get("exercises") or {}).items()}
        return cls(**kwargs)


def _get(job, name: str):
    return job.get(name) if isinstance(job, dict) else getattr(job, name, None)


def grader_error(job, exc: BaseException, what: str, *, seconds: float | None = None,
                 traceback: str | None = None) -> dict:
    """The result of a job the grader failed on (``job``: a :class:`GradeJob`, or its dict form): status
    ``grader-error``, 0 points, the reason in the notes; in its JSON form."""
    return SubmissionResult(student_id=_get(job, "student_id"), assignment=_get(job, "assignment_id"),
                            notebook=_get(job, "notebook"), key=_get(job, "key"), status="grader-error",
                            flags=["grader-error"], notes=[f"{what}: {type(exc).__name__}: {exc}"[:500]],
                            timestamp=_get(job, "timestamp"), traceback=traceback, seconds=seconds).to_dict()


def elapsed(t0: float) -> float:
    return round(time.monotonic() - t0, 3)

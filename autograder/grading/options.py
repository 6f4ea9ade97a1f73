"""The options of a grading run, and their defaults: the one place they are written.

``nnopt-grade``'s parser (:mod:`autograder.cli`) takes its defaults from :class:`GradeOptions`, the
coordinator puts :meth:`GradeOptions.worker_options` into every job, and the worker turns them into
:class:`autograder.sandbox.Limits` with :func:`sandbox_limits` (whose own defaults are read from
here too). Times are in seconds, memory in MiB.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["GradeOptions", "WORKER_OPTIONS", "worker_defaults"]


@dataclasses.dataclass
class GradeOptions:
    """Everything ``nnopt-grade`` takes (see ``autograder.cli``)."""

    assignment: str
    submissions_dir: Path
    out_dir: Path
    course_dir: Path | None = None
    workers: int | None = None
    scheduler: object = None            # a Dask scheduler address, or a dask.distributed.Client
    allow_unsandboxed: bool = False
    cell_timeout: float = 60.0          # one notebook cell, in the kernel
    notebook_timeout: float = 600.0     # the whole in-kernel run of one notebook
    verify_timeout: float = 60.0        # one attempt of the verifier
    judge_timeout: float = 30.0         # judging one exercise's results, in the grader (honest ones: well under 1 s)
    feedback_timeout: float = 60.0      # rendering one feedback HTML, in the grader (learner markdown can be slow)
    memory_mb: int = 2048               # address space of each sandboxed process
    total_memory_mb: int = 3072         # all processes of one sandbox together (resident)
    nproc: int = 96                     # processes + threads of one sandbox
    max_cell_output: int = 100_000      # characters of text output kept per cell
    max_output: int = 10_000_000        # characters of output (images included) kept per notebook
    grades_only: bool = False           # the verified score only: no in-kernel run, no feedback HTML
    progress: bool = True
    update_gradebook: bool = True
    force: bool = False                 # regrade even when a result with the same key exists
    seed: int | None = None             # the verifier's seed; secret and random unless given (tests)
    students: list | None = None        # grade only these
    report: bool = True                 # write OUT/report.html and report.json (autograder.grading.report)

    def worker_options(self) -> dict:
        """The options a job carries to the worker (plain values: they cross a process pool or Dask),
        also part of every result's key."""
        return {name: kind(getattr(self, name)) for name, kind in WORKER_OPTIONS.items()}


#: The options the worker reads, and their types.
WORKER_OPTIONS = {"cell_timeout": float, "notebook_timeout": float, "verify_timeout": float, "judge_timeout": float,
                  "memory_mb": int, "total_memory_mb": int, "nproc": int, "max_cell_output": int, "max_output": int,
                  "feedback_timeout": float, "allow_unsandboxed": bool, "grades_only": bool}


def default(name: str):
    """The default of the option ``name`` (a field of :class:`GradeOptions`)."""
    return GradeOptions.__dataclass_fields__[name].default


def worker_defaults() -> dict:
    """:meth:`GradeOptions.worker_options` of a run that sets none of them."""
    return {name: default(name) for name in WORKER_OPTIONS}

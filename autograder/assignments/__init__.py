"""Registry of the graded assignments: assignment id -> :class:`autograder.spec.Assignment`.

Each assignment lives in its own module, which defines ``ASSIGNMENT``; modules are imported
only when an assignment is asked for (``get``), so one broken module never hides the others.
To add an assignment, add one line to ``MODULES``: this is the course's only registry (its
mistakes live in ``autograder.mutants.<same module name>``, found from here).

Points are written once, in nbgrader's metadata of the source notebook's test cells
(``solutions/<id>/<id>.ipynb``); each ``Assignment`` reads them from there (``autograder.spec``).

    >>> from autograder.assignments import get
    >>> get("03_momentum").max_score
    10.0

``ASSIGNMENTS`` (all of them, as a plain dict) is built on first access.
"""

from __future__ import annotations

import importlib

from ..spec import Assignment

__all__ = ["MODULES", "ASSIGNMENTS", "get", "ids", "module_name"]

MODULES: dict[str, str] = {
    "01_challenges": "autograder.assignments.challenges",
    "02_local_optima": "autograder.assignments.local_optima",
    "03_momentum": "autograder.assignments.momentum",
    "04_adaptive_lr": "autograder.assignments.adaptive_lr",
    "05_initialization": "autograder.assignments.initialization",
    "06_batch_norm": "autograder.assignments.batch_norm",
}


def ids() -> list[str]:
    """The ids of every registered assignment, sorted."""
    return sorted(MODULES)


def module_name(assignment_id: str, package: str = "assignments") -> str:
    """``autograder.<package>.<module>`` of an assignment (``package``: assignments, mutants, references)."""
    try:
        module = MODULES[assignment_id]
    except KeyError:
        raise KeyError(f"unknown assignment {assignment_id!r}; known: {', '.join(ids())}") from None
    return module.replace(".assignments.", f".{package}.", 1)


def get(assignment_id: str) -> Assignment:
    """The :class:`Assignment` with this id (imports its module on first use)."""
    module = module_name(assignment_id)
    assignment = importlib.import_module(module).ASSIGNMENT
    if assignment.id != assignment_id:
        raise RuntimeError(f"{module} defines assignment {assignment.id!r}, registered as {assignment_id!r}")
    return assignment


def __getattr__(name):
    # PEP 562: `from autograder.assignments import ASSIGNMENTS` builds the dict lazily.
    if name == "ASSIGNMENTS":
        return {aid: get(aid) for aid in ids()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

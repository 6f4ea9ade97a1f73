"""Registry of the graded assignments: assignment id -> :class:`autograder.spec.Assignment`.

Each assignment lives in its own module, which defines ``ASSIGNMENT``; modules are imported
only when an assignment is asked for (``get``), so one broken module never hides the others.
To add an assignment, add its module here: ``MODULES`` finds it (the course's only registry; its
mistakes live in ``autograder.mutants.<same module name>``, found from here).

Points are written once, in nbgrader's metadata of the source notebook's test cells
(``solutions/<id>/<id>.ipynb``); each ``Assignment`` reads them from there (``autograder.spec``).

    >>> from autograder.assignments import get
    >>> get("03_momentum").max_score
    10.0

``ASSIGNMENTS`` (all of them, as a plain dict) is built on first access.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from ..spec import Assignment

__all__ = ["MODULES", "ASSIGNMENTS", "get", "ids", "module_name"]

def _discover(directory: Path | None = None, package: str = __name__) -> dict[str, str]:
    """``{assignment id: module}`` for every module here that builds ``ASSIGNMENT = Assignment(id=...)``.

    The modules are read, not imported (``ast``), so that one broken module never hides the others
    and nothing runs until an assignment is asked for; ``id`` may be a string or a module-level
    string constant (``ID = "04_adaptive_lr"``).
    """
    found = {}
    for path in sorted((directory or Path(__file__).resolve().parent).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     for t in node.targets if isinstance(t, ast.Name) and isinstance(node.value, ast.Constant)}
        for node in tree.body:
            if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ASSIGNMENT" for t in node.targets)
                    and isinstance(node.value, ast.Call)):
                for kw in node.value.keywords:
                    if kw.arg == "id":
                        value = kw.value.value if isinstance(kw.value, ast.Constant) else constants.get(getattr(kw.value, "id", None))
                        if isinstance(value, str):
                            found[value] = f"{package}.{path.stem}"
    return dict(sorted(found.items()))


#: assignment id -> its module, found by reading the modules of this package: the course's only registry
MODULES: dict[str, str] = _discover()


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

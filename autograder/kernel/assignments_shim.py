"""The hidden tests' view of ``autograder.assignments`` inside the sandbox.

The grader copies this file into the sandbox's lib dir as ``autograder/assignments/__init__.py``.
It knows no references: for each assignment the grader computed, in its own process, the cases
that ``Assignment.check`` uses in the kernel (the assignment's public ``kernel_seed``) and their
expected results, and wrote them to ``autograder/_kernel_data/<assignment_id>.npz`` as plain
data. ``get(id).check(name, fn)`` then behaves like the real one (same drivers, same
comparison, same messages), minus the hints that need the mutants. An exercise judged by
properties (``autograder/properties/``) gets that module copied here too, and no expected values. Whatever student code does
to this in-kernel check only changes the in-kernel result; the grade comes from the verifier.
"""

from __future__ import annotations

import importlib
import os

from ..plain import unpack
from ..spec import Assignment, Exercise

__all__ = ["get", "ids"]

_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_kernel_data")
_CACHE: dict[str, Assignment] = {}


def ids() -> list[str]:
    """Assignments the grader prepared data for."""
    try:
        return sorted(f[:-4] for f in os.listdir(_DATA) if f.endswith(".npz"))
    except OSError:
        return []


def _exercise(data: dict) -> Exercise:
    cases, expected, descriptions = data["cases"], data["expected"], data["descriptions"]

    def index(case) -> int:
        for i, c in enumerate(cases):
            if c is case:
                return i
        raise KeyError("unknown case")

    properties = None
    if data.get("properties"):
        # a function of autograder/properties/ (copied here by the grader; it holds no answers)
        module, _, qualname = data["properties"].partition(":")
        properties = getattr(importlib.import_module(module), qualname)
    return Exercise(
        name=data["name"], grade_id=data["grade_id"], points=data["points"], driver=data["driver"],
        make_cases=lambda rng: cases, rtol=data["rtol"],
        reference=(lambda case: expected[index(case)]) if expected is not None else None,
        describe=lambda case: descriptions[index(case)], properties=properties,
    )


def get(assignment_id: str) -> Assignment:
    """The in-kernel :class:`~autograder.spec.Assignment` with this id."""
    if assignment_id not in _CACHE:
        path = os.path.join(_DATA, f"{assignment_id}.npz")
        try:
            with open(path, "rb") as f:
                data = unpack(f.read())
        except OSError:
            raise KeyError(f"unknown assignment {assignment_id!r}; known: {', '.join(ids())}") from None
        _CACHE[assignment_id] = Assignment(
            id=data["id"], notebook=data["notebook"], kernel_seed=data["kernel_seed"],
            exercises=tuple(_exercise(e) for e in data["exercises"]))
    return _CACHE[assignment_id]

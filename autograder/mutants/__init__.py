"""Catalogues of known mistakes ("mutants"), one module per assignment.

Each module defines ``MUTANTS: dict[exercise_name, dict[mutant_name, (fn, description)]]``:
``fn`` has the graded function's signature and makes one classic mistake, ``description`` says
which, in the learner's terms. They serve three purposes: the tests require every mutant to
fail the hidden tests (so the tests are known to catch these mistakes); ``autograder.expected``
records, for the visible self-checks, what each mistake would output, so a learner who makes it
is told so; and the hidden tests' ``explain`` hooks name the mistake in feedback.

``catalogue(assignment_id)`` loads one module lazily: ``autograder.mutants.<module>`` for the
module name registered in ``autograder.assignments.MODULES`` (the only registry).
"""

from __future__ import annotations

import importlib


def catalogue(assignment_id: str) -> dict:
    """The ``MUTANTS`` dict of one assignment (``{}`` if it has none yet)."""
    from ..assignments import module_name

    try:
        module = importlib.import_module(module_name(assignment_id, "mutants"))
    except KeyError:  # not a registered assignment
        return {}
    except ModuleNotFoundError as exc:
        if exc.name != module_name(assignment_id, "mutants"):
            raise
        return {}
    return module.MUTANTS

"""Catalogues of known mistakes ("mutants"), one module per assignment.

Each module defines ``MUTANTS: dict[exercise_name, dict[mutant_name, (fn, description)]]``:
``fn`` has the graded function's signature and makes one classic mistake, ``description`` says
which, in the learner's terms. They serve three purposes: the tests require every mutant to
fail the hidden tests (so the tests are known to catch these mistakes); ``autograder.expected``
records, for the visible self-checks, what each mistake would output, so a learner who makes it
is told so; and the hidden tests' ``explain`` hooks name the mistake in feedback.

``catalogue(assignment_id)`` loads one module lazily; add a line to ``MODULES`` for a new one.
"""

from __future__ import annotations

import importlib

MODULES = {
    "01_challenges": "autograder.mutants.challenges",
    "02_local_optima": "autograder.mutants.local_optima",
    "03_momentum": "autograder.mutants.momentum",
    "04_adaptive_lr": "autograder.mutants.adaptive_lr",
    "05_initialization": "autograder.mutants.initialization",
    "06_batch_norm": "autograder.mutants.batch_norm",
}


def catalogue(assignment_id: str) -> dict:
    """The ``MUTANTS`` dict of one assignment (``{}`` if it has none yet)."""
    module = MODULES.get(assignment_id)
    return importlib.import_module(module).MUTANTS if module else {}

"""Pieces every assignment module uses: describing a case in words, and naming a known mistake.

* :func:`describe_update_case` says what an ``update_rule`` case is (``a 6-step run on an array of
  shape (4, 5) with config=None``), for the hidden tests' messages;
* :func:`mutant_explainer` builds an ``Exercise.explain`` hook: it runs the known mistakes of the
  assignment (``autograder.mutants``) on the failing case and names the one whose output equals
  the learner's. It runs in the grader's process only (the mutants are imported when a hint is
  needed, never in the sandbox).
"""

from __future__ import annotations

import copy

import numpy as np

from ..drivers import DRIVERS
from ..plain import NotPlain, pack, same, unpack

__all__ = ["describe_config", "describe_update_case", "mutant_explainer"]


def describe_config(config, name: str = "config", array_state: bool = True) -> str:
    """E.g. ``config={'learning_rate': 0.05, 'velocity': (a non-zero array)}``.

    ``name`` is the dict's name in the text; with ``array_state=False`` an array reads ``(an array)``.
    """
    if config is None:
        return f"{name}=None"
    parts = []
    for key, value in config.items():
        if isinstance(value, np.ndarray):
            state = ("a zero" if not value.any() else "a non-zero") if array_state else "an"
            parts.append(f"{key!r}: ({state} array)")
        else:
            parts.append(f"{key!r}: {value!r}")
    return name + "={" + ", ".join(parts) + "}"


def describe_update_case(case) -> str:
    """E.g. ``a 6-step run on an array of shape (4, 5) with config=None``."""
    return (f"a {len(case['dws'])}-step run on an array of shape {tuple(np.shape(case['w']))} "
            f"with {describe_config(case.get('config'))}")


def _size(value, limit: int) -> int:
    """Nodes plus array elements of a plain value, counted until ``limit`` is passed (then ``limit + 1``)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        v = stack.pop()
        total += 1
        if isinstance(v, np.ndarray):
            total += v.size
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return min(total, limit + 1)


#: A learner's result this many times the size of the reference's (plus a little) equals no known
#: mistake's: the catalogues' outputs are at most 1.8 times the reference's (01_challenges'
#: one_step_too_many on a 5-step run).
SIZE_FACTOR = 4


def mutant_explainer(assignment_id: str, name: str, driver: str, *, rtol: float = 1e-9, atol=0.0,
                     nan_equal: bool = True, copy_case: bool = False, skip_errors: bool = False, first=None,
                     fallback=None):
    """explain(case, expected, actual): name the known mistake of ``name`` whose output equals ``actual``.

    :func:`autograder.plain.same` decides, with ``rtol``, ``atol`` and ``nan_equal``; ``copy_case`` gives each
    mutant a deep copy of the case; ``skip_errors`` passes over mutants whose run ends in an error.
    ``first(case, expected, actual)`` may return a hint before any mutant runs, and
    ``fallback(case, actual)`` one when no mutant matches.

    When the result is far larger than the reference's (:data:`SIZE_FACTOR`), no mutant runs: none
    gives such a result, and comparing with it would only cost time.
    """

    def explain(case, expected, actual):
        from ..mutants import catalogue  # grader side only; imported when a hint is needed

        if first is not None:
            hint = first(case, expected, actual)
            if hint is not None:
                return hint
        got = {k: v for k, v in actual.items() if k != "mutated"}
        if isinstance(expected, dict):
            limit = SIZE_FACTOR * _size({k: v for k, v in expected.items() if k != "mutated"}, 10**9) + 100
            if _size(got, limit) > limit:
                return fallback(case, actual) if fallback is not None else None
        for fn, description in catalogue(assignment_id).get(name, {}).values():
            try:
                with np.errstate(all="ignore"):  # some mistakes diverge; that is their business
                    out = unpack(pack(DRIVERS[driver](fn, copy.deepcopy(case) if copy_case else case)))
            except NotPlain:
                continue
            if skip_errors and "error" in out:
                continue
            if same({k: v for k, v in out.items() if k != "mutated"}, got, rtol, atol=atol, nan_equal=nan_equal):
                return f"it looks like {description}"
        return fallback(case, actual) if fallback is not None else None

    return explain

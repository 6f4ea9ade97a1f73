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
from ..plain import NotPlain, is_number, pack, unpack
from ..spec import rel_error

__all__ = ["describe_config", "describe_update_case", "same_output", "mutant_explainer"]


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


def same_output(a, b, rtol=1e-9, nan_equal: bool = True) -> bool:
    """True when two plain driver outputs agree: same structure, dtypes and shapes, values within rtol.

    With ``nan_equal`` (the default), NaN and inf in the same places count as the same output;
    without it, every value is compared by :func:`rel_error` alone (a NaN or inf never agrees).
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype):
            return False
        if not nan_equal:
            return rel_error(a, b) <= rtol
        if a.dtype.kind != "f":
            return bool(np.array_equal(a, b))
        finite = np.isfinite(a) & np.isfinite(b)
        # NaN and inf where the mistake gives them too (a division by zero) count as the same output.
        return bool(np.array_equal(a[~finite], b[~finite], equal_nan=True)) and rel_error(a[finite], b[finite]) <= rtol
    if isinstance(a, dict) or isinstance(b, dict):
        return type(a) is dict and type(b) is dict and a.keys() == b.keys() and all(
            same_output(a[k], b[k], rtol, nan_equal) for k in a)
    if isinstance(a, list) or isinstance(b, list):
        return (type(a) is list and type(b) is list and len(a) == len(b)
                and all(same_output(x, y, rtol, nan_equal) for x, y in zip(a, b)))
    if is_number(a) and is_number(b):
        if nan_equal and not (np.isfinite(a) and np.isfinite(b)):
            return a == b or (np.isnan(a) and np.isnan(b))
        return rel_error(a, b) <= rtol
    return type(a) is type(b) and a == b


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


def mutant_explainer(assignment_id: str, name: str, driver: str, *, same=same_output, copy_case: bool = False,
                     skip_errors: bool = False, first=None, fallback=None):
    """explain(case, expected, actual): name the known mistake of ``name`` whose output equals ``actual``.

    ``same(mutant_output, actual)`` decides (default :func:`same_output`); ``copy_case`` gives each
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
            if same({k: v for k, v in out.items() if k != "mutated"}, got):
                return f"it looks like {description}"
        return fallback(case, actual) if fallback is not None else None

    return explain

"""Pieces every assignment module uses: describing a case in words, and naming a known mistake.

* :func:`describe_update_case` says what an ``update_rule`` case is (``a 6-step run on an array of
  shape (4, 5) with config=None``), for the hidden tests' messages;
* :func:`mutant_explainer` builds an ``Exercise.explain`` hook: it runs the known mistakes of the
  assignment (``autograder.mutants``) on the failing case and names the one whose output equals
  the learner's. It runs in the grader's process only (the mutants are imported when a hint is
  needed, never in the sandbox).
"""

from __future__ import annotations

import numpy as np

from ..drivers import DRIVERS
from ..plain import NotPlain, is_number, pack, unpack
from ..spec import rel_error

__all__ = ["describe_config", "describe_update_case", "same_output", "mutant_explainer"]


def describe_config(config) -> str:
    """E.g. ``config={'learning_rate': 0.05, 'velocity': (a non-zero array)}``."""
    if config is None:
        return "config=None"
    parts = []
    for key, value in config.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{key!r}: (a {'zero' if not value.any() else 'non-zero'} array)")
        else:
            parts.append(f"{key!r}: {value!r}")
    return "config={" + ", ".join(parts) + "}"


def describe_update_case(case) -> str:
    """E.g. ``a 6-step run on an array of shape (4, 5) with config=None``."""
    return (f"a {len(case['dws'])}-step run on an array of shape {tuple(np.shape(case['w']))} "
            f"with {describe_config(case.get('config'))}")


def same_output(a, b, rtol=1e-9) -> bool:
    """True when two plain driver outputs agree: same structure, dtypes and shapes, values within rtol."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype):
            return False
        if a.dtype.kind != "f":
            return bool(np.array_equal(a, b))
        finite = np.isfinite(a) & np.isfinite(b)
        # NaN and inf where the mistake gives them too (a division by zero) count as the same output.
        return bool(np.array_equal(a[~finite], b[~finite], equal_nan=True)) and rel_error(a[finite], b[finite]) <= rtol
    if isinstance(a, dict) or isinstance(b, dict):
        return type(a) is dict and type(b) is dict and a.keys() == b.keys() and all(
            same_output(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) or isinstance(b, list):
        return (type(a) is list and type(b) is list and len(a) == len(b)
                and all(same_output(x, y, rtol) for x, y in zip(a, b)))
    if is_number(a) and is_number(b):
        if not (np.isfinite(a) and np.isfinite(b)):
            return a == b or (np.isnan(a) and np.isnan(b))
        return rel_error(a, b) <= rtol
    return type(a) is type(b) and a == b


def mutant_explainer(assignment_id: str, name: str, driver: str):
    """explain(case, expected, actual): name the known mistake of ``name`` whose output equals ``actual``."""

    def explain(case, expected, actual):
        from ..mutants import catalogue  # grader side only; imported when a hint is needed

        got = {k: v for k, v in actual.items() if k != "mutated"}
        for fn, description in catalogue(assignment_id).get(name, {}).values():
            try:
                with np.errstate(all="ignore"):
                    out = unpack(pack(DRIVERS[driver](fn, case)))
            except NotPlain:
                continue
            if same_output({k: v for k, v in out.items() if k != "mutated"}, got):
                return f"it looks like {description}"
        return None

    return explain

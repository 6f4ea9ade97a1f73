"""Drivers: how a graded function is called on one test case.

A driver takes the learner's function and a *case* (plain data made by the grader) and returns
plain data (see ``autograder.plain``). The same drivers run in nbgrader's kernel (hidden-test
cells) and in the verifier's sandbox, so they hold no references and no expected values; the
comparison always happens elsewhere.

Every driver reports problems it can see from the outside (an exception, a wrong return
structure, a mutated input) as data in its result rather than by raising, so that one bad
call does not hide the others.
"""

from __future__ import annotations

import copy

import numpy as np

from .plain import NotPlain, to_plain

__all__ = ["DRIVERS", "update_rule", "function"]


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}"[:500], "error_type": type(exc).__name__}


def _copy_args(value):
    """Deep copy with arrays copied, so the learner gets fresh, writable inputs."""
    return copy.deepcopy(value)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


def update_rule(fn, case: dict) -> dict:
    """Run ``next_w, config = fn(w, dw, config)`` for several steps, carrying ``config``.

    case: ``w`` array, ``dws`` list of arrays (one per step), ``config`` dict or None (None:
    the rule must fill in its defaults), ``record`` list of config keys to report each step.
    Returns ``{"steps": [{"next_w": ..., "config": {key: ...}}...], "mutated": [...]}``;
    a step that failed has ``error`` instead and ends the run.
    """
    w = np.array(case["w"], dtype=np.float64)
    config = _copy_args(case.get("config"))
    steps, mutated = [], []
    for t, dw in enumerate(case["dws"]):
        dw = np.array(dw, dtype=np.float64)
        w_in, dw_in = w.copy(), dw.copy()
        try:
            ret = fn(w_in, dw_in, config)
        except Exception as exc:  # noqa: BLE001 - any learner error becomes data
            steps.append(_error(exc))
            break
        if not np.array_equal(w_in, w, equal_nan=True):
            mutated.append(f"w (step {t + 1})")
        if not np.array_equal(dw_in, dw, equal_nan=True):
            mutated.append(f"dw (step {t + 1})")
        if type(ret) not in (tuple, list) or len(ret) != 2:
            steps.append({"error": f"returned {type(ret).__name__}, expected a pair (next_w, config)",
                          "error_type": "ReturnType"})
            break
        next_w, config = ret
        if type(config) is not dict:
            steps.append({"error": f"returned config of type {type(config).__name__}, expected dict",
                          "error_type": "ReturnType"})
            break
        try:
            record = {k: to_plain(config[k], _where=f"config[{k!r}]") for k in case.get("record", []) if k in config}
            missing = [k for k in case.get("record", []) if k not in config]
            step = {"next_w": to_plain(next_w, _where="next_w"), "config": record}
        except NotPlain as exc:
            steps.append({"error": str(exc), "error_type": "NotPlain"})
            break
        if missing:
            step["missing_keys"] = missing
        if type(next_w) is not np.ndarray:
            steps.append({"error": f"next_w is a {type(next_w).__name__}, expected a NumPy array",
                          "error_type": "ReturnType"})
            break
        steps.append(step)
        w = np.array(next_w, dtype=np.float64)
    return {"steps": steps, "mutated": mutated}


def function(fn, case: dict) -> dict:
    """Call ``fn(*args, **kwargs)`` once; report its plain result and mutated arguments.

    case: ``args`` list and ``kwargs`` dict of plain values.
    Returns ``{"result": ...}`` or ``{"error": ...}``, plus ``mutated``.
    """
    args = _copy_args(list(case.get("args", [])))
    kwargs = _copy_args(dict(case.get("kwargs", {})))
    before = _copy_args((args, kwargs))
    try:
        ret = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return {**_error(exc), "mutated": []}
    mutated = [f"argument {i + 1}" for i, (a, b) in enumerate(zip(args, before[0])) if not _same(a, b)]
    mutated += [f"argument {k}" for k in kwargs if not _same(kwargs[k], before[1][k])]
    try:
        return {"result": to_plain(ret), "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


DRIVERS = {"update_rule": update_rule, "function": function}

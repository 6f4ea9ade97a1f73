"""Visible self-checks: run the learner's function on stored inputs and explain what is wrong.

A check never computes an answer. It compares what the learner's function returns with
*expected values stored as data* and, when they differ, looks the outputs up in a list of known
mistakes so that the message can say what went wrong in the learner's terms. On success it
prints one plain-text line, e.g. ``✓ sgd_momentum: next_w and velocity match (rel. error 3e-09)``;
on failure it raises :class:`CheckFailed` (an ``AssertionError``), so a notebook cell, pytest and
nbgrader all see a failed check.

Typical notebook cell::

    from nnopt_helpers.checks import run_check
    run_check("03_momentum", "sgd_momentum", sgd_momentum, call="update_rule")

Expected-data format
--------------------
One JSON file per assignment, ``nnopt_helpers/expected/<assignment_id>.json`` (written by a
generator script, never by hand), mapping check names to entries::

    {
      "<check_name>": {
        "call": "update_rule",                  # optional: default call style (see below)
        "inputs":   {"w": [[...]], "dw": [[...]], "config": {"learning_rate": 0.1}},
        "expected": {"next_w": [[...]], "velocity": [[...]]},
        "mistakes": [
          {"name": "velocity sign",
           "outputs": {"next_w": [[...]]},        # a subset of the expected keys is enough
           "message": "Your velocity has the wrong sign: ..."}
        ],
        "tol": 1e-7,                            # optional, default 1e-7; or {"key": tol, ...}
        "atol": 0.0,                            # optional: differences <= atol always pass
        "mutable": ["config", "bn_param"]       # optional (this default): inputs the function may
                                                # modify, by key anywhere in the inputs or as "args[3]"
      }
    }

Values: a (nested) list of numbers becomes a float64 array (a list of booleans a bool array);
ragged lists stay lists of arrays; numbers, strings, booleans and ``null`` stay as they are.
Tagged objects cover what plain JSON cannot say:

* ``{"__array__": nested-list, "dtype": "int64", "shape": [0, 2]}`` an array with that dtype and
  shape (for empty arrays or integer dtypes);
* ``{"__list__": [...]}`` a Python list of decoded items, even when they would stack into one
  array (e.g. a list of weight matrices of equal shapes); ``args`` and ``steps`` are always lists;
* ``{"__rng__": 0}`` a fresh ``np.random.default_rng(0)`` for every run of the check;
* ``{"__surface__": "rosenbrock", "kwargs": {}, "method": "grad"}`` the bound method
  (``value``, ``grad`` or ``hessian``; omit ``method`` for the surface itself) of a surface from
  ``nnopt_helpers.surfaces``.

Outputs are compared with the cs231n relative error, elementwise
``|x − y| / max(1e-8, |x| + |y|)``, maximised over the array; a check passes when every output's
error is at most ``tol``. A mistake matches when all the outputs it lists are within its own
``tol`` (default: the entry's) of what the learner returned.

Call styles
-----------
``call`` says how to run the learner's function on the inputs and which outputs to compare. It
is a string naming a built-in style, or any function ``call(fn, inputs) -> dict`` returning
``{output_name: value}`` (raise :class:`CheckFailed` inside it to report a structural problem).

* ``"update_rule"``: ``next_w, config = fn(w, dw, config)``. Inputs: ``w``, ``dw``, ``config``
  (a dict that may miss keys, ``null`` to pass ``None``, absent to call ``fn(w, dw)``) and
  optionally ``steps``, a list of gradients: the rule is then called once per gradient, each time
  on the returned ``next_w`` and ``config`` (``dw`` is not used). Outputs: ``next_w`` and every
  other expected key read from the returned ``config``; with ``steps`` each output is stacked
  along a leading step axis, shape ``(num_steps, ...)``.
* ``"function"``: ``fn(*args, **kwargs)`` with inputs ``args`` (a list) and ``kwargs`` (a dict).
  A single return value is compared with the only expected key; a tuple with the expected keys
  in order (JSON objects keep their order).

Besides wrong values, every check explains: a stub that still raises ``NotImplementedError``, any
other exception, ``None`` returned (a missing ``return``), wrong shapes, integer or float32
arrays, NaN/inf, input arrays modified in place, and update rules that do not return their
``config`` or do not store their state back into it.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import math
import numbers
import re
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

__all__ = [
    "CheckFailed",
    "load_expected",
    "list_expected",
    "decode",
    "encode",
    "save_expected",
    "rel_error",
    "check_outputs",
    "run_check",
    "call_update_rule",
    "call_function",
    "CALL_STYLES",
    "DEFAULT_TOL",
]

DEFAULT_TOL = 1e-7
# Inputs that a function may legitimately modify: update rules store state into ``config``,
# batch norm stores running statistics into ``bn_param``.
_MUTABLE_INPUTS = ("config", "bn_param")
# Keys of update-rule configs that are hyperparameters rather than state (for messages only).
_HYPERPARAMETERS = {"learning_rate", "momentum", "epsilon", "decay_rate", "beta1", "beta2", "weight_decay",
                    "rho", "eps", "mode"}
# Inputs whose JSON list is a list of separate items, never one array.
_LIST_KEYS = ("args", "steps", "mistakes")
_EXCERPT = 6  # numbers shown from each side of a mismatch


class CheckFailed(AssertionError):
    """A visible check failed; the message says why, in the learner's terms."""


class _LearnerError(Exception):
    """The learner's function raised; carries the original exception."""

    def __init__(self, fn_name: str, exc: BaseException):
        super().__init__(fn_name, exc)
        self.fn_name, self.exc = fn_name, exc


# --------------------------------------------------------------------------------------------
# Loading and saving expected data


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _all_leaves(x, pred) -> bool:
    if isinstance(x, list):
        return all(_all_leaves(v, pred) for v in x)
    return pred(x)


def decode(value, _key=None):
    """Turn JSON data into check data: numeric lists into float64 arrays (see module docstring).

    The lists under the keys ``args``, ``steps`` and ``mistakes`` stay lists (of decoded items).
    """
    if isinstance(value, dict):
        if "__array__" in value:
            arr = np.array(value["__array__"], dtype=value.get("dtype", "float64"))
            return arr.reshape(value["shape"]) if "shape" in value else arr
        if "__list__" in value:
            return [decode(v) for v in value["__list__"]]
        return {k: decode(v, k) for k, v in value.items()}
    if isinstance(value, list) and _key in _LIST_KEYS:
        return [decode(v) for v in value]
    if isinstance(value, list):
        if len(value) == 0:
            return np.zeros(0)
        if _all_leaves(value, _is_number) or _all_leaves(value, lambda v: isinstance(v, bool)):
            try:
                arr = np.array(value)
            except ValueError:  # ragged nesting: keep the outer list
                arr = None
            if arr is not None and arr.dtype != object:
                return arr if arr.dtype == bool else arr.astype(np.float64)
        return [decode(v) for v in value]
    return value


def encode(value):
    """Turn arrays, NumPy scalars and tuples into JSON data (the inverse of :func:`decode`)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and value.dtype != np.float64:
            value = value.astype(np.float64)
        if value.size == 0 or value.dtype.kind in "iu":
            return {"__array__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def save_expected(entries: Mapping, path) -> None:
    """Write ``{check_name: entry}`` (arrays allowed anywhere) as an expected-data JSON file."""
    Path(path).write_text(json.dumps(encode(entries), indent=1, allow_nan=True) + "\n", encoding="utf-8")


def load_expected(assignment_id=None, path=None) -> dict:
    """Load the expected data of an assignment: ``{check_name: entry}`` with arrays decoded.

    assignment_id: e.g. ``"03_momentum"``, read from the package's ``expected/`` directory.
    path: read this JSON file instead (also accepted as the first argument if it ends in .json).
    """
    if path is None and assignment_id is not None and str(assignment_id).endswith(".json"):
        path = assignment_id
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        source = str(path)
    else:
        if not isinstance(assignment_id, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", assignment_id):
            raise ValueError(f"not an assignment id: {assignment_id!r}")
        res = _expected_dir() / f"{assignment_id}.json"
        if not res.is_file():
            raise FileNotFoundError(f"no expected data for assignment {assignment_id!r} "
                                    f"(looked for nnopt_helpers/expected/{assignment_id}.json)")
        text = res.read_text(encoding="utf-8")
        source = f"nnopt_helpers/expected/{assignment_id}.json"
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object mapping check names to entries")
    for name, entry in data.items():
        if not isinstance(entry, dict) or "expected" not in entry:
            raise ValueError(f"{source}: check {name!r} has no 'expected' outputs")
    return {name: decode(entry) for name, entry in data.items()}


def _expected_dir():
    """The package's ``expected/`` folder (a Traversable)."""
    try:
        folder = importlib.resources.files(__package__) / "expected"
        if folder.is_dir():
            return folder
    except (TypeError, OSError, ModuleNotFoundError):
        # e.g. a stale editable install that maps the package as a namespace package
        pass
    return Path(__file__).resolve().parent / "expected"


def list_expected() -> list[str]:
    """Assignment ids that have expected data in the package."""
    return sorted(r.name[:-5] for r in _expected_dir().iterdir() if r.name.endswith(".json"))


def _materialize(value):
    """Replace tagged objects ({"__rng__": ...}, {"__surface__": ...}) by the real thing."""
    if isinstance(value, dict):
        if "__rng__" in value:
            return np.random.default_rng(value["__rng__"])
        if "__surface__" in value:
            from . import surfaces  # lazily: only checks that need a surface import it

            name = value["__surface__"]
            ctor = getattr(surfaces, name, None) if not name.startswith("_") else None
            if not callable(ctor):
                raise ValueError(f"nnopt_helpers.surfaces has no surface constructor {name!r}")
            surface = ctor(**value.get("kwargs", {}))
            method = value.get("method")
            if method is None:
                return surface
            if method not in ("value", "grad", "hessian"):
                raise ValueError(f"surface method must be value, grad or hessian, not {method!r}")
            return getattr(surface, method)
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialize(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Comparing


def rel_error(x, y) -> float:
    """Max elementwise relative error ``|x − y| / max(1e-8, |x| + |y|)`` (0.0 for empty arrays)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))
    return float(np.max(err, initial=0.0))


def _errors(actual: np.ndarray, expected: np.ndarray, atol: float) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual - expected)
        err = diff / np.maximum(1e-8, np.abs(actual) + np.abs(expected))
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))  # incl. equal infinities
    err = np.where(same | (diff <= atol), 0.0, err)
    # NaN where a number was expected (or the other way round) is the largest possible error.
    return np.where(np.isnan(err), np.inf, err)


def _fmt(x) -> str:
    if isinstance(x, np.ndarray):
        return np.array2string(x, precision=5, threshold=2 * _EXCERPT, edgeitems=_EXCERPT // 2,
                               max_line_width=90, suppress_small=True)
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def _shape_text(shape) -> str:
    return "a scalar" if shape == () else f"shape {tuple(shape)}"


class _Mismatch:
    """What is wrong with one output (``problem`` is a full sentence)."""

    def __init__(self, key: str, problem: str, error: float = math.inf):
        self.key, self.problem, self.error = key, problem, error


def _compare(key: str, actual, expected, tol: float, atol: float, step_axis: bool):
    """Return (max relative error, _Mismatch or None) for one output."""
    if expected is None:
        if actual is None:
            return 0.0, None
        return math.inf, _Mismatch(key, f"{key} should be None, got {_fmt(actual)}.")
    if isinstance(expected, str) or isinstance(expected, bool):
        if isinstance(actual, (np.bool_, np.str_)):
            actual = actual.item()
        if type(actual) is type(expected) and actual == expected:
            return 0.0, None
        return math.inf, _Mismatch(key, f"{key} is {actual!r}, expected {expected!r}.")
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            return math.inf, _Mismatch(key, f"{key} should be a dict with keys {sorted(expected)}, "
                                            f"got {type(actual).__name__}.")
        worst = 0.0
        for k, v in expected.items():
            if k not in actual:
                return math.inf, _Mismatch(key, f"{key} has no key {k!r}.")
            err, bad = _compare(f"{key}[{k!r}]", actual[k], v, tol, atol, False)
            if bad:
                return err, bad
            worst = max(worst, err)
        return worst, None
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            got = f"{type(actual).__name__} of length {len(actual)}" if isinstance(actual, (list, tuple)) \
                else type(actual).__name__
            return math.inf, _Mismatch(key, f"{key} should be a list of {len(expected)} items, got {got}.")
        worst = 0.0
        for i, (a, e) in enumerate(zip(actual, expected)):
            err, bad = _compare(f"{key}[{i}]", a, e, tol, atol, False)
            if bad:
                return err, bad
            worst = max(worst, err)
        return worst, None

    # Numbers and arrays.
    exp = np.asarray(expected)
    if actual is None:
        return math.inf, _Mismatch(key, f"{key} is None; expected {_shape_text(exp.shape)}.")
    try:
        act = np.asarray(actual)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        act = None
    if act is None or act.dtype == object or act.dtype.kind not in "biuf":
        return math.inf, _Mismatch(key, f"{key} should be {'a number' if exp.ndim == 0 else 'a NumPy array'}, "
                                        f"got {type(actual).__name__}: {_fmt(actual)[:200]}")
    if _is_number(expected) and isinstance(actual, np.ndarray):
        # The hidden tests want a number here too (an array is not a number, even with one entry).
        return math.inf, _Mismatch(key, f"{key} should be a number, got a NumPy array of {_shape_text(act.shape)}. "
                                        "Return a plain number: float(x) turns a one-element array into one "
                                        "(or use math.cos, math.sqrt, ... on numbers).")
    if act.shape != exp.shape:
        hint = ""
        if act.size == exp.size:
            hint = " It has the right number of entries: check a reshape, a transpose or a keepdims."
        elif exp.ndim and act.shape == exp.shape[1:] and step_axis:
            hint = " (one entry per step was expected)"
        return math.inf, _Mismatch(key, f"{key} has {_shape_text(act.shape)}, expected {_shape_text(exp.shape)}.{hint}")
    if exp.dtype == bool:
        if act.dtype == bool and np.array_equal(act, exp):
            return 0.0, None
        return math.inf, _Mismatch(key, f"{key} is {_fmt(act)}, expected {_fmt(exp)}.")
    if act.ndim > 0 and isinstance(actual, np.ndarray) and act.dtype.kind in "biu" and exp.dtype.kind == "f":
        return math.inf, _Mismatch(key, f"{key} is an integer array (dtype {act.dtype}); the course works in "
                                        "float64 — an integer array silently truncates the update. Create arrays "
                                        "with float values (np.zeros(shape), not np.zeros(shape, dtype=int)).")
    if act.ndim > 0 and isinstance(actual, np.ndarray) and act.dtype.kind == "f" and act.dtype != np.float64:
        return math.inf, _Mismatch(key, f"{key} has dtype {act.dtype}; the course works in float64.")
    act = act.astype(np.float64)
    exp = exp.astype(np.float64)
    bad_act = ~np.isfinite(act) & np.isfinite(exp)
    if bad_act.any():
        n = int(bad_act.sum())
        where = tuple(int(i) for i in np.argwhere(bad_act)[0]) if act.ndim else ()
        kinds = "NaN" if np.isnan(act[bad_act]).all() else "NaN/inf" if np.isnan(act[bad_act]).any() else "inf"
        where_text = f" (first at index {where})" if act.ndim else ""
        return math.inf, _Mismatch(key, f"{key} contains {kinds} in {n} of {act.size} entries{where_text}. "
                                        "Look for a division by zero, the square root or log of a negative "
                                        "number, or an overflow.")
    err = _errors(act, exp, atol)
    worst = float(err.max(initial=0.0))
    if worst <= tol:
        return worst, None
    # Describe the mismatch: where, how large, and excerpts.
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    where = ""
    if step_axis and exp.ndim >= 1:
        first_bad = int(np.argmax((err > tol).reshape(len(err), -1).any(axis=1)))
        where = f" from step {first_bad + 1} of {len(err)} on"
    text = f"{key} does not match{where}: relative error {worst:.2g} (tolerance {tol:.0e})."
    if exp.ndim:
        text += (f" Largest difference at index {tuple(int(i) for i in idx)}: expected {exp[idx]:.6g}, "
                 f"got {act[idx]:.6g}.\n  expected: {_fmt(exp)}\n  got:      {_fmt(act)}")
    else:
        text += f" Expected {float(exp):.6g}, got {float(act):.6g}."
    if (step_axis and key != "next_w" and exp.ndim >= 1 and len(exp) >= 2
            and np.array_equal(act[1:], act[:-1]) and not np.array_equal(exp[1:], exp[:-1])):
        text = (f"Your config[{key!r}] stays the same from step to step: the rule reads it but never "
                f"stores the new value back (config[{key!r}] = ...), so the next call starts from stale "
                f"state.\n{text}")
    return worst, _Mismatch(key, text, worst)


def _tol_for(tol, key: str) -> float:
    if isinstance(tol, Mapping):
        return float(tol.get(key, DEFAULT_TOL))
    return float(DEFAULT_TOL if tol is None else tol)


def _join(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _snapshot(inputs: Mapping, mutable) -> list:
    """(path, array, copy) for every array among the inputs a function must not modify.

    An input is exempt when any key on its path is in ``mutable`` ("config", "bn_param", also
    inside ``kwargs``) or its positional form is (``"args[3]"``).
    """
    found = []

    def walk(value, path):
        if any(isinstance(p, str) and p in mutable for p in path) or (
                len(path) >= 2 and path[0] == "args" and f"args[{path[1]}]" in mutable):
            return
        if isinstance(value, np.ndarray):
            found.append((path, value, value.copy()))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + [k])
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, path + [i])

    for k, v in inputs.items():
        walk(v, [k])
    return found


def _path_text(path) -> str:
    head, *rest = path
    if head == "args" and rest:
        return f"argument {rest[0] + 1}" + "".join(f"[{p!r}]" for p in rest[1:])
    if head == "kwargs" and rest:
        return f"{rest[0]}" + "".join(f"[{p!r}]" for p in rest[1:])
    if head == "steps" and rest:
        return f"the gradient of step {rest[0] + 1}"
    return str(head) + "".join(f"[{p!r}]" for p in rest)


def check_outputs(check_name: str, actual: Mapping, expected_entry: Mapping, *, quiet: bool = False,
                  step_axis: bool = False, _extra=None) -> float:
    """Compare ``actual`` ({output: value}) with an expected entry; print ✓ or raise CheckFailed.

    When the outputs differ and match a known mistake of the entry, the message is that
    mistake's; otherwise it names the output, the relative error and shows both values.
    Returns the largest relative error (on success).
    """
    expected = expected_entry["expected"]
    tol, atol = expected_entry.get("tol", DEFAULT_TOL), float(expected_entry.get("atol", 0.0))
    if not isinstance(actual, Mapping):
        raise TypeError(f"actual outputs must be a dict {{output name: value}}, got {type(actual).__name__}")
    missing = [k for k in expected if k not in actual]
    if missing:
        raise CheckFailed(f"✗ {check_name}: no output named {_join(repr(k) for k in missing)} was produced.")
    worst, problems = 0.0, []
    for key, exp in expected.items():
        err, bad = _compare(key, actual[key], exp, _tol_for(tol, key), atol, step_axis)
        worst = max(worst, err)
        if bad:
            problems.append(bad)
    mutated = list(_extra or [])
    if not problems and not mutated:
        if not quiet:
            err_text = f"{worst:.0e}" if worst > 0 else "0"
            print(f"✓ {check_name}: {_join(list(expected))} match (rel. error {err_text})")
        return worst
    if problems:
        for mistake in expected_entry.get("mistakes", []) or []:
            if _matches(actual, mistake, tol, atol, step_axis):
                text = f"✗ {check_name}: {mistake['message']}"
                if mutated:
                    text += "\nAlso: " + " ".join(mutated)
                raise CheckFailed(text)
    problems.sort(key=lambda p: not p.problem.startswith("Your config["))  # the likely cause first
    lines = [f"✗ {check_name}:"]
    lines += mutated
    if mutated and problems:
        lines.append("This may be why the outputs are wrong too:")
    lines += [p.problem for p in problems]
    raise CheckFailed("\n".join(lines) if len(lines) > 2 else " ".join(lines))


def _matches(actual: Mapping, mistake: Mapping, tol, atol: float, step_axis: bool) -> bool:
    outputs = mistake.get("outputs") or {}
    if not outputs:
        return False
    mtol = mistake.get("tol", tol)
    for key, value in outputs.items():
        if key not in actual:
            return False
        _, bad = _compare(key, actual[key], value, _tol_for(mtol, key), atol, step_axis)
        if bad:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Calling the learner's function


def _guard(fn: Callable, fn_name: str) -> Callable:
    """Wrap ``fn`` so its exceptions and a ``None`` return become explained failures."""

    def guarded(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every learner error is explained
            raise _LearnerError(fn_name, exc) from exc
        if out is None:
            raise CheckFailed(f"{fn_name} returned None. Did you forget the `return` statement at the end?")
        return out

    guarded.__name__ = fn_name
    return guarded


def call_update_rule(fn: Callable, inputs: Mapping, expected_keys=("next_w",)) -> dict:
    """Run an update rule ``next_w, config = fn(w, dw, config)`` (one step or ``inputs['steps']``).

    Returns ``{"next_w": ..., <config key>: ...}`` for every key in ``expected_keys``, stacked
    along a leading step axis when ``steps`` is given.
    """
    name = getattr(fn, "__name__", "your update rule")
    w = inputs["w"]
    multi = "steps" in inputs
    grads = list(inputs["steps"]) if multi else [inputs["dw"]]
    has_config = "config" in inputs
    config = inputs.get("config")
    state_keys = [k for k in expected_keys if k != "next_w"]
    records = {k: [] for k in expected_keys}
    for t, dw in enumerate(grads):
        at = f" at step {t + 1}" if multi else ""
        ret = fn(w, dw, config) if has_config or t > 0 else fn(w, dw)
        if isinstance(ret, np.ndarray):
            raise CheckFailed(f"{name} returned a single array{at}; an update rule returns a pair "
                              "`return next_w, config` so that its state travels to the next call.")
        if not isinstance(ret, (tuple, list)) or len(ret) != 2:
            what = f"a {type(ret).__name__} of length {len(ret)}" if isinstance(ret, (tuple, list)) \
                else f"a {type(ret).__name__}"
            raise CheckFailed(f"{name} returned {what}{at}; it should return the pair (next_w, config).")
        next_w, new_config = ret
        if new_config is None:
            raise CheckFailed(f"{name} returned config=None{at}. Return the config dict "
                              "(`return next_w, config`), creating it with `if config is None: config = {}`.")
        if not isinstance(new_config, dict):
            raise CheckFailed(f"{name} returned a {type(new_config).__name__} where the config dict "
                              f"belongs{at}; the order is `return next_w, config`.")
        missing = [k for k in state_keys if k not in new_config]
        if missing:
            keys = _join(repr(k) for k in missing)
            when = f"step {t + 1}" if multi else "the update"
            if all(k in _HYPERPARAMETERS for k in missing):
                raise CheckFailed(f"After {when} the returned config has no {keys}. Fill in the defaults "
                                  f"first, e.g. config.setdefault({missing[0]!r}, ...).")
            raise CheckFailed(f"After {when} the returned config has no {keys}. Store the state back into "
                              f"config (e.g. config[{missing[0]!r}] = ...) so that the next call continues "
                              "from it.")
        if multi and not (isinstance(next_w, np.ndarray) and next_w.dtype == np.float64):
            # Stacking the steps below would hide a list or float32 return; say it here.
            got = f"an array of dtype {next_w.dtype}" if isinstance(next_w, np.ndarray) \
                else f"a {type(next_w).__name__}"
            raise CheckFailed(f"{name} returned next_w as {got}{at}; return a float64 NumPy array "
                              "(compute it from w and dw with NumPy operations).")
        records["next_w"].append(np.array(next_w, copy=True) if isinstance(next_w, np.ndarray) else next_w)
        for k in state_keys:
            v = new_config[k]
            records[k].append(np.array(v, copy=True) if isinstance(v, np.ndarray) else copy.deepcopy(v))
        w, config = next_w, new_config
    if not multi:
        return {k: v[0] for k, v in records.items()}
    out = {}
    for k, values in records.items():
        try:
            out[k] = np.stack([np.asarray(v, dtype=np.float64) for v in values])
        except (ValueError, TypeError):
            out[k] = values  # shapes differ between steps: compared (and explained) as a list
    return out


def call_function(fn: Callable, inputs: Mapping, expected_keys=()) -> dict:
    """Run ``fn(*inputs['args'], **inputs['kwargs'])``; name the results after ``expected_keys``."""
    ret = fn(*inputs.get("args", []), **inputs.get("kwargs", {}))
    keys = list(expected_keys)
    if len(keys) == 1:
        return {keys[0]: ret}
    name = getattr(fn, "__name__", "your function")
    if not isinstance(ret, (tuple, list)) or len(ret) != len(keys):
        got = f"{len(ret)} values" if isinstance(ret, (tuple, list)) else f"one {type(ret).__name__}"
        raise CheckFailed(f"{name} should return {len(keys)} values ({', '.join(keys)}), got {got}.")
    return dict(zip(keys, ret))


CALL_STYLES = {"update_rule": call_update_rule, "function": call_function}


def _explain_exception(fn_name: str, exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return (f"You have not implemented {fn_name} yet: it still raises NotImplementedError. "
                "Replace the `raise NotImplementedError` line with your code.")
    text = f"{fn_name} raised {type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        text += "\nTwo arrays in one operation have incompatible shapes; print the shapes of what you combine."
    elif isinstance(exc, KeyError):
        text += "\nA key is missing from a dict: set defaults with config.setdefault(key, value) first."
    elif isinstance(exc, TypeError) and "NoneType" in str(exc):
        text += "\nSomething is None where a value was expected (a missing default or return?)."
    return text + "\n(The traceback above shows the line in your code.)"


def run_check(assignment_id, check_name: str, fn: Callable, call=None, *, path=None, quiet: bool = False) -> None:
    """Run the learner's ``fn`` on the stored inputs of a check and compare with the expected data.

    assignment_id: e.g. ``"03_momentum"`` (or None with ``path``).
    check_name: the entry in the assignment's expected data.
    fn: the learner's function.
    call: ``"update_rule"``, ``"function"`` or ``call(fn, inputs) -> {output: value}``; default
        the entry's ``"call"`` field, else ``"function"``.
    path: read the expected data from this JSON file instead of the package.
    Prints ``✓ ...`` on success; raises CheckFailed explaining the problem otherwise.
    """
    data = load_expected(assignment_id, path=path)
    if check_name not in data:
        raise KeyError(f"no check named {check_name!r} in the expected data of {assignment_id or path}; "
                       f"known: {', '.join(data)}")
    entry = data[check_name]
    fn_name = getattr(fn, "__name__", check_name)
    if not callable(fn):
        raise CheckFailed(f"✗ {check_name}: expected a function, got {type(fn).__name__}.")
    call = call if call is not None else entry.get("call", "function")
    expected_keys = list(entry["expected"])
    inputs = _materialize(copy.deepcopy(entry.get("inputs", {})))
    step_axis = call == "update_rule" and "steps" in inputs
    if isinstance(call, str):
        if call not in CALL_STYLES:
            raise ValueError(f"unknown call style {call!r}; use one of {list(CALL_STYLES)} or a function")
        style = CALL_STYLES[call]

        def call(f, inputs, _style=style):
            return _style(f, inputs, expected_keys)

    mutable = tuple(entry.get("mutable", _MUTABLE_INPUTS))
    before = _snapshot(inputs, mutable)
    try:
        actual = call(_guard(fn, fn_name), inputs)
    except _LearnerError as err:
        if isinstance(err.exc, NotImplementedError):
            # Stay a NotImplementedError, so an untouched exercise reads (and grades) as "not done".
            raise NotImplementedError(f"✗ {check_name}: {_explain_exception(err.fn_name, err.exc)}") from None
        raise CheckFailed(f"✗ {check_name}: {_explain_exception(err.fn_name, err.exc)}") from err.exc
    except CheckFailed as exc:
        text = str(exc)
        raise CheckFailed(text if text.startswith("✗") else f"✗ {check_name}: {text}") from None
    mutated = [
        f"{fn_name} modified its input {_path_text(p)} in place (for example with `-=` or `*=` on it). "
        "Build new arrays instead (`next_w = w - ...`, not `w -= ...`) or work on a copy (`x.copy()`), "
        "so that the caller's arrays stay unchanged."
        for p, arr, orig in before
        if arr.shape != orig.shape or not np.array_equal(arr, orig, equal_nan=True)
    ][:1]
    check_outputs(check_name, actual, entry, quiet=quiet, step_axis=step_axis, _extra=mutated)


# --------------------------------------------------------------------------------------------
# More call styles (added for 02_local_optima; usable by any check)


def call_symmetric_matrix(fn: Callable, inputs: Mapping, expected_keys=()) -> dict:
    """Like ``"function"`` with one output, which must be an exactly symmetric square matrix.

    For Hessians (and other matrices of second derivatives), where ``M[i, j] = M[j, i]`` holds
    by definition: an estimate that computes both entries separately differs by rounding, and
    the check says so before comparing values.
    """
    ret = fn(*inputs.get("args", []), **inputs.get("kwargs", {}))
    name = getattr(fn, "__name__", "your function")
    if isinstance(ret, np.ndarray) and ret.ndim == 2 and ret.shape[0] == ret.shape[1] \
            and ret.dtype.kind == "f" and np.all(np.isfinite(ret)) and not np.array_equal(ret, ret.T):
        gap = np.abs(ret - ret.T)
        i, j = (int(k) for k in np.unravel_index(int(np.argmax(gap)), gap.shape))
        raise CheckFailed(
            f"{name} returned a matrix that is not symmetric: entries [{i}, {j}] and [{j}, {i}] differ by "
            f"{gap[i, j]:.2g}. Second derivatives do not depend on the order of differentiation, so "
            "the result must be exactly symmetric: compute each pair (i, j) with i <= j once and copy it "
            "to [j, i], or return (H + H.T) / 2.")
    keys = list(expected_keys)
    return {keys[0] if keys else "result": ret}


def call_reproducible(fn: Callable, inputs: Mapping, expected_keys=()) -> dict:
    """Like ``"function"``, but called twice (on the inputs, then on a copy); both results must agree.

    For functions that take a random generator: the copies hold generators in the same state, so
    a function that draws only from its ``rng`` argument returns the same thing twice. One that
    draws from ``np.random.*`` or from a generator it creates itself does not, and the check says so.
    """
    second = copy.deepcopy(inputs)  # before the first call: its generators are in the same state
    out1 = call_function(fn, inputs, expected_keys)  # the inputs themselves, so in-place changes are seen
    out2 = call_function(fn, second, expected_keys)
    name = getattr(fn, "__name__", "your function")
    for key in out1:
        a, b = out1[key], out2[key]
        try:
            same = np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_nan=True)
        except (TypeError, ValueError):
            same = True  # not numbers: the comparison with the expected values explains it
        if not same:
            raise CheckFailed(
                f"{name} returned different results in two calls with generators in the same state: it "
                "draws random numbers from somewhere else than its `rng` argument (np.random.randn, "
                "np.random.normal, or a generator created inside the function). Draw every random "
                "number from `rng` (e.g. rng.standard_normal(shape)), so that a seed reproduces a run.")
    return out1


CALL_STYLES["symmetric_matrix"] = call_symmetric_matrix
CALL_STYLES["reproducible"] = call_reproducible
__all__ += ["call_symmetric_matrix", "call_reproducible"]


# --------------------------------------------------------------------------------------------
# A call style for optimizers that take a gradient function (added for 01_challenges)


def call_descent(fn: Callable, inputs: Mapping, expected_keys=("path",)) -> dict:
    """Run ``path = fn(grad_fn, x0, learning_rate, num_steps)``, counting the calls of ``grad_fn``.

    Inputs: ``grad_fn`` (a callable, e.g. a ``{"__surface__": ..., "method": "grad"}`` tag),
    ``x0``, ``learning_rate``, ``num_steps``. Outputs: ``path`` (what ``fn`` returned, which must
    be a NumPy array) and, if expected, ``grad_calls``: how many times ``grad_fn`` was called (a
    float, so that it compares like every other output).
    """
    name = getattr(fn, "__name__", "your function")
    grad = inputs["grad_fn"]
    if not callable(grad):
        raise ValueError(f"inputs['grad_fn'] must be callable, got {type(grad).__name__}")
    calls = [0]

    def grad_fn(x):
        calls[0] += 1
        return np.array(grad(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    path = fn(grad_fn, inputs["x0"], inputs["learning_rate"], inputs["num_steps"])
    if isinstance(path, (list, tuple)):
        raise CheckFailed(f"{name} returned a Python {type(path).__name__}; return the path as one NumPy array "
                          "of shape (num_steps + 1, d), e.g. np.array(path).")
    out = {"path": path, "grad_calls": float(calls[0])}
    return {k: out[k] for k in expected_keys if k in out}


CALL_STYLES["descent"] = call_descent
__all__ += ["call_descent"]


# --------------------------------------------------------------------------------------------
# Normalization layers (06_batch_norm): a forward pass that keeps state in ``bn_param``, and a
# backward pass that reads the cache of the learner's own forward pass.


def call_layer_forward(fn: Callable, inputs: Mapping, expected_keys=("out",)) -> dict:
    """Run a normalization layer's forward pass ``out, cache = fn(x, gamma, beta, bn_param)``.

    Inputs: ``x`` of shape (N, D), or ``xs``, a sequence of such arrays (one call each, the same
    ``bn_param`` dict passed to every call, as a network does); optional ``modes``, one per call
    (``bn_param['mode']`` is set to it before the call; ``None`` leaves it alone); ``gamma`` and
    ``beta`` of shape (D,); ``bn_param``, the state dict (may miss keys: the layer fills in its
    defaults). Outputs: ``out`` and every other expected key read from ``bn_param`` after the
    call; with ``xs`` each output is stacked along a leading call axis.
    """
    name = getattr(fn, "__name__", "your forward pass")
    multi = "xs" in inputs
    xs = list(inputs["xs"]) if multi else [inputs["x"]]
    modes = list(inputs.get("modes") or [None] * len(xs))
    if len(modes) != len(xs):
        raise ValueError(f"modes: expected one mode per call ({len(xs)}), got {len(modes)}")
    bn_param = inputs["bn_param"]
    state_keys = [k for k in expected_keys if k != "out"]
    records = {k: [] for k in expected_keys}
    for t, (x, mode) in enumerate(zip(xs, modes)):
        at = f" at call {t + 1}" if multi else ""
        if mode is not None:
            bn_param["mode"] = mode
        ret = fn(x, inputs["gamma"], inputs["beta"], bn_param)
        if isinstance(ret, np.ndarray) or not isinstance(ret, (tuple, list)) or len(ret) != 2:
            what = "a single array" if isinstance(ret, np.ndarray) else f"a {type(ret).__name__}"
            raise CheckFailed(f"{name} returned {what}{at}; a layer's forward pass returns the pair "
                              "(out, cache), the cache holding what the backward pass needs.")
        out, _cache = ret
        missing = [k for k in state_keys if k not in bn_param]
        if missing:
            keys = _join(repr(k) for k in missing)
            raise CheckFailed(f"After the call{at} bn_param has no {keys}. Fill in the defaults with "
                              f"bn_param.setdefault({missing[0]!r}, ...) and store the running statistics back "
                              "into bn_param, so that the next call (and eval mode) can use them.")
        records["out"].append(np.array(out, copy=True) if isinstance(out, np.ndarray) else out)
        for k in state_keys:
            v = bn_param[k]
            records[k].append(np.array(v, copy=True) if isinstance(v, np.ndarray) else copy.deepcopy(v))
    if not multi:
        return {k: v[0] for k, v in records.items()}
    out = {}
    for k, values in records.items():
        try:
            out[k] = np.stack([np.asarray(v, dtype=np.float64) for v in values])
        except (ValueError, TypeError):
            out[k] = values  # compared (and explained) as a list
    return out


def backward_through(forward: Callable, outputs=("dx", "dgamma", "dbeta")) -> Callable:
    """A ``call`` for :func:`run_check` that checks a backward pass on the cache of ``forward``.

    A layer's cache is whatever its forward pass chose to keep, so a backward pass can only be run
    after the matching forward pass. The returned ``call(fn, inputs)`` runs
    ``out, cache = forward(x, gamma, beta, bn_param)`` on copies of the inputs ``x``, ``gamma``,
    ``beta`` and ``bn_param`` (default ``{"mode": "train"}``), then ``fn(dout, cache)`` with the
    input ``dout``, and names the returned values after ``outputs``.

        run_check("06_batch_norm", "batchnorm_backward", batchnorm_backward,
                  call=backward_through(batchnorm_forward))
    """
    if not callable(forward):
        raise TypeError(f"forward: expected the forward-pass function, got {type(forward).__name__}")
    outputs = tuple(outputs)
    if not outputs or not all(isinstance(k, str) for k in outputs):
        raise ValueError(f"outputs: expected a non-empty sequence of output names, got {outputs!r}")
    fwd_name = getattr(forward, "__name__", "the forward pass")

    def call(fn, inputs, expected_keys=None):
        name = getattr(fn, "__name__", "your backward pass")
        bn_param = copy.deepcopy(dict(inputs.get("bn_param") or {"mode": "train"}))
        ret = _guard(forward, fwd_name)(np.array(inputs["x"], dtype=np.float64),
                                        np.array(inputs["gamma"], dtype=np.float64),
                                        np.array(inputs["beta"], dtype=np.float64), bn_param)
        if not isinstance(ret, (tuple, list)) or len(ret) != 2:
            raise CheckFailed(f"{fwd_name} returned a {type(ret).__name__}; the backward pass is checked on the "
                              f"cache of your forward pass, so {fwd_name} must return the pair (out, cache).")
        grads = fn(inputs["dout"], ret[1])
        if not isinstance(grads, (tuple, list)) or len(grads) != len(outputs):
            got = f"{len(grads)} values" if isinstance(grads, (tuple, list)) else f"one {type(grads).__name__}"
            raise CheckFailed(f"{name} should return {len(outputs)} values ({', '.join(outputs)}), got {got}.")
        return dict(zip(outputs, grads))

    call.__name__ = f"backward_through({fwd_name})"
    return call


CALL_STYLES["layer_forward"] = call_layer_forward
__all__ += ["call_layer_forward", "backward_through"]

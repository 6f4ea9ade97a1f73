"""Visible self-checks: run the learner's function on a public case and explain what is wrong.

A check never computes an answer. Each graded exercise is declared once, as an
``autograder.spec.Exercise``; its *public* cases are the visible checks, its secret cases the
verifier's. Both are run by the same driver (``autograder.drivers``, answer-free: it holds no
reference). Here the driver's plain output is put in the learner's words (named outputs:
``next_w``, ``velocity``, ``out``...; a *view*), compared with *expected values stored as data*
and, when they differ, looked up in a list of known mistakes so that the message can say what
went wrong in the learner's terms. On success a check prints one plain-text line, e.g.
``✓ sgd_momentum: next_w and velocity match (rel. error 3e-09)``; on failure it raises
:class:`CheckFailed` (an ``AssertionError``), so a notebook cell, pytest and nbgrader all see a
failed check.

Typical notebook cell::

    from nnopt_helpers.checks import run_check
    run_check("03_momentum", "sgd_momentum", sgd_momentum)

Expected-data format
--------------------
One JSON file per assignment, ``nnopt_helpers/expected/<assignment_id>.json``, written by
``python -m autograder.expected`` (never by hand), mapping check names to entries::

    {
      "<check_name>": {
        "driver": "update_rule",                 # a key of autograder.drivers.DRIVERS
        "view": "update_rule",                   # optional (default: the driver's): a key of VIEWS
        "case": {"w": [[...]], "dws": [[[...]]], "config": {"learning_rate": 0.1}, "record": ["velocity"]},
        "expected": {"next_w": [[...]], "velocity": [[...]]},
        "mistakes": [
          {"name": "velocity sign",
           "outputs": {"next_w": [[...]]},        # a subset of the expected keys is enough
           "message": "Your velocity has the wrong sign: ..."}
        ],
        "tol": 1e-7,                            # optional, default 1e-7; or {"key": tol, ...}
        "atol": 0.0                             # optional: differences <= atol always pass
      }
    }

Values: a (nested) list of numbers becomes a float64 array (a list of booleans a bool array);
ragged lists stay lists of arrays; numbers, strings, booleans and ``null`` stay as they are; the
lists under ``args``, ``dws``, ``x``, ``dout``, ``weights``... stay lists. Tagged objects cover
what plain JSON cannot say: ``{"__array__": nested-list, "dtype": "int64", "shape": [0, 2]}`` (an
array with that dtype and shape) and ``{"__list__": [...]}`` (a list, even of equal shapes).

Outputs are compared with the cs231n relative error, elementwise
``|x − y| / max(1e-8, |x| + |y|)``, maximised over the array; a check passes when every output's
error is at most ``tol``. A mistake matches when all the outputs it lists are within its own
``tol`` (default: the entry's) of what the learner returned.

Views
-----
``VIEWS[name](raw, case, names, fn_name) -> {name: value}`` turns the driver's output into the
expected names, and raises :class:`CheckFailed` for what the driver saw was malformed (the
driver's own message, which the hidden tests show too). ``update_rule``: ``next_w`` and the
recorded config keys, stacked along a leading step axis when the case has several steps;
``function``: one return value under the only name, a tuple under the names in order;
``batchnorm``: ``out`` and the recorded ``bn_param`` keys, or ``dx``, ``dgamma``, ``dbeta``;
``descent``, ``symmetric_matrix``, ``noisy_path``, and the statistics of
``nnopt_helpers.init_checks`` for the random initializers.

Besides wrong values, every check explains: a stub that still raises ``NotImplementedError``, any
other exception, ``None`` returned (a missing ``return``), wrong shapes, integer or float32
arrays, NaN/inf, input arrays modified in place, and update rules that do not return their
``config`` or do not store their state back into it.
"""

from __future__ import annotations

import copy
import importlib
import importlib.resources
import json
import math
import numbers
import re
import types
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from autograder.plain import rel_error, shape_hint  # the comparer the hidden tests use (answer-free, also in the sandbox)

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
    "outputs_of",
    "backward_through",
    "VIEWS",
    "DEFAULT_TOL",
]

DEFAULT_TOL = 1e-7
# Keys of update-rule configs that are hyperparameters rather than state (for messages only).
_HYPERPARAMETERS = {"learning_rate", "momentum", "epsilon", "decay_rate", "beta1", "beta2", "weight_decay",
                    "rho", "eps", "mode"}
# Inputs whose JSON list is a list of separate items, never one array.
_LIST_KEYS = ("args", "dws", "x", "dout", "modes", "weights", "biases", "seeds", "record", "mistakes")
_EXCERPT = 6  # numbers shown from each side of a mismatch


class CheckFailed(AssertionError):
    """A visible check failed; the message says why, in the learner's terms."""


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


# --------------------------------------------------------------------------------------------
# Comparing


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
        return (0.0, None) if actual is None else (math.inf, _Mismatch(key, f"{key} should be None, got {_fmt(actual)}."))
    if isinstance(expected, (str, bool)):
        return _compare_label(key, actual, expected)
    if isinstance(expected, dict):
        return _compare_items(key, actual, expected, tol, atol)
    if isinstance(expected, list):
        return _compare_items(key, actual, expected, tol, atol)
    exp = np.asarray(expected)
    act, bad = _numeric(key, actual, expected, exp, step_axis)
    if bad:
        return math.inf, bad
    if exp.dtype == bool:
        if act.dtype == bool and np.array_equal(act, exp):
            return 0.0, None
        return math.inf, _Mismatch(key, f"{key} is {_fmt(act)}, expected {_fmt(exp)}.")
    act, exp = act.astype(np.float64), exp.astype(np.float64)
    bad = _non_finite(key, act, exp)
    if bad:
        return math.inf, bad
    err = _errors(act, exp, atol)
    worst = float(err.max(initial=0.0))
    if worst <= tol:
        return worst, None
    return worst, _Mismatch(key, _stale_state(key, act, exp, step_axis) + _mismatch_text(key, act, exp, err, tol, step_axis),
                            worst)


def _compare_label(key: str, actual, expected):
    """A string or a bool: equal, of the same type."""
    if isinstance(actual, (np.bool_, np.str_)):
        actual = actual.item()
    if type(actual) is type(expected) and actual == expected:
        return 0.0, None
    return math.inf, _Mismatch(key, f"{key} is {actual!r}, expected {expected!r}.")


def _compare_items(key: str, actual, expected, tol, atol):
    """A dict (the expected keys) or a list (the same length): the first item that differs, else the worst error."""
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            return math.inf, _Mismatch(key, f"{key} should be a dict with keys {sorted(expected)}, "
                                            f"got {type(actual).__name__}.")
        missing = [k for k in expected if k not in actual]
        if missing:
            return math.inf, _Mismatch(key, f"{key} has no key {missing[0]!r}.")
        pairs = [(f"{key}[{k!r}]", actual[k], v) for k, v in expected.items()]
    else:
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            got = f"{type(actual).__name__} of length {len(actual)}" if isinstance(actual, (list, tuple)) \
                else type(actual).__name__
            return math.inf, _Mismatch(key, f"{key} should be a list of {len(expected)} items, got {got}.")
        pairs = [(f"{key}[{i}]", a, e) for i, (a, e) in enumerate(zip(actual, expected))]
    worst = 0.0
    for where, a, e in pairs:
        err, bad = _compare(where, a, e, tol, atol, False)
        if bad:
            return err, bad
        worst = max(worst, err)
    return worst, None


def _numeric(key: str, actual, expected, exp: np.ndarray, step_axis: bool):
    """(actual as an array, None), or (None, _Mismatch) when it is not a number or array of the right shape and dtype."""
    if actual is None:
        return None, _Mismatch(key, f"{key} is None; expected {_shape_text(exp.shape)}.")
    try:
        act = np.asarray(actual)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        act = None
    if act is None or act.dtype == object or act.dtype.kind not in "biuf":
        return None, _Mismatch(key, f"{key} should be {'a number' if exp.ndim == 0 else 'a NumPy array'}, "
                                    f"got {type(actual).__name__}: {_fmt(actual)[:200]}")
    if _is_number(expected) and isinstance(actual, np.ndarray):
        # The hidden tests want a number here too (an array is not a number, even with one entry).
        return None, _Mismatch(key, f"{key} should be a number, got a NumPy array of {_shape_text(act.shape)}. "
                                    "Return a plain number: float(x) turns a one-element array into one "
                                    "(or use math.cos, math.sqrt, ... on numbers).")
    if act.shape != exp.shape:
        hint = shape_hint(act.shape, exp.shape)
        if exp.ndim and act.shape == exp.shape[1:] and step_axis:
            hint = " (one entry per step was expected)"
        return None, _Mismatch(key, f"{key} has {_shape_text(act.shape)}, expected {_shape_text(exp.shape)}.{hint}")
    return act, _dtype_problem(key, actual, act, exp)


def _dtype_problem(key: str, actual, act: np.ndarray, exp: np.ndarray):
    if act.ndim == 0 or not isinstance(actual, np.ndarray) or exp.dtype.kind != "f":
        return None
    if act.dtype.kind in "biu":
        return _Mismatch(key, f"{key} is an integer array (dtype {act.dtype}); the course works in "
                              "float64 — an integer array silently truncates the update. Create arrays "
                              "with float values (np.zeros(shape), not np.zeros(shape, dtype=int)).")
    if act.dtype.kind == "f" and act.dtype != np.float64:
        return _Mismatch(key, f"{key} has dtype {act.dtype}; the course works in float64.")
    return None


def _non_finite(key: str, act: np.ndarray, exp: np.ndarray):
    """NaN or inf where a number was expected, said with where and how many."""
    bad_act = ~np.isfinite(act) & np.isfinite(exp)
    if not bad_act.any():
        return None
    n = int(bad_act.sum())
    kinds = "NaN" if np.isnan(act[bad_act]).all() else "NaN/inf" if np.isnan(act[bad_act]).any() else "inf"
    where_text = f" (first at index {tuple(int(i) for i in np.argwhere(bad_act)[0])})" if act.ndim else ""
    return _Mismatch(key, f"{key} contains {kinds} in {n} of {act.size} entries{where_text}. "
                          "Look for a division by zero, the square root or log of a negative "
                          "number, or an overflow.")


def _mismatch_text(key: str, act, exp, err, tol: float, step_axis: bool) -> str:
    """Where the values differ, how much, and excerpts of both."""
    worst = float(err.max(initial=0.0))
    where = ""
    if step_axis and exp.ndim >= 1:
        first_bad = int(np.argmax((err > tol).reshape(len(err), -1).any(axis=1)))
        where = f" from step {first_bad + 1} of {len(err)} on"
    text = f"{key} does not match{where}: relative error {worst:.2g} (tolerance {tol:.0e})."
    if not exp.ndim:
        return text + f" Expected {float(exp):.6g}, got {float(act):.6g}."
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return text + (f" Largest difference at index {tuple(int(i) for i in idx)}: expected {exp[idx]:.6g}, "
                   f"got {act[idx]:.6g}.\n  expected: {_fmt(exp)}\n  got:      {_fmt(act)}")


def _stale_state(key: str, act, exp, step_axis: bool) -> str:
    """The likely cause when a state output never changes from step to step, or ""."""
    if (step_axis and key != "next_w" and exp.ndim >= 1 and len(exp) >= 2
            and np.array_equal(act[1:], act[:-1]) and not np.array_equal(exp[1:], exp[:-1])):
        return (f"Your config[{key!r}] stays the same from step to step: the rule reads it but never "
                f"stores the new value back (config[{key!r}] = ...), so the next call starts from stale "
                "state.\n")
    return ""


def tol_for(tol, key: str) -> float:
    """The tolerance of output ``key``: an entry's ``tol`` may be one number or one per output."""
    if isinstance(tol, Mapping):
        return float(tol.get(key, DEFAULT_TOL))
    return float(DEFAULT_TOL if tol is None else tol)


def _join(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
    results = [_compare(key, actual[key], exp, tol_for(tol, key), atol, step_axis) for key, exp in expected.items()]
    worst = max((err for err, _ in results), default=0.0)
    problems = [bad for _, bad in results if bad]
    mutated = list(_extra or [])
    if not problems and not mutated:
        if not quiet:
            print(f"✓ {check_name}: {_join(list(expected))} match (rel. error {f'{worst:.0e}' if worst > 0 else '0'})")
        return worst
    raise CheckFailed(_failure_text(check_name, actual, expected_entry, problems, mutated, step_axis))


def _failure_text(check_name: str, actual, entry: Mapping, problems: list, mutated: list, step_axis: bool) -> str:
    """The named known mistake the outputs match, else every problem (the likely cause first)."""
    tol, atol = entry.get("tol", DEFAULT_TOL), float(entry.get("atol", 0.0))
    for mistake in (entry.get("mistakes", []) or []) if problems else []:
        if _matches(actual, mistake, tol, atol, step_axis):
            return f"✗ {check_name}: {mistake['message']}" + ("\nAlso: " + " ".join(mutated) if mutated else "")
    problems = sorted(problems, key=lambda p: not p.problem.startswith("Your config["))
    lines = [f"✗ {check_name}:", *mutated] + (["This may be why the outputs are wrong too:"] if mutated and problems else [])
    lines += [p.problem for p in problems]
    return "\n".join(lines) if len(lines) > 2 else " ".join(lines)


def _matches(actual: Mapping, mistake: Mapping, tol, atol: float, step_axis: bool) -> bool:
    outputs = mistake.get("outputs") or {}
    if not outputs:
        return False
    mtol = mistake.get("tol", tol)
    for key, value in outputs.items():
        if key not in actual:
            return False
        _, bad = _compare(key, actual[key], value, tol_for(mtol, key), atol, step_axis)
        if bad:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Running the learner's function: the hidden tests' drivers, on the check's public case


class FunctionStopped(BaseException):
    """The learner's function raised (``exc``) or returned None: ends the driver's run at once.

    A BaseException, so that the drivers (which turn every ``Exception`` into data) let it through
    with the original exception, for the message and the traceback.
    """

    def __init__(self, fn_name: str, exc: BaseException | None):
        super().__init__(fn_name, exc)
        self.fn_name, self.exc = fn_name, exc


def _guard(fn: Callable, fn_name: str) -> Callable:
    """Wrap ``fn`` so its exceptions and a ``None`` return stop the run, to be explained."""

    def guarded(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every learner error is explained
            raise FunctionStopped(fn_name, exc) from exc
        if out is None:
            raise FunctionStopped(fn_name, None)
        return out

    guarded.__name__ = fn_name
    return guarded


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


def _stopped(check_name: str, stop: FunctionStopped) -> BaseException:
    """The exception a check raises when the learner's function raised or returned None."""
    if stop.exc is None:
        return CheckFailed(f"✗ {check_name}: {stop.fn_name} returned None. "
                           "Did you forget the `return` statement at the end?")
    if isinstance(stop.exc, NotImplementedError):
        # Stay a NotImplementedError, so an untouched exercise reads (and grades) as "not done".
        return NotImplementedError(f"✗ {check_name}: {_explain_exception(stop.fn_name, stop.exc)}")
    return CheckFailed(f"✗ {check_name}: {_explain_exception(stop.fn_name, stop.exc)}")


def outputs_of(entry: Mapping, fn: Callable, forward: Callable | None = None):
    """Run ``fn`` through the entry's driver on its case; return ``(named outputs, inputs modified in place)``.

    ``forward``: for a backward pass, the forward pass whose cache it takes (default: the function
    named by the case, next to ``fn``). Raises ``FunctionStopped`` (the function raised or returned None) or
    :class:`CheckFailed` (what it returned has the wrong structure, said in the learner's words).
    """
    from autograder.drivers import DRIVERS

    case = copy.deepcopy(entry["case"])
    name = getattr(fn, "__name__", "your function")
    if "forward" in case:
        forward = forward or (getattr(fn, "__globals__", None) or {}).get(case["forward"])
        if callable(forward):
            case["forward"] = _guard(forward, getattr(forward, "__name__", case["forward"]))
    with np.errstate(all="ignore"):  # a wrong step may overflow: the comparison says what is wrong
        raw = DRIVERS[entry["driver"]](_guard(fn, name), case)
    return view(entry)(raw, case, list(entry["expected"]), name), list(raw.get("mutated") or [])


def view(entry: Mapping) -> Callable:
    """The view of an entry: ``VIEWS[entry["view"]]``, by default the view named after its driver."""
    name = entry.get("view", entry["driver"])
    if name not in VIEWS:
        importlib.import_module(f"{__package__}.init_checks")  # registers the statistics of 05's initializers
    return VIEWS[name]


def _modified(fn_name: str, mutated: list) -> list[str]:
    """The first input the function modified in place, as advice."""
    return [f"{fn_name} modified its input {re.sub(r' [(]step [0-9]+[)]$', '', str(m))} in place (for example with "
            "`-=` or `*=` on it). Build new arrays instead (`next_w = w - ...`, not `w -= ...`) or work on a copy "
            "(`x.copy()`), so that the caller's arrays stay unchanged." for m in mutated[:1]]


def run_check(assignment_id, check_name: str, fn: Callable, call=None, *, path=None, quiet: bool = False) -> None:
    """Run the learner's ``fn`` on the public case of a check and compare with the expected data.

    The function is called by the same driver as in the hidden tests (``autograder.drivers``), on
    the check's stored case; what it returns is put in the learner's words (named outputs) and
    compared with the stored expected outputs and known mistakes.

    assignment_id: e.g. ``"03_momentum"`` (or None with ``path``).
    check_name: the entry in the assignment's expected data.
    fn: the learner's function.
    call: ``backward_through(forward)`` for a backward pass (the forward pass whose cache it
        takes); the statistics of ``nnopt_helpers.init_checks`` are accepted too (the entry names
        its own). Default: what the entry says.
    path: read the expected data from this JSON file instead of the package.
    Prints ``✓ ...`` on success; raises CheckFailed explaining the problem otherwise.
    """
    data = load_expected(assignment_id, path=path)
    if check_name not in data:
        raise KeyError(f"no check named {check_name!r} in the expected data of {assignment_id or path}; "
                       f"known: {', '.join(data)}")
    entry = data[check_name]
    if not callable(fn):
        raise CheckFailed(f"✗ {check_name}: expected a function, got {type(fn).__name__}.")
    if call is not None and not hasattr(call, "forward") and call not in VIEWS.values():
        raise TypeError(f"call: expected backward_through(forward) or a view of init_checks, got {call!r}")
    try:
        actual, mutated = outputs_of(entry, fn, getattr(call, "forward", None))
    except FunctionStopped as stop:
        raise _stopped(check_name, stop) from stop.exc
    except CheckFailed as exc:
        raise CheckFailed(f"✗ {check_name}: {exc}") from None
    step_axis = entry["driver"] == "update_rule" and len(entry["case"]["dws"]) > 1
    check_outputs(check_name, actual, entry, quiet=quiet, step_axis=step_axis,
                  _extra=_modified(getattr(fn, "__name__", check_name), mutated))


# --------------------------------------------------------------------------------------------
# Views: a driver's plain output as the named outputs a learner knows (next_w, velocity, out...)


def _error_text(name: str, step: Mapping, at: str = "") -> str:
    error = str(step["error"])
    return f"{name} {error}{at}." if error.startswith(("returned", "should")) else f"{name}: {error}{at}."


def _stacked(values: list, stack: bool):
    """One value, or the values of every step along a leading axis (a list when their shapes differ)."""
    if not stack:
        return values[0]
    try:
        return np.stack([np.asarray(v, dtype=np.float64) for v in values])
    except (ValueError, TypeError):
        return values  # compared (and explained) as a list


def _missing_state(name: str, missing: list, when: str) -> str:
    keys = _join(repr(k) for k in missing)
    if all(k in _HYPERPARAMETERS for k in missing):
        return f"After {when} the returned config has no {keys}. Fill in the defaults first, e.g. " \
               f"config.setdefault({missing[0]!r}, ...)."
    return f"After {when} the returned config has no {keys}. Store the state back into config " \
           f"(e.g. config[{missing[0]!r}] = ...) so that the next call continues from it."


def update_rule_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """``next_w`` and the recorded config keys, each stacked over the steps when there are several."""
    multi = len(case["dws"]) > 1
    for t, step in enumerate(raw["steps"]):
        if "error" in step:
            raise CheckFailed(_error_text(name, step, f" (step {t + 1})" if multi else ""))
        if step.get("missing_keys"):
            raise CheckFailed(_missing_state(name, step["missing_keys"], f"step {t + 1}" if multi else "the update"))
        if multi and step["next_w"].dtype != np.float64:  # stacking the steps would hide it: say it here
            raise CheckFailed(f"{name} returned next_w as an array of dtype {step['next_w'].dtype} (step {t + 1}); "
                              "return a float64 NumPy array (compute it from w and dw with NumPy operations).")
    steps = raw["steps"]
    return {k: _stacked([s["next_w"] if k == "next_w" else s["config"][k] for s in steps], multi) for k in names}


def function_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """The returned value under the only expected name, or a returned tuple under the expected names in order."""
    if "error" in raw:
        raise CheckFailed(_error_text(name, raw))
    ret = raw["result"]
    if len(names) == 1:
        return {names[0]: ret}
    if not isinstance(ret, list) or len(ret) != len(names):
        got = f"{len(ret)} values" if isinstance(ret, list) else f"one {type(ret).__name__}"
        raise CheckFailed(f"{name} should return {len(names)} values ({', '.join(names)}), got {got}.")
    return dict(zip(names, ret))


def symmetric_matrix_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """Like :func:`function_view`; the matrix must be exactly symmetric (a Hessian is, by definition).

    An estimate that computes both entries separately differs by rounding, and the check says so
    before comparing values.
    """
    out = function_view(raw, case, names, name)
    ret = out[names[0]]
    if isinstance(ret, np.ndarray) and ret.ndim == 2 and ret.shape[0] == ret.shape[1] \
            and ret.dtype.kind == "f" and np.all(np.isfinite(ret)) and not np.array_equal(ret, ret.T):
        gap = np.abs(ret - ret.T)
        i, j = (int(k) for k in np.unravel_index(int(np.argmax(gap)), gap.shape))
        raise CheckFailed(
            f"{name} returned a matrix that is not symmetric: entries [{i}, {j}] and [{j}, {i}] differ by "
            f"{gap[i, j]:.2g}. Second derivatives do not depend on the order of differentiation, so "
            "the result must be exactly symmetric: compute each pair (i, j) with i <= j once and copy it "
            "to [j, i], or return (H + H.T) / 2.")
    return out


def noisy_path_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """The path for the case's seed; a second run with a generator of the same seed must give the same path."""
    if "error" in raw:
        raise CheckFailed(_error_text(name, raw))
    runs = raw["result"]
    if not _same_draw(runs["path"], runs["same_seed"]):
        raise CheckFailed(
            f"{name} returned different results in two calls with generators in the same state: it "
            "draws random numbers from somewhere else than its `rng` argument (np.random.randn, "
            "np.random.normal, or a generator created inside the function). Draw every random "
            "number from `rng` (e.g. rng.standard_normal(shape)), so that a seed reproduces a run.")
    return {names[0]: runs["path"]}


def _same_draw(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_nan=True))
    except (TypeError, ValueError):
        return True  # not numbers: the comparison with the expected values explains it


def descent_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """``path`` (what the function returned, a NumPy array) and ``grad_calls``, how often it called grad_fn."""
    if "error" in raw:
        raise CheckFailed(_error_text(name, raw))
    path = raw["result"]
    if isinstance(path, list):
        raise CheckFailed(f"{name} returned a Python list; return the path as one NumPy array "
                          "of shape (num_steps + 1, d), e.g. np.array(path).")
    out = {"path": path, "grad_calls": float(len(raw["points where grad_fn was called"]))}
    return {k: out[k] for k in names}


def batchnorm_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """A forward pass: ``out`` and the recorded ``bn_param`` keys, stacked over the calls when there are
    several; a backward pass: ``dx``, ``dgamma``, ``dbeta``."""
    multi = len(case["x"]) > 1
    for t, step in enumerate(raw["steps"]):
        at = f" (call {t + 1})" if multi else ""
        if "error" in step:
            raise CheckFailed(_error_text(name, step, at))
        missing = [k for k in names if k not in step and k not in step.get("bn_param", {})]
        if missing:
            raise CheckFailed(f"After the call{at} bn_param has no {_join(repr(k) for k in missing)}. Fill in the "
                              f"defaults with bn_param.setdefault({missing[0]!r}, ...) and store the running "
                              "statistics back into bn_param, so that the next call (and eval mode) can use them.")
    return {k: _stacked([s[k] if k in s else s["bn_param"][k] for s in raw["steps"]], multi) for k in names}


VIEWS = {"update_rule": update_rule_view, "function": function_view, "surface_function": function_view,
         "symmetric_matrix": symmetric_matrix_view, "noisy_path": noisy_path_view, "descent": descent_view,
         "batchnorm": batchnorm_view}
VIEWS["function_inf"] = function_view  # 07: a non-finite answer arrives as the text 'inf', '-inf' or 'nan'


def backward_through(forward: Callable):
    """The ``call`` of :func:`run_check` for a backward pass: the forward pass whose cache it takes.

    A layer's cache is whatever its forward pass chose to keep, so a backward pass can only be run
    after the matching forward pass:

        run_check("06_batch_norm", "batchnorm_backward", batchnorm_backward,
                  call=backward_through(batchnorm_forward))
    """
    if not callable(forward):
        raise TypeError(f"forward: expected the forward-pass function, got {type(forward).__name__}")
    return types.SimpleNamespace(forward=forward, __name__=f"backward_through({getattr(forward, '__name__', '?')})")


# --------------------------------------------------------------------------------------------
# 02_local_optima, loss landscapes


def interpolation_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """``losses`` (a float64 array, one per alpha) and ``points``, where ``loss_fn`` was called.

    Says first what needs no expected value: a list returned, a wrong shape, ``loss_fn`` called
    another number of times than once per alpha.
    """
    if "error" in raw:
        raise CheckFailed(_error_text(name, raw))
    losses, points = raw["result"], raw["points where loss_fn was called"]
    n = len(case["alphas"])
    if isinstance(losses, list):
        raise CheckFailed(f"{name} returned a Python list; return the losses as one float64 NumPy array of shape "
                          f"({n},), e.g. np.array(losses).")
    if not isinstance(losses, np.ndarray) or losses.shape != (n,):
        got = f"shape {losses.shape}" if isinstance(losses, np.ndarray) else f"a {type(losses).__name__}"
        raise CheckFailed(f"{name} returned {got}; expected an array of shape ({n},), one loss per alpha.")
    if len(points) != n:
        raise CheckFailed(f"{name} called loss_fn {len(points)} times for {n} alphas. Call it exactly once per alpha, "
                          "in the order of alphas, and at nothing else: on a network every call is a pass over "
                          "the whole data set. (np.vectorize without otypes=[float] calls it once more.)")
    out = {"losses": losses, "points": points}
    return {k: out[k] for k in names}


def _direction_draws(raw: Mapping, case: Mapping, name: str) -> list:
    """The draws of a ``direction`` run, after checking that each is a list of arrays of the weights' shapes."""
    if "error" in raw:
        raise CheckFailed(_error_text(name, raw))
    shapes = [np.shape(w) for w in case["weights"]]
    draws = raw["result"]
    for draw in draws:
        if not isinstance(draw, list) or len(draw) != len(shapes):
            got = f"a {type(draw).__name__}" + (f" of length {len(draw)}" if isinstance(draw, list) else "")
            raise CheckFailed(f"{name} returned {got}; return a list of {len(shapes)} arrays, one per array of "
                              "weights, in the same order.")
        for i, (d, shape) in enumerate(zip(draw, shapes)):
            if not isinstance(d, np.ndarray) or d.shape != shape:
                got = f"shape {d.shape}" if isinstance(d, np.ndarray) else f"a {type(d).__name__}"
                raise CheckFailed(f"direction[{i}] returned by {name} has {got}; it must have the shape of "
                                  f"weights[{i}], {shape}.")
    return draws


def direction_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """The direction drawn with the case's first seed, one output ``direction[i]`` per array of the weights.

    Checks first that a list of float64 arrays of the weights' shapes comes back, and that a second
    generator of the same seed gives the same direction.
    """
    draws = _direction_draws(raw, case, name)
    if not _same_draw(np.concatenate([d.ravel() for d in draws[0]]), np.concatenate([d.ravel() for d in draws[-1]])):
        raise CheckFailed(
            f"{name} returned different directions in two calls with generators of the same seed: it draws "
            "random numbers from somewhere else than its `rng` argument (np.random.randn, np.random.normal, or a "
            "generator created inside the function). Draw every random number from `rng`.")
    flat = [np.concatenate([d.ravel() for d in draw]) for draw in draws[:2]]
    if len(draws) > 2 and np.any(flat[0]) and _same_draw(flat[0], flat[1]):
        raise CheckFailed(
            f"{name} returned the same direction for generators of different seeds: it ignores its `rng` "
            "argument (a generator created inside the function with a fixed seed?). Draw from `rng`.")
    return {k: draws[0][int(k[len("direction["):-1])] for k in names}


VIEWS.update(interpolation=interpolation_view, direction=direction_view)


def flat_arrays_view(raw: Mapping, case: Mapping, names: list, name: str) -> dict:
    """:func:`function_view` for a function returning ``(list of arrays, ...)`` like its first argument (07's
    ``clip_grad_norm``): the list, once its length and shapes are checked against the input list, is
    compared as one flat array, so that a known mistake's output can be stored and named."""
    out = function_view(raw, case, names, name)
    arrays, given = out[names[0]], case["args"][0]
    if not isinstance(arrays, list) or len(arrays) != len(given):
        got = f"a list of {len(arrays)}" if isinstance(arrays, list) else f"a {type(arrays).__name__}"
        raise CheckFailed(f"{name} should return a list of {len(given)} arrays as its first value "
                          f"(one per input array), got {got}.")
    for i, (a, g) in enumerate(zip(arrays, given)):
        if not isinstance(a, np.ndarray) or a.shape != np.shape(g):
            what = f"shape {a.shape}" if isinstance(a, np.ndarray) else f"a {type(a).__name__}"
            raise CheckFailed(f"{name}: item {i} of the returned list is {what}; it should be an array of the "
                              f"shape of input {i}, {np.shape(g)}.")
        if a.dtype != np.float64:
            raise CheckFailed(f"{name}: item {i} of the returned list has dtype {a.dtype}; return float64 arrays.")
    return {**out, names[0]: np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)}


VIEWS["flat_arrays"] = flat_arrays_view

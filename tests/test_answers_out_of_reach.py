"""No answer reaches the verifier's sandbox (issue 6, item 2).

What the grader keeps to itself: every key of a case its driver does not read (the minima a correct
``find_minima`` reaches, an initializer's target statistics, LSUV's reference scales, a path's
escape value), and the parameters of every function a driver hands to learner code (a surface, a
random quadratic, a secret rotation), which the oracle process evaluates.

Three layers of test:

* the cut itself: for every exercise of all six assignments, the driver gives the same output on
  the inputs alone (with the oracle standing in for the specs) as on the whole case, so nothing the
  driver needs was cut;
* what is sent: no grader-only key, no spec, in the sandbox's job;
* from inside, for real: a submission whose every graded function walks its frames, the garbage
  collector's objects, the callables it was given (closures, ``__self__``, ``__globals__``), the
  files it can see and the oracle's memory, in the real sandbox, and reports what it found; the
  grader-only data is nowhere in it.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import assignment_harness as harness
from autograder import drivers
from autograder.assignments import MODULES, get
from autograder.plain import pack, unpack
from autograder.sandbox import Limits
from autograder.verifier import make_cases, sandbox_inputs, verify

AIDS = list(MODULES)
SEED = 987654321


def _collect_arrays(value, out: list) -> None:
    if isinstance(value, np.ndarray):
        if value.size >= 2 and value.dtype.kind in "fiu":
            out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_arrays(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_arrays(v, out)


def _grader_only(assignment, cases) -> tuple[set, list]:
    """(the grader-only keys of the cases, their array values and the oracle specs' arrays)."""
    keys, arrays = {"transform"}, []

    def arrays_in(value):
        _collect_arrays(value, arrays)

    for ex, cs in zip(assignment.exercises, cases):
        for case in cs:
            for k, v in case.items():
                if k not in drivers.INPUTS[ex.driver]:
                    keys.add(k)
                    arrays_in(v)
            key = drivers.ORACLE_KEYS.get(ex.driver)
            if key in case:
                arrays_in(case[key])
    return keys, arrays


def _digest(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr, dtype=np.float64).tobytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# The cut


@pytest.mark.parametrize("aid", AIDS)
def test_drivers_need_only_their_inputs(aid):
    """Every solution gives the same driver output on the inputs (and handles) as on the whole case."""
    assignment = get(aid)
    cases = make_cases(assignment, SEED)
    sent, specs = sandbox_inputs(assignment.exercises, cases)
    functions = [drivers.oracle_functions(s) for s in specs]
    solutions = harness.solution_functions(aid)
    previous = drivers.REMOTE
    drivers.REMOTE = lambda handle, method, x: np.asarray(
        functions[handle][0 if method == "value" else 1](np.asarray(x, dtype=np.float64)), dtype=np.float64)
    try:
        for ex, full, inputs in zip(assignment.exercises, cases, sent):
            fn = solutions[ex.name]
            for case, cut in zip(full, inputs):
                with harness.quiet_numpy():
                    whole = pack(drivers.DRIVERS[ex.driver](fn, case))
                    alone = pack(drivers.DRIVERS[ex.driver](fn, cut))
                assert unpack(whole).keys() == unpack(alone).keys()
                assert whole == alone, (aid, ex.name, ex.describe(case) if ex.describe else case)
                assert not ex.judge(case, unpack(alone)), (aid, ex.name)
    finally:
        drivers.REMOTE = previous


@pytest.mark.parametrize("aid", AIDS)
def test_nothing_but_inputs_is_sent(aid):
    assignment = get(aid)
    cases = make_cases(assignment, SEED)
    sent, specs = sandbox_inputs(assignment.exercises, cases)
    keys, _ = _grader_only(assignment, cases)
    for ex, inputs in zip(assignment.exercises, sent):
        for case in inputs:
            assert set(case) <= set(drivers.INPUTS[ex.driver]), (ex.name, set(case))
            key = drivers.ORACLE_KEYS.get(ex.driver)
            if key in case:
                assert set(case[key]) == {"__oracle__", "dim"}, case[key]
        assert not keys & {k for case in inputs for k in case}
    with_functions = [ex.name for ex in assignment.exercises if ex.driver in drivers.ORACLE_KEYS]
    assert bool(specs) == bool(with_functions)


def test_grader_keeps_answers_the_issue_names():
    """The fields the red team read from the sandbox are now grader-only."""
    found = set()
    for aid in AIDS:
        assignment = get(aid)
        found |= _grader_only(assignment, make_cases(assignment, SEED))[0]
    assert {"minima", "target", "reference_scales", "reference_variances", "escape_value"} <= found


# ---------------------------------------------------------------------------------------------
# From inside the sandbox

_PROBE = textwrap.dedent('''
    import gc as _gc, json as _json, os as _os, sys as _sys, types as _types
    import numpy as _np

    _nnopt_calls = 0

    def _nnopt_probe(name, args, kwargs):
        keys, digests, types, files, oracle_mem = set(), set(), set(), [], []
        seen = set()

        def walk(obj, depth=0):
            if id(obj) in seen or depth > 6:
                return
            seen.add(id(obj))
            types.add(type(obj).__name__)
            if isinstance(obj, _np.ndarray):
                if obj.dtype.kind in "fiu" and 2 <= obj.size <= 100000:
                    import hashlib
                    digests.add(hashlib.sha256(_np.ascontiguousarray(obj, dtype=_np.float64).tobytes()).hexdigest())
                return
            if isinstance(obj, dict):
                for k, v in list(obj.items()):
                    if isinstance(k, str):
                        keys.add(k)
                    walk(v, depth + 1)
            elif isinstance(obj, (list, tuple, set, frozenset)):
                for v in list(obj)[:10000]:
                    walk(v, depth + 1)
            elif isinstance(obj, _types.FunctionType):
                for cell in obj.__closure__ or ():
                    try:
                        walk(cell.cell_contents, depth + 1)
                    except ValueError:
                        pass
                walk(obj.__defaults__, depth + 1)
                walk(obj.__kwdefaults__, depth + 1)
            elif isinstance(obj, _types.MethodType):
                walk(obj.__self__, depth + 1)
            elif hasattr(obj, "__dict__") and not isinstance(obj, (type, _types.ModuleType)):
                walk(vars(obj), depth + 1)

        for a in list(args) + list(kwargs.values()):
            walk(a)
            if callable(a) and hasattr(a, "__globals__"):
                for v in list(a.__globals__.values()):
                    if not isinstance(v, _types.ModuleType):
                        walk(v, 1)
        frame = _sys._getframe(1)
        while frame is not None:
            walk(dict(frame.f_locals))
            frame = frame.f_back
        for root in (_os.getcwd(), "/tmp"):  # the sandbox's only writable places
            for dirpath, _dirs, names in _os.walk(root):
                for n in names:
                    try:
                        if n.endswith(".npz") and _os.path.getsize(_os.path.join(dirpath, n)) < 64 << 20:
                            from autograder.plain import unpack
                            walk(unpack(open(_os.path.join(dirpath, n), "rb").read()))
                    except Exception:
                        pass
        direct = set(keys)
        for obj in _gc.get_objects():  # (library internals too: their keys are too common to compare)
            walk(obj, 3)
        keys = direct
        for root in (_os.getcwd(), "/tmp"):
            for dirpath, _dirs, names in _os.walk(root):
                files += [_os.path.join(dirpath, n) for n in names]
        for pid in _os.listdir("/proc"):  # the oracle: this process's child
            try:
                ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == _os.getpid():
                try:
                    with open(f"/proc/{pid}/mem", "rb") as f:
                        f.read(1)
                    oracle_mem.append(f"{pid}: readable")
                except OSError as exc:
                    oracle_mem.append(f"{pid}: {type(exc).__name__}")
        report = {"keys": sorted(keys), "digests": sorted(digests), "types": sorted(types), "files": files,
                  "proc_mem": oracle_mem}
        global _nnopt_calls
        _nnopt_calls += 1  # (the backward pass of 06 calls the forward: one report per call)
        with open(f"probe-{_nnopt_calls}-{name}.json", "w") as f:
            _json.dump(report, f)
''')


def _probe_cells(aid: str) -> list[str]:
    cells = [_PROBE]
    for name in harness.exercises(aid):
        cells.append(f"def {name}(*args, **kwargs):\n"
                     f"    _nnopt_probe({name!r}, args, kwargs)\n"
                     f"    raise NotImplementedError\n")
    return cells


@pytest.mark.slow
@pytest.mark.parametrize("aid", AIDS)
def test_a_submission_finds_nothing_but_inputs(aid, tmp_path):
    sandbox = harness.sandbox_or_skip(tmp_path / "lib")
    assignment = get(aid)
    cases = make_cases(assignment, SEED)
    grader_keys, grader_arrays = _grader_only(assignment, cases)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    v = verify(assignment, _probe_cells(aid), sandbox, scratch, Limits(wall_seconds=120), SEED, cases=cases)
    assert not v.cell_errors, v.cell_errors
    reports = {p.name: json.loads(p.read_text()) for p in scratch.glob("probe-*.json")}  # the cwd: scratch
    assert len(reports) >= len(assignment.exercises), (sorted(reports), v.to_dict())
    inputs = []
    _collect_arrays(sandbox_inputs(assignment.exercises, cases)[0], inputs)
    # an array that is also an input (the same matrix in two cases) is no secret
    secret = {_digest(a) for a in grader_arrays} - {_digest(a) for a in inputs}
    assert bool(secret) == (aid in ("01_challenges", "02_local_optima", "05_initialization", "07_training_in_practice")), aid
    for name, report in reports.items():
        assert not grader_keys & set(report["keys"]), (name, grader_keys & set(report["keys"]))
        assert not secret & set(report["digests"]), name
        assert not {"Surface", "TransformedSurface"} & set(report["types"]), name
        assert not any(f.endswith("oracle.npz") for f in report["files"]), report["files"]
        assert not any(m.endswith("readable") for m in report["proc_mem"]), report["proc_mem"]
    if any(ex.driver in drivers.ORACLE_KEYS for ex in assignment.exercises):
        # the oracle ran beside the learner's process, and its memory could not be read
        assert any(m.endswith("PermissionError") for r in reports.values() for m in r["proc_mem"]), reports
    # the probe is not vacuous: it does see the inputs it was given
    seen = set().union(*(set(r["keys"]) for r in reports.values()))
    assert {"cells", "exercises"} <= seen


@pytest.mark.slow
def test_the_probe_finds_answers_when_they_are_sent(tmp_path, monkeypatch):
    """Control: with whole cases sent (as before this fix), the same probe finds the answers."""
    from autograder import verifier

    monkeypatch.setattr(verifier, "sandbox_inputs", lambda exercises, cases: (cases, []))
    sandbox = harness.sandbox_or_skip(tmp_path / "lib")
    assignment = get("02_local_optima")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    verify(assignment, _probe_cells("02_local_optima"), sandbox, scratch, Limits(wall_seconds=120), SEED)
    reports = [json.loads(p.read_text()) for p in scratch.glob("probe-*.json")]
    assert reports
    assert any("minima" in r["keys"] for r in reports)
    assert any({"Surface", "TransformedSurface"} & set(r["types"]) for r in reports)

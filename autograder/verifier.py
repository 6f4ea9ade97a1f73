"""The authoritative score: the learner's functions judged outside the learner's kernel.

Student code in nbgrader's kernel can rewrite anything in that process (``np.allclose``, the
checker, the printed result). The verifier therefore

1. takes the solution cells of the submission (nbgrader ``solution: true`` code cells, after the
   locked and test cells were restored from the source), whole, and from the learner's other code
   cells only the imports, definitions and cheap assignments the solution cells use
   (``autograder.grading.notebooks.verifier_plan``), with the preamble ``import numpy as np, math``;
2. generates the test cases in the grader's process from a secret seed of this run
   (``Exercise.make_cases``), and sends only those cases, as plain bytes
   (``autograder.plain.pack``), into a separate sandboxed process
   (``autograder/kernel/verify_runner.py``) that runs the cells and calls each graded function
   through ``autograder.drivers``;
3. unpacks the plain results (no pickle) and judges them in the grader's process with
   ``Exercise.judge``, against the reference, which never enters the sandbox.

An exercise scores its points when no case has a problem, else 0. If the sandboxed process hangs,
dies or exceeds its memory while running a cell or an exercise, the verifier records that, and
retries without it, so one bad function does not cost the others their points.

Every cost of judging in the grader's process is bounded: a result file larger than
:data:`MAX_RESULT_BYTES` is not read, ``unpack`` refuses more than ``plain.MAX_ITEMS`` nodes,
``plain.MAX_ARRAYS`` arrays and 16 levels of nesting, and judging one exercise of one submission
stops after ``judge_timeout`` seconds (:func:`judge_bounded`): the exercise then scores 0, with the
outcome ``timeout`` and the problem "the result could not be judged within N s".
"""

from __future__ import annotations

import ctypes
import dataclasses
import secrets
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from . import drivers
from .plain import NotPlain, pack, unpack
from .sandbox import Limits, Sandbox, read_untrusted
from .spec import Assignment, Exercise

__all__ = ["PREAMBLE", "ExerciseVerdict", "Verification", "make_cases", "sandbox_inputs", "verify", "judge_results",
           "judge_bounded", "JudgeTimeout", "MAX_RESULT_BYTES", "JUDGE_TIMEOUT"]

PREAMBLE = "import numpy as np, math\n"
MAX_PROBLEMS = 3
#: The largest result file of one exercise the grader reads back from the sandbox. The largest
#: honest one (solutions and known mistakes of every assignment, several seeds) is the
#: ``05_initialization`` initializers' at about 7.3 MB (three draws of up to 399×399 float64 per
#: shape); every other exercise's stays under 120 kB.
MAX_RESULT_BYTES = 32 << 20
#: Seconds the grader may spend judging one exercise of one submission (the reference, the
#: properties and the hints together). Honest results take well under a second.
JUDGE_TIMEOUT = 30.0


@dataclasses.dataclass
class ExerciseVerdict:
    """The verifier's judgement of one graded function."""

    name: str
    grade_id: str
    points: float
    passed: bool = False
    #: passed | failed | not-implemented | missing | timeout | memory | crashed | process-limit | disk-limit
    outcome: str = "failed"
    problems: list = dataclasses.field(default_factory=list)

    @property
    def score(self) -> float:
        return float(self.points) if self.passed else 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "grade_id": self.grade_id, "points": float(self.points), "score": self.score,
                "passed": self.passed, "outcome": self.outcome, "problems": list(self.problems)}


@dataclasses.dataclass
class Verification:
    """All exercises of one submission, plus what happened to the sandboxed process."""

    exercises: dict
    cell_errors: list = dataclasses.field(default_factory=list)
    flags: set = dataclasses.field(default_factory=set)
    attempts: int = 0
    seconds: float = 0.0
    sandboxed: bool = True

    @property
    def score(self) -> float:
        return sum(v.score for v in self.exercises.values())

    def to_dict(self) -> dict:
        return {"exercises": {k: v.to_dict() for k, v in self.exercises.items()}, "cell_errors": self.cell_errors,
                "flags": sorted(self.flags), "attempts": self.attempts, "seconds": round(self.seconds, 3),
                "sandboxed": self.sandboxed, "score": self.score}


def make_cases(assignment: Assignment, seed: int) -> list[list]:
    """The verifier's cases, per exercise, from the run's secret ``seed`` (independent streams)."""
    streams = np.random.SeedSequence(int(seed)).spawn(len(assignment.exercises))
    return [ex.make_cases(np.random.default_rng(s)) for ex, s in zip(assignment.exercises, streams)]


def sandbox_inputs(exercises, cases: list[list]) -> tuple[list[list], list[dict]]:
    """What of ``cases`` goes into the sandbox: (per exercise, the cases' inputs; the oracle's specs).

    Each case is cut to the keys its driver reads (``drivers.INPUTS``): whatever else a case holds
    (the minima a correct result reaches, target statistics, reference scales) stays here, where it
    judges. A function the driver builds from the case (a surface, a descent problem) is replaced
    by a handle ``{"__oracle__": k, "dim": d}``; its spec goes to the oracle process only
    (``autograder/kernel/oracle.py``), so no callable in the learner's process holds it.
    """
    sent, specs = [], []
    for ex, cs in zip(exercises, cases):
        key = drivers.ORACLE_KEYS.get(ex.driver)
        out = []
        for case in cs:
            inputs = drivers.inputs_of(ex.driver, case)
            if key is not None and isinstance(inputs.get(key), dict):
                specs.append(inputs[key])
                inputs[key] = {"__oracle__": len(specs) - 1, "dim": drivers.function_spec_dim(inputs[key])}
            out.append(inputs)
        sent.append(out)
    return sent, specs


def _errors_in(actual) -> list[dict]:
    if not isinstance(actual, dict):
        return []
    steps = actual.get("steps", [actual])
    return [s for s in steps if isinstance(s, dict) and "error" in s] if isinstance(steps, list) else []


def _text(value, n: int) -> str:
    """``str(value)`` cut to ``n`` characters, without building the whole text of a huge value first."""
    return value[:n] if type(value) is str else f"(a {type(value).__name__})"


def judge_results(ex: Exercise, cases: list, data) -> ExerciseVerdict:
    """Judge the sandbox's plain output for one exercise against the grader's reference.

    Unbounded in time by itself (a learner's result may be slow to judge): the verifier calls it
    through :func:`judge_bounded`.
    """
    v = ExerciseVerdict(ex.name, ex.grade_id, ex.points)
    if not isinstance(data, dict):
        v.problems = ["the grader got no result"]
        return v
    if "missing" in data:
        v.outcome, v.problems = "missing", [_text(data["missing"], 500)]
        return v
    if "runner_error" in data:
        v.problems = [f"the results could not be sent back: {_text(data['runner_error'], 300)}"]
        return v
    results = data.get("results")
    if not isinstance(results, list) or len(results) != len(cases):
        v.problems = ["the grader got an incomplete set of results"]
        return v
    problems, kinds = [], set()
    for case, actual in zip(cases, results):
        errors = _errors_in(actual)
        for err in errors:
            etype = _text(err.get("error_type", ""), 100)
            kinds.add(etype)
        if any(_text(e.get("error_type"), 100) == "NotImplementedError" for e in errors):
            v.outcome, v.problems = "not-implemented", [
                f"{ex.name} has no value yet (it is still None)" if ex.driver in drivers.VALUE_DRIVERS
                else f"{ex.name} is not implemented yet (it raises NotImplementedError)"]
            return v
        try:
            problems += ex.judge(case, actual)
        except Exception as exc:  # noqa: BLE001 - a malformed result must not crash the grader
            problems.append(f"the result could not be judged ({type(exc).__name__}: {_text(str(exc), 250)})")
        if len(problems) >= MAX_PROBLEMS:
            break
    if "NameError" in kinds:
        problems.append("note: the grader runs only your solution cells in full (with numpy as np and math "
                        "imported); from your other code cells it runs, in order, just the imports, def and class "
                        "statements and assignments your solution cells use, where an assignment may call only cheap "
                        "constructors (dict, list, range, np.array, np.zeros, np.linspace, np.finfo, math functions, "
                        "functools.partial, ...). Other statements (print, plots, any other call, loops, if/with/try "
                        "blocks) are skipped, and a name they set is not defined for your functions")
    v.problems = problems
    v.passed = not problems
    if v.passed:
        v.outcome = "passed"
    elif "MemoryError" in kinds:
        v.outcome = "memory"
    elif "BlockingIOError" in kinds:
        v.outcome = "process-limit"
    return v


class JudgeTimeout(BaseException):
    """Raised inside a judge that ran out of time (a BaseException: ``except Exception`` in the
    judging code, which turns a malformed result into a problem, must not swallow it)."""


def _raise_in(thread: threading.Thread, exc_type: type) -> None:
    """Ask ``thread`` to raise ``exc_type`` at its next Python instruction (CPython's async exception)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


def judge_bounded(ex: Exercise, cases: list, data, timeout: float | None = JUDGE_TIMEOUT) -> ExerciseVerdict:
    """:func:`judge_results`, given at most ``timeout`` seconds (None or <= 0: unbounded).

    The judging runs in a daemon thread and the caller waits for it at most ``timeout`` s, so the
    bound holds in any thread: the process pool worker's main thread as well as a Dask worker's
    thread, where signals (SIGALRM) cannot be used. Past the bound the verdict is 0 points with
    outcome ``timeout``, and the thread is asked to stop (an asynchronous ``JudgeTimeout``, raised
    at its next Python instruction). A judge stuck inside one C call (one NumPy operation, on at
    most :data:`MAX_RESULT_BYTES` of data) stops only when that call returns: the verdict is not
    delayed, but the thread keeps a core busy until then.
    """
    if timeout is None or timeout <= 0:
        return judge_results(ex, cases, data)
    box: dict = {}

    def run():
        try:
            box["verdict"] = judge_results(ex, cases, data)
        except BaseException as exc:  # noqa: BLE001 - JudgeTimeout, or a bug: reported below
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"nnopt-judge-{ex.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        for _ in range(3):
            if not worker.is_alive():
                break
            _raise_in(worker, JudgeTimeout)
            worker.join(0.2)
        return ExerciseVerdict(ex.name, ex.grade_id, ex.points, outcome="timeout",
                               problems=[f"the result could not be judged within {timeout:g} s (a correct result is "
                                         "judged in well under a second: check the size and shape of what "
                                         f"{ex.name} returns)"])
    if "verdict" in box:
        return box["verdict"]
    exc = box.get("error")
    return ExerciseVerdict(ex.name, ex.grade_id, ex.points,
                           problems=[f"the result could not be judged ({type(exc).__name__}: {_text(str(exc), 250)})"])


# The files below are written next to the learner's code, which may replace them by a FIFO, a
# symlink (to /dev/zero or a host file) or a huge file: read them only through read_untrusted.


def _read_progress(scratch: Path, rel: str) -> list[str]:
    try:
        text = read_untrusted(scratch, rel, 1 << 20).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def _read_plain(scratch: Path, rel: str, max_bytes: int = MAX_RESULT_BYTES):
    """The plain value in ``scratch/rel``; None when absent; ``{"runner_error": ...}`` when refused
    (larger than ``max_bytes``, or beyond ``unpack``'s caps on items, arrays and nesting)."""
    try:
        raw = read_untrusted(scratch, rel, max_bytes)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if "larger than" in str(exc):
            return {"runner_error": f"the result is larger than the {max_bytes >> 20} MiB the grader accepts "
                                    "(a correct result is far smaller: check the shape of what is returned)"}
        return {"runner_error": f"unreadable result: {exc}"}
    try:
        return unpack(raw, max_bytes=max_bytes)
    except NotPlain as exc:
        return {"runner_error": f"unreadable result: {exc}"}


def verify(assignment: Assignment, cells: list[str], sandbox: Sandbox, scratch: Path, limits: Limits,
           seed: int, *, max_attempts: int = 4, cases: list[list] | None = None,
           judge_timeout: float | None = JUDGE_TIMEOUT) -> Verification:
    """Run ``cells`` in ``sandbox`` and judge every exercise of ``assignment``.

    scratch: a fresh host directory (becomes the sandbox's only writable host directory).
    limits.wall_seconds applies to each attempt; all attempts together get at most twice that.
    judge_timeout: seconds for judging one exercise in this process (:func:`judge_bounded`).
    """
    t0 = time.monotonic()
    cases = cases if cases is not None else make_cases(assignment, seed)
    exercises = list(assignment.exercises)
    sent, oracle_specs = sandbox_inputs(exercises, cases)
    state = _Attempts(exercises=exercises, cases=cases, cells=list(cells), scratch=Path(scratch),
                      result=Verification(exercises={}, sandboxed=sandbox.sandboxed))
    deadline = t0 + 2 * limits.wall_seconds
    work = None
    while len(state.verdicts) < len(exercises) and state.result.attempts < max_attempts:
        remaining = deadline - time.monotonic()
        if remaining < 1:
            break
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        work, run, progress = _attempt(state, sandbox, sent, oracle_specs,
                                       limits.replace(wall_seconds=min(limits.wall_seconds, remaining)), judge_timeout)
        if run.returncode == 0 and progress[-1:] == ["done"] and not run.timed_out:
            break
        if not _blame(state, run, progress[-1] if progress else ""):
            break
    return _verification(state, t0)


@dataclasses.dataclass
class _Attempts:
    """What the verifier's attempts on one submission found so far."""

    exercises: list
    cases: list
    cells: list
    scratch: Path
    result: Verification
    verdicts: dict = dataclasses.field(default_factory=dict)      # index of an exercise -> ExerciseVerdict
    skip_cells: set = dataclasses.field(default_factory=set)      # cells to leave out (they hung or crashed)
    cell_errors: dict = dataclasses.field(default_factory=dict)   # index of a cell -> {cell, error, error_type}


def _attempt(state: _Attempts, sandbox: Sandbox, sent: list, oracle_specs: list, limits: Limits,
             judge_timeout: float | None):
    """One run of verify_runner.py on what is left to judge; judge what came back. Returns (its
    directory, the run, the lines of its progress file)."""
    state.result.attempts += 1
    # A fresh, unguessable directory per attempt: the learner's code of an earlier attempt may
    # have replaced "verify" by a symlink to a host directory (rmtree would refuse it and
    # mkdir/write_bytes would follow it).
    name = f"verify-{state.result.attempts}-{secrets.token_hex(8)}"
    scratch = state.scratch
    work = scratch / name
    (work / "out").mkdir(parents=True)
    job = {"preamble": PREAMBLE, "cells": list(state.cells), "skip_cells": sorted(state.skip_cells),
           "skip_exercises": [state.exercises[k].name for k in state.verdicts],
           "exercises": [{"name": ex.name, "driver": ex.driver, "cases": cs if k not in state.verdicts else []}
                         for k, (ex, cs) in enumerate(zip(state.exercises, sent))]}
    (work / "in.npz").write_bytes(pack(job))
    if oracle_specs:
        (work / "oracle.npz").write_bytes(pack(oracle_specs))
    inside = sandbox.work(scratch) + "/" + name
    run = sandbox.run([sandbox.python, "-I", f"{sandbox.lib}/autograder/kernel/verify_runner.py", sandbox.lib,
                       f"{inside}/in.npz", f"{inside}/out"], scratch, limits)
    _read_cell_errors(state, _read_plain(scratch, f"{name}/out/cells.npz"))
    for k, ex in enumerate(state.exercises):
        if k in state.verdicts:
            continue
        data = _read_plain(scratch, f"{name}/out/ex-{k}.npz")
        if data is not None:
            state.verdicts[k] = judge_bounded(ex, state.cases[k], data, judge_timeout)
    return work, run, _read_progress(scratch, f"{name}/out/progress")


def _read_cell_errors(state: _Attempts, cells_data) -> None:
    """The errors the learner's cells raised, as the runner reported them (the first one per cell kept)."""
    if not (isinstance(cells_data, dict) and isinstance(cells_data.get("errors"), list)):
        return
    for e in cells_data["errors"]:
        # a cell index that is not one of ``cells`` was forged: ignored
        if isinstance(e, dict) and type(e.get("cell")) is int and 0 <= e["cell"] < len(state.cells):
            state.cell_errors.setdefault(e["cell"], {"cell": e["cell"], "error": str(e.get("error", ""))[:500],
                                                     "error_type": str(e.get("error_type", ""))[:100]})


def _step_index(last: str) -> int | None:
    try:
        return int(last.split()[1])
    except (IndexError, ValueError):
        return None


def _blame(state: _Attempts, run, last: str) -> bool:
    """The process ended abnormally on the step ``last`` (its progress line): blame that step, so the
    next attempt runs without it. False when there is nothing to retry without."""
    reason, outcome = _abnormal(run)
    state.result.flags.add(outcome)
    if not last.startswith(("cell ", "exercise ")):
        return False  # died before running anything of the learner's: nothing to skip
    i = _step_index(last)
    if i is None:
        return False
    if last.startswith("cell "):
        state.skip_cells.add(i)
        state.cell_errors[i] = {"cell": i, "error": reason, "error_type": outcome}
        return True
    if i in state.verdicts or not 0 <= i < len(state.exercises):
        return False
    ex = state.exercises[i]
    state.verdicts[i] = ExerciseVerdict(ex.name, ex.grade_id, ex.points, outcome=outcome,
                                        problems=[f"while the grader called {ex.name}, the process {reason}"])
    return True


def _verification(state: _Attempts, t0: float) -> Verification:
    """The verdicts, one per exercise (``crashed`` for one never judged), and the flags they call for."""
    result, verdicts, exercises = state.result, state.verdicts, state.exercises
    for k, ex in enumerate(exercises):
        if k not in verdicts:
            verdicts[k] = ExerciseVerdict(ex.name, ex.grade_id, ex.points, outcome="crashed",
                                          problems=["the grader could not run this function "
                                                    f"({'; '.join(sorted(result.flags)) or 'no result'})"])
    for v in verdicts.values():
        if v.outcome in ("memory", "process-limit", "timeout", "crashed", "disk-limit"):
            result.flags.add(v.outcome)
    result.exercises = {exercises[k].name: verdicts[k] for k in range(len(exercises))}
    result.cell_errors = [state.cell_errors[i] for i in sorted(state.cell_errors)]
    result.seconds = time.monotonic() - t0
    return result


def _abnormal(run) -> tuple[str, str]:
    if run.timed_out:
        return f"did not finish within {run.wall_time:.0f} s", "timeout"
    if run.memory_exceeded:
        return "used more memory than allowed", "memory"
    if run.disk_exceeded:
        return "wrote more files than allowed", "disk-limit"
    return run.describe(), "crashed"


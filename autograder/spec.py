"""How an assignment describes its graded exercises, once, for every consumer.

An assignment module in ``autograder/assignments/`` builds one :class:`Assignment`. Three
things read it:

* the hidden-test cells of the source notebook call ``ASSIGNMENT.check("name", fn)`` inside
  nbgrader's kernel (plain ``nbgrader autograde`` works on this course);
* the verifier (``autograder.verifier``) sends the cases to a sandboxed process that runs only
  the learner's solution cells and the public ``drivers``, and compares the plain results with
  the reference in the grader's own process;
* the tests (mutants must fail, the solution must pass).

The comparison is one function, :func:`compare_plain`, plus per-exercise ``explain`` hooks that
turn a mismatch into a hint in the learner's terms.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .drivers import DRIVERS, VALUE_DRIVERS
from .plain import NotPlain, compare_plain, pack, rel_error, short_repr, unpack

__all__ = ["Exercise", "Assignment", "compare_plain", "rel_error", "HiddenTestFailure"]


class HiddenTestFailure(AssertionError):
    """Raised in the kernel by a failing hidden test; its message is shown in feedback."""


def _readable(problem: str) -> str:
    """Turn ``['steps'][2]['config']['velocity'] differs`` into ``config['velocity'] after step 3 differs``."""
    m = re.match(r"\['steps'\]\[(\d+)\]\['(\w+)'\](.*?)( (?:is|has|differs|should|contains).*)$", problem)
    if m:
        step, key, rest, tail = m.groups()
        return f"{key}{rest} after step {int(step) + 1}{tail}"
    m = re.match(r"\['result'\](.*?)( (?:is|has|differs|should|contains).*)$", problem)
    if m:
        rest, tail = m.groups()
        return f"the returned value{rest}{tail}"
    return problem


def _mutated_problem(name: str, mutated) -> list[str]:
    """The driver's list of inputs modified in place, as the sandbox sent it, cut to a readable size."""
    if not mutated:
        return []
    if type(mutated) is list:
        names = [m[:40] if type(m) is str else short_repr(m) for m in mutated[:6]] + (["..."] if len(mutated) > 6 else [])
    else:
        names = [short_repr(mutated)]
    return [f"{name} modified its input ({', '.join(names)}); work on copies instead of changing arrays in place"]


def _first_error(name: str, actual: dict) -> str:
    """``" at step 3: name raised ..."`` for the first step (or the result) that holds an error, else ""."""
    steps = actual.get("steps", [actual])
    for i, step in enumerate(steps if type(steps) is list else []):
        if isinstance(step, dict) and "error" in step:
            where = f" at step {i + 1}" if "steps" in actual else ""
            error = step["error"][:600] if type(step["error"]) is str else short_repr(step["error"])
            return f"{where}: {name} raised or returned something unusable: {error}"
    return ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Exercise:
    """One graded function, or one graded number.

    name: the function the learner writes (``sgd_momentum``), or, with the ``value`` driver, the
        variable the learner assigns a number to (a prediction or a derived quantity,
        ``predicted_nesterov_max_lr``; ``make_cases`` then gives one empty case and ``rtol`` says
        how close the number must be).
    grade_id: nbgrader ``grade_id`` of the test cell whose points this exercise decides
        (default ``test_<name>``).
    points: that cell's points. Written in one place only, nbgrader's metadata of the source
        notebook's test cell: :class:`Assignment` reads them from ``solutions/<id>/<notebook>``
        when it is built in a checkout, and the grader from the course's master notebook
        (:meth:`Assignment.with_points`); ``None`` where neither is at hand.
    driver: key of ``autograder.drivers.DRIVERS`` used to call the function on a case.
    make_cases: rng -> list of plain cases (several shapes, several steps, missing config...).
    reference: case -> the plain result a correct function gives through ``driver``
        (computed by an independent implementation, in the grader's process).
    explain: (case, expected, actual) -> a hint naming a likely mistake, or None.
    properties: (case, actual) -> problems, for exercises whose answer is not one exact value
        (a random initializer, a noisy path): the properties a correct result must have (shape,
        range, statistics, orthogonality...), checked in the grader's process. With
        ``reference=None`` only the properties decide; with both, both must hold.
    public: () -> ``{check_name: public case}``, the visible self-checks: fixed cases for the same
        driver, each ``{"case": ..., "outputs": [names], "tol": ..., "atol": ..., "view": ...}``
        (``view``: how ``nnopt_helpers.checks`` names the driver's output, default the driver's);
        the expected outputs are the reference's on the case, or ``"expected"`` where the
        exercise is judged by properties. ``python -m autograder.expected`` adds what the known
        mistakes output and writes ``nnopt_helpers/expected/<id>.json`` (format: ``nnopt_helpers/checks.py``).
    """

    name: str
    grade_id: str = ""
    points: float | None = None
    driver: str
    make_cases: Callable[[np.random.Generator], list]
    reference: Callable[[Any], Any] | None
    rtol: float = 1e-6
    explain: Callable[[Any, Any, Any], str | None] | None = None
    describe: Callable[[Any], str] | None = None
    properties: Callable[[Any, Any], list[str]] | None = None
    public: Callable[[], dict] | None = None

    def __post_init__(self):
        if not self.grade_id:
            object.__setattr__(self, "grade_id", f"test_{self.name}")
        if self.reference is None and self.properties is None:
            raise ValueError(f"exercise {self.name!r} needs a reference, properties, or both")

    def judge(self, case, actual) -> list[str]:
        """Problems with ``actual`` (the driver's plain output) on ``case``; empty means pass."""
        expected = self.reference(case) if self.reference is not None else None
        what = self.describe(case) if self.describe else "a test case"
        if not isinstance(actual, dict):
            return [f"on {what}: the grader got no result"]
        problems = [f"on {what}: {m}" for m in _mutated_problem(self.name, actual.get("mutated"))]
        if self.driver in VALUE_DRIVERS:
            return self._judge_value(case, expected, actual)
        error = _first_error(self.name, actual)
        if error:
            return problems + [f"on {what}{error}"]
        diff = self._differences(case, expected, {k: v for k, v in actual.items() if k != "mutated"})
        if diff:
            hint = self.explain(case, expected, actual) if self.explain else None
            problems.append(f"on {what}: " + "; ".join(diff[:3]) + (f". Hint: {hint}" if hint else ""))
        return problems

    def _judge_value(self, case, expected, actual) -> list[str]:
        """One number, no case to name: the problem says it all."""
        if "error" in actual:
            return [f"{self.name} is not one number ({str(actual['error'])[:200]})"]
        diff = self._differences(case, expected, {k: v for k, v in actual.items() if k != "mutated"})
        if not diff:
            return []
        hint = self.explain(case, expected, actual) if self.explain else None
        return ["; ".join(d.replace("the returned value is", "your number is") for d in diff)
                + (f". Hint: {hint}" if hint else "")]

    def _differences(self, case, expected, act) -> list[str]:
        """At most three differences from the reference, else from the properties."""
        if expected is not None:
            exp = {k: v for k, v in expected.items() if k != "mutated"}
            diff = [_readable(d) for d in compare_plain(exp, act, self.rtol, where="")[:3]]
            if diff:
                return diff
        if self.properties is None:
            return []
        try:
            return [str(d)[:600] for d in list(self.properties(case, act))[:3]]
        except Exception as exc:  # noqa: BLE001 - a result the properties cannot even read is wrong
            return [f"the result could not be checked ({type(exc).__name__}: {str(exc)[:250]})"]

    def run(self, fn, case):
        """Call ``fn`` on ``case`` through the driver and return a plain copy of the result.

        The result goes through ``pack``/``unpack`` exactly as it does across the sandbox, so an
        object that only pretends to be an array is refused here too.
        """
        raw = DRIVERS[self.driver](fn, case)
        try:
            return unpack(pack(raw))
        except NotPlain as exc:
            return {"error": str(exc), "error_type": "NotPlain", "mutated": []}


def notebook_points(nb) -> dict[str, float]:
    """``{grade_id: points}`` of every graded cell of a notebook (a path, or the notebook's JSON as a dict)."""
    if isinstance(nb, (str, Path)):
        with open(nb, encoding="utf-8") as f:
            nb = json.load(f)
    points = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and "grade_id" in meta:
            points[meta["grade_id"]] = float(meta.get("points", 0))
    return points


#: the course's source notebooks in a checkout (absent in an installed copy and in the sandbox)
SOURCE_DIR = Path(__file__).resolve().parent.parent / "solutions"


@dataclasses.dataclass(frozen=True)
class Assignment:
    """All graded exercises of one notebook.

    Built in a checkout of the course, it reads its exercises' points from its source notebook
    ``solutions/<id>/<notebook>`` (see :class:`Exercise`).
    """

    id: str
    notebook: str
    exercises: tuple[Exercise, ...]
    kernel_seed: int = 20261121

    def __post_init__(self):
        source = SOURCE_DIR / self.id / self.notebook
        if any(ex.points is None for ex in self.exercises) and source.is_file():
            object.__setattr__(self, "exercises", self.with_points(notebook_points(source)).exercises)

    def exercise(self, name: str) -> Exercise:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(f"{self.id} has no graded exercise {name!r}")

    def with_points(self, points: dict) -> "Assignment":
        """This assignment with each exercise's points taken from ``{grade_id: points}``.

        ``points`` comes from nbgrader's cell metadata (:func:`notebook_points`);
        an exercise whose test cell is missing there is an authoring error, said by name.
        """
        missing = [ex.grade_id for ex in self.exercises if ex.grade_id not in points]
        if missing:
            raise ValueError(f"{self.id}: no graded test cell with grade_id {', '.join(missing)} in the notebook")
        return dataclasses.replace(self, exercises=tuple(
            dataclasses.replace(ex, points=float(points[ex.grade_id])) for ex in self.exercises))

    @property
    def max_score(self) -> float:
        unknown = [ex.name for ex in self.exercises if ex.points is None]
        if unknown:
            raise ValueError(f"{self.id}: points of {', '.join(unknown)} not read from the notebook yet "
                             "(no source notebook here: use Assignment.with_points)")
        return float(sum(ex.points for ex in self.exercises))

    def check(self, name: str, fn, seed: int | None = None) -> None:
        """The hidden test, as called from a notebook cell: raise if ``fn`` is wrong anywhere."""
        ex = self.exercise(name)
        if not callable(fn) and ex.driver not in VALUE_DRIVERS:
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})")
        rng = np.random.default_rng(self.kernel_seed if seed is None else seed)
        problems = []
        for case in ex.make_cases(rng):
            actual = ex.run(fn, case)
            steps = actual.get("steps", [actual]) if isinstance(actual, dict) else []
            if any(isinstance(s, dict) and s.get("error_type") == "NotImplementedError" for s in steps):
                raise NotImplementedError(f"{name} is not {'answered' if ex.driver in VALUE_DRIVERS else 'implemented'} yet")
            problems += ex.judge(case, actual)
            if len(problems) >= 3:
                break
        if problems:
            raise HiddenTestFailure(f"{name} failed the hidden tests:\n- " + "\n- ".join(problems))
        print(f"{name}: hidden tests passed")

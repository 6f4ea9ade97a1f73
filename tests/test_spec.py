"""autograder.spec: exercises judged by properties instead of (or besides) one exact reference."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.spec import Assignment, Exercise, HiddenTestFailure


def _cases(rng):
    return [{"args": [int(n)], "kwargs": {}} for n in rng.integers(200, 400, size=3)]


def _unit_interval(case, actual):
    x = actual["result"]
    problems = []
    if type(x) is not np.ndarray or x.shape != (case["args"][0],):
        return [f"the returned value should be an array of shape ({case['args'][0]},)"]
    if x.min() < 0 or x.max() >= 1:
        problems.append("values outside [0, 1)")
    if abs(x.mean() - 0.5) > 0.1:
        problems.append(f"the mean is {x.mean():.3f}, expected about 0.5")
    return problems


def _assignment(**extra):
    ex = Exercise(name="draw", grade_id="test_draw", points=1, driver="function", make_cases=_cases,
                  properties=_unit_interval, **{"reference": None, **extra})
    return Assignment(id="t", notebook="t.ipynb", exercises=(ex,)), ex


def test_properties_alone_decide_when_there_is_no_reference():
    assignment, _ = _assignment()
    assignment.check("draw", lambda n: np.random.default_rng(0).random(n))
    with pytest.raises(HiddenTestFailure, match="the mean is"):
        assignment.check("draw", lambda n: 0.9 * np.ones(n))
    with pytest.raises(HiddenTestFailure, match="shape"):
        assignment.check("draw", lambda n: np.zeros(n + 1))


def test_reference_and_properties_must_both_hold():
    assignment, _ = _assignment(reference=lambda case: {"result": np.full(case["args"][0], 0.5)})
    assignment.check("draw", lambda n: np.full(n, 0.5))
    with pytest.raises(HiddenTestFailure, match="differs"):
        assignment.check("draw", lambda n: np.full(n, 0.45))


def test_a_property_that_cannot_read_the_result_fails_it():
    def fragile(case, actual):
        return ["ok"] if actual["result"]["missing"] else []

    ex = Exercise(name="draw", grade_id="g", points=1, driver="function", make_cases=_cases,
                  reference=None, properties=fragile)
    assert "could not be checked" in ex.judge({"args": [3], "kwargs": {}}, {"result": np.zeros(3), "mutated": []})[0]


def test_an_exercise_needs_something_to_judge_by():
    with pytest.raises(ValueError, match="reference, properties"):
        Exercise(name="x", grade_id="g", points=1, driver="function", make_cases=_cases, reference=None)

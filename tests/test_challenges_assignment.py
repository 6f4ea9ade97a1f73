"""01_challenges: the solution functions have the course's signatures, the cases cover what the
hidden tests promise, the visible checks name the classic mistakes, the references agree with the
maths, the ``descent`` driver and the ``descent`` call style behave, and the sandboxed verifier
grades the notebook.

The checks every assignment shares (the solution passes, every mutant fails, the expected data is
up to date, ...) are in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["01_challenges"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder.assignments.challenges import (ASSIGNMENT, descent_cases, describe_descent_case, matrix_cases,
                                               rate_cases, risk_cases, spd_matrix)
from autograder.drivers import DRIVERS
from autograder.mutants.challenges import MUTANTS
from autograder.references import challenges as ref
from nnopt_helpers import checks
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

ID = "01_challenges"
POINTS = {"gradient_descent": 3, "max_stable_learning_rate": 1.5, "optimal_learning_rate": 1.5,
          "gd_convergence_rate": 2, "predicted_optimal_steps": 1, "empirical_risk": 2}


@pytest.fixture(scope="module")
def solutions() -> dict:
    return harness.solution_functions(ID)


# ---------------------------------------------------------------------------------------------
# The solution functions have the course's signatures


def test_signatures_are_the_courses(solutions):
    import inspect

    expected = {"gradient_descent": ["grad_fn", "x0", "learning_rate", "num_steps"],
                "max_stable_learning_rate": ["A"], "optimal_learning_rate": ["A"],
                "gd_convergence_rate": ["A", "learning_rate"], "empirical_risk": ["w", "X", "y"]}
    for name, params in expected.items():
        assert list(inspect.signature(solutions[name]).parameters) == params


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_descent_cases_cover_edges_and_surfaces():
    cases = descent_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    steps = [c["num_steps"] for c in cases]
    assert 0 in steps and 1 in steps
    assert {c["problem"]["surface"] for c in cases if "surface" in c["problem"]} >= {"rosenbrock", "himmelblau",
                                                                                   "six_hump_camel"}
    dims = {len(c["x0"]) for c in cases}
    assert 1 in dims and max(dims) >= 3
    assert any(c.get("keywords") for c in cases)
    # a start at the minimum, a divergent learning rate (> 2/λmax), and every value stays finite
    assert any("A" in c["problem"] and not np.any(c["x0"]) and not np.any(c["problem"]["b"]) for c in cases)
    ratios = [c["learning_rate"] * np.linalg.eigvalsh(c["problem"]["A"])[-1] for c in cases if "A" in c["problem"]]
    assert max(ratios) > 2 and any(1 < r < 2 for r in ratios)
    for case in cases:
        out = ref.gradient_descent_case(case)
        assert np.all(np.isfinite(out["result"])) and out["result"].shape == (case["num_steps"] + 1, len(case["x0"]))
    assert describe_descent_case(cases[0]).startswith(f"{cases[0]['num_steps']} steps on a 1-D quadratic")


def test_matrix_and_rate_cases_cover_the_spectrum():
    mats = [c["args"][0] for c in matrix_cases(np.random.default_rng(0))]
    assert any(A.shape == (1, 1) for A in mats) and max(A.shape[0] for A in mats) >= 5
    assert any(np.count_nonzero(A - np.diag(np.diag(A))) == 0 and A.shape[0] > 1 for A in mats)
    for A in mats:
        np.testing.assert_array_equal(A, A.T)
        assert np.linalg.eigvalsh(A)[0] > 0
    rates = [ref.gd_convergence_rate_case(c)["result"] for c in rate_cases(np.random.default_rng(0))]
    assert min(rates) < 0.5 and max(rates) > 1  # fast, slow and divergent learning rates
    assert any(c["args"][1] * np.linalg.eigvalsh(c["args"][0])[0] > 1 for c in rate_cases(np.random.default_rng(0)))


def test_risk_cases_cover_shapes_bias_and_exact_fits():
    cases = risk_cases(np.random.default_rng(0))
    shapes = [c["args"][1].shape for c in cases]
    assert (1, 1) in shapes and any(n < d for n, d in shapes) and any(n >= 10 for n, _ in shapes)
    assert any(np.all(c["args"][1][:, 0] == 1.0) for c in cases)
    assert any(ref.empirical_risk_case(c)["result"] < 1e-20 for c in cases)


# ---------------------------------------------------------------------------------------------
# The visible checks name the classic mistakes


def test_visible_checks_explain_the_classic_mistakes():
    expected = load_expected(ID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"missing_x0", "one_step_short", "ascent", "rows_alias", "extra_gradient_call"} <= names["gradient_descent"]
    assert "stops_early" in names["gradient_descent_at_minimum"]
    assert {"one_over_lambda_max", "max_entry", "trace"} <= names["max_stable_learning_rate"]
    assert {"missing_two", "trace", "diagonal"} <= names["optimal_learning_rate"]
    assert "lambda_max_only" in names["gd_convergence_rate_small_lr"]
    assert "lambda_min_only" in names["gd_convergence_rate_large_lr"]
    assert "no_abs" in names["gd_convergence_rate_lr_above_one_over_lambda_min"]
    assert {"sum", "half", "root", "divides_by_d", "column_broadcast"} <= names["empirical_risk"]


def test_visible_check_names_x0_mutation_and_lists():
    with pytest.raises(CheckFailed, match="modified its input x0"):
        run_check(ID, "gradient_descent", MUTANTS["gradient_descent"]["mutates_x0"][0], quiet=True)
    with pytest.raises(CheckFailed, match="returned a Python list"):
        run_check(ID, "gradient_descent", MUTANTS["gradient_descent"]["returns_list"][0], quiet=True)


# ---------------------------------------------------------------------------------------------
# The descent driver and the descent call style


def _good(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(num_steps):
        x = x - learning_rate * grad_fn(x)
        path.append(x)
    return np.array(path)


def test_descent_driver_records_the_gradient_calls():
    A, b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0])
    case = {"problem": {"A": A, "b": b}, "x0": np.array([1.0, 2.0]), "learning_rate": 0.3, "num_steps": 4}
    out = DRIVERS["descent"](_good, case)
    path = out["result"]
    assert path.shape == (5, 2) and out["mutated"] == []
    np.testing.assert_array_equal(out[ref.GRAD_POINTS], path[:-1])
    np.testing.assert_allclose(path[1], case["x0"] - 0.3 * (A @ case["x0"] - b))
    # keywords, a surface by name, and the x0 that the learner changes
    case_kw = {"problem": {"surface": "rosenbrock", "kwargs": {}}, "x0": np.array([-1.2, 1.0]),
               "learning_rate": 1e-3, "num_steps": 3, "keywords": True}
    seen = {}

    def by_name(grad_fn, x0, *, learning_rate, num_steps):
        seen.update(learning_rate=learning_rate, num_steps=num_steps)
        return _good(grad_fn, x0, learning_rate, num_steps)

    assert DRIVERS["descent"](by_name, case_kw)[ref.GRAD_POINTS].shape == (3, 2)
    assert seen == {"learning_rate": 1e-3, "num_steps": 3}
    out = DRIVERS["descent"](MUTANTS["gradient_descent"]["mutates_x0"][0], case)
    assert out["mutated"] == ["x0"]
    np.testing.assert_array_equal(case["x0"], [1.0, 2.0])  # the case itself is never touched


def test_descent_driver_turns_errors_into_data():
    case = {"problem": {"A": np.eye(2), "b": np.zeros(2)}, "x0": np.ones(2), "learning_rate": 0.1, "num_steps": 2}

    def wrong_shape(grad_fn, x0, learning_rate, num_steps):
        return grad_fn(np.ones(3))

    def runaway(grad_fn, x0, learning_rate, num_steps):
        while True:
            grad_fn(x0)

    assert "shape (2,)" in DRIVERS["descent"](wrong_shape, case)["error"]
    assert "called more than" in DRIVERS["descent"](runaway, case)["error"]
    assert DRIVERS["descent"](lambda *a: object(), case)["error_type"] == "NotPlain"
    assert "unknown surface" in DRIVERS["descent"](_good, {**case, "problem": {"surface": "nope"}})["error"]
    assert "does not match" in DRIVERS["descent"](_good, {**case, "problem": {"A": np.eye(3), "b": np.zeros(2)}})["error"]


def test_descent_view_counts_calls_and_refuses_lists():
    case = {"problem": {"A": np.array([[2.0]]), "b": np.zeros(1)}, "x0": np.array([1.0]), "learning_rate": 0.25,
            "num_steps": 3}
    entry = {"driver": "descent", "case": case, "expected": {"path": None, "grad_calls": None}}
    out = checks.outputs_of(entry, _good)[0]
    np.testing.assert_allclose(out["path"][:, 0], [1.0, 0.5, 0.25, 0.125])
    assert out["grad_calls"] == 3.0 and type(out["grad_calls"]) is float
    assert list(checks.outputs_of({**entry, "expected": {"path": None}}, _good)[0]) == ["path"]
    with pytest.raises(CheckFailed, match="Python list"):
        checks.outputs_of(entry, lambda *a: [np.zeros(1)])
    assert checks.VIEWS["descent"] is checks.descent_view


# ---------------------------------------------------------------------------------------------
# Properties of the references


@st.composite
def spd(draw, max_dim=5):
    d = draw(st.integers(1, max_dim))
    lam = sorted(draw(st.lists(st.floats(0.01, 100.0), min_size=d, max_size=d)))
    seed = draw(st.integers(0, 2**31 - 1))
    return spd_matrix(np.random.default_rng(seed), lam), np.array(lam)


@settings(max_examples=60, deadline=None)
@given(spd())
def test_learning_rate_formulas_match_the_spectrum(pair):
    A, lam = pair
    lr_max = ref.max_stable_learning_rate_case({"args": [A]})["result"]
    lr_opt = ref.optimal_learning_rate_case({"args": [A]})["result"]
    assert math.isclose(lr_max, 2 / lam[-1], rel_tol=1e-8)
    assert math.isclose(lr_opt, 2 / (lam[0] + lam[-1]), rel_tol=1e-8)
    rate = lambda lr: ref.gd_convergence_rate_case({"args": [A, lr]})["result"]  # noqa: E731
    kappa = lam[-1] / lam[0]
    assert math.isclose(rate(lr_opt), (kappa - 1) / (kappa + 1), rel_tol=1e-7, abs_tol=1e-9)
    assert math.isclose(rate(lr_max), 1.0, rel_tol=1e-8)  # the edge of stability
    # the optimum is optimal: nearby learning rates are no faster
    for factor in (0.9, 0.99, 1.01, 1.1):
        assert rate(factor * lr_opt) >= rate(lr_opt) - 1e-12


@settings(max_examples=30, deadline=None)
@given(spd(max_dim=4), st.floats(0.05, 1.9), st.integers(0, 1000))
def test_measured_error_contraction_never_beats_the_rate(pair, factor, seed):
    """||x_t − x*|| <= rate^t · ||x_0 − x*||, with equality along the worst eigenvector."""
    A, lam = pair
    lr = factor / lam[-1]
    rate = ref.gd_convergence_rate_case({"args": [A, lr]})["result"]
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(len(lam))
    x_star = np.linalg.solve(A, b)
    path = ref.descent_path(ref.problem_gradient({"A": A, "b": b}), rng.standard_normal(len(lam)), lr, 20)
    errors = np.linalg.norm(path - x_star, axis=1)
    bound = errors[0] * rate ** np.arange(21)
    assert np.all(errors <= bound * (1 + 1e-6) + 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 5), st.integers(0, 1000))
def test_empirical_risk_is_the_mean_squared_error(N, d, seed):
    rng = np.random.default_rng(seed)
    X, w, y = rng.standard_normal((N, d)), rng.standard_normal(d), rng.standard_normal(N)
    value = ref.empirical_risk_value(w, X, y)
    assert math.isclose(value, float(np.mean((X @ w - y) ** 2)), rel_tol=1e-10, abs_tol=1e-14)
    # zero at an exact fit; scaling the residuals by c scales the risk by c²
    assert ref.empirical_risk_value(w, X, X @ w) < 1e-20
    assert math.isclose(ref.empirical_risk_value(3 * w, X, 3 * y), 9 * value, rel_tol=1e-10, abs_tol=1e-12)


def test_reference_path_follows_the_update_rule():
    A, b = np.diag([1.0, 4.0]), np.array([1.0, 2.0])
    path = ref.descent_path(ref.problem_gradient({"A": A, "b": b}), [0.0, 0.0], 0.25, 30)
    # componentwise: e_t = (1 − ηλ)^t e_0 with x* = (1, 0.5)
    t = np.arange(31)
    np.testing.assert_allclose(path[:, 0], 1 - 0.75 ** t, atol=1e-14)
    np.testing.assert_allclose(path[:, 1], 0.5 - 0.5 * 0.0 ** t, atol=1e-14)
    assert ref.descent_path(lambda x: x, [2.0], 0.1, 0).shape == (1, 1)


# ---------------------------------------------------------------------------------------------
# The sandboxed verifier (the authoritative grade) builds grad_fn from the cases inside the sandbox


def test_verifier_gives_the_solution_full_marks_and_a_mistake_nothing(tmp_path_factory):
    import inspect

    from autograder.sandbox import Limits
    from autograder.verifier import verify

    sandbox = harness.sandbox_or_skip(tmp_path_factory.mktemp("verifier01") / "lib")
    cells = [c.source for c in harness.solution_cells(ID)]
    scratch = tmp_path_factory.mktemp("scratch01")
    v = verify(ASSIGNMENT, cells, sandbox, scratch, Limits(wall_seconds=60), 4242)
    assert {name: e.score for name, e in v.exercises.items()} == POINTS, v.to_dict()
    assert v.sandboxed and not v.flags and not v.cell_errors
    # the ascent mistake in place of the solution: gradient_descent scores 0, the rest is untouched
    ascent = inspect.getsource(MUTANTS["gradient_descent"]["ascent"][0]).replace("gd_ascent", "gradient_descent")
    cells = [ascent if "def gradient_descent" in c else c for c in cells]
    v = verify(ASSIGNMENT, cells, sandbox, tmp_path_factory.mktemp("scratch01b"), Limits(wall_seconds=60), 4242)
    assert {name: e.score for name, e in v.exercises.items()} == {**POINTS, "gradient_descent": 0.0}

"""03_momentum: the solution passes the hidden tests, every known mistake fails them, the visible
checks catch what they target, the references agree with the solution and with the maths, and the
committed expected data is up to date.

The solution functions are taken from the source notebook exactly as the verifier takes them: the
cells marked ``solution: true``, executed alone after ``import numpy as np, math``.
"""

from __future__ import annotations

import ast
import copy
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assignments import get
from autograder.assignments.momentum import ASSIGNMENT, describe_update_case, optimal_params_cases, update_rule_cases
from autograder.mutants.momentum import MUTANTS
from autograder.references import momentum as ref
from autograder.spec import HiddenTestFailure, compare_plain
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "03_momentum" / "03_momentum.ipynb"
PREAMBLE = "import numpy as np, math"
EXERCISES = [ex.name for ex in ASSIGNMENT.exercises]
# The visible checks each exercise's test cell runs (names in nnopt_helpers/expected/03_momentum.json).
VISIBLE = {
    "sgd_momentum": ["sgd_momentum", "sgd_momentum_defaults"],
    "nesterov_momentum": ["nesterov_momentum", "nesterov_momentum_defaults"],
    "momentum_optimal_params": ["momentum_optimal_params", "momentum_optimal_params_kappa_1"],
}
# Mistakes the visible checks cannot see; the hidden tests must still catch them.
VISIBLE_BLIND: dict = {}
# Mistakes whose outputs are identical to another's: the hint names the first of the group.
SAME_OUTPUT_AS = {
    ("nesterov_momentum", "uses_new_velocity"): "plain_momentum",
    ("nesterov_momentum", "v_prev_aliased"): "plain_momentum",
    ("sgd_momentum", "ignores_momentum"): "velocity_reset_each_call",
}
MUTANT_IDS = [(ex, m) for ex in EXERCISES for m in MUTANTS[ex]]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(SOURCE, as_version=4)


@pytest.fixture(scope="module")
def solutions(notebook) -> dict:
    """The graded functions, from the solution cells run alone after the verifier's preamble."""
    namespace: dict = {}
    exec(PREAMBLE, namespace)
    for cell in notebook.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            exec(compile(cell.source, f"<solution cell {_nbgrader(cell)['grade_id']}>", "exec"), namespace)
    return {name: namespace[name] for name in EXERCISES}


# ---------------------------------------------------------------------------------------------
# The notebook and the assignment agree


def test_registry_finds_the_assignment():
    from autograder.assignments import ASSIGNMENTS

    assert get("03_momentum") is ASSIGNMENT
    assert ASSIGNMENTS["03_momentum"] is ASSIGNMENT
    assert ASSIGNMENT.max_score == 10
    with pytest.raises(KeyError, match="unknown assignment"):
        get("99_nothing")


def test_each_solution_cell_holds_only_its_function(notebook):
    cells = [c for c in notebook.cells if _nbgrader(c).get("solution")]
    assert [_nbgrader(c)["grade_id"] for c in cells] == EXERCISES
    for cell in cells:
        body = ast.parse(cell.source).body
        assert len(body) == 1 and isinstance(body[0], ast.FunctionDef), _nbgrader(cell)["grade_id"]
        assert body[0].name == _nbgrader(cell)["grade_id"]
        assert ast.get_docstring(body[0]), "the stub keeps the docstring: it is the spec"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


def test_test_cells_match_the_exercises(notebook):
    tests = {_nbgrader(c)["grade_id"]: c for c in notebook.cells if _nbgrader(c).get("grade")}
    for ex in ASSIGNMENT.exercises:
        cell = tests[ex.grade_id]
        meta = _nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] == ex.points
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        # Through the registry's get(): the sandbox replaces the registry with a shim that offers only get().
        assert f'_get_assignment("03_momentum").check("{ex.name}", {ex.name})' in hidden
        assert "from autograder.assignments import get as _get_assignment" in hidden
        for check in VISIBLE[ex.name]:
            assert f'run_check("03_momentum", "{check}", {ex.name})' in visible
        assert visible.lstrip().startswith('"""'), "each test cell starts with a one-line docstring"


def test_notebook_has_no_outputs_and_is_small(notebook):
    assert SOURCE.stat().st_size < 500 * 1024
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_update_rule_cases_cover_shapes_configs_and_steps():
    cases = update_rule_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    shapes = [c["w"].shape for c in cases]
    assert (1,) in shapes and {len(s) for s in shapes} >= {1, 2, 3}
    configs = [c["config"] for c in cases]
    assert None in configs and {} in configs
    assert any(c and set(c) == {"learning_rate"} for c in configs)
    assert any(c and c.get("momentum") == 0.0 for c in configs)
    assert any(c and "velocity" in c and np.any(c["velocity"]) for c in configs)
    assert all(5 <= len(c["dws"]) <= 10 for c in cases)
    assert all(c["record"] == ["learning_rate", "momentum", "velocity"] for c in cases)
    assert describe_update_case(cases[0]).startswith(f"a {len(cases[0]['dws'])}-step run on an array of shape (1,)")


def test_optimal_params_cases_include_kappa_one():
    cases = optimal_params_cases(np.random.default_rng(0))
    assert any(a == b for a, b in (c["args"] for c in cases))
    assert len(cases) >= 5


# ---------------------------------------------------------------------------------------------
# The solution passes; the references agree with it


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_the_hidden_tests(solutions, name, capsys):
    for seed in (None, 1, 2, 3):
        ASSIGNMENT.check(name, solutions[name], seed=seed)
    assert "hidden tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", EXERCISES)
def test_references_agree_with_the_solution(solutions, name):
    ex = ASSIGNMENT.exercise(name)
    for seed in range(5):
        for case in ex.make_cases(np.random.default_rng(seed)):
            frozen = copy.deepcopy(case)
            expected = ex.reference(case)
            assert compare_plain(frozen, case, rtol=0.0) == [], "the reference must not modify the case"
            actual = ex.run(solutions[name], case)
            assert actual["mutated"] == [] and expected["mutated"] == []
            assert compare_plain(expected, actual, rtol=1e-12) == [], ex.describe(case)


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_the_visible_checks(solutions, name):
    for check in VISIBLE[name]:
        run_check("03_momentum", check, solutions[name], quiet=True)


def test_stub_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for name in EXERCISES:
        with pytest.raises(NotImplementedError):
            ASSIGNMENT.check(name, stub)


# ---------------------------------------------------------------------------------------------
# Every known mistake fails, with a hint


@pytest.mark.parametrize("name,mutant", MUTANT_IDS, ids=[f"{e}-{m}" for e, m in MUTANT_IDS])
def test_mutant_fails_the_hidden_tests(name, mutant):
    fn, description = MUTANTS[name][mutant]
    with pytest.raises(HiddenTestFailure) as info:
        ASSIGNMENT.check(name, fn)
    message = str(info.value)
    if "Hint:" in message:
        named = SAME_OUTPUT_AS.get((name, mutant), mutant)
        assert MUTANTS[name][named][1] in message, message
    else:  # the failure itself says what is wrong
        assert "modified its input" in message or "raised" in message, message


@pytest.mark.parametrize("name,mutant", MUTANT_IDS, ids=[f"{e}-{m}" for e, m in MUTANT_IDS])
def test_mutant_fails_the_visible_checks(name, mutant):
    if (name, mutant) in VISIBLE_BLIND:
        pytest.xfail(VISIBLE_BLIND[(name, mutant)])
    fn, description = MUTANTS[name][mutant]
    expected = load_expected("03_momentum")
    failures = {}
    for check in VISIBLE[name]:
        try:
            run_check("03_momentum", check, fn, quiet=True)
        except CheckFailed as exc:
            failures[check] = str(exc)
    assert failures, f"{mutant} passes every visible check of {name}"
    # Where a check stores this mistake, its message is the one the learner sees.
    for check in VISIBLE[name]:
        for mistake in expected[check].get("mistakes", []):
            if mistake["name"] == mutant:
                assert check in failures and mistake["message"] in failures[check], (check, failures.get(check))


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected("03_momentum")
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"velocity_sign_flipped", "velocity_not_stored", "lr_momentum_swapped"} <= names["sgd_momentum"]
    assert {"default_momentum_0.99", "default_learning_rate_1e-3"} <= names["sgd_momentum_defaults"]
    assert "plain_momentum" in names["nesterov_momentum"]
    assert {"eigenvalues_swapped", "rate_with_kappa"} <= names["momentum_optimal_params"]


def test_expected_data_is_up_to_date():
    proc = subprocess.run([sys.executable, "-m", "autograder.expected", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# Properties of the references


def _arrays(draw, shape, scale=2.0):
    return np.array(draw(st.lists(st.floats(-scale, scale, allow_nan=False), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)


@st.composite
def runs(draw, momentum=None):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    num_steps = draw(st.integers(1, 6))
    lr = draw(st.floats(1e-4, 1.0))
    mu = draw(st.floats(0.0, 0.99)) if momentum is None else momentum
    config = {"learning_rate": lr, "momentum": mu}
    if draw(st.booleans()):
        config["velocity"] = _arrays(draw, shape)
    return {"w": _arrays(draw, shape), "dws": [_arrays(draw, shape) for _ in range(num_steps)],
            "config": config, "record": ["velocity"]}


def _sgd(case):
    w, lr = case["w"].copy(), case["config"]["learning_rate"]
    out = []
    for dw in case["dws"]:
        w = w - lr * dw
        out.append(w)
    return out


@settings(max_examples=60, deadline=None)
@given(runs(momentum=0.0))
def test_zero_momentum_is_plain_sgd(case):
    for reference in (ref.sgd_momentum_case, ref.nesterov_momentum_case):
        steps = reference(case)["steps"]
        for step, w in zip(steps, _sgd(case)):
            np.testing.assert_allclose(step["next_w"], w, rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(runs())
def test_nesterov_stores_the_look_ahead_point_of_sutskevers_form(case):
    """Sutskever et al.: v' = μv − η∇f(w + μv), w' = w + v'. Our iterate is the look-ahead w + μv."""
    cfg = case["config"]
    lr, mu = cfg["learning_rate"], cfg["momentum"]
    v = cfg.get("velocity", np.zeros_like(case["w"])).copy()
    w = case["w"] - mu * v  # so that the first look-ahead point is the case's w
    for step, g in zip(ref.nesterov_momentum_case(case)["steps"], case["dws"]):
        v = mu * v - lr * g  # g is the gradient at the look-ahead point w + μv
        w = w + v
        np.testing.assert_allclose(step["next_w"], w + mu * v, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(step["config"]["velocity"], v, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(runs())
def test_heavy_ball_equals_pytorchs_buffer_form_with_a_constant_learning_rate(case):
    cfg = case["config"]
    lr, mu = cfg["learning_rate"], cfg["momentum"]
    buffer = -cfg["velocity"] / lr if "velocity" in cfg else np.zeros_like(case["w"])
    w = case["w"].copy()
    for step, g in zip(ref.sgd_momentum_case(case)["steps"], case["dws"]):
        buffer = mu * buffer + g
        w = w - lr * buffer
        np.testing.assert_allclose(step["next_w"], w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(step["config"]["velocity"], -lr * buffer, rtol=1e-9, atol=1e-12)


eigenvalue_pairs = st.tuples(st.floats(1e-3, 1e3), st.floats(1.0, 1e4)).map(lambda p: (p[0], p[0] * p[1]))


@settings(max_examples=100, deadline=None)
@given(eigenvalue_pairs)
def test_optimal_params_satisfy_polyaks_conditions(pair):
    lam_min, lam_max = pair
    lr, mu, rate = ref.optimal_params(lam_min, lam_max)
    kappa = lam_max / lam_min
    assert math.isclose(rate, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(rate, math.sqrt(mu), rel_tol=1e-9, abs_tol=1e-12)
    assert 0 <= mu < 1 and lr > 0
    # The extreme eigenvalues sit on the boundary between real and complex roots.
    assert math.isclose(1 + mu - lr * lam_min, 2 * math.sqrt(mu), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(1 + mu - lr * lam_max, -2 * math.sqrt(mu), rel_tol=1e-9, abs_tol=1e-9)
    # Scaling the problem scales the learning rate only.
    lr2, mu2, rate2 = ref.optimal_params(3 * lam_min, 3 * lam_max)
    assert math.isclose(lr2, lr / 3, rel_tol=1e-9) and math.isclose(mu2, mu, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(eigenvalue_pairs.filter(lambda p: p[1] / p[0] >= 1.5))
def test_heavy_ball_with_optimal_params_converges_at_the_predicted_rate(pair):
    """Measured per-step contraction over the second half of a run ≈ (√κ − 1)/(√κ + 1)."""
    lam_min, lam_max = pair
    lr, mu, rate = ref.optimal_params(lam_min, lam_max)
    lams = np.array([lam_min, math.sqrt(lam_min * lam_max), lam_max])  # f(x) = ½ Σ λ_i x_i²
    num_steps = int(min(3000, max(60, 30 / -math.log(rate))))
    x, v = np.ones(3), np.zeros(3)
    errors = [np.linalg.norm(x)]
    for _ in range(num_steps):
        v = mu * v - lr * lams * x
        x = x + v
        errors.append(np.linalg.norm(x))
    half = num_steps // 2
    measured = (errors[-1] / errors[half]) ** (1 / (num_steps - half))
    # At the optimum the extreme directions have a double root (error ~ t·rate^t): allow that factor.
    assert rate * 0.97 <= measured <= rate * 2 ** (1 / (num_steps - half)) * 1.01
    gd_rate = (lam_max - lam_min) / (lam_max + lam_min)
    assert measured < gd_rate

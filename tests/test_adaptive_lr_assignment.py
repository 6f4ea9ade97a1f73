"""04_adaptive_lr: the solution passes the hidden tests, every known mistake fails them (and the
visible checks, with its own message), the references agree with the solution and with the maths
(Kingma & Ba's "efficient" form of Adam, AdamW as decay + Adam, the shape of the schedule), and the
committed expected data is up to date.

The solution functions are taken from the source notebook exactly as the verifier takes them: the
cells marked ``solution: true``, executed in order after ``import numpy as np, math`` (so ``adamw``
may call ``adam``).
"""

from __future__ import annotations

import ast
import copy
import math
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assignments import get
from autograder.assignments.adaptive_lr import ASSIGNMENT, RULES, schedule_cases, update_rule_cases
from autograder.assignments.common import same_output
from autograder.mutants.adaptive_lr import MUTANTS
from autograder.references import adaptive_lr as ref
from autograder.spec import HiddenTestFailure, compare_plain
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

ROOT = Path(__file__).resolve().parent.parent
ID = "04_adaptive_lr"
SOURCE = ROOT / "solutions" / ID / f"{ID}.ipynb"
PREAMBLE = "import numpy as np, math"
EXERCISES = [ex.name for ex in ASSIGNMENT.exercises]
# The visible checks each exercise's test cell runs (names in nnopt_helpers/expected/04_adaptive_lr.json).
VISIBLE = {
    "adagrad": ["adagrad", "adagrad_defaults", "adagrad_small_gradients"],
    "rmsprop": ["rmsprop", "rmsprop_defaults", "rmsprop_small_gradients"],
    "adam": ["adam", "adam_defaults", "adam_small_gradients"],
    "adamw": ["adamw", "adamw_defaults"],
    "adadelta": ["adadelta", "adadelta_defaults"],
    "cosine_learning_rate": ["cosine_learning_rate_warmup", "cosine_learning_rate_peak", "cosine_learning_rate_decay",
                             "cosine_learning_rate_end", "cosine_learning_rate_no_warmup"],
}
# Mistakes whose outputs equal another's on the first failing hidden case: the hint names that one.
SAME_OUTPUT_AS: dict = {}
MUTANT_IDS = [(ex, m) for ex in EXERCISES for m in MUTANTS[ex]]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(SOURCE, as_version=4)


@pytest.fixture(scope="module")
def solutions(notebook) -> dict:
    """The graded functions, from the solution cells run in order after the verifier's preamble."""
    namespace: dict = {}
    exec(PREAMBLE, namespace)
    for cell in notebook.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            exec(compile(cell.source, f"<solution cell {_nbgrader(cell)['grade_id']}>", "exec"), namespace)
    return {name: namespace[name] for name in EXERCISES}


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # Mistakes that divide by zero are part of the catalogue; their warnings are not news.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---------------------------------------------------------------------------------------------
# The notebook and the assignment agree


def test_registry_finds_the_assignment():
    assert get(ID) is ASSIGNMENT
    assert ASSIGNMENT.max_score == 10
    assert [ex.points for ex in ASSIGNMENT.exercises] == [1, 1.5, 2.5, 1.5, 1.5, 2]
    assert EXERCISES == list(RULES) + ["cosine_learning_rate"]


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
    assert set(tests) == {ex.grade_id for ex in ASSIGNMENT.exercises}
    for ex in ASSIGNMENT.exercises:
        cell = tests[ex.grade_id]
        meta = _nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] == ex.points
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        # Through the registry's get(): the sandbox replaces the registry with a shim that offers only get().
        assert f'_get_assignment("{ID}").check("{ex.name}", {ex.name})' in hidden
        assert "from autograder.assignments import get as _get_assignment" in hidden
        for check in VISIBLE[ex.name]:
            assert f'run_check("{ID}", "{check}", {ex.name})' in visible
        assert visible.lstrip().startswith('"""'), "each test cell starts with a one-line docstring"


def test_intro_table_states_the_points(notebook):
    intro = notebook.cells[0].source
    for ex in ASSIGNMENT.exercises:
        assert f"| `{ex.name}(" in intro and f"| {ex.points:g} |" in intro, ex.name


def test_notebook_has_no_outputs_and_is_small(notebook):
    assert SOURCE.stat().st_size < 500 * 1024
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


@pytest.mark.parametrize("rule", RULES)
def test_update_rule_cases_cover_shapes_configs_state_and_scales(rule):
    cases = update_rule_cases(rule, np.random.default_rng(ASSIGNMENT.kernel_seed))
    shapes = [c["w"].shape for c in cases]
    assert (1,) in shapes and {len(s) for s in shapes} >= {1, 2, 3}
    configs = [c["config"] for c in cases]
    assert None in configs and {} in configs
    assert any(c and set(c) == {"learning_rate"} for c in configs)
    assert any(c and all(k in c for k in ref.DEFAULTS[rule]) for c in configs), "a case sets every hyperparameter"
    resumed = [c for c in configs if c and all(k in c and np.any(c[k]) for k in ref.STATE[rule])]
    assert resumed, "a case resumes from a non-zero state"
    if rule in ("adam", "adamw"):
        assert all(c["t"] > 0 for c in resumed)
    assert all(np.all(c[k] >= 0) for c in resumed for k in ref.STATE[rule] if k != "m"), "second moments are >= 0"
    scales = [max(float(np.abs(d).max()) for d in c["dws"]) for c in cases]
    assert min(scales) < 1e-4 and max(scales) > 10, "gradients from tiny to large"
    assert any(any(np.any(d == 0) for d in c["dws"]) for c in cases), "exact zeros in some gradient"
    assert all(5 <= len(c["dws"]) <= 10 for c in cases)
    assert all(set(c["record"]) >= set(ref.STATE[rule]) | set(ref.DEFAULTS[rule]) for c in cases)


def test_schedule_cases_cover_the_corners():
    cases = schedule_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    full = [dict(zip(("step", "total", "lr_max", "lr_min", "warmup"), c["args"])) | c["kwargs"] for c in cases]
    warm = lambda c: c.get("warmup", c.get("warmup_steps", 0))  # noqa: E731
    assert any(c["step"] == 0 and warm(c) == 0 for c in full)
    assert any(c["step"] == 0 and warm(c) > 0 for c in full)
    assert any(c["step"] == warm(c) > 0 for c in full)
    assert any(c["step"] == c["total"] for c in full)
    assert any(0 < c["step"] < warm(c) and c.get("lr_min", 0) > 0 for c in full)
    assert any(len(c["args"]) == 5 for c in cases) and any("warmup_steps" in c["kwargs"] for c in cases)


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
        run_check(ID, check, solutions[name], quiet=True)


def test_stub_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for name in EXERCISES:
        with pytest.raises(NotImplementedError):
            ASSIGNMENT.check(name, stub)
        for check in VISIBLE[name]:
            with pytest.raises(NotImplementedError):
                run_check(ID, check, stub, quiet=True)


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
    fn, description = MUTANTS[name][mutant]
    expected = load_expected(ID)
    failures = {}
    for check in VISIBLE[name]:
        try:
            run_check(ID, check, fn, quiet=True)
        except CheckFailed as exc:
            failures[check] = str(exc)
    assert failures, f"{mutant} passes every visible check of {name}"
    # Where a check stores this mistake, its message is the one the learner sees.
    for check in VISIBLE[name]:
        for mistake in expected[check].get("mistakes", []):
            if mistake["name"] == mutant:
                assert check in failures and mistake["message"] in failures[check], (check, failures.get(check))


@pytest.mark.parametrize("rule,check", [("adam", "adam"), ("adamw", "adamw")])
def test_the_first_failing_visible_check_names_the_classic_mistakes(rule, check):
    """The mistakes COURSE.md promises to name are named by the first check a learner runs."""
    classic = {"adam": ["t_used_before_increment", "no_bias_correction"], "adamw": ["l2_in_gradient"]}[rule]
    for mutant in classic:
        fn, description = MUTANTS[rule][mutant]
        with pytest.raises(CheckFailed, match="It looks like") as info:
            run_check(ID, check, fn, quiet=True)
        assert description in str(info.value)


@pytest.mark.parametrize("rule", ["adagrad", "rmsprop", "adam"])
def test_epsilon_inside_the_root_is_named(rule):
    fn, description = MUTANTS[rule]["eps_inside_sqrt"]
    messages = []
    for check in VISIBLE[rule]:
        try:
            run_check(ID, check, fn, quiet=True)
        except CheckFailed as exc:
            messages.append(str(exc))
    assert messages and description in messages[0]


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected(ID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"t_used_before_increment", "no_bias_correction", "eps_inside_sqrt"} <= names["adam_defaults"]
    assert {"t_used_before_increment", "no_bias_correction"} <= names["adam"]
    assert "eps_inside_sqrt" in names["adam_small_gradients"]
    assert {"l2_in_gradient", "decay_after_step", "decay_not_scaled_by_lr"} <= names["adamw"]
    assert "eps_inside_sqrt" in names["adagrad_small_gradients"] and "eps_inside_sqrt" in names["rmsprop_small_gradients"]
    assert "eps_outside_sqrt" in names["adadelta"]
    assert {"ignores_warmup", "warmup_off_by_one"} <= names["cosine_learning_rate_warmup"]


def test_expected_data_is_up_to_date():
    proc = subprocess.run([sys.executable, "-m", "autograder.expected", "--check", ID], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_hint_matches_a_mistake_that_outputs_nan():
    """t used before it is incremented divides by zero: NaN in the same places still names it."""
    case = update_rule_cases("adam", np.random.default_rng(0))[0]
    ex = ASSIGNMENT.exercise("adam")
    actual = ex.run(MUTANTS["adam"]["t_used_before_increment"][0], case)
    assert np.isnan(actual["steps"][0]["next_w"]).all()
    assert "t is used before it is incremented" in ex.explain(case, ex.reference(case), actual)
    assert same_output(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not same_output(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))


# ---------------------------------------------------------------------------------------------
# Properties of the references


def _arrays(draw, shape, lo=-2.0, hi=2.0):
    n = int(np.prod(shape))
    values = draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=n, max_size=n))
    return np.array(values, dtype=np.float64).reshape(shape)


@st.composite
def runs(draw, rule):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    config = {k: v for k, v in {"learning_rate": draw(st.floats(1e-4, 1.0)),
                                "beta1": draw(st.floats(0.0, 0.99)), "beta2": draw(st.floats(0.5, 0.9999)),
                                "decay_rate": draw(st.floats(0.0, 0.999)), "rho": draw(st.floats(0.0, 0.99)),
                                "epsilon": draw(st.sampled_from([1e-8, 1e-6, 1e-3])),
                                "weight_decay": draw(st.floats(0.0, 1.0))}.items() if k in ref.DEFAULTS[rule]}
    num_steps = draw(st.integers(1, 6))
    return {"w": _arrays(draw, shape), "dws": [_arrays(draw, shape) for _ in range(num_steps)],
            "config": config, "record": list(ref.STATE[rule]) + (["t"] if rule in ("adam", "adamw") else [])}


@settings(max_examples=60, deadline=None)
@given(runs("adam"))
def test_adam_equals_kingma_and_bas_efficient_form(case):
    """α_t = α·√(1 − β2ᵗ)/(1 − β1ᵗ), w ← w − α_t·m/(√v + ε̂) with ε̂ = ε·√(1 − β2ᵗ) (end of their section 2)."""
    c = case["config"]
    lr, b1, b2, eps = c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"]
    w, m, v = case["w"].copy(), np.zeros_like(case["w"]), np.zeros_like(case["w"])
    for t, (step, g) in enumerate(zip(ref.adam_case(case)["steps"], case["dws"]), start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        alpha_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - alpha_t * m / (np.sqrt(v) + eps * math.sqrt(1 - b2**t))
        np.testing.assert_allclose(step["next_w"], w, rtol=1e-9, atol=1e-12)
        assert step["config"]["t"] == t


@settings(max_examples=60, deadline=None)
@given(runs("adam"))
def test_adams_first_step_is_about_the_learning_rate(case):
    """From a zero state, bias correction makes the first step exactly lr·g/(|g| + ε)."""
    c = case["config"]
    first = ref.adam_case(case)["steps"][0]["next_w"]
    g = case["dws"][0]
    np.testing.assert_allclose(first, case["w"] - c["learning_rate"] * g / (np.abs(g) + c["epsilon"]),
                               rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(runs("adamw"))
def test_adamw_is_decay_then_adam_and_zero_decay_is_adam(case):
    c = case["config"]
    adamw_steps = ref.adamw_case(case)["steps"]
    w, state = case["w"].copy(), {k: c[k] for k in ref.DEFAULTS["adam"]}
    for step, g in zip(adamw_steps, case["dws"]):
        decayed = w - c["learning_rate"] * c["weight_decay"] * w
        one = ref.adam_case({"w": decayed, "dws": [g], "config": dict(state), "record": ["m", "v", "t"]})["steps"][0]
        np.testing.assert_allclose(step["next_w"], one["next_w"], rtol=1e-9, atol=1e-12)
        w, state = step["next_w"], {**state, **one["config"]}
    no_decay = {**case, "config": {**c, "weight_decay": 0.0}}
    for a, b in zip(ref.adamw_case(no_decay)["steps"], ref.adam_case(no_decay)["steps"]):
        np.testing.assert_allclose(a["next_w"], b["next_w"], rtol=0, atol=0)


@settings(max_examples=60, deadline=None)
@given(runs("adagrad"))
def test_adagrad_and_rmsprop_are_invariant_to_the_gradient_scale(case):
    """Multiplying every gradient by c > 0 leaves the steps unchanged (up to ε)."""
    for rule, extra in (("adagrad", {}), ("rmsprop", {"decay_rate": 0.9})):
        base = {**case, "config": {**case["config"], **extra, "epsilon": 0.0}}
        base["dws"] = [np.where(np.abs(d) < 1e-3, 1.0, d) for d in case["dws"]]  # without ε, 0/0 is undefined
        scaled = {**base, "dws": [1000.0 * d for d in base["dws"]]}
        for a, b in zip(ref.REFERENCES[rule](base)["steps"], ref.REFERENCES[rule](scaled)["steps"]):
            np.testing.assert_allclose(a["next_w"], b["next_w"], rtol=1e-9, atol=1e-12)


def test_adagrads_steps_shrink_like_one_over_sqrt_t():
    g = np.ones(1)
    steps = ref.adagrad_case({"w": np.zeros(1), "dws": [g] * 100, "config": {"learning_rate": 1.0}, "record": []})["steps"]
    w = np.array([0.0] + [s["next_w"][0] for s in steps])
    np.testing.assert_allclose(-np.diff(w), 1 / (np.sqrt(np.arange(1, 101)) + 1e-8), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(runs("adadelta"))
def test_adadeltas_first_step_from_zero_state(case):
    c = case["config"]
    g = case["dws"][0]
    rho, eps, lr = c["rho"], c["epsilon"], c["learning_rate"]
    first = ref.adadelta_case(case)["steps"][0]
    delta = math.sqrt(eps) / np.sqrt((1 - rho) * g * g + eps) * g
    np.testing.assert_allclose(first["next_w"], case["w"] - lr * delta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(first["config"]["acc_delta"], (1 - rho) * delta**2, rtol=1e-9, atol=1e-15)


schedules = st.integers(2, 2000).flatmap(lambda total: st.tuples(
    st.just(total), st.integers(0, total - 1), st.floats(1e-5, 10.0), st.floats(0.0, 1.0)))


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_schedule_shape(params):
    total, warmup, lr_max, fraction = params
    lr_min = fraction * lr_max
    values = np.array([ref.cosine_learning_rate(s, total, lr_max, lr_min, warmup) for s in range(total + 1)])
    assert values[0] == 0.0 if warmup else math.isclose(values[0], lr_max, rel_tol=1e-12)
    assert math.isclose(values[warmup], lr_max, rel_tol=1e-12)
    assert math.isclose(values[-1], lr_min, rel_tol=1e-9, abs_tol=1e-15)
    assert np.all(np.diff(values[: warmup + 1]) > 0)          # rising during the warm-up
    assert np.all(np.diff(values[warmup:]) <= 1e-15 * lr_max)  # never rising afterwards
    # half a cosine is point-symmetric about its midpoint
    k = np.arange(total - warmup + 1)
    np.testing.assert_allclose(values[warmup + k] + values[total - k], lr_max + lr_min, rtol=1e-9, atol=1e-12)

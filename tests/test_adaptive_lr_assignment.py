"""04_adaptive_lr: the exercises and the intro agree, the cases cover what the hidden tests
promise, the visible checks name the classic mistakes first, a hint names a mistake that outputs
NaN, and the references agree with the maths (Kingma & Ba's "efficient" form of Adam, AdamW as
decay + Adam, the shape of the schedule).

The checks every assignment shares (the solution passes, every mutant fails, the expected data is
up to date, ...) are in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["04_adaptive_lr"]``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder.assignments.adaptive_lr import ASSIGNMENT, RULES, schedule_cases, update_rule_cases
from autograder.plain import same
from autograder.mutants.adaptive_lr import MUTANTS
from autograder.references import adaptive_lr as ref
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

ID = "04_adaptive_lr"
VISIBLE = harness.visible(ID)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # Mistakes that divide by zero are part of the catalogue; their warnings are not news.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---------------------------------------------------------------------------------------------
# The notebook and the assignment agree


def test_exercises_are_the_update_rules_then_the_schedule():
    # the derived number about Adam's bias correction sits right after adam, in notebook order
    rules = list(RULES)
    expected = rules[:rules.index("adam") + 1] + ["predicted_uncorrected_step"] + rules[rules.index("adam") + 1:]
    assert [ex.name for ex in ASSIGNMENT.exercises] == expected + ["cosine_learning_rate"]


def test_intro_table_states_the_points():
    intro = harness.source_notebook(ID).cells[0].source
    for ex in ASSIGNMENT.exercises:
        named = f"derive `{ex.name}`" if ex.driver == "value" else f"| `{ex.name}("
        assert named in intro and f"| {ex.points:g} |" in intro, ex.name


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
# The visible checks and the hints name the classic mistakes


@pytest.mark.parametrize("rule,check", [("adam", "adam"), ("adamw", "adamw")])
def test_the_first_failing_visible_check_names_the_classic_mistakes(rule, check):
    """The mistakes docs/conventions.md promises to name are named by the first check a learner runs."""
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


def test_a_hint_matches_a_mistake_that_outputs_nan():
    """t used before it is incremented divides by zero: NaN in the same places still names it."""
    case = update_rule_cases("adam", np.random.default_rng(0))[0]
    ex = ASSIGNMENT.exercise("adam")
    actual = ex.run(MUTANTS["adam"]["t_used_before_increment"][0], case)
    assert np.isnan(actual["steps"][0]["next_w"]).all()
    assert "t is used before it is incremented" in ex.explain(case, ex.reference(case), actual)
    assert same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-9)
    assert not same(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), 1e-9)


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

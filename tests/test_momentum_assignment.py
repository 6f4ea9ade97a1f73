"""03_momentum: the cases cover what the hidden tests promise, and the references agree with the
maths (plain SGD at zero momentum, Sutskever's and PyTorch's forms, Polyak's optimal parameters).

The checks every assignment shares (the solution passes, every mutant fails, the expected data is
up to date, ...) are in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["03_momentum"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assignments.momentum import ASSIGNMENT, describe_update_case, optimal_params_cases, update_rule_cases
from autograder.mutants.momentum import MUTANTS
from autograder.references import momentum as ref
from nnopt_helpers.checks import load_expected

ID = "03_momentum"


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
# The visible checks name the classic mistakes


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected(ID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"velocity_sign_flipped", "velocity_not_stored", "lr_momentum_swapped"} <= names["sgd_momentum"]
    assert {"default_momentum_0.99", "default_learning_rate_1e-3"} <= names["sgd_momentum_defaults"]
    assert "plain_momentum" in names["nesterov_momentum"]
    assert {"eigenvalues_swapped", "rate_with_kappa"} <= names["momentum_optimal_params"]


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


@pytest.mark.parametrize("exercise, mutant, words", [
    ("sgd_momentum", "pytorch_buffer", "PyTorch's convention"),
    ("sgd_momentum", "averaged_form", "averaged form"),
    ("nesterov_momentum", "pytorch_form", "PyTorch's Nesterov"),
])
def test_a_legitimate_other_convention_is_named_as_one(exercise, mutant, words):
    """A learner who writes another library's (correct) form is told which and how ours differs,
    by the first visible check, not shown an array dump."""
    from nnopt_helpers.checks import CheckFailed, run_check

    with pytest.raises(CheckFailed) as failed:
        run_check("03_momentum", exercise, MUTANTS[exercise][mutant][0], quiet=True)
    message = str(failed.value)
    assert words in message and "legitimate" in message and "docs/conventions.md" in message

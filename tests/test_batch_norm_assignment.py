"""06_batch_norm: the cases cover what the hidden tests promise, a backward pass is graded through
the forward pass next to it, the mutants and the visible checks cover the classic mistakes, the
references agree with the maths (numerical gradients, PyTorch's documented running-average
formula, and ``torch.nn.functional.layer_norm``'s for layer norm), the ``batchnorm`` driver and the
new check helpers behave, and the sandboxed verifier grades the backward passes through the
learner's forward.

The checks every assignment shares (the solution passes, every mutant fails, the expected data is
up to date, ...) are in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["06_batch_norm"]``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder.assignments.batch_norm import (ASSIGNMENT, backward_cases, describe_case, describe_ln_case,
                                              forward_cases, layernorm_backward_cases, layernorm_forward_cases)
from autograder.drivers import DRIVERS
from autograder.mutants import batch_norm as mutants
from autograder.mutants.batch_norm import MUTANTS
from autograder.references import batch_norm as ref
from autograder.spec import HiddenTestFailure, compare_plain
from nnopt_helpers import checks, gradcheck, nets
from nnopt_helpers.checks import CheckFailed, backward_through, load_expected, run_check

AID = "06_batch_norm"
BACKWARD = {"batchnorm_backward", "batchnorm_backward_alt"}
LAYER_NORM = {"layernorm_forward", "layernorm_backward"}


@pytest.fixture(scope="module")
def solutions() -> dict:
    return harness.solution_functions(AID)


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_every_exercise_runs_through_the_batchnorm_driver():
    """Every graded function does; the derived number is a plain value."""
    assert all(ex.driver == "batchnorm" for ex in ASSIGNMENT.exercises if ex.name != "predicted_running_mean_std")
    assert ASSIGNMENT.exercise("predicted_running_mean_std").driver == "value"


def test_forward_cases_cover_modes_defaults_and_edge_cases():
    cases = forward_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    params = [c["bn_param"] for c in cases]
    assert {} in params and any(set(p) == {"momentum"} for p in params)
    assert any(p.get("mode") == "eval" and "running_mean" not in p for p in params)
    assert any("running_var" in p and "mode" not in p for p in params)
    assert any(c["modes"][0] is None for c in cases) and any(c["modes"][0] == "eval" for c in cases)
    for c in cases:  # every run trains and evaluates (the first mode None means bn_param's own, or the default)
        effective = [m or c["bn_param"].get("mode", "train") for m in c["modes"]]
        assert "eval" in effective and "train" in effective, describe_case(c)
    shapes = [x.shape for c in cases for x in c["x"]]
    assert any(n == 2 for n, _ in shapes) and any(d == 1 for _, d in shapes)
    assert any(len({x.shape for x in c["x"]}) > 1 for c in cases), "batches of different sizes"
    assert any(np.ptp(x[:, 0]) == 0 for c in cases for x in c["x"]), "a constant feature"
    assert any(np.abs(x).max() > 50 for c in cases for x in c["x"]), "large offsets"
    assert any((c["gamma"] < 0).any() for c in cases)
    assert all(c["record"] == ["mode", "eps", "momentum", "running_mean", "running_var"] for c in cases)
    assert describe_case(cases[0]).startswith("4 calls (default mode, train, train, eval)")


def test_backward_cases_use_non_uniform_upstream_gradients():
    cases = backward_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    assert len(cases) >= 6
    for case in cases:
        assert case["forward"] == "batchnorm_forward" and len(case["dout"]) == len(case["x"]) >= 2
        for x, dout in zip(case["x"], case["dout"]):
            assert dout.shape == x.shape and np.ptp(dout) > 0.1
    shapes = [x.shape for c in cases for x in c["x"]]
    assert any(n == 2 for n, _ in shapes) and any(d == 1 for _, d in shapes) and any(n == d for n, d in shapes)
    assert describe_case(cases[0]).startswith("2 forward (train) + backward passes")


# ---------------------------------------------------------------------------------------------
# A backward pass is graded through the forward pass next to it


def test_backward_is_graded_through_the_forward_next_to_it():
    """A right backward pass behind a stub forward reads as not done; behind a wrong forward it gets the hint."""
    cells = {harness.nbgrader(c).get("grade_id"): c.source for c in harness.source_notebook(AID).cells}

    def namespace_with(forward_source):
        ns: dict = {}
        exec(harness.PREAMBLE, ns)
        exec(forward_source, ns)
        exec(cells["batchnorm_backward"], ns)
        return ns

    stubbed = namespace_with("def batchnorm_forward(x, gamma, beta, bn_param):\n    raise NotImplementedError()")
    with pytest.raises(NotImplementedError):
        ASSIGNMENT.check("batchnorm_backward", stubbed["batchnorm_backward"])
    with pytest.raises(NotImplementedError, match="not implemented batchnorm_forward yet"):
        run_check(AID, "batchnorm_backward", stubbed["batchnorm_backward"],
                  call=backward_through(stubbed["batchnorm_forward"]))
    # A forward pass that normalizes with the unbiased variance: no backward pass can be right on it.
    unbiased = cells["batchnorm_forward"].replace("var = (xc**2).mean(axis=0)", "var = (xc**2).sum(axis=0) / (N - 1)")
    assert unbiased != cells["batchnorm_forward"]
    wrong = namespace_with(unbiased)
    with pytest.raises(HiddenTestFailure, match="fix batchnorm_forward first"):
        ASSIGNMENT.check("batchnorm_backward", wrong["batchnorm_backward"])
    # No forward pass at all next to the backward: an explained failure, not a crash.
    lonely: dict = {"np": np}
    exec("def batchnorm_backward(dout, cache):\n    return dout, dout[0], dout[0]", lonely)
    with pytest.raises(HiddenTestFailure, match="no function batchnorm_forward found"):
        ASSIGNMENT.check("batchnorm_backward", lonely["batchnorm_backward"])


def test_running_statistics_do_not_affect_backward_grading(solutions):
    """Only the forward pass's train-mode output matters to the backward exercises."""
    wrong = {"np": np, "batchnorm_backward": solutions["batchnorm_backward"]}
    exec("def batchnorm_forward(x, gamma, beta, bn_param):\n"
         "    mu, var = x.mean(axis=0), x.var(axis=0)\n"
         "    std = np.sqrt(var + bn_param.get('eps', 1e-5))\n"
         "    x_hat = (x - mu) / std\n"
         "    return gamma * x_hat + beta, (x - mu, std, x_hat, gamma)  # never stores running statistics\n", wrong)
    exec(compile("\n".join(["def run(dout, cache):", "    return batchnorm_backward(dout, cache)"]), "<w>", "exec"), wrong)
    ASSIGNMENT.check("batchnorm_backward", wrong["run"])


# ---------------------------------------------------------------------------------------------
# The mutants and the visible checks cover the classic mistakes


def test_the_mutants_cover_the_classic_mistakes():
    assert {"running_var_biased", "normalizes_with_unbiased", "momentum_on_old_value", "eval_uses_batch_stats",
            "running_stats_not_stored"} <= set(MUTANTS["batchnorm_forward"])
    for name in BACKWARD:
        assert {"sums_over_features", "dmean_missing_variance_path", "no_variance_path",
                "no_mean_path"} <= set(MUTANTS[name])


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected(AID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"running_var_biased", "normalizes_with_unbiased", "momentum_on_old_value",
            "running_stats_not_stored"} <= names["batchnorm_forward"]
    assert {"eval_uses_batch_stats", "eval_updates_running_stats"} <= names["batchnorm_forward_eval"]
    for name in BACKWARD:
        assert {"no_variance_path", "no_mean_path", "dmean_missing_variance_path", "dgamma_with_x",
                "sums_over_features"} <= names[name]
        dout = expected[name]["case"]["dout"][0]
        assert np.ptp(dout) > 0.5, "the visible backward checks use a non-uniform upstream gradient"


# ---------------------------------------------------------------------------------------------
# The references agree with the maths


@st.composite
def batches(draw, min_n=2):
    n = draw(st.integers(min_n, 7))
    d = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    scale = draw(st.floats(0.1, 10.0))
    x = draw(st.floats(-50, 50)) + scale * rng.standard_normal((n, d))
    return x, rng.uniform(-2, 2, size=d), rng.standard_normal(d), rng.standard_normal((n, d))


@settings(max_examples=40, deadline=None)
@given(batches(), st.floats(0.0, 1.0), st.sampled_from([1e-5, 1e-3]))
def test_forward_reference_follows_pytorchs_documented_formula(batch, momentum, eps):
    """torch.nn.BatchNorm1d: (x − E[x]) / √(Var[x] + eps) · γ + β with the biased Var;
    running = (1 − momentum) · running + momentum · observed, with the unbiased variance observed."""
    x, gamma, beta, _ = batch
    n = x.shape[0]
    start_mean, start_var = np.linspace(-1, 1, x.shape[1]), np.linspace(0.5, 2, x.shape[1])
    state = {"momentum": momentum, "eps": eps, "running_mean": start_mean, "running_var": start_var}
    out = ref.forward_step(x, gamma, beta, state)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * gamma + beta, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(state["running_mean"], (1 - momentum) * start_mean + momentum * x.mean(0), rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(state["running_var"], (1 - momentum) * start_var + momentum * x.var(0, ddof=1),
                               rtol=1e-9, atol=1e-9)
    assert state["mode"] == "train" and n >= 2
    # eval mode reads the running statistics and leaves them alone
    state["mode"] = "eval"
    before = copy.deepcopy(state)
    out_eval = ref.forward_step(x, gamma, beta, state)
    np.testing.assert_allclose(out_eval, gamma * (x - before["running_mean"]) / np.sqrt(before["running_var"] + eps) + beta,
                               rtol=1e-9, atol=1e-9)
    assert compare_plain(before, state, rtol=0.0) == []


def test_forward_reference_defaults():
    state: dict = {}
    ref.forward_step(np.arange(6.0).reshape(3, 2), np.ones(2), np.zeros(2), state)
    assert (state["mode"], state["eps"], state["momentum"]) == ("train", 1e-5, 0.1)
    np.testing.assert_allclose(state["running_mean"], 0.1 * np.array([2.0, 3.0]))
    np.testing.assert_allclose(state["running_var"], 0.9 + 0.1 * 4.0)  # unbiased variance of (0, 2, 4) is 4


@settings(max_examples=25, deadline=None)
@given(batches(min_n=3))
def test_backward_reference_matches_numerical_gradients(batch):
    x, gamma, beta, dout = batch
    eps = 1e-5
    dx, dgamma, dbeta = ref.backward_step(x, gamma, eps, dout)

    def out(x_, g_, b_):
        return ref.forward_step(x_, g_, b_, {"mode": "train", "eps": eps})

    num_dx = gradcheck.numerical_gradient_array(lambda v: out(v, gamma, beta), x, dout, h=1e-6)
    scale = np.abs(gamma).max() / x.std(0).min() * np.abs(dout).max()
    np.testing.assert_allclose(dx, num_dx, atol=1e-5 * scale * x.shape[0], rtol=1e-5)
    np.testing.assert_allclose(dgamma, gradcheck.numerical_gradient_array(lambda v: out(x, v, beta), gamma, dout),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dbeta, dout.sum(0), rtol=1e-12, atol=1e-12)
    # shifting a feature changes nothing, so the columns of dx sum to zero
    np.testing.assert_allclose(dx.sum(0), 0.0, atol=1e-9 * scale * x.shape[0])


def test_backward_reference_with_dout_all_ones_is_zero():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)) * 2 + 1
    dx, _, dbeta = ref.backward_step(x, np.array([0.5, 1.0, 2.0]), 1e-5, np.ones((6, 3)))
    assert np.abs(dx).max() < 1e-12 and np.allclose(dbeta, 6.0)


def test_backward_mutants_are_wrong_against_numerical_gradients():
    """The classic mistakes differ from the true gradient by much more than rounding."""
    rng = np.random.default_rng(5)
    x = 2.0 + 1.5 * rng.standard_normal((6, 4))
    gamma, beta, dout = rng.uniform(0.5, 2, size=4), rng.standard_normal(4), rng.standard_normal((6, 4))
    true = ref.backward_step(x, gamma, 1e-5, dout)
    for name, (fn, _) in MUTANTS["batchnorm_backward"].items():
        if name == "mutates_dout":
            continue
        _, cache = mutants.batchnorm_forward(x.copy(), gamma, beta, {"mode": "train"})
        got = fn(dout.copy(), cache)
        errors = [gradcheck.rel_error(a, b) if np.shape(a) == np.shape(b) else 1.0 for a, b in zip(got, true)]
        assert max(errors) > 1e-4, name


# ---------------------------------------------------------------------------------------------
# The driver and the check helpers added for this notebook


def test_batchnorm_driver_reports_errors_returns_and_mutations(solutions):
    case = forward_cases(np.random.default_rng(0))[0]
    good = DRIVERS["batchnorm"](solutions["batchnorm_forward"], copy.deepcopy(case))
    assert len(good["steps"]) == len(case["x"]) and good["mutated"] == []
    assert set(good["steps"][0]["bn_param"]) == {"mode", "eps", "momentum", "running_mean", "running_var"}

    def returns_out_only(x, gamma, beta, bn_param):
        return x

    def crashes(x, gamma, beta, bn_param):
        raise ZeroDivisionError("boom")

    assert DRIVERS["batchnorm"](returns_out_only, copy.deepcopy(case))["steps"][0]["error_type"] == "ReturnType"
    assert "ZeroDivisionError: boom" in DRIVERS["batchnorm"](crashes, copy.deepcopy(case))["steps"][0]["error"]
    mutated = DRIVERS["batchnorm"](MUTANTS["batchnorm_forward"]["mutates_x"][0], copy.deepcopy(case))["mutated"]
    assert mutated and mutated[0].startswith("x ")
    # the case is never modified by the driver
    frozen = copy.deepcopy(case)
    DRIVERS["batchnorm"](solutions["batchnorm_forward"], case)
    assert compare_plain(frozen, case, rtol=0.0) == []
    bcase = backward_cases(np.random.default_rng(0))[0]
    out = DRIVERS["batchnorm"](MUTANTS["batchnorm_backward"]["mutates_dout"][0], copy.deepcopy(bcase))
    assert out["mutated"] == ["dout (step 1)", "dout (step 2)"]
    assert set(out["steps"][0]) == {"out", "dx", "dgamma", "dbeta"}


def test_batchnorm_view_stacks_calls_and_explains_missing_state(solutions):
    x = np.arange(12.0).reshape(4, 3)
    case = {"x": [x, x + 1.0], "modes": ["train", "eval"], "gamma": np.ones(3), "beta": np.zeros(3), "bn_param": {},
            "record": ["running_mean"]}
    entry = {"driver": "batchnorm", "case": case, "expected": {"out": None, "running_mean": None}}
    out = checks.outputs_of(entry, solutions["batchnorm_forward"])[0]
    assert out["out"].shape == (2, 4, 3) and out["running_mean"].shape == (2, 3)
    np.testing.assert_allclose(out["running_mean"][0], out["running_mean"][1])  # eval leaves it alone
    one = {"driver": "batchnorm", "case": {**case, "x": [x], "modes": [None], "record": ["running_var"]},
           "expected": {"out": None, "running_var": None}}
    with pytest.raises(CheckFailed, match="bn_param has no 'running_var'"):
        checks.outputs_of(one, lambda x, g, b, p: (x, None))
    with pytest.raises(CheckFailed, match="returns the pair"):
        checks.outputs_of(one, lambda x, g, b, p: x)
    assert checks.VIEWS["batchnorm"] is checks.batchnorm_view


def test_backward_through_validates_and_explains(solutions):
    with pytest.raises(TypeError, match="forward"):
        backward_through("batchnorm_forward")
    forward = backward_through(solutions["batchnorm_forward"]).forward
    rng = np.random.default_rng(0)
    case = {"x": [rng.standard_normal((5, 2))], "modes": [None], "gamma": np.ones(2), "beta": np.zeros(2),
            "bn_param": {"mode": "train"}, "dout": [rng.standard_normal((5, 2))], "forward": "batchnorm_forward"}
    entry = {"driver": "batchnorm", "case": case, "expected": {"dx": None, "dgamma": None, "dbeta": None}}
    grads = checks.outputs_of(entry, solutions["batchnorm_backward"], forward)[0]
    assert set(grads) == {"dx", "dgamma", "dbeta"} and grads["dx"].shape == (5, 2)
    with pytest.raises(CheckFailed, match="should return 3 values"):
        checks.outputs_of(entry, lambda dout, cache: dout, forward)
    with pytest.raises(CheckFailed, match="the forward pass returned a single array; .* returns the pair"):
        checks.outputs_of(entry, solutions["batchnorm_backward"], lambda x, g, b, p: x)


def test_mlp_trains_with_the_solution_as_its_norm_layer(solutions):
    """nets.MLP accepts the pair (forward, backward); its gradients agree with finite differences."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 5)), rng.integers(0, 3, size=12)
    model = nets.MLP([5, 6, 3], activation="sigmoid", norm=(solutions["batchnorm_forward"],
                                                             solutions["batchnorm_backward_alt"]), rng=0,
                     weight_scale=0.5)
    _, grads = model.loss(X, y)
    W = model.params["W1"]

    def loss_at(v):
        model.params["W1"] = v
        return model.loss(X, y)[0]

    numerical = gradcheck.numerical_gradient(loss_at, W.copy())
    model.params["W1"] = W
    assert gradcheck.rel_error(grads["W1"], numerical) < 1e-6


# ---------------------------------------------------------------------------------------------
# Layer normalization (exercises 4 and 5): cases, references, mutants, grading through the forward


def test_layernorm_forward_cases_cover_shapes_modes_and_edge_cases():
    cases = layernorm_forward_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    assert all(c["record"] == [] and "dout" not in c for c in cases)
    shapes = [x.shape for c in cases for x in c["x"]]
    assert any(d == 1 for _, d in shapes) and any(n == 1 for n, _ in shapes) and any(n == d for n, d in shapes)
    assert any(np.ptp(x, axis=1).min() == 0 for c in cases for x in c["x"]), "a constant row"
    assert any(np.abs(x).max() > 50 for c in cases for x in c["x"]), "large offsets"
    assert any(np.std(x, axis=1).max() < 0.01 for c in cases for x in c["x"]), "rows where eps matters"
    assert any(c["bn_param"].get("eps", 1e-5) != 1e-5 for c in cases) and {} in [c["bn_param"] for c in cases]
    modes = [m or c["bn_param"].get("mode", "train") for c in cases for m in c["modes"]]
    assert "eval" in modes and "train" in modes
    assert describe_ln_case(cases[0]).startswith("2 calls (default mode, default mode) on batches of shape")
    assert describe_ln_case(cases[0]).endswith("with ln_param={}")


def test_layernorm_backward_cases_use_non_uniform_upstream_gradients():
    cases = layernorm_backward_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    assert len(cases) >= 6
    for case in cases:
        assert case["forward"] == "layernorm_forward" and len(case["dout"]) == len(case["x"]) >= 2
        for x, dout in zip(case["x"], case["dout"]):
            assert dout.shape == x.shape and np.ptp(dout) > 0.1
    shapes = [x.shape for c in cases for x in c["x"]]
    assert any(d == 1 for _, d in shapes) and any(n == 1 for n, _ in shapes) and any(n == d for n, d in shapes)
    assert any(np.ptp(x, axis=1).min() == 0 for c in cases for x in c["x"]), "a constant row"
    assert describe_ln_case(cases[0]).startswith("2 forward + backward passes")


@settings(max_examples=40, deadline=None)
@given(batches(min_n=1), st.sampled_from([1e-5, 1e-3, 0.1]))
def test_layernorm_reference_follows_pytorchs_documented_formula(batch, eps):
    """torch.nn.LayerNorm / functional.layer_norm over the last dimension: (x − E[x]) / √(Var[x] + eps) · γ + β,
    the biased variance (``torch.var(input, correction=0)``), per sample."""
    x, gamma, beta, _ = batch
    out = ref.layernorm_step(x, gamma, beta, eps)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + eps) * gamma + beta, rtol=1e-9, atol=1e-9)
    # every row on its own: the output of a row does not depend on the other rows
    np.testing.assert_allclose(ref.layernorm_step(x[:1], gamma, beta, eps), out[:1], rtol=1e-12, atol=1e-12)
    if x.shape[1] == 1:
        np.testing.assert_allclose(out, np.broadcast_to(beta, out.shape), rtol=0, atol=0)


@settings(max_examples=25, deadline=None)
@given(batches(min_n=1))
def test_layernorm_backward_reference_matches_numerical_gradients(batch):
    x, gamma, beta, dout = batch
    eps = 1e-5
    dx, dgamma, dbeta = ref.layernorm_backward_step(x, gamma, eps, dout)
    num_dx = gradcheck.numerical_gradient_array(lambda v: ref.layernorm_step(v, gamma, beta, eps), x, dout, h=1e-6)
    scale = np.abs(gamma).max() / np.sqrt(x.var(axis=1).min() + eps) * np.abs(dout).max()
    np.testing.assert_allclose(dx, num_dx, atol=1e-5 * scale * x.shape[1], rtol=1e-5)
    num_dgamma = gradcheck.numerical_gradient_array(lambda v: ref.layernorm_step(x, v, beta, eps), gamma, dout)
    np.testing.assert_allclose(dgamma, num_dgamma, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dbeta, dout.sum(0), rtol=1e-12, atol=1e-12)
    # shifting a whole row changes nothing, so every row of dx sums to zero
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-9 * scale * x.shape[1])


def test_layernorm_mutants_cover_the_classic_mistakes():
    assert len(MUTANTS["layernorm_forward"]) >= 5 and len(MUTANTS["layernorm_backward"]) >= 5
    assert {"normalizes_columns", "unbiased_variance", "eps_outside_sqrt", "no_keepdims",
            "eval_like_batchnorm"} <= set(MUTANTS["layernorm_forward"])
    assert {"sums_over_features", "not_summed", "no_mean_path", "no_variance_path", "batchnorm_formula",
            "gamma_outside"} <= set(MUTANTS["layernorm_backward"])
    expected = load_expected(AID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"normalizes_columns", "unbiased_variance", "eps_outside_sqrt"} <= names["layernorm_forward"]
    assert {"ignores_eps", "eval_like_batchnorm"} <= names["layernorm_forward_eval_eps"]
    assert {"sums_over_features", "no_mean_path", "no_variance_path", "batchnorm_formula",
            "gamma_outside"} <= names["layernorm_backward"]
    assert np.ptp(expected["layernorm_backward"]["case"]["dout"][0]) > 0.5


def test_layernorm_backward_mutants_are_wrong_against_numerical_gradients():
    rng = np.random.default_rng(6)
    x = 1.0 + 2.0 * rng.standard_normal((5, 6))
    gamma, beta, dout = rng.uniform(0.5, 2, size=6), rng.standard_normal(6), rng.standard_normal((5, 6))
    true = ref.layernorm_backward_step(x, gamma, 1e-5, dout)
    for name, (fn, _) in MUTANTS["layernorm_backward"].items():
        if name == "mutates_dout":
            continue
        _, cache = mutants.layernorm_forward(x.copy(), gamma, beta, {})
        got = fn(dout.copy(), cache)
        errors = [gradcheck.rel_error(a, b) if np.shape(a) == np.shape(b) else 1.0 for a, b in zip(got, true)]
        assert max(errors) > 1e-4, name


def test_layernorm_backward_is_graded_through_the_layernorm_forward_next_to_it():
    cells = {harness.nbgrader(c).get("grade_id"): c.source for c in harness.source_notebook(AID).cells}

    def namespace_with(forward_source):
        ns: dict = {}
        exec(harness.PREAMBLE, ns)
        exec(forward_source, ns)
        exec(cells["layernorm_backward"], ns)
        return ns

    stubbed = namespace_with("def layernorm_forward(x, gamma, beta, ln_param):\n    raise NotImplementedError()")
    with pytest.raises(NotImplementedError):
        ASSIGNMENT.check("layernorm_backward", stubbed["layernorm_backward"])
    with pytest.raises(NotImplementedError, match="not implemented layernorm_forward yet"):
        run_check(AID, "layernorm_backward", stubbed["layernorm_backward"],
                  call=backward_through(stubbed["layernorm_forward"]))
    unbiased = cells["layernorm_forward"].replace("(xc**2).mean(axis=1, keepdims=True)",
                                                  "(xc**2).sum(axis=1, keepdims=True) / (x.shape[1] - 1)")
    assert unbiased != cells["layernorm_forward"]
    with pytest.raises(HiddenTestFailure, match="fix layernorm_forward first"), harness.quiet_numpy():
        ASSIGNMENT.check("layernorm_backward", namespace_with(unbiased)["layernorm_backward"])


def test_layernorm_ignores_the_mode_and_the_batch(solutions):
    """The same numbers in train and eval mode, for a row alone or inside any batch; ln_param stays as given."""
    forward = solutions["layernorm_forward"]
    rng = np.random.default_rng(3)
    x, gamma, beta = rng.standard_normal((6, 5)) * 3 + 1, rng.uniform(0.5, 2, 5), rng.standard_normal(5)
    ln_param = {"mode": "eval", "eps": 1e-3}
    out_eval, _ = forward(x, gamma, beta, ln_param)
    assert ln_param == {"mode": "eval", "eps": 1e-3}
    np.testing.assert_array_equal(out_eval, forward(x, gamma, beta, {"mode": "train", "eps": 1e-3})[0])
    np.testing.assert_allclose(forward(x[2:3], gamma, beta, {"eps": 1e-3})[0], out_eval[2:3], rtol=1e-14)


def test_mlp_trains_with_layer_norm_as_its_norm_layer(solutions):
    """nets.MLP accepts (layernorm_forward, layernorm_backward); its gradients agree with finite differences."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((7, 5)), rng.integers(0, 3, size=7)
    model = nets.MLP([5, 6, 4, 3], activation="relu", norm=(solutions["layernorm_forward"],
                                                            solutions["layernorm_backward"]), rng=0, weight_scale=0.5)
    model.params["gamma1"] = rng.uniform(0.5, 2.0, size=6)  # a non-trivial gamma: it sits inside dx's sums
    _, grads = model.loss(X, y)
    for name in ("W1", "gamma1", "beta2"):
        value = model.params[name]

        def loss_at(v, name=name):
            model.params[name] = v
            return model.loss(X, y)[0]

        numerical = gradcheck.numerical_gradient(loss_at, value.copy())
        model.params[name] = value
        assert gradcheck.rel_error(grads[name], numerical) < 1e-6, name


# ---------------------------------------------------------------------------------------------
# The verifier (sandboxed, out of the kernel) grades the backward passes through the learner's forward


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return harness.sandbox_or_skip(tmp_path_factory.mktemp("bn-verifier") / "lib")


def _verify(sandbox, tmp_path, cells):
    from autograder.sandbox import Limits
    from autograder.verifier import verify

    scratch = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    scratch.mkdir()
    return verify(ASSIGNMENT, cells, sandbox, scratch, Limits(wall_seconds=30), seed=4242)


def test_verifier_gives_the_solution_full_marks_and_stubs_zero(sandbox, tmp_path):
    cells = [c.source for c in harness.solution_cells(AID)]
    v = _verify(sandbox, tmp_path, cells)
    assert {name: e.score for name, e in v.exercises.items()} == {"batchnorm_forward": 3.0, "batchnorm_backward": 2.0,
                                                                 "batchnorm_backward_alt": 1.0, "layernorm_forward": 2.0,
                                                                 "layernorm_backward": 2.0,
                                                                 "predicted_running_mean_std": 1.0}
    stubs = [src.split("### BEGIN SOLUTION")[0].rstrip(" ") + "    raise NotImplementedError()\n" for src in cells]
    v = _verify(sandbox, tmp_path, stubs)
    assert v.score == 0 and {e.outcome for e in v.exercises.values()} == {"not-implemented"}
    # a right backward pass behind a wrong forward pass scores nothing (layer norm keeps its 2 + 2, the derived
    # number its 1), a right forward alone scores its 3
    wrong = [cells[0].replace("var = (xc**2).mean(axis=0)", "var = (xc**2).sum(axis=0) / (N - 1)")] + cells[1:]
    v = _verify(sandbox, tmp_path, wrong)
    assert v.score == 5 and v.exercises["batchnorm_backward"].score == 0 and v.exercises["layernorm_backward"].score == 2
    v = _verify(sandbox, tmp_path, [cells[0]] + stubs[1:])
    assert v.score == 3
    # the same for layer norm: its backward pass is graded through the learner's layernorm_forward
    names = [harness.nbgrader(c)["grade_id"] for c in harness.solution_cells(AID)]
    ln_forward = names.index("layernorm_forward")
    wrong_ln = list(cells)
    wrong_ln[ln_forward] = cells[ln_forward].replace("(xc**2).mean(axis=1, keepdims=True)",
                                                     "(xc**2).sum(axis=1, keepdims=True) / (x.shape[1] - 1)")
    assert wrong_ln != cells
    v = _verify(sandbox, tmp_path, wrong_ln)
    assert v.exercises["layernorm_forward"].score == 0 and v.exercises["layernorm_backward"].score == 0
    assert v.score == 7  # 3 + 2 + 1 for batch norm, 1 for the derived number


# ---------------------------------------------------------------------------------------------
# The derived number


def test_predicted_running_mean_std_is_the_measured_stationary_std():
    """√(m/(2−m)·σ²/N) for N = 16, m = 0.05, σ² = 4: the running mean of the reference forward pass over
    many steps and features wanders by that much (to 3%), and every known mistake is further away."""
    target = ASSIGNMENT.exercise("predicted_running_mean_std").reference({})["result"]
    rng = np.random.default_rng(0)
    rm, tail = np.zeros(400), []
    for step in range(800):
        batch = 3.0 + 2.0 * rng.standard_normal((16, 400))
        rm = 0.95 * rm + 0.05 * batch.mean(axis=0)
        if step >= 200:
            tail.append(rm.copy())
    assert abs(np.sqrt(np.mean((np.array(tail) - 3.0) ** 2)) / target - 1) < 0.03
    for value, _ in MUTANTS["predicted_running_mean_std"].values():
        assert abs(value / target - 1) > 0.25

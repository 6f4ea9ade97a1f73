"""05_initialization: the cases cover what the hidden tests promise, correct initializers written
differently pass too (the statistical tolerances do not reject honest randomness), the visible
checks name the classic mistakes, the references agree with the maths, the drivers and helpers
behave, and the sandboxed verifier reaches the kernel's verdicts.

The checks every assignment shares (the solution passes, every mutant fails with the right hint,
the expected data is up to date, ...) are in ``tests/test_assignments.py``, with this
assignment's special cases in ``assignment_harness.SPECS["05_initialization"]``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder.assignments.initialization import (ASSIGNMENT, describe_init_case, describe_lsuv_case,
                                                   initializer_cases, lsuv_cases, orthogonal_cases)
from autograder.drivers import DRIVERS
from autograder.mutants.initialization import MUTANTS
from autograder.references import initialization as ref
from nnopt_helpers import init_checks
from nnopt_helpers.checks import CheckFailed, load_expected

ID = "05_initialization"
EXERCISES = [ex.name for ex in ASSIGNMENT.exercises]


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_initializer_cases_cover_tall_wide_square_and_tiny_shapes():
    cases = initializer_cases(np.random.default_rng(ASSIGNMENT.kernel_seed), name="xavier_uniform")
    assert all(c["target"] == ref.target("xavier_uniform", c["fan_in"], c["fan_out"]) for c in cases)
    shapes = [(c["fan_in"], c["fan_out"]) for c in cases]
    assert (1, 1) in shapes and any(a > b for a, b in shapes) and any(a < b for a, b in shapes)
    assert any(a == b > 100 for a, b in shapes)
    assert sum(a * b >= 10_000 for a, b in shapes) >= 4, "large draws for the statistics"
    assert all(len(set(c["seeds"])) == len(c["seeds"]) >= 2 for c in cases)
    assert describe_init_case(cases[0]) == "fan_in=100, fan_out=400"


def test_orthogonal_cases_cover_gains_and_the_sign_test():
    cases = orthogonal_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    assert any(c["kwargs"] == {} for c in cases) and any(c["kwargs"].get("gain", 1.0) != 1.0 for c in cases)
    assert any(c["fan_in"] < c["fan_out"] for c in cases) and any(c["fan_in"] > c["fan_out"] for c in cases)
    assert sum(len(c["seeds"]) >= 8 and min(c["fan_in"], c["fan_out"]) >= 20 for c in cases) >= 3
    assert describe_init_case(cases[1]) == "fan_in=96, fan_out=24, gain=2"


def test_lsuv_cases_cover_activations_defaults_and_max_iter():
    cases = lsuv_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    assert {c["activation"] for c in cases} == {"tanh", "relu", "linear"}
    assert any(c["kwargs"] == {} for c in cases)
    assert any(c["kwargs"].get("max_iter") == 1 for c in cases)
    assert any(not any(np.any(b) for b in c["biases"]) for c in cases)
    assert any(len(c["weights"]) == 1 for c in cases)
    assert "the default tol and max_iter" in describe_lsuv_case(cases[0])
    # Where max_iter is large enough, the grader's own LSUV gets every layer to tolerance.
    for case in cases:
        kw = case["kwargs"]
        new, counts = ref.lsuv(case["weights"], case["biases"], case["activation"], case["X"], **kw)
        if kw.get("max_iter", 10) >= 10:
            assert max(counts) < kw.get("max_iter", 10), describe_lsuv_case(case)
        else:
            assert max(counts) == kw["max_iter"], "the limited cases really hit max_iter"


# ---------------------------------------------------------------------------------------------
# Other correct ways of writing the solution pass too


def _alt_xavier_uniform(fan_in, fan_out, rng):
    a = math.sqrt(6 / (fan_in + fan_out))
    return (2 * rng.random((fan_in, fan_out)) - 1) * a


def _alt_xavier_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2 / (fan_in + fan_out)), size=(fan_out, fan_in)).T.copy()


def _alt_he_normal(fan_in, fan_out, rng):
    return math.sqrt(2 / fan_in) * rng.standard_normal(fan_in * fan_out).reshape(fan_in, fan_out)


def _alt_orthogonal(fan_in, fan_out, rng, gain=1.0):
    # The polar factor U Vᵀ of a Gaussian matrix is Haar-distributed as well (no sign fix needed).
    u, _, vt = np.linalg.svd(rng.standard_normal((fan_in, fan_out)), full_matrices=False)
    return gain * (u @ vt)


def _alt_lsuv(weights, forward_fn, X, tol=1e-2, max_iter=10):
    out = list(weights)
    for i in range(len(out)):
        it = 0
        v = float(np.std(forward_fn(out, X)[i])) ** 2
        while abs(v - 1) >= tol and it < max_iter:
            out[i] = out[i] * (1 / math.sqrt(v))
            v = float(np.std(forward_fn(out, X)[i])) ** 2
            it += 1
    return out


ALTERNATIVES = {"xavier_uniform": _alt_xavier_uniform, "xavier_normal": _alt_xavier_normal,
                "he_normal": _alt_he_normal, "orthogonal": _alt_orthogonal, "lsuv_init": _alt_lsuv}


@pytest.mark.parametrize("name", [name for name in EXERCISES if name in ALTERNATIVES])
def test_correct_functions_written_differently_pass_across_seeds(name):
    for seed in range(4, 10):
        ASSIGNMENT.check(name, ALTERNATIVES[name], seed=seed)


def test_the_reference_samplers_have_the_target_statistics():
    rng = np.random.default_rng(0)
    for name in ("xavier_uniform", "xavier_normal", "he_normal"):
        W = ref.sample(name, 60, 90, rng)
        t = ref.target(name, 60, 90)
        assert W.shape == (60, 90) and abs(W.std() / t["std"] - 1) < 0.05
        if t["bound"] is not None:
            assert np.abs(W).max() <= t["bound"]
    Q = ref.haar_orthogonal(50, 20, rng, gain=3.0)
    np.testing.assert_allclose(Q.T @ Q, 9 * np.eye(20), atol=1e-12)
    Q = ref.haar_orthogonal(20, 50, rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(20), atol=1e-12)


def test_the_property_checks_accept_the_reference_samplers():
    """Draws made by the references' own loops (a third way of using the rng) pass every property."""
    ex = ASSIGNMENT.exercise("xavier_uniform")
    from autograder.properties.initialization import initializer_problems, orthogonal_problems

    for name in ("xavier_uniform", "xavier_normal", "he_normal"):
        case = {"fan_in": 50, "fan_out": 120, "seeds": [3, 4], "kwargs": {}, "target": ref.target(name, 50, 120)}
        out = ex.run(lambda a, b, rng, _n=name: ref.sample(_n, a, b, rng), case)
        assert initializer_problems(case, out) == []
    case = {"fan_in": 24, "fan_out": 72, "seeds": list(range(12)), "kwargs": {"gain": 1.5}}
    out = ex.run(ref.haar_orthogonal, case)
    assert orthogonal_problems(case, out) == []


def test_the_properties_module_holds_no_answers():
    """It is copied into the sandbox: it must not import references, mutants or assignments."""
    import autograder.properties.initialization as props
    from autograder.grading.kernel_data import _properties_file

    text = Path(props.__file__).read_text()
    for word in ("references", "mutants", "assignments"):
        assert f"import {word}" not in text and f".{word}" not in text
    for ex in (ex for ex in ASSIGNMENT.exercises if ex.properties is not None):  # not the derived number
        module_qualname, name, path = _properties_file(ex)
        assert name == "initialization.py" and path.is_file(), module_qualname


# ---------------------------------------------------------------------------------------------
# The visible checks name the classic mistakes


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected(ID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"bound_fan_in_only", "std_as_bound", "no_sqrt", "normal_not_uniform"} <= names["xavier_uniform"]
    assert {"variance_as_std", "uniform_not_normal"} <= names["xavier_normal"]
    assert {"fan_out", "variance_as_std", "xavier_std"} <= names["he_normal"]
    assert {"gain_ignored"} <= names["orthogonal_tall"]
    assert {"reshape_not_transpose"} <= names["orthogonal_wide"]
    assert names["orthogonal_uniform"] == {"no_sign_fix"}
    assert {"divides_by_variance", "single_pass", "variances_from_first_pass"} <= names["lsuv_init"]
    assert {"ignores_max_iter", "one_extra_iteration"} <= names["lsuv_init_max_iter"]


# ---------------------------------------------------------------------------------------------
# The drivers


def test_initializer_driver_reports_draws_and_errors():
    drive = DRIVERS["initializer"]
    out = drive(lambda a, b, rng, gain=1.0: gain * rng.standard_normal((a, b)),
                {"fan_in": 2, "fan_out": 3, "seeds": [5, 6], "kwargs": {"gain": 2.0}})
    assert len(out["draws"]) == 2 and out["mutated"] == []
    np.testing.assert_array_equal(out["repeat"], out["draws"][0])
    np.testing.assert_array_equal(out["draws"][0], 2 * np.random.default_rng(5).standard_normal((2, 3)))
    err = drive(lambda a, b, rng: 1 / 0, {"fan_in": 2, "fan_out": 3, "seeds": [1, 2]})
    assert err["error_type"] == "ZeroDivisionError"
    bad = drive(lambda a, b, rng: object(), {"fan_in": 2, "fan_out": 3, "seeds": [1, 2]})
    assert bad["error_type"] == "NotPlain"


def test_layerwise_init_driver_counts_calls_and_reports_mutation():
    case = lsuv_cases(np.random.default_rng(0))[0]
    drive = DRIVERS["layerwise_init"]
    good = drive(MUTANTS["lsuv_init"]["single_pass"][0], case)
    assert good["mutated"] == [] and good["forward_calls"] == len(case["weights"]) and not good["returned_input_list"]
    inplace = drive(MUTANTS["lsuv_init"]["mutates_input"][0], case)
    assert inplace["mutated"] == ["weights (arrays changed in place)"] and inplace["returned_input_list"]
    replaced = drive(MUTANTS["lsuv_init"]["returns_input_list"][0], case)
    assert replaced["mutated"] == ["weights (items of the list replaced)"]
    wrong = drive(lambda weights, forward_fn, X: forward_fn(weights[:1], X), case)
    assert wrong["error_type"] == "ValueError" and "list of" in wrong["error"]
    runaway = drive(lambda weights, forward_fn, X: [forward_fn(weights, X) for _ in range(10**6)], case)
    assert runaway["error_type"] == "RuntimeError"


# ---------------------------------------------------------------------------------------------
# nnopt_helpers.init_checks


def test_layer_preactivations_and_forward_fn():
    rng = np.random.default_rng(0)
    weights, biases = init_checks.random_layers([3, 4, 2], rng, weight_std=0.5, bias_std=0.1)
    X = rng.standard_normal((5, 3))
    outs = init_checks.layer_preactivations(weights, X, "relu", biases)
    np.testing.assert_allclose(outs[0], X @ weights[0] + biases[0])
    np.testing.assert_allclose(outs[1], np.maximum(outs[0], 0) @ weights[1] + biases[1])
    same = init_checks.forward_fn_for("relu", biases)(weights, X)
    assert all(np.array_equal(a, b) for a, b in zip(outs, same))
    linear = init_checks.layer_preactivations(weights, X, "linear")
    np.testing.assert_allclose(linear[1], X @ weights[0] @ weights[1])


@pytest.mark.parametrize("call,match", [
    (lambda: init_checks.layer_preactivations([np.ones((3, 4))], np.ones((2, 3)), "gelu"), "activation"),
    (lambda: init_checks.layer_preactivations([], np.ones((2, 3))), "weights"),
    (lambda: init_checks.layer_preactivations([np.ones((3, 4)), np.ones((5, 2))], np.ones((2, 3))), r"weights\[1\]"),
    (lambda: init_checks.layer_preactivations([np.ones((3, 4))], np.ones((2, 5))), "X"),
    (lambda: init_checks.layer_preactivations([np.ones((3, 4))], np.ones((2, 3)), biases=[np.ones(3)]), r"biases\[0\]"),
    (lambda: init_checks.random_layers([3]), "sizes"),
    (lambda: init_checks.random_layers([3, 2], weight_std=-1), "weight_std"),
    (lambda: init_checks.forward_fn_for("softplus"), "activation"),
])
def test_helpers_name_the_bad_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_views_explain_structural_problems():
    from nnopt_helpers.checks import outputs_of

    def entry(driver, view, case):
        return {"driver": driver, "view": view, "case": case, "expected": {}}

    with pytest.raises(CheckFailed, match="transposed"):
        outputs_of(entry("initializer", "initializer_stats", {"fan_in": 3, "fan_out": 5, "seeds": [0, 1], "kwargs": {}}),
                   lambda a, b, rng: rng.random((b, a)))
    with pytest.raises(CheckFailed, match="rng"):
        outputs_of(entry("initializer", "orthogonal_stats", {"fan_in": 4, "fan_out": 4, "seeds": [0, 1], "kwargs": {}}),
                   MUTANTS["orthogonal"]["global_random"][0])
    weights, biases = init_checks.random_layers([3, 4], 0, 1.0, 0.0)
    lsuv = entry("layerwise_init", "lsuv_stats", {"weights": weights, "biases": biases, "activation": "tanh",
                                                  "X": np.random.default_rng(0).standard_normal((10, 3)), "kwargs": {}})
    with pytest.raises(CheckFailed, match="new list"):
        outputs_of(lsuv, lambda w, f, X: w)
    with pytest.raises(CheckFailed, match="positive multiple"):
        outputs_of(lsuv, lambda w, f, X: [np.ones_like(W) for W in w])


# ---------------------------------------------------------------------------------------------
# The references agree with the maths


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_targets_are_the_papers_formulas(fan_in, fan_out):
    xu, xn, he = (ref.target(n, fan_in, fan_out) for n in ("xavier_uniform", "xavier_normal", "he_normal"))
    # U(−a, a) has variance a²/3: Glorot's uniform and normal versions have the same variance.
    assert math.isclose(xu["bound"] ** 2 / 3, xn["std"] ** 2, rel_tol=1e-12)
    assert math.isclose(xn["std"] ** 2 * (fan_in + fan_out), 2.0, rel_tol=1e-12)
    assert math.isclose(he["std"] ** 2 * fan_in, 2.0, rel_tol=1e-12)


def test_he_preserves_and_xavier_halves_the_variance_through_relu_layers():
    """Var(a_l) = ½ · fan_in · σ² · Var(a_{l−1}): measured over 10 wide layers."""
    rng = np.random.default_rng(0)
    n = 400
    X = rng.standard_normal((400, n))
    for name, factor in (("he_normal", 1.0), ("xavier_normal", 0.5)):
        weights = [ref.target(name, n, n)["std"] * rng.standard_normal((n, n)) for _ in range(10)]
        v = [a.var() for a in ref.preactivations(weights, [np.zeros(n)] * 10, "relu", X)]
        per_layer = (v[-1] / v[0]) ** (1 / 9)
        assert abs(per_layer - factor) < 0.05 * factor


def test_without_the_sign_correction_qr_is_biased_and_haar_is_not():
    K, n = 12, 64
    biased = [np.trace(MUTANTS["orthogonal"]["no_sign_fix"][0](n, n, np.random.default_rng(s))) for s in range(K)]
    fair = [np.trace(ref.haar_orthogonal(n, n, np.random.default_rng(s))) for s in range(K)]
    assert np.mean(biased) < -3 and abs(np.mean(fair)) < 6 / math.sqrt(K)


@st.composite
def nets(draw):
    sizes = draw(st.lists(st.integers(2, 12), min_size=2, max_size=4))
    seed = draw(st.integers(0, 10**6))
    rng = np.random.default_rng(seed)
    activation = draw(st.sampled_from(["tanh", "relu", "linear"]))
    weights = [draw(st.floats(0.05, 3.0)) * rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [draw(st.floats(0.0, 0.3)) * rng.standard_normal(b) for b in sizes[1:]]
    return weights, biases, activation, rng.standard_normal((draw(st.integers(30, 80)), sizes[0]))


@settings(max_examples=40, deadline=None)
@given(nets())
def test_reference_lsuv_rescales_each_layer_to_unit_variance(net):
    weights, biases, activation, X = net
    # A layer whose output is constant (all ReLUs below it dead) cannot be rescaled to variance 1.
    assume(all(a.var() > 1e-6 for a in ref.preactivations(weights, [0 * b for b in biases], activation, X)))
    assume(all(a.var() > 1e-6 for a in ref.preactivations(weights, biases, activation, X)))
    new, counts = ref.lsuv(weights, biases, activation, X, tol=1e-3, max_iter=50)
    outs = ref.preactivations(new, biases, activation, X)
    for W, W0, a, count in zip(new, weights, outs, counts):
        c = float(np.sum(W * W0) / np.sum(W0 * W0))
        np.testing.assert_allclose(W, c * W0, rtol=1e-12)
        assert c > 0
        if count < 50:  # converged (a layer whose inputs are all zero, e.g. dead ReLUs, cannot)
            assert abs(a.var() - 1) < 1e-3
    # Without biases, scaling a layer's weights scales its output exactly: one rescaling is enough.
    _, counts = ref.lsuv(weights, [np.zeros_like(b) for b in biases], activation, X, tol=1e-9, max_iter=5)
    assert max(counts) <= 2


# ---------------------------------------------------------------------------------------------
# The verifier reaches the same verdicts out of the kernel


def test_the_sandboxed_verifier_gives_the_solution_full_marks_and_names_a_mistake(tmp_path):
    from autograder.sandbox import Limits
    from autograder.verifier import verify

    sandbox = harness.sandbox_or_skip(tmp_path / "lib")
    cells = [c.source for c in harness.solution_cells(ID)]
    (tmp_path / "a").mkdir()
    v = verify(ASSIGNMENT, cells, sandbox, tmp_path / "a", Limits(wall_seconds=60), 12345)
    assert {n: e.score for n, e in v.exercises.items()} == {ex.name: ex.points for ex in ASSIGNMENT.exercises}
    assert not v.flags and not v.cell_errors
    bad = [c.replace("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / fan_out)") for c in cells]
    assert bad != cells
    (tmp_path / "b").mkdir()
    v = verify(ASSIGNMENT, bad, sandbox, tmp_path / "b", Limits(wall_seconds=60), 12345)
    assert v.exercises["he_normal"].score == 0 and v.exercises["lsuv_init"].score == 3
    assert any(MUTANTS["he_normal"]["fan_out"][1] in p for p in v.exercises["he_normal"].problems)


# ---------------------------------------------------------------------------------------------
# The derived number


def test_predicted_torch_default_var_is_the_measured_mean_variance():
    """(1/3)·(1/6)^9, the expected Var(a_10) of 10 ReLU layers of width 256 under nn.Linear's default
    U(−1/√n, 1/√n): the mean over 40 draws is within 20% of it, and every mistake is further away."""
    target = ASSIGNMENT.exercise("predicted_torch_default_var").reference({})["result"]
    X = np.random.default_rng(1).standard_normal((500, 256))
    measured = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        Ws = [rng.uniform(-1 / 16, 1 / 16, size=(256, 256)) for _ in range(10)]
        measured.append(init_checks.layer_preactivations(Ws, X, "relu")[-1].var())
    assert abs(np.mean(measured) / target - 1) < 0.2
    for value, _ in MUTANTS["predicted_torch_default_var"].values():
        assert abs(value / target - 1) > 0.4

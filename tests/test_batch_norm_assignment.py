"""06_batch_norm: the solution passes the hidden tests, every known mistake fails them, the visible
checks catch what they target, the references agree with the solution and with the maths
(numerical gradients, PyTorch's documented running-average formula), the ``batchnorm`` driver and
the new check helpers behave, and the committed expected data is up to date.

The solution functions are taken from the source notebook exactly as the verifier takes them: the
cells marked ``solution: true``, executed alone after ``import numpy as np, math``.
"""

from __future__ import annotations

import ast
import copy
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assignments import get
from autograder.assignments import batch_norm as bn_assignment
from autograder.assignments.batch_norm import ASSIGNMENT, backward_cases, describe_case, forward_cases
from autograder.drivers import DRIVERS
from autograder.mutants import batch_norm as mutants
from autograder.mutants.batch_norm import MUTANTS
from autograder.references import batch_norm as ref
from autograder.spec import HiddenTestFailure, compare_plain
from nnopt_helpers import checks, gradcheck, nets
from nnopt_helpers.checks import CheckFailed, backward_through, load_expected, run_check

ROOT = Path(__file__).resolve().parent.parent
AID = "06_batch_norm"
SOURCE = ROOT / "solutions" / AID / f"{AID}.ipynb"
PREAMBLE = "import numpy as np, math"
EXERCISES = [ex.name for ex in ASSIGNMENT.exercises]
# The visible checks each exercise's test cell runs (names in nnopt_helpers/expected/06_batch_norm.json).
VISIBLE = {
    "batchnorm_forward": ["batchnorm_forward", "batchnorm_forward_defaults", "batchnorm_forward_eval"],
    "batchnorm_backward": ["batchnorm_backward"],
    "batchnorm_backward_alt": ["batchnorm_backward_alt"],
}
BACKWARD = {"batchnorm_backward", "batchnorm_backward_alt"}
# Mistakes whose outputs are identical to another's on every case: the hint names the first of the group.
SAME_OUTPUT_AS: dict = {}
MUTANT_IDS = [(ex, m) for ex in EXERCISES for m in MUTANTS[ex]]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _call_for(name, forward):
    """The ``call`` a test cell passes to run_check for this exercise (None: the entry's own)."""
    return backward_through(forward) if name in BACKWARD else None


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(SOURCE, as_version=4)


@pytest.fixture(scope="module")
def namespace(notebook) -> dict:
    """The solution cells run alone after the verifier's preamble (as the verifier does)."""
    ns: dict = {}
    exec(PREAMBLE, ns)
    for cell in notebook.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            exec(compile(cell.source, f"<solution cell {_nbgrader(cell)['grade_id']}>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def solutions(namespace) -> dict:
    return {name: namespace[name] for name in EXERCISES}


# ---------------------------------------------------------------------------------------------
# The notebook and the assignment agree


def test_registry_finds_the_assignment():
    assert get(AID) is ASSIGNMENT
    assert ASSIGNMENT.max_score == 10
    assert [ex.points for ex in ASSIGNMENT.exercises] == [4, 4, 2]
    assert all(ex.driver == "batchnorm" for ex in ASSIGNMENT.exercises)


def test_each_solution_cell_holds_only_its_function(notebook):
    cells = [c for c in notebook.cells if _nbgrader(c).get("solution")]
    assert [_nbgrader(c)["grade_id"] for c in cells] == EXERCISES
    for cell in cells:
        body = ast.parse(cell.source).body
        assert len(body) == 1 and isinstance(body[0], ast.FunctionDef), _nbgrader(cell)["grade_id"]
        assert body[0].name == _nbgrader(cell)["grade_id"]
        doc = ast.get_docstring(body[0])
        assert doc and "shape" in doc, "the stub keeps the docstring (shapes first): it is the spec"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


def test_test_cells_match_the_exercises(notebook):
    tests = {_nbgrader(c)["grade_id"]: c for c in notebook.cells if _nbgrader(c).get("grade")}
    assert set(tests) == {ex.grade_id for ex in ASSIGNMENT.exercises}
    for ex in ASSIGNMENT.exercises:
        cell = tests[ex.grade_id]
        meta = _nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] == ex.points
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        assert f'_get_assignment("{AID}").check("{ex.name}", {ex.name})' in hidden
        assert "from autograder.assignments import get as _get_assignment" in hidden
        for check in VISIBLE[ex.name]:
            call = ", call=backward_through(batchnorm_forward)" if ex.name in BACKWARD else ""
            assert f'run_check("{AID}", "{check}", {ex.name}{call})' in visible
        assert visible.lstrip().startswith('"""'), "each test cell starts with a one-line docstring"


def test_notebook_has_no_outputs_and_is_small(notebook):
    assert SOURCE.stat().st_size < 500 * 1024
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


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
# The solution passes; the references agree with it


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_the_hidden_tests(solutions, name, capsys):
    for seed in (None, 1, 2):
        ASSIGNMENT.check(name, solutions[name], seed=seed)
    assert "hidden tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", EXERCISES)
def test_references_agree_with_the_solution(solutions, name):
    ex = ASSIGNMENT.exercise(name)
    for seed in range(3):
        for case in ex.make_cases(np.random.default_rng(seed)):
            frozen = copy.deepcopy(case)
            expected = ex.reference(case)
            assert compare_plain(frozen, case, rtol=0.0) == [], "the reference must not modify the case"
            actual = ex.run(solutions[name], case)
            assert actual["mutated"] == [] and expected["mutated"] == []
            assert compare_plain(expected, actual, rtol=1e-9) == [], ex.describe(case)


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_the_visible_checks(namespace, name):
    for check in VISIBLE[name]:
        run_check(AID, check, namespace[name], call=_call_for(name, namespace["batchnorm_forward"]), quiet=True)


def test_stubs_raise_not_implemented():
    """The untouched student notebook: every function a stub, all in one namespace."""
    stubs: dict = {}
    for name in EXERCISES:
        exec(f"def {name}(*args, **kwargs):\n    raise NotImplementedError()", stubs)
    for name in EXERCISES:
        with pytest.raises(NotImplementedError):
            ASSIGNMENT.check(name, stubs[name])
        for check in VISIBLE[name]:
            with pytest.raises(NotImplementedError):
                run_check(AID, check, stubs[name], call=_call_for(name, stubs["batchnorm_forward"]), quiet=True)


def test_backward_is_graded_through_the_forward_next_to_it(notebook):
    """A right backward pass behind a stub forward reads as not done; behind a wrong forward it gets the hint."""
    cells = {_nbgrader(c).get("grade_id"): c.source for c in notebook.cells}

    def namespace_with(forward_source):
        ns: dict = {}
        exec(PREAMBLE, ns)
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


def test_running_statistics_do_not_affect_backward_grading(namespace):
    """Only the forward pass's train-mode output matters to the backward exercises."""
    wrong = {"np": np, "batchnorm_backward": namespace["batchnorm_backward"]}
    exec("def batchnorm_forward(x, gamma, beta, bn_param):\n"
         "    mu, var = x.mean(axis=0), x.var(axis=0)\n"
         "    std = np.sqrt(var + bn_param.get('eps', 1e-5))\n"
         "    x_hat = (x - mu) / std\n"
         "    return gamma * x_hat + beta, (x - mu, std, x_hat, gamma)  # never stores running statistics\n", wrong)
    exec(compile("\n".join(["def run(dout, cache):", "    return batchnorm_backward(dout, cache)"]), "<w>", "exec"), wrong)
    ASSIGNMENT.check("batchnorm_backward", wrong["run"])


# ---------------------------------------------------------------------------------------------
# Every known mistake fails, with a hint


def test_each_exercise_has_at_least_five_mutants_covering_the_classic_mistakes():
    assert all(len(MUTANTS[name]) >= 5 for name in EXERCISES)
    assert {"running_var_biased", "normalizes_with_unbiased", "momentum_on_old_value", "eval_uses_batch_stats",
            "running_stats_not_stored"} <= set(MUTANTS["batchnorm_forward"])
    for name in BACKWARD:
        assert {"sums_over_features", "dmean_missing_variance_path", "no_variance_path",
                "no_mean_path"} <= set(MUTANTS[name])


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
    expected = load_expected(AID)
    failures = {}
    for check in VISIBLE[name]:
        try:
            run_check(AID, check, fn, call=_call_for(name, mutants.batchnorm_forward), quiet=True)
        except CheckFailed as exc:
            failures[check] = str(exc)
    assert failures, f"{mutant} passes every visible check of {name}"
    for check in VISIBLE[name]:
        for mistake in expected[check].get("mistakes", []):
            if mistake["name"] == mutant:
                assert check in failures and mistake["message"] in failures[check], (check, failures.get(check))


def test_expected_data_names_the_classic_mistakes():
    expected = load_expected(AID)
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in expected.items()}
    assert {"running_var_biased", "normalizes_with_unbiased", "momentum_on_old_value",
            "running_stats_not_stored"} <= names["batchnorm_forward"]
    assert {"eval_uses_batch_stats", "eval_updates_running_stats"} <= names["batchnorm_forward_eval"]
    for name in BACKWARD:
        assert {"no_variance_path", "no_mean_path", "dmean_missing_variance_path", "dgamma_with_x",
                "sums_over_features"} <= names[name]
        dout = expected[name]["inputs"]["dout"]
        assert np.ptp(dout) > 0.5, "the visible backward checks use a non-uniform upstream gradient"


def test_expected_data_is_up_to_date():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{AID}.json"
        checks.save_expected(bn_assignment.expected_entries(), path)
        fresh = path.read_text(encoding="utf-8")
    committed = (ROOT / "nnopt_helpers" / "expected" / f"{AID}.json").read_text(encoding="utf-8")
    assert fresh == committed, "run `python -m autograder.expected 06_batch_norm`"


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


def test_call_layer_forward_runs_steps_and_explains_missing_state(solutions):
    x = np.arange(12.0).reshape(4, 3)
    inputs = {"xs": [x, x + 1.0], "modes": ["train", "eval"], "gamma": np.ones(3), "beta": np.zeros(3),
              "bn_param": {}}
    out = checks.call_layer_forward(solutions["batchnorm_forward"], inputs, ["out", "running_mean"])
    assert out["out"].shape == (2, 4, 3) and out["running_mean"].shape == (2, 3)
    np.testing.assert_allclose(out["running_mean"][0], out["running_mean"][1])  # eval leaves it alone
    plain = {"x": x, "gamma": np.ones(3), "beta": np.zeros(3), "bn_param": {}}
    with pytest.raises(CheckFailed, match="bn_param has no 'running_var'"):
        checks.call_layer_forward(lambda x, g, b, p: (x, None), copy.deepcopy(plain), ["out", "running_var"])
    with pytest.raises(CheckFailed, match="returns the pair"):
        checks.call_layer_forward(lambda x, g, b, p: x, copy.deepcopy(plain), ["out"])
    with pytest.raises(ValueError, match="modes"):
        checks.call_layer_forward(solutions["batchnorm_forward"], {**inputs, "modes": ["train"]}, ["out"])
    assert checks.CALL_STYLES["layer_forward"] is checks.call_layer_forward


def test_backward_through_validates_and_explains(solutions):
    with pytest.raises(TypeError, match="forward"):
        backward_through("batchnorm_forward")
    with pytest.raises(ValueError, match="outputs"):
        backward_through(solutions["batchnorm_forward"], outputs=())
    call = backward_through(solutions["batchnorm_forward"])
    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((5, 2)), "gamma": np.ones(2), "beta": np.zeros(2), "dout": rng.standard_normal((5, 2))}
    grads = call(solutions["batchnorm_backward"], inputs)
    assert set(grads) == {"dx", "dgamma", "dbeta"} and grads["dx"].shape == (5, 2)
    with pytest.raises(CheckFailed, match="should return 3 values"):
        call(lambda dout, cache: dout, inputs)
    with pytest.raises(CheckFailed, match="must return the pair"):
        backward_through(lambda x, g, b, p: x)(solutions["batchnorm_backward"], inputs)


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
# The verifier (sandboxed, out of the kernel) grades the backward passes through the learner's forward


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from autograder.sandbox import build_lib_dir, get_sandbox, probe

    lib = build_lib_dir(tmp_path_factory.mktemp("bn-verifier") / "lib", mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)


def _verify(sandbox, tmp_path, cells):
    from autograder.sandbox import Limits
    from autograder.verifier import verify

    scratch = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    scratch.mkdir()
    return verify(ASSIGNMENT, cells, sandbox, scratch, Limits(wall_seconds=30), seed=4242)


def test_verifier_gives_the_solution_full_marks_and_stubs_zero(sandbox, tmp_path, notebook):
    cells = [c.source for c in notebook.cells if _nbgrader(c).get("solution")]
    v = _verify(sandbox, tmp_path, cells)
    assert {name: e.score for name, e in v.exercises.items()} == {"batchnorm_forward": 4.0, "batchnorm_backward": 4.0,
                                                                 "batchnorm_backward_alt": 2.0}
    stubs = [src.split("### BEGIN SOLUTION")[0].rstrip(" ") + "    raise NotImplementedError()\n" for src in cells]
    v = _verify(sandbox, tmp_path, stubs)
    assert v.score == 0 and {e.outcome for e in v.exercises.values()} == {"not-implemented"}
    # a right backward pass behind a wrong forward pass scores nothing, a right forward alone scores its 4
    wrong = [cells[0].replace("var = (xc**2).mean(axis=0)", "var = (xc**2).sum(axis=0) / (N - 1)")] + cells[1:]
    v = _verify(sandbox, tmp_path, wrong)
    assert v.score == 0
    v = _verify(sandbox, tmp_path, [cells[0]] + stubs[1:])
    assert v.score == 4

"""02_local_optima: the cases cover what the hidden tests promise, the references agree with the
solution, the visible checks name the classic mistakes, and the sandboxed verifier grades the notebook.

Three of the four exercises are judged by properties (``autograder/properties/local_optima.py``):
this file also checks those properties against closed forms, the drivers and call styles added
for them, and that the properties module holds no answers. The checks every assignment shares
(the solution passes, every mutant fails with a hint, the expected data is up to date, ...) are
in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["02_local_optima"]``.
"""

from __future__ import annotations

import ast
import copy
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder import drivers
from autograder.assignments.local_optima import (ASSIGNMENT, classify_cases, direction_cases, find_minima_cases,
                                                 hessian_cases, interpolation_cases, perturbed_cases)
from autograder.mutants.local_optima import MUTANTS
from autograder.properties import local_optima as props
from autograder.references import local_optima as ref
from autograder.spec import compare_plain
from nnopt_helpers import checks, surfaces
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

AID = "02_local_optima"


@pytest.fixture(scope="module")
def solutions() -> dict:
    return harness.solution_functions(AID)


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_cases_cover_dimensions_edge_cases_and_defaults():
    rng = lambda: np.random.default_rng(ASSIGNMENT.kernel_seed)  # noqa: E731
    hess = hessian_cases(rng())
    assert {len(c["args"][1]) for c in hess} >= {1, 2, 3, 5}
    assert any("h" in c["kwargs"] for c in hess) and any("h" not in c["kwargs"] for c in hess)
    assert any(c["surface"]["name"] == "monkey_saddle" and not np.any(c["args"][1]) for c in hess)  # H = 0
    kinds = {ref.classify_case(c)["result"] for c in classify_cases(rng())}
    assert kinds == {"minimum", "maximum", "saddle", "degenerate"}
    assert any(len(c["args"]) == 2 or "tol" in c["kwargs"] for c in classify_cases(rng()))
    fm = find_minima_cases(rng())
    assert any(len(c["minima"]) == 0 for c in fm) and any(len(c["minima"]) >= 4 for c in fm)
    assert any("tol" in c["kwargs"] for c in fm)
    saddle_case = next(c for c in fm if c["surface"]["name"] == "strict_saddle")
    assert any(s[1] == 0.0 for s in saddle_case["args"][2])  # a start on the stable line
    pg = perturbed_cases(rng())
    assert any(c["noise_scale"] == 0 for c in pg) and {len(c["x0"]) for c in pg} >= {2, 3, 5}
    for c in pg:  # the starts lie on the saddle's stable manifold: plain GD does not escape
        s = drivers._surface_from_case(c["surface"])
        end = ref.descend(s.grad, c["x0"], c["learning_rate"], c["num_steps"])
        assert s.value(end) > c["escape_value"]


def test_cases_are_plain_data():
    from autograder.plain import pack, unpack

    rng = np.random.default_rng(0)
    for make in (hessian_cases, classify_cases, find_minima_cases, perturbed_cases, interpolation_cases,
                 direction_cases):
        for case in make(rng):
            assert compare_plain(case, unpack(pack(case)), rtol=0.0) == []


# ---------------------------------------------------------------------------------------------
# The references agree with the solution (by the exercises' own measures)


def test_references_agree_with_the_solution(solutions):
    rng = np.random.default_rng(5)
    for case in hessian_cases(rng):
        s = drivers._surface_from_case(case["surface"])
        x, h = case["args"][1], case["kwargs"].get("h", 1e-4)
        np.testing.assert_allclose(ref.hessian_fd(s.value, x, h), solutions["numerical_hessian"](s.value, x, h),
                                   rtol=1e-9, atol=1e-9 * max(1.0, abs(float(s.value(x)))) / h**2)
    ex = ASSIGNMENT.exercise("classify_critical_point")
    for case in classify_cases(rng):
        assert ex.run(solutions["classify_critical_point"], case) == ex.reference(case)
    ex = ASSIGNMENT.exercise("find_minima")
    for case in find_minima_cases(rng):
        got = ex.run(solutions["find_minima"], case)["result"]
        np.testing.assert_allclose(got, case["minima"], rtol=0, atol=1e-9)
    for case in perturbed_cases(rng):
        s = drivers._surface_from_case(case["surface"])
        args = (s.grad, case["x0"], case["learning_rate"], case["num_steps"], case["noise_scale"])
        np.testing.assert_array_equal(ref.perturbed_path(*args, np.random.default_rng(case["seed"])),
                                      solutions["perturbed_gradient_descent"](*args, np.random.default_rng(case["seed"])))


# ---------------------------------------------------------------------------------------------
# The visible checks name the classic mistakes


def test_expected_data_names_the_classic_mistakes():
    names = {check: {m["name"] for m in entry["mistakes"]} for check, entry in load_expected(AID).items()}
    assert {"forward_differences", "denominator_h2"} <= names["numerical_hessian"]
    assert "determinant_only" in names["classify_maximum"]
    assert "diagonal_only" in names["classify_saddle_2d"]
    assert {"determinant_only", "trace_and_determinant"} <= names["classify_saddle_3d"]
    assert "tol_ignored" in names["classify_tiny_eigenvalue"]
    assert {"duplicates_kept", "merged_by_value"} <= names["find_minima_himmelblau"]
    assert "saddles_kept" in names["find_minima_saddle_starts"]
    assert {"noise_not_scaled", "own_generator", "no_noise"} <= names["perturbed_gd_seeded"]


def test_visible_checks_name_the_unstored_mistakes():
    with pytest.raises(CheckFailed, match="not symmetric"):
        run_check(AID, "numerical_hessian", MUTANTS["numerical_hessian"]["not_symmetrized"][0], quiet=True)
    with pytest.raises(CheckFailed, match="rng"):
        run_check(AID, "perturbed_gd_seeded", MUTANTS["perturbed_gradient_descent"]["global_random"][0], quiet=True)
    with pytest.raises(CheckFailed, match="modified its input"):
        run_check(AID, "perturbed_gd_seeded", MUTANTS["perturbed_gradient_descent"]["mutates_x0"][0], quiet=True)


# ---------------------------------------------------------------------------------------------
# The properties: no answers inside, and right on closed forms


def test_properties_module_holds_no_answers():
    tree = ast.parse(Path(props.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    # autograder.drivers runs in the sandbox too (it holds no reference, no expected value)
    public = ("__future__", "numpy", "nnopt_helpers", "autograder.drivers")
    assert all(m in public or m.startswith("nnopt_helpers") for m in imported), imported
    for ex in ASSIGNMENT.exercises:
        if ex.properties is not None:
            assert ex.properties.__module__ == "autograder.properties.local_optima"


def _hessian_case(surface, x, h=None):
    return {"surface": surface, "args": ["@value", np.asarray(x, dtype=np.float64)],
            "kwargs": {} if h is None else {"h": h}}


def test_hessian_properties_accept_the_analytic_hessian_and_reject_asymmetry():
    case = _hessian_case({"name": "himmelblau", "kwargs": {}}, [1.0, 2.0])
    H = surfaces.himmelblau().hessian(np.array([1.0, 2.0]))
    assert props.numerical_hessian_properties(case, {"result": H}) == []
    bad = H.copy()
    bad[0, 1] += 1e-12
    assert "not symmetric" in props.numerical_hessian_properties(case, {"result": bad})[0]
    assert "shape" in props.numerical_hessian_properties(case, {"result": H[:1]})[0]
    assert "float64" in props.numerical_hessian_properties(case, {"result": H.astype(np.float32)})[0]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_reference_hessian_is_exact_on_quadratics_up_to_rounding(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    A = A + A.T
    s = surfaces.quadratic(A, rng.standard_normal(d))
    x = rng.standard_normal(d)
    H = ref.hessian_fd(s.value, x)
    assert np.array_equal(H, H.T)
    np.testing.assert_allclose(H, s.A, atol=1e-5 * max(1.0, abs(float(s.value(x)))))
    case = _hessian_case({"name": "quadratic", "kwargs": {"A": A, "b": s.b}}, x)
    assert props.numerical_hessian_properties(case, {"result": H}) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3), min_size=1, max_size=6),
       st.integers(0, 2**32 - 1), st.floats(0.1, 10))
def test_classification_depends_only_on_the_signs_of_the_eigenvalues(lam, seed, c):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(lam), len(lam))))
    H = (q * np.array(lam)) @ q.T
    kind = ref.classify(H, tol=1e-9)
    signs = np.sign(lam)
    expect = ("minimum" if np.all(signs > 0) else "maximum" if np.all(signs < 0) else "saddle")
    assert kind == expect
    assert ref.classify(c * H, tol=1e-9) == kind  # invariant under positive scaling
    assert ref.classify(-H, tol=1e-9) == {"minimum": "maximum", "maximum": "minimum", "saddle": "saddle"}[kind]


def test_reference_minima_are_the_known_ones():
    s = surfaces.himmelblau()
    grid = np.array([[a, b] for a in (-4.0, 4.0) for b in (-4.0, 4.0)])
    found = ref.minima_from_starts(s.value, s.grad, grid, 0.01, 300, hessian=s.hessian)
    assert len(found) == 4
    for m in s.minima:
        assert np.min(np.linalg.norm(found - m, axis=1)) < 1e-8
    bowl = surfaces.quadratic(np.diag([1.0, 2.0, 3.0]), np.array([1.0, -1.0, 0.5]))
    found = ref.minima_from_starts(bowl.value, bowl.grad, np.eye(3), 0.3, 200)
    np.testing.assert_allclose(found, [np.linalg.solve(bowl.A, bowl.b)], atol=1e-10)


def test_find_minima_properties_reject_a_wrong_order_and_a_saddle():
    case = find_minima_cases(np.random.default_rng(0))[0]
    minima = case["minima"]
    assert props.find_minima_properties(case, {"result": minima}) == []
    assert "order" in props.find_minima_properties(case, {"result": minima[::-1].copy()})[0]
    with_saddle = np.vstack([minima, surfaces.himmelblau().saddles[:1]])
    assert "saddle" in props.find_minima_properties(case, {"result": with_saddle})[0]
    assert "missing" in props.find_minima_properties(case, {"result": minima[:-1].copy()})[0]


def test_perturbed_properties_check_the_noise_statistics():
    case = perturbed_cases(np.random.default_rng(0))[0]
    out = ASSIGNMENT.exercise("perturbed_gradient_descent").run(MUTANTS["perturbed_gradient_descent"]["no_noise"][0], case)
    assert props.perturbed_gd_properties(case, {k: v for k, v in out.items() if k != "mutated"})


def test_escape_time_follows_the_linear_prediction():
    """On the strict saddle from (1, ε), GD leaves after ≈ ln(δ/ε)/ln(1 + η) steps (within 10 steps)."""
    s = surfaces.strict_saddle()
    for eps in (1e-3, 1e-6, 1e-9):
        x, t = np.array([1.0, eps]), 0
        while s.value(x) >= -0.2 and t < 1000:
            x, t = x - 0.1 * s.grad(x), t + 1
        assert abs(t - math.log(0.7 / eps) / math.log(1.1)) < 10


# ---------------------------------------------------------------------------------------------
# The drivers and call styles added for this notebook


def test_surface_function_driver_builds_callables_and_reports_problems():
    case = {"surface": {"name": "himmelblau", "kwargs": {}}, "args": ["@value", np.array([1.0, 2.0])], "kwargs": {}}
    out = drivers.DRIVERS["surface_function"](lambda f, x: np.array([f(x)]), case)
    assert out == {"result": out["result"], "mutated": []} and out["result"][0] == 68.0

    def mutate(f, x):
        x += 1
        return np.zeros((2, 2))

    assert drivers.surface_function(mutate, copy.deepcopy(case))["mutated"] == ["argument 2"]
    assert "ZeroDivisionError" in drivers.surface_function(lambda f, x: 1 / 0, case)["error"]
    bad = {**case, "surface": {"name": "no_such_surface"}}
    assert "unknown surface" in drivers.surface_function(lambda f, x: 0, bad)["error"]
    assert "NotPlain" == drivers.surface_function(lambda f, x: object(), case)["error_type"]


def test_noisy_path_driver_runs_four_times_with_fresh_generators():
    calls = []

    def fn(grad_fn, x0, lr, n, scale, rng):
        calls.append((scale, rng.standard_normal()))
        return np.zeros((n + 1, len(x0)))

    case = {"surface": {"name": "strict_saddle"}, "x0": np.array([1.0, 0.0]), "learning_rate": 0.1,
            "num_steps": 3, "noise_scale": 0.5, "seed": 4}
    out = drivers.noisy_path(fn, case)
    assert sorted(out["result"]) == ["no_noise", "other_seed", "path", "same_seed"]
    assert calls[0] == calls[1] and calls[2][1] != calls[0][1] and calls[3] == (0.0, calls[0][1])
    assert "error" in drivers.noisy_path(lambda *a: 1 / 0, case)


def test_symmetric_matrix_view():
    M = np.array([[1.0, 2.0], [2.0, 3.0]])
    entry = {"driver": "function", "view": "symmetric_matrix", "case": {"args": [M], "kwargs": {}}, "expected": {"H": M}}
    np.testing.assert_array_equal(checks.outputs_of(entry, lambda M: M)[0]["H"], M)
    with pytest.raises(CheckFailed, match=r"entries \[0, 1\] and \[1, 0\] differ"):
        checks.outputs_of(entry, lambda M: M + np.array([[0.0, 1e-9], [0.0, 0.0]]))


def test_noisy_path_view_wants_the_same_path_for_the_same_seed():
    case = {"surface": {"name": "strict_saddle"}, "x0": np.array([1.0, 0.0]), "learning_rate": 0.1,
            "num_steps": 3, "noise_scale": 0.5, "seed": 4}
    entry = {"driver": "noisy_path", "case": case, "expected": {"path": None}}
    out = checks.outputs_of(entry, lambda g, x0, lr, n, s, rng: rng.standard_normal((n + 1, 2)))[0]
    np.testing.assert_array_equal(out["path"], np.random.default_rng(4).standard_normal((4, 2)))
    with pytest.raises(CheckFailed, match="np.random"):
        checks.outputs_of(entry, lambda g, x0, lr, n, s, rng: np.random.standard_normal((n + 1, 2)))


# ---------------------------------------------------------------------------------------------
# End to end through the sandboxed verifier (drivers and properties shipped into the sandbox)


def test_verifier_gives_the_solution_full_marks_and_a_mistake_none(tmp_path):
    from autograder.sandbox import Limits
    from autograder.verifier import verify

    sandbox = harness.sandbox_or_skip(tmp_path / "lib")
    cells = [c.source for c in harness.solution_cells(AID)]
    (tmp_path / "a").mkdir()
    v = verify(ASSIGNMENT, cells, sandbox, tmp_path / "a", Limits(wall_seconds=60), 12345)
    assert v.score == 11 and not v.flags and not v.cell_errors
    global_noise = [c.replace("rng.standard_normal(x.shape)", "np.random.standard_normal(x.shape)") for c in cells]
    assert global_noise != cells
    (tmp_path / "b").mkdir()
    v = verify(ASSIGNMENT, global_noise, sandbox, tmp_path / "b", Limits(wall_seconds=60), 12345)
    assert {n: e.score for n, e in v.exercises.items()}["perturbed_gradient_descent"] == 0
    assert v.score == 11 - ASSIGNMENT.exercise("perturbed_gradient_descent").points


# ---------------------------------------------------------------------------------------------
# Loss landscapes: linear_interpolation_losses and filter_normalized_direction


def test_landscape_cases_cover_what_the_hidden_tests_promise():
    rng = lambda: np.random.default_rng(ASSIGNMENT.kernel_seed)  # noqa: E731
    interp = interpolation_cases(rng())
    alphas = [np.asarray(c["alphas"]) for c in interp]
    assert any(a.size == 0 for a in alphas) and any(a.size == 1 for a in alphas)
    assert any(a.size and a.min() < 0 for a in alphas) and any(a.size and a.max() > 1 for a in alphas)
    assert any(a.size > 2 and not np.all(np.diff(a) > 0) and not np.all(np.diff(a) < 0) for a in alphas)  # unsorted
    assert any(a.size > 2 and np.all(np.diff(a) < 0) for a in alphas)  # descending
    assert any(list(a) == [0.0, 1.0] for a in alphas)
    assert any(np.array_equal(c["theta_a"], c["theta_b"]) for c in interp)
    assert {len(c["theta_a"]) for c in interp} >= {2, 3}
    assert any(c["surface"].get("transform") for c in interp) and any(c["surface"]["name"] == "quadratic" for c in interp)
    directions = direction_cases(rng())
    assert any(np.ndim(w) == 2 and not np.all(np.any(w != 0, axis=0)) for c in directions for w in c["weights"])
    assert any(sum(np.ndim(w) == 1 for w in c["weights"]) > sum(np.ndim(w) == 2 for w in c["weights"])
               for c in directions)  # an extra 1-D array (batch norm's gamma)
    assert any(np.shape(w)[1] == 1 for c in directions for w in c["weights"] if np.ndim(w) == 2)
    assert all(len(c["seeds"]) == 2 and c["seeds"][0] != c["seeds"][1] for c in directions)


def test_landscape_references_agree_with_the_solution(solutions):
    for seed in range(3):
        for name, make in (("linear_interpolation_losses", interpolation_cases),
                           ("filter_normalized_direction", direction_cases)):
            ex = ASSIGNMENT.exercise(name)
            for case in make(np.random.default_rng(seed)):
                expected, actual = ex.reference(copy.deepcopy(case)), ex.run(solutions[name], case)
                assert compare_plain(expected, actual, rtol=1e-12) == [], ex.describe(case)
                assert not ex.judge(case, actual)


def test_filter_direction_reference_has_the_promised_properties():
    weights = direction_cases(np.random.default_rng(3))[2]["weights"]  # the case with a dead unit
    d = ref.filter_direction(weights, np.random.default_rng(0))
    for w, dw in zip(weights, d):
        assert dw.shape == w.shape
        if w.ndim == 1:
            assert not dw.any()
        else:
            np.testing.assert_allclose(np.linalg.norm(dw, axis=0), np.linalg.norm(w, axis=0), rtol=1e-12)
            assert not np.allclose(dw, w)
    again = ref.filter_direction(weights, np.random.default_rng(0))
    other = ref.filter_direction(weights, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(d, again)) and not np.array_equal(d[0], other[0])


def test_landscape_expected_data_names_the_classic_mistakes():
    names = {check: {m["name"] for m in entry.get("mistakes", [])} for check, entry in load_expected(AID).items()}
    assert {"swapped", "clipped", "missing_minus", "evenly_spaced"} <= names["interpolation_losses"]
    assert {"swapped", "clipped"} <= names["interpolation_unsorted_alphas"]
    assert {"rows", "layer_norm", "unnormalized", "unit_filters", "biases_kept", "matrices_only_drawn",
            "uniform"} <= names["filter_direction_mlp"]


@pytest.mark.parametrize(("check", "exercise", "mutant", "says"), [
    ("interpolation_losses", "linear_interpolation_losses", "endpoints_evaluated", "called loss_fn 11 times for 9 alphas"),
    ("interpolation_losses", "linear_interpolation_losses", "relative_to_start", "called loss_fn 10 times"),
    ("interpolation_losses", "linear_interpolation_losses", "returns_list", "Python list"),
    ("interpolation_losses", "linear_interpolation_losses", "vectorized", "np.vectorize without otypes"),
    ("interpolation_losses", "linear_interpolation_losses", "list_of_arrays", "Python list"),
    ("interpolation_losses", "linear_interpolation_losses", "mutates_theta_a", "modified its input theta_a"),
    ("filter_direction_mlp", "filter_normalized_direction", "global_random", "same seed"),
    ("filter_direction_mlp", "filter_normalized_direction", "own_generator", "generators of different seeds"),
    ("filter_direction_mlp", "filter_normalized_direction", "overwrites_list", "modified its input weights"),
])
def test_visible_checks_name_the_unstored_landscape_mistakes(check, exercise, mutant, says):
    with pytest.raises(CheckFailed, match=re.escape(says)):
        run_check(AID, check, MUTANTS[exercise][mutant][0], quiet=True)


def test_interpolation_driver_records_the_calls_and_refuses_batches():
    case = {"surface": {"name": "himmelblau", "kwargs": {}}, "theta_a": np.array([1.0, 2.0]),
            "theta_b": np.array([3.0, 2.0]), "alphas": np.array([0.0, 0.5, 2.0])}
    out = drivers.interpolation(lambda f, a, b, al: np.array([f(a + t * (b - a)) for t in al]), copy.deepcopy(case))
    np.testing.assert_array_equal(out["points where loss_fn was called"], [[1.0, 2.0], [2.0, 2.0], [5.0, 2.0]])
    np.testing.assert_array_equal(out["result"], surfaces.himmelblau().value(out["points where loss_fn was called"]))
    assert out["mutated"] == []
    batch = drivers.interpolation(lambda f, a, b, al: f(np.stack([a, b])), copy.deepcopy(case))
    assert "flat parameter vector of shape (2,)" in batch["error"]
    runaway = drivers.interpolation(lambda f, a, b, al: [f(a) for _ in range(10**6)], copy.deepcopy(case))
    assert "more than" in runaway["error"]

    def in_place(f, a, b, al):
        al *= 2
        return np.zeros(3)

    assert drivers.interpolation(in_place, copy.deepcopy(case))["mutated"] == ["alphas"]
    assert "error" in drivers.interpolation(lambda *a: 0, {**case, "surface": {"name": "no_such_surface"}})


def test_direction_driver_uses_fresh_generators_and_sees_mutations():
    case = {"weights": [np.ones((3, 2)), np.zeros(2)], "seeds": [5, 6]}
    out = drivers.direction(lambda ws, rng: [rng.standard_normal(w.shape) for w in ws], case)
    first, second, repeat = out["result"]
    np.testing.assert_array_equal(first[0], np.random.default_rng(5).standard_normal((3, 2)))
    assert all(np.array_equal(a, b) for a, b in zip(first, repeat)) and not np.array_equal(first[0], second[0])
    assert out["mutated"] == []

    def scale_in_place(ws, rng):
        ws[0] *= 2
        return [w.copy() for w in ws]

    assert drivers.direction(scale_in_place, case)["mutated"] == ["weights (arrays changed in place)"]
    assert drivers.direction(lambda ws, rng: ws.append(1) or [], case)["mutated"] == ["weights (items of the list replaced)"]
    assert drivers.direction(lambda ws, rng: object(), case)["error_type"] == "NotPlain"


def test_direction_hints_for_draws_that_cannot_match_a_mutant():
    ex = ASSIGNMENT.exercise("filter_normalized_direction")
    case = direction_cases(np.random.default_rng(0))[1]

    def transposed_draw(weights, rng):  # right norms and zeros, but another draw order
        out = []
        for w in weights:
            g = rng.standard_normal(w.shape[::-1]).T
            out.append(np.zeros(w.shape) if w.ndim == 1 else g / np.linalg.norm(g, axis=0) * np.linalg.norm(w, axis=0))
        return out

    problems = ex.judge(case, ex.run(transposed_draw, case))
    assert problems and "draw one rng.standard_normal(w.shape) for every array" in problems[0]

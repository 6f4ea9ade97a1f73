"""Hidden tests of 01_challenges: the cases, the references they are judged against, and hints.

The source notebook's hidden-test cells call ``get("01_challenges").check("gradient_descent",
gradient_descent)`` (and so on); the verifier runs the same cases out of the kernel. Cases are
plain data:

* ``gradient_descent`` (driver ``descent``, which builds ``grad_fn`` from the case and records
  where it is called): quadratics ½xᵀAx − bᵀx in 1 to 6 dimensions given by ``A`` and ``b``, and
  surfaces of ``nnopt_helpers.surfaces`` by name (Rosenbrock, Himmelblau, the six-hump camel, a
  rotated bowl); zero and one step, a start exactly at a minimum, learning rates that crawl,
  oscillate and diverge, one call with keyword arguments;
* ``max_stable_learning_rate``, ``optimal_learning_rate`` (driver ``function``, ``args=[A]``):
  1×1, diagonal, rotated and random symmetric positive definite matrices up to 8×8, a repeated
  eigenvalue, condition numbers up to 10⁴ and tiny scales;
* ``gd_convergence_rate`` (``args=[A, learning_rate]``): learning rates where λmin decides, where
  λmax decides, divergent ones (rate > 1) and ones with learning_rate·λmin > 1;
* ``empirical_risk`` (``args=[w, X, y]``): N from 1 to 60, d from 1 to 6 (N < d too), a bias
  column of ones, an exact fit, w = 0;
* ``predicted_optimal_steps`` (driver ``value``): the number of steps the learner derived.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.challenges``
on the same case and names the one that gives exactly the learner's output, if any.
"""

from __future__ import annotations

import math

import numpy as np

from ..references import challenges as ref
from ..spec import Assignment, Exercise
from .common import mutant_explainer

__all__ = ["ASSIGNMENT", "descent_cases", "matrix_cases", "rate_cases", "risk_cases", "describe_descent_case",
           "describe_matrix_case", "describe_rate_case", "describe_risk_case", "spd_matrix", "public_descent"]

GRAD_POINTS = ref.GRAD_POINTS


# ---------------------------------------------------------------------------------------------
# Cases


def spd_matrix(rng, eigenvalues) -> np.ndarray:
    """Q diag(eigenvalues) Qᵀ with a random orthogonal Q: symmetric positive definite, not diagonal."""
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    d = len(eigenvalues)
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.diag(R))
    A = (Q * eigenvalues) @ Q.T
    return 0.5 * (A + A.T)


def _random_spectrum(rng, d, kappa) -> np.ndarray:
    scale = float(10.0 ** rng.uniform(-1, 1))
    inner = np.sort(np.exp(rng.uniform(0.0, np.log(kappa), max(d - 2, 0))))
    return scale * np.concatenate([[1.0], inner, [kappa]])[:d] if d >= 2 else np.array([scale])


def _quadratic(A, b) -> dict:
    return {"A": np.asarray(A, dtype=np.float64), "b": np.asarray(b, dtype=np.float64)}


def _descent(problem, x0, learning_rate, num_steps, keywords=False) -> dict:
    case = {"problem": problem, "x0": np.asarray(x0, dtype=np.float64), "learning_rate": float(learning_rate),
            "num_steps": int(num_steps)}
    if keywords:
        case["keywords"] = True
    return case


def descent_cases(rng: np.random.Generator) -> list[dict]:
    """Cases for ``gradient_descent`` (driver ``descent``)."""
    cases = []
    # 1-D quadratic a·x²/2 − c·x
    a = float(rng.uniform(0.5, 4.0))
    cases.append(_descent(_quadratic([[a]], [rng.standard_normal()]), rng.standard_normal(1), 0.3 / a,
                          int(rng.integers(4, 9))))
    # 2-D rotated quadratic with b != 0, near the optimal learning rate
    lam = np.array([1.0, float(rng.uniform(3, 20))])
    A = spd_matrix(rng, lam)
    cases.append(_descent(_quadratic(A, rng.standard_normal(2)), 2 * rng.standard_normal(2),
                          2.0 / (lam[0] + lam[1]), int(rng.integers(10, 21))))
    # 3-D to 6-D quadratics with learning rate 1/λmax
    for _ in range(2):
        d = int(rng.integers(3, 7))
        lam = _random_spectrum(rng, d, float(rng.uniform(2, 50)))
        cases.append(_descent(_quadratic(spd_matrix(rng, lam), rng.standard_normal(d)), rng.standard_normal(d),
                              1.0 / lam[-1], int(rng.integers(8, 16))))
    # zero steps and one step
    d = int(rng.integers(2, 5))
    lam = _random_spectrum(rng, d, 10.0)
    cases.append(_descent(_quadratic(spd_matrix(rng, lam), rng.standard_normal(d)), rng.standard_normal(d),
                          1.0 / lam[-1], 0))
    cases.append(_descent(_quadratic(spd_matrix(rng, lam), rng.standard_normal(d)), rng.standard_normal(d),
                          1.0 / lam[-1], 1))
    # a start exactly at the minimum (the gradient is exactly zero): every row equals x0
    d = int(rng.integers(2, 5))
    cases.append(_descent(_quadratic(spd_matrix(rng, _random_spectrum(rng, d, 5.0)), np.zeros(d)), np.zeros(d),
                          0.1, int(rng.integers(3, 7))))
    # oscillating (1.9/λmax) and diverging (2.3/λmax, kept short so every value stays finite)
    for factor, steps in ((1.9, 12), (2.3, 10)):
        d = int(rng.integers(2, 5))
        lam = _random_spectrum(rng, d, float(rng.uniform(2, 10)))
        cases.append(_descent(_quadratic(spd_matrix(rng, lam), np.zeros(d)), rng.standard_normal(d),
                              factor / lam[-1], steps))
    # non-convex surfaces by name
    cases.append(_descent({"surface": "rosenbrock", "kwargs": {}}, [-1.2, 1.0], 1e-3, int(rng.integers(15, 31))))
    cases.append(_descent({"surface": "rosenbrock", "kwargs": {}}, [1.0, 1.0], 1e-3, 5))  # at the minimum
    cases.append(_descent({"surface": "himmelblau", "kwargs": {}}, rng.uniform(-4, 4, 2), 0.01,
                          int(rng.integers(15, 31))))
    cases.append(_descent({"surface": "six_hump_camel", "kwargs": {}}, rng.uniform(-1.5, 1.5, 2), 0.02,
                          int(rng.integers(10, 21))))
    cases.append(_descent({"surface": "quadratic_bowl", "kwargs": {"condition_number": 20.0, "angle": 0.3}},
                          rng.uniform(-2, 2, 2), 0.09, int(rng.integers(10, 21))))
    # called with keyword arguments: the parameter names are part of the interface
    d = int(rng.integers(2, 5))
    lam = _random_spectrum(rng, d, 8.0)
    cases.append(_descent(_quadratic(spd_matrix(rng, lam), rng.standard_normal(d)), rng.standard_normal(d),
                          1.5 / lam[-1], int(rng.integers(5, 11)), keywords=True))
    return cases


def repeated_eigenvalue_matrix() -> np.ndarray:
    """A 4×4 matrix with eigenvalues (1, 3, 3, 3) in a rotated basis (np.linalg.eigvals may return complex)."""
    return spd_matrix(np.random.default_rng(13), [1.0, 3.0, 3.0, 3.0])


def _matrices(rng) -> list[np.ndarray]:
    mats = []
    for _ in range(3):  # random ones first: the hints of the first failures are the most telling
        d = int(rng.integers(3, 9))
        mats.append(spd_matrix(rng, _random_spectrum(rng, d, float(10 ** rng.uniform(0.3, 3)))))
    mats += [spd_matrix(rng, [1.0, float(rng.uniform(2, 30))]),
             np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]),  # eigvals returns them unsorted
             repeated_eigenvalue_matrix(),
             spd_matrix(rng, [1e-3, 5e-3, 2e-2]),  # a tiny scale
             spd_matrix(rng, np.geomspace(1.0, 1e4, 5)),  # κ = 10⁴
             np.diag(np.sort(rng.uniform(0.5, 10, 3))),  # diagonal: max|A_ij| and the diagonal are right here
             np.array([[float(rng.uniform(0.5, 5))]])]
    return mats


def matrix_cases(rng: np.random.Generator) -> list[dict]:
    """Cases for ``max_stable_learning_rate`` and ``optimal_learning_rate`` (driver ``function``)."""
    return [{"args": [A], "kwargs": {}} for A in _matrices(rng)]


def rate_cases(rng: np.random.Generator) -> list[dict]:
    """Cases for ``gd_convergence_rate``: each matrix with small, optimal, large and divergent learning rates."""
    cases = []
    for A in _matrices(rng):
        lam = np.linalg.eigvalsh(A)
        lo, hi = float(lam[0]), float(lam[-1])
        for lr in (0.1 / hi, 2.0 / (lo + hi), 1.8 / hi, 2.5 / hi, float(rng.uniform(0.05, 2.0)) / hi):
            cases.append({"args": [A, lr], "kwargs": {}})
    A = spd_matrix(rng, [1.0, 1.2])  # learning_rate·λmin > 1: the absolute value matters
    cases.append({"args": [A, 1.5], "kwargs": {}})
    cases.append({"args": [np.array([[2.0]]), 0.75], "kwargs": {}})
    return cases


def risk_cases(rng: np.random.Generator) -> list[dict]:
    """Cases for ``empirical_risk`` (driver ``function``, args [w, X, y])."""
    cases = []

    def add(N, d, bias=False, exact=False, zero_w=False):
        X = rng.standard_normal((N, d)) * float(10 ** rng.uniform(-1, 1))
        if bias:
            X[:, 0] = 1.0
        w = np.zeros(d) if zero_w else rng.standard_normal(d)
        y = X @ w if exact else X @ rng.standard_normal(d) + rng.standard_normal(N)
        cases.append({"args": [w, X, y], "kwargs": {}})

    add(int(rng.integers(10, 61)), int(rng.integers(2, 7)), bias=True)
    add(int(rng.integers(10, 61)), int(rng.integers(2, 7)))
    add(1, 1)
    add(1, 3)
    add(int(rng.integers(2, 6)), 1)
    add(3, 5)  # fewer samples than features
    add(int(rng.integers(5, 20)), 3, exact=True)
    add(int(rng.integers(5, 20)), 2, zero_w=True)
    for _ in range(2):
        add(int(rng.integers(2, 40)), int(rng.integers(1, 7)), bias=bool(rng.integers(0, 2)))
    return cases


# ---------------------------------------------------------------------------------------------
# Descriptions


def _vec(x) -> str:
    return "(" + ", ".join(f"{float(v):.3g}" for v in np.ravel(x)) + ")"


def describe_descent_case(case) -> str:
    """E.g. ``10 steps on a 3-D quadratic from x0 = (...) with learning_rate 0.12``."""
    problem = case["problem"]
    if "surface" in problem:
        kwargs = problem.get("kwargs") or {}
        what = problem["surface"] + (f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else "")
    else:
        what = f"a {len(problem['b'])}-D quadratic ½xᵀAx − bᵀx"
    how = " (called with keyword arguments)" if case.get("keywords") else ""
    return (f"{case['num_steps']} step{'s' if case['num_steps'] != 1 else ''} on {what} from x0 = {_vec(case['x0'])} "
            f"with learning_rate {case['learning_rate']:.4g}{how}")


def _eig_text(A) -> str:
    lam = np.linalg.eigvalsh(np.asarray(A))
    return f"a {A.shape[0]}×{A.shape[0]} matrix with eigenvalues from {lam[0]:.4g} to {lam[-1]:.4g}"


def describe_matrix_case(case) -> str:
    return _eig_text(case["args"][0])


def describe_rate_case(case) -> str:
    return f"{_eig_text(case['args'][0])} and learning_rate {case['args'][1]:.4g}"


def describe_risk_case(case) -> str:
    w, X, y = case["args"]
    return f"X of shape {X.shape}, w of shape {w.shape}, y of shape {y.shape}"


# ---------------------------------------------------------------------------------------------
# Hints


def _descent_fallback(case, actual) -> str | None:
    """A hint for a gradient_descent result that no known mistake explains."""
    n, d = case["num_steps"], len(case["x0"])
    result, points = actual.get("result"), actual.get(GRAD_POINTS)
    if isinstance(result, np.ndarray) and result.shape != (n + 1, d):
        return f"the path must have shape (num_steps + 1, d) = ({n + 1}, {d}): x_0 = x0, then one row per step"
    if isinstance(points, np.ndarray) and len(points) != n:
        return (f"grad_fn was called {len(points)} times for num_steps = {n}: call it once per step, at "
                "x_0 … x_{num_steps−1}")
    return None


def _explainer(name: str, driver: str):
    """explain(case, expected, actual): name the known mistake whose output equals ``actual``."""
    return mutant_explainer("01_challenges", name, driver, nan_equal=False,
                            copy_case=True, fallback=_descent_fallback if name == "gradient_descent" else None)


# ---------------------------------------------------------------------------------------------
# The assignment


ASSIGNMENT = Assignment(
    id="01_challenges",
    notebook="01_challenges.ipynb",
    exercises=(
        Exercise(
            name="gradient_descent",
            driver="descent",
            make_cases=descent_cases,
            reference=ref.gradient_descent_case,
            rtol=1e-8,
            explain=_explainer("gradient_descent", "descent"),
            describe=describe_descent_case,
            public=lambda: public_descent(),
        ),
        Exercise(
            name="max_stable_learning_rate",
            driver="function",
            make_cases=matrix_cases,
            reference=ref.max_stable_learning_rate_case,
            rtol=1e-8,
            explain=_explainer("max_stable_learning_rate", "function"),
            describe=describe_matrix_case,
            public=lambda: public_matrix("max_stable_learning_rate"),
        ),
        Exercise(
            name="optimal_learning_rate",
            driver="function",
            make_cases=matrix_cases,
            reference=ref.optimal_learning_rate_case,
            rtol=1e-8,
            explain=_explainer("optimal_learning_rate", "function"),
            describe=describe_matrix_case,
            public=lambda: public_matrix("optimal_learning_rate"),
        ),
        Exercise(
            name="gd_convergence_rate",
            driver="function",
            make_cases=rate_cases,
            reference=ref.gd_convergence_rate_case,
            rtol=1e-8,
            explain=_explainer("gd_convergence_rate", "function"),
            describe=describe_rate_case,
            public=lambda: public_rate(),
        ),
        Exercise(
            name="predicted_optimal_steps",
            driver="value",
            make_cases=lambda rng: [{}],
            # the κ = 10 bowl (λ = 1, 10) at η* = 2/11: both factors 1 − η*λ are ±9/11, so
            # ‖x_t − x*‖ = (9/11)^t ‖x_0 − x*‖ exactly; (9/11)^t ≤ 1e-6 first at t = ⌈ln 1e6 / ln(11/9)⌉ = 69
            reference=lambda case: {"result": math.ceil(math.log(1e6) / math.log(11 / 9))},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer("01_challenges", "predicted_optimal_steps", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
        Exercise(
            name="empirical_risk",
            driver="function",
            make_cases=risk_cases,
            reference=ref.empirical_risk_case,
            rtol=1e-9,
            explain=_explainer("empirical_risk", "function"),
            describe=describe_risk_case,
            public=lambda: public_risk(),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Visible checks: nnopt_helpers/expected/01_challenges.json


#: The matrix of the visible checks: symmetric positive definite, not diagonal, eigenvalues ≈ 0.918, 2.39, 4.69.
VISIBLE_A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])


def public_descent() -> dict:
    """Gradient descent on a 2-D quadratic, on Rosenbrock, and started at Rosenbrock's minimum."""
    rosenbrock = {"surface": "rosenbrock", "kwargs": {}}
    return {name: {"case": _descent(problem, x0, lr, n), "outputs": ["path", "grad_calls"], "tol": 1e-7}
            for name, problem, x0, lr, n in (
        ("gradient_descent", _quadratic([[3.0, 1.0], [1.0, 2.0]], [1.0, -0.5]), [1.5, -1.0], 0.2, 8),
        ("gradient_descent_rosenbrock", rosenbrock, [-1.2, 1.0], 1e-3, 6),
        ("gradient_descent_at_minimum", rosenbrock, [1.0, 1.0], 1e-3, 4))}


def _function_check(args: list, output: str) -> dict:
    return {"case": {"args": args, "kwargs": {}}, "outputs": [output], "tol": 1e-7}


def public_matrix(name: str) -> dict:
    return {name: _function_check([VISIBLE_A], "learning_rate")}


def public_rate() -> dict:
    """Rates for a small and a large learning rate, and one above 1/λmin (eigenvalues 1 and 1.2)."""
    lam = ref.spectrum(VISIBLE_A)
    return {name: _function_check([A, lr], "rate") for name, A, lr in (
        ("gd_convergence_rate_small_lr", VISIBLE_A, 0.2 / lam[-1]),
        ("gd_convergence_rate_large_lr", VISIBLE_A, 1.8 / lam[-1]),
        ("gd_convergence_rate_lr_above_one_over_lambda_min", np.array([[1.1, 0.1], [0.1, 1.1]]), 1.5))}


def public_risk() -> dict:
    N = 6
    X = np.column_stack([np.ones(N), np.linspace(-1.0, 1.5, N), np.linspace(2.0, -0.5, N) ** 2])
    w = np.array([0.5, -1.0, 0.25])
    y = np.linspace(-0.3, 0.9, N) + np.array([0.1, -0.2, 0.05, 0.3, -0.1, 0.0])
    return {"empirical_risk": _function_check([w, X, y], "risk")}

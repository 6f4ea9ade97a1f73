"""References for 01_challenges, written with explicit loops and an SVD (not as the solutions are).

Conventions (docs/conventions.md):

    gradient_descent(grad_fn, x0, learning_rate, num_steps) -> path (num_steps + 1, d):
        x_0 = x0, x_{t+1} = x_t − learning_rate · grad_fn(x_t); grad_fn is called once per step,
        at x_0 … x_{num_steps−1}
    for f(x) = ½ xᵀAx (A symmetric positive definite, eigenvalues λ_1 ≤ … ≤ λ_d):
        max_stable_learning_rate(A) = 2/λ_max
        optimal_learning_rate(A)    = 2/(λ_min + λ_max)
        gd_convergence_rate(A, lr)  = max_i |1 − lr·λ_i|
    empirical_risk(w, X, y) = (1/N) Σ_n (x_nᵀw − y_n)²  (no ½; X already holds every column)

The eigenvalues come from the singular values (for a symmetric positive definite matrix they are
the same numbers), so the reference shares no code path with ``np.linalg.eigvalsh``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spectrum", "problem_gradient", "descent_path", "gradient_descent_case",
           "max_stable_learning_rate_case", "optimal_learning_rate_case", "gd_convergence_rate_case",
           "empirical_risk_value", "empirical_risk_case", "GRAD_POINTS", "REFERENCES"]

#: Key of the descent driver's output that lists the points where grad_fn was called.
GRAD_POINTS = "points where grad_fn was called"


def spectrum(A) -> list[float]:
    """Eigenvalues of a symmetric positive definite matrix, ascending, as Python floats (via the SVD)."""
    singular_values = np.linalg.svd(np.array(A, dtype=np.float64), compute_uv=False)
    return sorted(float(s) for s in singular_values)


def problem_gradient(problem: dict):
    """The gradient of a descent case's problem: ``{"A", "b"}`` (a loop) or ``{"surface", "kwargs"}``."""
    if "surface" in problem:
        from nnopt_helpers import surfaces

        surface = surfaces.SURFACES[problem["surface"]](**problem.get("kwargs", {}))
        return lambda x: np.array(surface.grad(x), dtype=np.float64)
    A = np.array(problem["A"], dtype=np.float64)
    b = np.array(problem["b"], dtype=np.float64)

    def grad(x):
        d = len(b)
        g = np.empty(d)
        for i in range(d):
            g[i] = sum(A[i, j] * float(x[j]) for j in range(d)) - float(b[i])
        return g

    return grad


def descent_path(grad, x0, learning_rate, num_steps) -> np.ndarray:
    """Rows x_0 … x_num_steps of gradient descent, coordinate by coordinate."""
    x = [float(v) for v in np.asarray(x0, dtype=np.float64)]
    rows = [list(x)]
    for _ in range(int(num_steps)):
        g = grad(np.array(x))
        x = [x[i] - float(learning_rate) * float(g[i]) for i in range(len(x))]
        rows.append(list(x))
    return np.array(rows, dtype=np.float64).reshape(int(num_steps) + 1, len(x))


def gradient_descent_case(case) -> dict:
    """Driver output (``descent``) of a correct ``gradient_descent``."""
    path = descent_path(problem_gradient(case["problem"]), case["x0"], case["learning_rate"], case["num_steps"])
    return {"result": path, GRAD_POINTS: path[:-1].copy(), "mutated": []}


def _matrix(case):
    args = list(case.get("args", []))
    return args[0] if args else case["kwargs"]["A"]


def max_stable_learning_rate_case(case) -> dict:
    """Driver output (``function``) of a correct ``max_stable_learning_rate``."""
    lam = spectrum(_matrix(case))
    return {"result": 2.0 / lam[-1], "mutated": []}


def optimal_learning_rate_case(case) -> dict:
    """Driver output (``function``) of a correct ``optimal_learning_rate``."""
    lam = spectrum(_matrix(case))
    return {"result": 2.0 / (lam[0] + lam[-1]), "mutated": []}


def gd_convergence_rate_case(case) -> dict:
    """Driver output (``function``) of a correct ``gd_convergence_rate``."""
    args = list(case.get("args", []))
    lr = float(args[1] if len(args) > 1 else case["kwargs"]["learning_rate"])
    rate = 0.0
    for lam in spectrum(_matrix(case)):
        rate = max(rate, abs(1.0 - lr * lam))
    return {"result": rate, "mutated": []}


def empirical_risk_value(w, X, y) -> float:
    """(1/N) Σ_n (Σ_j X[n, j]·w[j] − y[n])², one sample at a time."""
    X = np.asarray(X, dtype=np.float64)
    total = 0.0
    for n in range(X.shape[0]):
        prediction = sum(float(X[n, j]) * float(w[j]) for j in range(X.shape[1]))
        total += (prediction - float(y[n])) ** 2
    return total / X.shape[0]


def empirical_risk_case(case) -> dict:
    """Driver output (``function``) of a correct ``empirical_risk``."""
    w, X, y = case["args"]
    return {"result": empirical_risk_value(w, X, y), "mutated": []}


REFERENCES = {
    "gradient_descent": gradient_descent_case,
    "max_stable_learning_rate": max_stable_learning_rate_case,
    "optimal_learning_rate": optimal_learning_rate_case,
    "gd_convergence_rate": gd_convergence_rate_case,
    "empirical_risk": empirical_risk_case,
}

"""Known mistakes in the 01_challenges exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are

    gradient_descent: path rows x_0 = x0, x_{t+1} = x_t − learning_rate·grad_fn(x_t), shape
        (num_steps + 1, d), grad_fn called once per step at x_0 … x_{num_steps−1}, x0 unchanged
    max_stable_learning_rate(A) = 2/λmax; optimal_learning_rate(A) = 2/(λmin + λmax);
    gd_convergence_rate(A, lr) = max_i |1 − lr·λ_i|
    empirical_risk(w, X, y) = mean((X @ w − y)²)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MUTANTS"]


# ---------------------------------------------------------------------------------------------
# gradient_descent


def gd_missing_x0(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = []
    for _ in range(num_steps):
        x = x - learning_rate * grad_fn(x)
        path.append(x)
    return np.array(path).reshape(num_steps, x.size)


def gd_one_step_short(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps - 1):  # num_steps rows in all, x0 included
        x = x - learning_rate * grad_fn(x)
        path.append(x)
    return np.array(path)


def gd_one_step_too_many(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps + 1):
        x = x - learning_rate * grad_fn(x)
        path.append(x)
    return np.array(path)


def gd_ascent(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps):
        x = x + learning_rate * grad_fn(x)
        path.append(x)
    return np.array(path)


def gd_mutates_x0(grad_fn, x0, learning_rate, num_steps):
    x = x0  # no copy: the caller's array is the iterate
    path = [x.copy()]
    for _ in range(num_steps):
        x -= learning_rate * grad_fn(x)
        path.append(x.copy())
    return np.array(path)


def gd_rows_alias(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps):
        x -= learning_rate * grad_fn(x)  # in place: every row in `path` is this one array
        path.append(x)
    return np.array(path)


def gd_gradient_once(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    g = grad_fn(x)  # computed once, before the loop
    path = [x]
    for _ in range(num_steps):
        x = x - learning_rate * g
        path.append(x)
    return np.array(path)


def gd_stops_early(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps):
        g = grad_fn(x)
        if np.linalg.norm(g) < 1e-8:  # "converged": but the path must still have num_steps + 1 rows
            break
        x = x - learning_rate * g
        path.append(x)
    return np.array(path)


def gd_returns_last_point(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    for _ in range(num_steps):
        x = x - learning_rate * grad_fn(x)
    return x


def gd_returns_list(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps):
        x = x - learning_rate * grad_fn(x)
        path.append(x)
    return path


def gd_extra_gradient_call(grad_fn, x0, learning_rate, num_steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    g = grad_fn(x)
    for _ in range(num_steps):
        x = x - learning_rate * g
        g = grad_fn(x)  # also evaluated at the last point, where it is never used
        path.append(x)
    return np.array(path)


# ---------------------------------------------------------------------------------------------
# max_stable_learning_rate


def stable_one_over_lambda_max(A):
    return 1.0 / np.linalg.eigvalsh(A)[-1]


def stable_lambda_min(A):
    return 2.0 / np.linalg.eigvalsh(A)[0]  # eigvalsh sorts ascending: [0] is the smallest


def stable_max_entry(A):
    return 2.0 / np.max(np.abs(A))


def stable_trace(A):
    return 2.0 / np.trace(A)


def stable_frobenius_norm(A):
    return 2.0 / np.linalg.norm(A)


def stable_eigvals_last(A):
    return 2.0 / np.real(np.linalg.eigvals(A))[-1]  # eigvals does not sort


def stable_eigvals_complex(A):
    return 2.0 / np.max(np.linalg.eigvals(A))  # may be complex for a symmetric A


# ---------------------------------------------------------------------------------------------
# optimal_learning_rate


def optimal_missing_two(A):
    lam = np.linalg.eigvalsh(A)
    return 1.0 / (lam[0] + lam[-1])


def optimal_two_over_lambda_max(A):
    return 2.0 / np.linalg.eigvalsh(A)[-1]


def optimal_one_over_lambda_max(A):
    return 1.0 / np.linalg.eigvalsh(A)[-1]


def optimal_difference(A):
    lam = np.linalg.eigvalsh(A)
    return 2.0 / (lam[-1] - lam[0]) if lam[-1] > lam[0] else np.inf


def optimal_trace(A):
    return 2.0 / np.trace(A)  # λmin + λmax only when d = 2


def optimal_diagonal(A):
    diag = np.diag(A)
    return 2.0 / (diag.min() + diag.max())  # the eigenvalues only for a diagonal A


def optimal_inverted(A):
    lam = np.linalg.eigvalsh(A)
    return (lam[0] + lam[-1]) / 2.0


# ---------------------------------------------------------------------------------------------
# gd_convergence_rate


def rate_lambda_max_only(A, learning_rate):
    return abs(1.0 - learning_rate * np.linalg.eigvalsh(A)[-1])


def rate_lambda_min_only(A, learning_rate):
    return abs(1.0 - learning_rate * np.linalg.eigvalsh(A)[0])


def rate_no_abs(A, learning_rate):
    return float(np.max(1.0 - learning_rate * np.linalg.eigvalsh(A)))


def rate_min_instead_of_max(A, learning_rate):
    return float(np.min(np.abs(1.0 - learning_rate * np.linalg.eigvalsh(A))))


def rate_kappa_formula(A, learning_rate):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return (kappa - 1.0) / (kappa + 1.0)  # the best rate, whatever the learning rate


def rate_diagonal(A, learning_rate):
    return float(np.max(np.abs(1.0 - learning_rate * np.diag(A))))


# ---------------------------------------------------------------------------------------------
# empirical_risk


def risk_sum(w, X, y):
    return float(np.sum((X @ w - y) ** 2))


def risk_half(w, X, y):
    return float(0.5 * np.mean((X @ w - y) ** 2))


def risk_root(w, X, y):
    return float(np.sqrt(np.mean((X @ w - y) ** 2)))


def risk_absolute(w, X, y):
    return float(np.mean(np.abs(X @ w - y)))


def risk_square_of_mean(w, X, y):
    return float(np.mean(X @ w - y) ** 2)


def risk_divides_by_d(w, X, y):
    return float(np.sum((X @ w - y) ** 2) / X.shape[1])


def risk_column_broadcast(w, X, y):
    predictions = (X @ w).reshape(-1, 1)  # (N, 1) − (N,) broadcasts to (N, N)
    return float(np.mean((predictions - y) ** 2))


MUTANTS = {
    "gradient_descent": {
        "missing_x0": (
            gd_missing_x0,
            "the path starts at x_1: x0 is missing. The path has num_steps + 1 rows, x_0 = x0 first"),
        "one_step_short": (
            gd_one_step_short,
            "the path has num_steps rows: the loop takes num_steps − 1 steps. Take num_steps steps, "
            "so that the path holds x_0 … x_num_steps (num_steps + 1 rows)"),
        "one_step_too_many": (
            gd_one_step_too_many,
            "the loop takes num_steps + 1 steps: the path has num_steps + 2 rows instead of num_steps + 1"),
        "ascent": (
            gd_ascent,
            "the step goes uphill (x + learning_rate·grad): gradient *descent* subtracts the gradient, "
            "x_{t+1} = x_t − learning_rate·grad_fn(x_t)"),
        "mutates_x0": (
            gd_mutates_x0,
            "x0 is changed in place (x = x0, then x -= ...): start from a copy, x = np.array(x0, dtype=float)"),
        "rows_alias": (
            gd_rows_alias,
            "every row of the path is the last point: the list holds one array that `x -= ...` updates in "
            "place. Build a new array each step (x = x - learning_rate * g) or append x.copy()"),
        "gradient_once": (
            gd_gradient_once,
            "the gradient is computed once, before the loop, and reused: call grad_fn(x) at every step, "
            "at the current point"),
        "stops_early": (
            gd_stops_early,
            "the loop stops early when the gradient is (nearly) zero, so the path is shorter: always take "
            "num_steps steps (from a minimum, every row equals x0)"),
        "returns_last_point": (
            gd_returns_last_point,
            "only the last point is returned: return the whole path, an array of shape (num_steps + 1, d)"),
        "returns_list": (
            gd_returns_list,
            "the path is a Python list: return np.array(path), of shape (num_steps + 1, d)"),
        "extra_gradient_call": (
            gd_extra_gradient_call,
            "grad_fn is also called at the last point, whose gradient is never used: call it once per "
            "step, at x_0 … x_{num_steps−1} (gradients are the expensive part of an optimizer)"),
    },
    "max_stable_learning_rate": {
        "one_over_lambda_max": (
            stable_one_over_lambda_max,
            "this is 1/λmax; the largest stable learning rate is 2/λmax (|1 − ηλmax| < 1 means 0 < η < 2/λmax)"),
        "lambda_min": (
            stable_lambda_min,
            "this is 2/λmin, the smallest eigenvalue: np.linalg.eigvalsh sorts the eigenvalues in ascending "
            "order, so λmax is the last one, eigvalsh(A)[-1] (np.linalg.eigvals does not sort at all)"),
        "max_entry": (
            stable_max_entry,
            "this uses the largest entry of A, max|A_ij|, which is λmax only for a diagonal matrix: use the "
            "eigenvalues, np.linalg.eigvalsh(A)"),
        "trace": (
            stable_trace,
            "this uses the trace of A, the *sum* of the eigenvalues: λmax is the largest eigenvalue"),
        "frobenius_norm": (
            stable_frobenius_norm,
            "this uses np.linalg.norm(A), the Frobenius norm √(Σλ²): λmax is the largest eigenvalue "
            "(np.linalg.norm(A, 2) would be)"),
        "eigvals_last": (
            stable_eigvals_last,
            "np.linalg.eigvals does not sort its eigenvalues, so [-1] is not always the largest; for a "
            "symmetric matrix use np.linalg.eigvalsh (real, ascending)"),
        "eigvals_complex": (
            stable_eigvals_complex,
            "the result is complex: np.linalg.eigvals is the solver for general matrices and can return "
            "eigenvalues with tiny imaginary parts (~1e-16) for a symmetric A; use np.linalg.eigvalsh"),
    },
    "optimal_learning_rate": {
        "missing_two": (
            optimal_missing_two,
            "this is 1/(λmin + λmax): the optimal learning rate is 2/(λmin + λmax)"),
        "two_over_lambda_max": (
            optimal_two_over_lambda_max,
            "this is 2/λmax, the edge of stability, where the steepest direction stops converging: the "
            "optimum balances both ends, 2/(λmin + λmax)"),
        "one_over_lambda_max": (
            optimal_one_over_lambda_max,
            "this is 1/λmax, which solves the steepest direction in one step but leaves the flat ones "
            "slow: the optimum is 2/(λmin + λmax)"),
        "difference": (
            optimal_difference,
            "this uses λmax − λmin: the optimal learning rate is 2/(λmin + λmax), the sum"),
        "trace": (
            optimal_trace,
            "this uses the trace of A (the sum of *all* eigenvalues), which equals λmin + λmax only in "
            "2-D: use the smallest and the largest eigenvalue"),
        "diagonal": (
            optimal_diagonal,
            "this reads the eigenvalues off the diagonal of A, right only for a diagonal matrix: use "
            "np.linalg.eigvalsh(A)"),
        "inverted": (
            optimal_inverted,
            "this is (λmin + λmax)/2, the reciprocal of the answer: 2/(λmin + λmax)"),
    },
    "gd_convergence_rate": {
        "lambda_max_only": (
            rate_lambda_max_only,
            "only λmax is used: with a small learning rate the slowest direction is λmin's, so take the "
            "maximum of |1 − lr·λ| over *all* eigenvalues"),
        "lambda_min_only": (
            rate_lambda_min_only,
            "only λmin is used: with a large learning rate the worst direction is λmax's (it oscillates), "
            "so take the maximum of |1 − lr·λ| over all eigenvalues"),
        "no_abs": (
            rate_no_abs,
            "the absolute value is missing: a factor 1 − lr·λ < 0 flips the sign every step and still "
            "shrinks (or grows) the error by |1 − lr·λ|"),
        "min_instead_of_max": (
            rate_min_instead_of_max,
            "this is the *fastest* direction's factor (a minimum): the rate is the slowest one, max_i |1 − lr·λ_i|"),
        "kappa_formula": (
            rate_kappa_formula,
            "this is (κ − 1)/(κ + 1), the rate at the *optimal* learning rate only: compute "
            "max_i |1 − learning_rate·λ_i| for the learning rate given"),
        "diagonal": (
            rate_diagonal,
            "this uses the diagonal entries of A as eigenvalues, right only for a diagonal matrix: use "
            "np.linalg.eigvalsh(A)"),
    },
    "empirical_risk": {
        "sum": (
            risk_sum,
            "this is the *sum* of squared errors: the empirical risk is their mean (divide by N)"),
        "half": (
            risk_half,
            "this is ½·MSE: the course's empirical risk has no ½, mean((X @ w − y)²)"),
        "root": (
            risk_root,
            "this is the root of the mean squared error (RMSE): do not take the square root"),
        "absolute": (
            risk_absolute,
            "this is the mean *absolute* error: square the residuals"),
        "square_of_mean": (
            risk_square_of_mean,
            "this squares the mean residual, (mean(X @ w − y))²: square each residual first, then average"),
        "divides_by_d": (
            risk_divides_by_d,
            "the sum is divided by the number of features d = X.shape[1]: divide by the number of samples "
            "N = X.shape[0]"),
        "column_broadcast": (
            risk_column_broadcast,
            "the predictions have shape (N, 1) and y has shape (N,), so their difference broadcasts to an "
            "(N, N) matrix: keep both 1-D, X @ w with w of shape (d,)"),
    },
    "predicted_optimal_steps": {
        "loss_gap_not_distance": (
            math.ceil(math.log(1e6) / (2 * math.log(11 / 9))),
            "this counts the steps until the loss gap f(x_t) − f* falls by 1e-6; it is quadratic in the error "
            "and shrinks by (9/11)² per step. The question is about the distance ‖x_t − x*‖, which shrinks by "
            "9/11 per step: ln(1e6) / ln(11/9) ≈ 68.9, so 69 steps"),
        "log10_over_ln": (
            math.ceil(math.log10(1e6) / math.log(11 / 9)),
            "this divides log10(1e6) = 6 by a natural logarithm, ln(11/9): use the same logarithm on both "
            "sides, ln(1e6) / ln(11/9) ≈ 68.9, so 69 steps"),
        "linearized_log": (
            math.ceil(math.log(1e6) / (2 / 11)),
            "this replaces ln(1/ρ) by 1 − ρ = 2/11, which overestimates the count by about 10%: solve "
            "(9/11)^t ≤ 1e-6 exactly, t ≥ ln(1e6) / ln(11/9) ≈ 68.9, so 69 steps"),
        "rate_one_minus_inverse_kappa": (
            math.ceil(math.log(1e6) / math.log(1 / 0.9)),
            "this uses the factor 1 − λmin/λmax = 0.9, the rate of η = 1/λmax; at η* = 2/(λmin + λmax) = 2/11 "
            "both factors are ±(κ − 1)/(κ + 1) = ±9/11, so t ≥ ln(1e6) / ln(11/9) ≈ 68.9: 69 steps"),
    },
}

"""References for 02_local_optima, written with explicit loops (not as the solutions are).

Conventions (docs/conventions.md, and the docstrings of the notebook):

    numerical_hessian(f, x, h):  H[i, j] ≈ [f(x+heᵢ+heⱼ) − f(x+heᵢ−heⱼ) − f(x−heᵢ+heⱼ) + f(x−heᵢ−heⱼ)] / (4h²),
                                 exactly symmetric. (Judged against the analytic Hessian, see
                                 autograder/properties/local_optima.py; this one is for experiments.)
    classify_critical_point(H, tol): eigenvalues λ of the symmetric H; |λ| ≤ tol counts as zero;
        all λ > tol -> 'minimum'; all λ < −tol -> 'maximum'; some λ > tol and some λ < −tol ->
        'saddle'; otherwise (a zero eigenvalue and no sign change) -> 'degenerate'.
    find_minima(f, grad_fn, starts, lr, n, tol): n steps of x ← x − lr·∇f(x) from each start; an
        endpoint is kept when it is finite, ‖∇f‖ ≤ tol and its Hessian classifies as 'minimum',
        and it is farther than tol (Euclidean) from every minimum kept before; rows in the order of
        the starts that first reach them; shape (k, d).
    perturbed_gradient_descent: x ← x − lr·∇f(x) + noise_scale·ξ, ξ ~ N(0, I) from rng, every step.
    linear_interpolation_losses(loss_fn, θa, θb, alphas): [loss_fn((1 − α)·θa + α·θb) for α in alphas],
        float64, shape (n,); loss_fn called once per α, in order, and at nothing else.
    filter_normalized_direction(weights, rng): one rng.standard_normal(w.shape) per array of
        ``weights``, in order; a 1-D array's direction is zero; in a 2-D (fan_in, fan_out) matrix
        each column (a neuron's incoming weights) is rescaled to the norm of that column of w.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["hessian_fd", "classify", "descend", "minima_from_starts", "classify_case", "find_minima_case",
           "perturbed_path", "interpolation_points", "interpolation_case", "filter_direction", "direction_case"]


def hessian_fd(f, x, h=1e-4) -> np.ndarray:
    """Central-difference Hessian, each unordered pair computed once (upper triangle, then mirrored)."""
    x = np.array(x, dtype=np.float64)
    d = x.shape[0]
    H = np.zeros((d, d))
    for i in range(d):
        for j in range(i, d):
            total = 0.0
            for si, sj, sign in ((1, 1, 1.0), (1, -1, -1.0), (-1, 1, -1.0), (-1, -1, 1.0)):
                y = x.copy()
                y[i] += si * h
                y[j] += sj * h
                total += sign * float(f(y))
            H[i, j] = H[j, i] = total / (4.0 * h * h)
    return H


def classify(H, tol=1e-8) -> str:
    """The second-derivative test on the eigenvalues of the symmetric matrix ``H``."""
    H = np.array(H, dtype=np.float64)
    lam = np.linalg.eigvalsh(0.5 * (H + H.T))
    n_pos = sum(1 for v in lam if v > tol)
    n_neg = sum(1 for v in lam if v < -tol)
    if n_pos == len(lam):
        return "minimum"
    if n_neg == len(lam):
        return "maximum"
    if n_pos and n_neg:
        return "saddle"
    return "degenerate"


def classify_case(case) -> dict:
    """Driver output of a correct ``classify_critical_point`` on a ``function`` case."""
    args = list(case.get("args", []))
    kwargs = dict(case.get("kwargs", {}))
    H = args[0] if args else kwargs["H"]
    tol = args[1] if len(args) > 1 else kwargs.get("tol", 1e-8)
    return {"result": classify(H, tol), "mutated": []}


def descend(grad, x0, learning_rate, num_steps) -> np.ndarray:
    """Plain gradient descent from x0 (shape (d,), or (n, d) with a vectorized grad); the endpoint(s)."""
    x = np.array(x0, dtype=np.float64)
    for _ in range(int(num_steps)):
        x = x - learning_rate * np.asarray(grad(x), dtype=np.float64)
    return x


def minima_from_starts(value, grad, starts, learning_rate, num_steps, tol=1e-3, hessian=None) -> np.ndarray:
    """The distinct minima reached from ``starts`` (see the module docstring), shape (k, d).

    ``hessian``: an analytic Hessian function; default the central-difference one above.
    """
    starts = np.array(starts, dtype=np.float64)
    # Every start at once (the surfaces' gradients are vectorized over leading dimensions).
    with np.errstate(all="ignore"):
        ends = descend(grad, starts, learning_rate, num_steps) if len(starts) else starts
    kept: list[np.ndarray] = []
    for x in ends:
        if not np.all(np.isfinite(x)):
            continue
        g = np.asarray(grad(x), dtype=np.float64)
        if not math.sqrt(float(np.sum(g * g))) <= tol:
            continue
        H = hessian(x) if hessian is not None else hessian_fd(value, x)
        if classify(H) != "minimum":
            continue
        if any(math.sqrt(float(np.sum((x - m) ** 2))) <= tol for m in kept):
            continue
        kept.append(x)
    return np.array(kept, dtype=np.float64).reshape(len(kept), starts.shape[1])


def find_minima_case(case) -> np.ndarray:
    """The minima a correct ``find_minima`` returns on a ``surface_function`` case (grader side)."""
    from autograder.drivers import surface_from_spec

    s = surface_from_spec(case["surface"])
    starts, lr, n = case["args"][2:5]
    tol = case.get("kwargs", {}).get("tol", 1e-3)
    return minima_from_starts(s.value, s.grad, starts, lr, n, tol, hessian=s.hessian)


def perturbed_path(grad, x0, learning_rate, num_steps, noise_scale, rng) -> np.ndarray:
    """The course's perturbed gradient descent, one coordinate at a time (for expected data)."""
    x = np.array(x0, dtype=np.float64)
    path = np.zeros((int(num_steps) + 1, x.shape[0]))
    path[0] = x
    for t in range(int(num_steps)):
        g = np.asarray(grad(x), dtype=np.float64)
        xi = rng.standard_normal(x.shape[0])
        new = np.empty_like(x)
        for k in range(x.shape[0]):
            new[k] = x[k] - learning_rate * g[k] + noise_scale * xi[k]
        x = new
        path[t + 1] = x
    return path


def interpolation_points(theta_a, theta_b, alphas) -> np.ndarray:
    """Rows (1 − α)·θa + α·θb, one per α, built coordinate by coordinate; shape (n, d)."""
    a = np.array(theta_a, dtype=np.float64)
    b = np.array(theta_b, dtype=np.float64)
    alphas = np.array(alphas, dtype=np.float64).reshape(-1)
    points = np.zeros((len(alphas), a.shape[0]))
    for k, alpha in enumerate(alphas):
        for i in range(a.shape[0]):
            points[k, i] = (1.0 - alpha) * a[i] + alpha * b[i]
    return points


def interpolation_case(case) -> dict:
    """Driver output of a correct ``linear_interpolation_losses`` on an ``interpolation`` case (grader side)."""
    from autograder.drivers import surface_from_spec

    s = surface_from_spec(case["surface"])
    points = interpolation_points(case["theta_a"], case["theta_b"], case["alphas"])
    losses = np.array([float(s.value(p)) for p in points], dtype=np.float64)
    return {"result": losses, "points where loss_fn was called": points, "mutated": []}


def filter_direction(weights, rng) -> list:
    """Li et al.'s filter-normalized Gaussian direction (the course's draw order), column by column."""
    out = []
    for w in weights:
        w = np.array(w, dtype=np.float64)
        g = rng.standard_normal(w.shape)
        if w.ndim == 1:
            out.append(np.zeros(w.shape))
            continue
        d = np.zeros(w.shape)
        for j in range(w.shape[1]):
            w_norm = math.sqrt(float(np.sum(w[:, j] ** 2)))
            g_norm = math.sqrt(float(np.sum(g[:, j] ** 2)))
            d[:, j] = g[:, j] * (w_norm / g_norm)
        out.append(d)
    return out


def direction_case(case) -> dict:
    """Driver output of a correct ``filter_normalized_direction`` on a ``direction`` case: one draw per
    seed, then the first seed again."""
    seeds = [int(s) for s in case["seeds"]]
    return {"result": [filter_direction(case["weights"], np.random.default_rng(s)) for s in seeds + seeds[:1]],
            "mutated": []}

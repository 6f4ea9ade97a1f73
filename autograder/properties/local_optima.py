"""Properties behind the hidden tests of 02_local_optima (no answers here: see the package docstring).

* ``numerical_hessian``: a float64 (d, d) array, exactly symmetric, within the accuracy central
  differences reach of the surface's *analytic* Hessian: max |H − H_true| ≤ 1e-5·max(1, max|H_true|)
  plus the rounding allowance 100·ε·max(1, |f(x)|)/h² (ε the float64 machine epsilon). Forward
  differences (error ~h·f‴) and wrong denominators (a factor 4) are far outside it.
* ``find_minima``: a float64 (k, d) array; every row a true minimum of the surface (gradient norm
  ≤ tol, analytic Hessian positive definite); rows pairwise farther apart than tol; the same set as
  the case's ``minima`` (computed by the grader), in the same order (the order the starts reach them).
* ``perturbed_gradient_descent``: the four runs of the ``noisy_path`` driver have shape
  (num_steps + 1, d) and start at x0; without noise the path is plain gradient descent; the same
  seed gives the same path and another seed another path; the perturbations
  x_{t+1} − (x_t − lr·∇f(x_t)) have mean ≈ 0 and standard deviation ≈ noise_scale; the path ends
  below the case's ``escape_value`` (it left the saddle).
"""

from __future__ import annotations

import numpy as np

__all__ = ["numerical_hessian_properties", "find_minima_properties", "perturbed_gd_properties"]

_EPS = float(np.finfo(np.float64).eps)


def _surface(spec):
    from autograder.drivers import surface_from_spec  # the grader's whole spec (a transform included)

    return surface_from_spec(spec)


def _array_problems(value, shape, what) -> list[str]:
    if type(value) is not np.ndarray:
        return [f"{what} should be a NumPy array of shape {shape}, got {type(value).__name__}"]
    if value.shape != shape:
        return [f"{what} has shape {value.shape}, expected {shape}"]
    if value.dtype != np.float64:
        return [f"{what} has dtype {value.dtype}, expected float64"]
    if not np.all(np.isfinite(value)):
        return [f"{what} contains NaN or inf"]
    return []


def _fmt(v) -> str:
    return np.array2string(np.asarray(v), precision=4, suppress_small=True)


# ---------------------------------------------------------------------------------------------


def numerical_hessian_properties(case, actual) -> list[str]:
    """Problems with a numerical Hessian: shape, symmetry, accuracy against the analytic Hessian."""
    surface = _surface(case["surface"])
    x = np.array(case["args"][1], dtype=np.float64)
    h = float(case.get("kwargs", {}).get("h", 1e-4))
    d = x.shape[0]
    H = actual.get("result")
    problems = _array_problems(H, (d, d), "the returned Hessian")
    if problems:
        return problems
    if not np.array_equal(H, H.T):
        gap = np.abs(H - H.T)
        i, j = np.unravel_index(int(np.argmax(gap)), gap.shape)
        return [f"the Hessian is not symmetric: H[{i}, {j}] and H[{j}, {i}] differ by {gap[i, j]:.2g} "
                "(compute each pair once and copy it, or return (H + H.T) / 2)"]
    true = surface.hessian(x)
    allowed = 1e-5 * max(1.0, float(np.max(np.abs(true)))) + 100 * _EPS * max(1.0, abs(float(surface.value(x)))) / h**2
    err = np.abs(H - true)
    if float(err.max()) > allowed:
        i, j = np.unravel_index(int(np.argmax(err)), err.shape)
        return [f"H[{i}, {j}] is {H[i, j]:.8g} but the second derivative there is {true[i, j]:.8g} "
                f"(error {err[i, j]:.2g}; central differences with h = {h:g} reach {allowed:.1g})"]
    return []


def find_minima_properties(case, actual) -> list[str]:
    """Problems with a set of minima: shape, each row a minimum, distinct, complete, in order."""
    surface = _surface(case["surface"])
    starts = np.array(case["args"][2], dtype=np.float64)
    tol = float(case.get("kwargs", {}).get("tol", 1e-3))
    expected = np.array(case["minima"], dtype=np.float64).reshape(-1, starts.shape[1])
    M = actual.get("result")
    d = starts.shape[1]
    if type(M) is not np.ndarray or M.ndim != 2 or M.shape[1:] != (d,):
        what = f"shape {M.shape}" if type(M) is np.ndarray else type(M).__name__
        return [f"the result should be a NumPy array of shape (k, {d}), one row per minimum, got {what}"]
    return (_array_problems(M, M.shape, "the result") or _not_minima(M, surface, tol) or _duplicates(M, tol)
            or _unlike(M, expected, tol))


def _not_minima(M, surface, tol) -> list[str]:
    """The first row that is not a critical point with a positive definite Hessian."""
    for r, x in enumerate(M):
        g = float(np.linalg.norm(surface.grad(x)))
        lam = np.linalg.eigvalsh(surface.hessian(x))
        if not g <= tol:
            return [f"row {r}, {_fmt(x)}, is not a critical point: the gradient norm there is {g:.2g} > tol"]
        if not np.all(lam > 0):
            kind = "a saddle" if lam.min() < 0 < lam.max() else "not a minimum"
            return [f"row {r}, {_fmt(x)}, is {kind}: the Hessian's eigenvalues there are {_fmt(lam)} "
                    "(an endpoint of gradient descent is kept only if its Hessian is positive definite)"]
    return []


def _duplicates(M, tol) -> list[str]:
    for a in range(len(M)):
        for b in range(a):
            dist = float(np.linalg.norm(M[a] - M[b]))
            if dist <= tol:
                return [f"rows {b} and {a} are the same minimum (distance {dist:.2g} <= tol = {tol:g}): "
                        "endpoints closer than tol must be merged into one row"]
    return []


def _unlike(M, expected, tol) -> list[str]:
    """Minima that gradient descent does not reach, reached minima missing, or another order."""
    match = []
    for x in M:
        dists = np.linalg.norm(expected - x, axis=1) if len(expected) else np.zeros(0)
        match.append(int(np.argmin(dists)) if len(dists) and dists.min() <= tol else -1)
    if -1 in match:
        r = match.index(-1)
        return [f"row {r}, {_fmt(M[r])}, is a minimum but gradient descent from these starts does not reach it"]
    missing = [i for i in range(len(expected)) if i not in match]
    if missing:
        return [f"{len(M)} minima returned, expected {len(expected)}: the minimum near {_fmt(expected[missing[0]])} "
                "is missing"]
    if match != sorted(match):
        return ["the minima are right but in another order: list them in the order in which the starts "
                "first reach them"]
    return []


def perturbed_gd_properties(case, actual) -> list[str]:
    """Problems with the four runs of perturbed gradient descent (see the module docstring)."""
    surface = _surface(case["surface"])
    x0 = np.array(case["x0"], dtype=np.float64)
    lr, n, scale = float(case["learning_rate"]), int(case["num_steps"]), float(case["noise_scale"])
    runs = actual.get("result")
    if type(runs) is not dict:
        return ["the grader got no paths"]
    shape = (n + 1, x0.shape[0])
    for key in ("path", "same_seed", "other_seed", "no_noise"):
        problems = _array_problems(runs.get(key), shape, "the path" if key == "path" else f"the path ({key})")
        if problems:
            if key == "path" and type(runs.get(key)) is np.ndarray and runs[key].shape == (n, x0.shape[0]):
                problems[0] += ": the path includes x0 as its first row, then one row per step"
            return problems
    path, plain = runs["path"], runs["no_noise"]
    if not (np.array_equal(path[0], x0) and np.array_equal(plain[0], x0)):
        return [f"the path starts at {_fmt(path[0])}, not at x0 = {_fmt(x0)}: its first row is x0 itself"]
    step = plain[:-1] - lr * surface.grad(plain[:-1])
    bad = np.abs(plain[1:] - step) > 1e-12 * (1.0 + np.abs(step))
    if bad.any():
        t = int(np.argmax(bad.any(axis=1)))
        return [f"with noise_scale = 0 the path should be plain gradient descent, x_(t+1) = x_t − learning_rate·∇f(x_t); "
                f"step {t + 1} gives {_fmt(plain[t + 1])} instead of {_fmt(step[t])}"]
    if not np.array_equal(path, runs["same_seed"]):
        return ["two runs with generators of the same seed gave different paths: draw the noise from the "
                "rng argument (rng.standard_normal), not from np.random.* or a generator made inside"]
    if scale > 0 and np.array_equal(path, runs["other_seed"]):
        return ["runs with different seeds gave the same path: the noise must come from the rng argument"]
    if scale > 0:
        noise = path[1:] - (path[:-1] - lr * surface.grad(path[:-1]))
        std, mean = float(noise.std()), float(noise.mean())
        if not 0.75 * scale <= std <= 1.33 * scale:
            hint = ""
            if abs(std - lr * scale) <= 0.25 * lr * scale:
                hint = " (it looks multiplied by the learning rate)"
            elif abs(std - 1.0) <= 0.25:
                hint = " (it looks unscaled: multiply the standard normal draws by noise_scale)"
            return [f"the perturbations x_(t+1) − (x_t − learning_rate·∇f(x_t)) have standard deviation {std:.3g}, "
                    f"expected noise_scale = {scale:g}{hint}; add noise_scale·rng.standard_normal(d) at every step"]
        if abs(mean) > 6 * scale / np.sqrt(noise.size):
            return [f"the perturbations have mean {mean:.3g}: they should be zero-mean Gaussian "
                    "(rng.standard_normal, not rng.random)"]
        final = float(surface.value(path[-1]))
        if not final < float(case["escape_value"]):
            return [f"the path did not escape the saddle: f(x) at the end is {final:.4g}, "
                    f"expected below {float(case['escape_value']):.4g}"]
    return []

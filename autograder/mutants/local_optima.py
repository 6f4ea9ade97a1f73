"""Known mistakes in the 02_local_optima exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are in
``autograder/references/local_optima.py``.
"""

from __future__ import annotations

import numpy as np

from ..references.local_optima import classify, hessian_fd

__all__ = ["MUTANTS"]


# ---------------------------------------------------------------------------------------------
# numerical_hessian


def _shift(x, i, j, si, sj, h):
    y = np.array(x, dtype=np.float64)
    y[i] += si * h
    y[j] += sj * h
    return y


def hessian_forward(f, x, h=1e-4):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[0]
    H = np.zeros((d, d))
    fx = f(x)
    for i in range(d):
        for j in range(i, d):
            H[i, j] = H[j, i] = (f(_shift(x, i, j, 1, 1, h)) - f(_shift(x, i, i, 1, 0, h))
                                 - f(_shift(x, j, j, 1, 0, h)) + fx) / (h * h)
    return H


def hessian_denominator_h2(f, x, h=1e-4):
    return 4.0 * hessian_fd(f, x, h)  # the 4-point stencil divided by h² instead of 4h²


def hessian_diagonal_denominator(f, x, h=1e-4):
    # Off the diagonal the 4-point stencil over 4h² (right); on it the 3-point stencil
    # f(x+h) − 2f(x) + f(x−h), also over 4h² (it needs h²).
    x = np.asarray(x, dtype=np.float64)
    H = hessian_fd(f, x, h)
    for i in range(x.shape[0]):
        H[i, i] = (f(_shift(x, i, i, 1, 0, h)) - 2 * f(x) + f(_shift(x, i, i, -1, 0, h))) / (4 * h * h)
    return H


def _central_gradient(f, x, h):
    g = np.zeros(x.shape[0])
    for j in range(x.shape[0]):
        g[j] = (f(_shift(x, j, j, 1, 0, h)) - f(_shift(x, j, j, -1, 0, h))) / (2 * h)
    return g


def hessian_not_symmetrized(f, x, h=1e-4):
    # Row i: central difference, step h, of a numerical gradient with its own step (1e-5, the
    # usual default of a gradient check). Right to O(h²), but H[i, j] and H[j, i] come from
    # different points, so H != H.T.
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[0]
    H = np.zeros((d, d))
    for i in range(d):
        H[i] = (_central_gradient(f, _shift(x, i, i, 1, 0, h), 1e-5)
                - _central_gradient(f, _shift(x, i, i, -1, 0, h), 1e-5)) / (2 * h)
    return H


def hessian_jacobian_forward(f, x, h=1e-4):
    # Forward difference of the numerical gradient, not symmetrized.
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[0]
    g0 = _central_gradient(f, x, h)
    H = np.zeros((d, d))
    for i in range(d):
        H[i] = (_central_gradient(f, _shift(x, i, i, 1, 0, h), h) - g0) / h
    return H


def hessian_mutates_x(f, x, h=1e-4):
    d = x.shape[0]
    H = np.zeros((d, d))
    for i in range(d):
        for j in range(i, d):
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                x[i] += si * h
                x[j] += sj * h
                vals.append(f(x))
                x[i] -= si * h  # x + h − h is not always x again: the caller's array drifts
                x[j] -= sj * h
            H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    x += 1e-3  # and a leftover shift that shows
    return H


def hessian_float32(f, x, h=1e-4):
    return hessian_fd(f, x, h).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# classify_critical_point


def classify_determinant_only(H, tol=1e-8):
    det = np.linalg.det(H)
    if det > tol:
        return "minimum"
    if det < -tol:
        return "saddle"
    return "degenerate"


def classify_trace_and_determinant(H, tol=1e-8):
    # The 2×2 rule (det > 0: an extremum, its kind from the trace's sign); wrong in 3-D and up.
    det, tr = np.linalg.det(H), np.trace(H)
    if det > tol:
        return "minimum" if tr > 0 else "maximum"
    if det < -tol:
        return "saddle"
    return "degenerate"


def classify_trace_only(H, tol=1e-8):
    tr = np.trace(H)
    if tr > tol:
        return "minimum"
    if tr < -tol:
        return "maximum"
    return "degenerate"


def classify_tol_ignored(H, tol=1e-8):
    return classify(H, tol=0.0)


def classify_diagonal_only(H, tol=1e-8):
    return classify(np.diag(np.diag(H)), tol)


def classify_zero_before_saddle(H, tol=1e-8):
    lam = np.linalg.eigvalsh(H)
    if np.any(np.abs(lam) <= tol):
        return "degenerate"  # checked first: an indefinite H with a zero eigenvalue is still a saddle
    if np.all(lam > 0):
        return "minimum"
    if np.all(lam < 0):
        return "maximum"
    return "saddle"


def classify_short_labels(H, tol=1e-8):
    return {"minimum": "min", "maximum": "max", "saddle": "saddle", "degenerate": "degenerate"}[classify(H, tol)]


# ---------------------------------------------------------------------------------------------
# find_minima


def _endpoints(grad_fn, starts, learning_rate, num_steps):
    x = np.array(starts, dtype=np.float64)
    try:  # all starts at once when grad_fn is vectorized (the grader's surfaces are); else one by one
        with np.errstate(all="ignore"):
            for _ in range(num_steps):
                x = x - learning_rate * np.asarray(grad_fn(x), dtype=np.float64).reshape(x.shape)
        return list(x)
    except (ValueError, TypeError):
        out = []
        for x0 in np.asarray(starts, dtype=np.float64):
            x = x0.copy()
            for _ in range(num_steps):
                x = x - learning_rate * grad_fn(x)
            out.append(x)
        return out


def _pack(points, d):
    return np.array(points, dtype=np.float64).reshape(len(points), d)


def _is_min(f, grad_fn, x, tol):
    return bool(np.all(np.isfinite(x)) and np.linalg.norm(grad_fn(x)) <= tol and classify(hessian_fd(f, x)) == "minimum")


def find_minima_duplicates_kept(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    ends = _endpoints(grad_fn, starts, learning_rate, num_steps)
    return _pack([x for x in ends if _is_min(f, grad_fn, x, tol)], np.shape(starts)[1])


def find_minima_saddles_kept(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in _endpoints(grad_fn, starts, learning_rate, num_steps):
        if np.linalg.norm(grad_fn(x)) <= tol and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x)  # every critical point, saddles included
    return _pack(kept, np.shape(starts)[1])


def find_minima_no_gradient_check(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in _endpoints(grad_fn, starts, learning_rate, num_steps):
        if classify(hessian_fd(f, x)) == "minimum" and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x)  # an endpoint that has not converged yet is kept too
    return _pack(kept, np.shape(starts)[1])


def find_minima_merged_by_value(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in _endpoints(grad_fn, starts, learning_rate, num_steps):
        if _is_min(f, grad_fn, x, tol) and not any(abs(f(x) - f(m)) <= tol for m in kept):
            kept.append(x)  # different minima with the same loss are merged
    return _pack(kept, np.shape(starts)[1])


def find_minima_sorted(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in _endpoints(grad_fn, starts, learning_rate, num_steps):
        if _is_min(f, grad_fn, x, tol) and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x)
    kept.sort(key=lambda p: tuple(p))
    return _pack(kept, np.shape(starts)[1])


def find_minima_gradient_ascent(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x0 in np.asarray(starts, dtype=np.float64):
        x = x0.copy()
        for _ in range(num_steps):
            x = x + learning_rate * grad_fn(x)
        if _is_min(f, grad_fn, x, tol) and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x)
    return _pack(kept, np.shape(starts)[1])


def find_minima_mutates_starts(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in starts:
        for _ in range(num_steps):
            x -= learning_rate * grad_fn(x)  # x is a row of starts: the caller's array changes
        if _is_min(f, grad_fn, x, tol) and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x.copy())
    return _pack(kept, np.shape(starts)[1])


def find_minima_returns_list(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    return [list(row) for row in _correct_find_minima(f, grad_fn, starts, learning_rate, num_steps, tol)]


def _correct_find_minima(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    kept = []
    for x in _endpoints(grad_fn, starts, learning_rate, num_steps):
        if _is_min(f, grad_fn, x, tol) and not any(np.linalg.norm(x - m) <= tol for m in kept):
            kept.append(x)
    return _pack(kept, np.shape(starts)[1])



# ---------------------------------------------------------------------------------------------
# perturbed_gradient_descent


def _pgd(grad_fn, x0, learning_rate, num_steps, noise):
    x = np.array(x0, dtype=np.float64)
    path = [x.copy()]
    for t in range(num_steps):
        x = x - learning_rate * grad_fn(x) + noise(t, x)
        path.append(x.copy())
    return np.array(path)


def pgd_global_random(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps, lambda t, x: noise_scale * np.random.standard_normal(x.shape))


def pgd_own_generator(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    own = np.random.default_rng(0)
    return _pgd(grad_fn, x0, learning_rate, num_steps, lambda t, x: noise_scale * own.standard_normal(x.shape))


def pgd_noise_not_scaled(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps,
                lambda t, x: (noise_scale > 0) * rng.standard_normal(x.shape))


def pgd_noise_times_learning_rate(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps,
                lambda t, x: learning_rate * noise_scale * rng.standard_normal(x.shape))


def pgd_uniform_noise(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps, lambda t, x: noise_scale * rng.random(x.shape))


def pgd_noise_first_step_only(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps,
                lambda t, x: noise_scale * rng.standard_normal(x.shape) if t == 0 else 0.0)


def pgd_no_noise(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps, lambda t, x: 0.0)


def pgd_gradient_ascent(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(lambda x: -grad_fn(x), x0, learning_rate, num_steps,
                lambda t, x: noise_scale * rng.standard_normal(x.shape))


def pgd_path_without_x0(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    return _pgd(grad_fn, x0, learning_rate, num_steps, lambda t, x: noise_scale * rng.standard_normal(x.shape))[1:]


def pgd_mutates_x0(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    x = x0
    path = [x.copy()]
    for _ in range(num_steps):
        x -= learning_rate * grad_fn(x)
        x += noise_scale * rng.standard_normal(x.shape)
        path.append(x.copy())
    return np.array(path)


MUTANTS = {
    "numerical_hessian": {
        "forward_differences": (
            hessian_forward,
            "you use forward differences, f(x+heᵢ+heⱼ) − f(x+heᵢ) − f(x+heⱼ) + f(x) over h²: their error "
            "shrinks only like h. Central differences (±h in both directions, over 4h²) are accurate to h²"),
        "denominator_h2": (
            hessian_denominator_h2,
            "every entry is 4 times too large: the 4-point stencil f(x+heᵢ+heⱼ) − f(x+heᵢ−heⱼ) − "
            "f(x−heᵢ+heⱼ) + f(x−heᵢ−heⱼ) spans 2h in each direction, so divide it by 4h², not h²"),
        "diagonal_denominator": (
            hessian_diagonal_denominator,
            "the diagonal is 4 times too small: f(x+heᵢ) − 2f(x) + f(x−heᵢ) is divided by h² (only the "
            "4-point stencil for i ≠ j, which spans 2h, needs 4h²)"),
        "not_symmetrized": (
            hessian_not_symmetrized,
            "H is built row by row from a numerical gradient (with its own step), so H[i, j] and H[j, i] "
            "come from different points and differ: compute each pair once and copy it, or return (H + H.T) / 2"),
        "jacobian_forward": (
            hessian_jacobian_forward,
            "the Hessian is a forward difference of the numerical gradient, (g(x+heᵢ) − g(x))/h: not "
            "symmetric and accurate only to O(h). Use central differences and a symmetric result"),
        "mutates_x": (
            hessian_mutates_x,
            "x is shifted in place (x[i] += h) and not restored exactly: work on a copy of x"),
        "returns_float32": (
            hessian_float32,
            "the Hessian is float32; keep float64"),
    },
    "classify_critical_point": {
        "tol_ignored": (
            classify_tol_ignored,
            "tol is ignored: an eigenvalue with |λ| <= tol counts as zero, so a tiny positive eigenvalue "
            "makes the point 'degenerate', not a 'minimum'"),
        "zero_before_saddle": (
            classify_zero_before_saddle,
            "a zero eigenvalue is checked before the signs: an H with a positive and a negative "
            "eigenvalue is a 'saddle' even when another eigenvalue is zero"),
        "short_labels": (
            classify_short_labels,
            "the labels are abbreviated: return exactly 'minimum', 'maximum', 'saddle' or 'degenerate'"),
        "diagonal_only": (
            classify_diagonal_only,
            "only the diagonal of H is used; the off-diagonal entries change the eigenvalues "
            "(use np.linalg.eigvalsh(H))"),
        "determinant_only": (
            classify_determinant_only,
            "the classification uses only the determinant: det > 0 holds for a maximum in 2-D too "
            "(and for a saddle with two negative eigenvalues in 3-D). Look at the signs of all eigenvalues "
            "(np.linalg.eigvalsh)"),
        "trace_and_determinant": (
            classify_trace_and_determinant,
            "the 2×2 rule (det > 0 and the sign of the trace) does not work in 3 or more dimensions: "
            "use the signs of the eigenvalues (np.linalg.eigvalsh)"),
        "trace_only": (
            classify_trace_only,
            "the classification uses the sign of the trace: a saddle can have any trace. Use the signs "
            "of all eigenvalues"),
    },
    "find_minima": {
        "duplicates_kept": (
            find_minima_duplicates_kept,
            "the same minimum appears several times: endpoints within tol of a minimum already found "
            "must be merged"),
        "saddles_kept": (
            find_minima_saddles_kept,
            "an endpoint that is a saddle point (zero gradient, Hessian not positive definite) is kept; "
            "keep only endpoints that classify_critical_point(numerical_hessian(f, x)) calls 'minimum'"),
        "no_gradient_check": (
            find_minima_no_gradient_check,
            "an endpoint where descent has not converged (gradient norm > tol) is kept"),
        "merged_by_value": (
            find_minima_merged_by_value,
            "minima with the same loss value are merged (Himmelblau's four minima all have f = 0): "
            "merge by distance between points, ||x − m|| <= tol"),
        "sorted": (
            find_minima_sorted,
            "the minima are sorted; list them in the order in which the starts first reach them"),
        "gradient_ascent": (
            find_minima_gradient_ascent,
            "the steps go uphill (x + learning_rate·∇f): gradient descent is x − learning_rate·∇f(x)"),
        "mutates_starts": (
            find_minima_mutates_starts,
            "the rows of starts are updated in place (x -= ...): copy each start first"),
        "returns_list": (
            find_minima_returns_list,
            "the result is a list; return a NumPy array of shape (k, d)"),
    },
    "perturbed_gradient_descent": {
        "global_random": (
            pgd_global_random,
            "the noise comes from np.random, not from the rng argument"),
        "own_generator": (
            pgd_own_generator,
            "the noise comes from a generator created inside the function, not from the rng argument"),
        "noise_not_scaled": (
            pgd_noise_not_scaled,
            "the noise is not multiplied by noise_scale"),
        "noise_times_learning_rate": (
            pgd_noise_times_learning_rate,
            "the noise is multiplied by the learning rate too; add noise_scale·rng.standard_normal(d)"),
        "uniform_noise": (
            pgd_uniform_noise,
            "the noise is uniform on [0, 1) (rng.random): use zero-mean Gaussian noise, rng.standard_normal"),
        "first_step_only": (
            pgd_noise_first_step_only,
            "noise is added only at the first step; add it at every step"),
        "no_noise": (
            pgd_no_noise,
            "no noise is added: this is plain gradient descent, which stays on the saddle"),
        "gradient_ascent": (
            pgd_gradient_ascent,
            "the steps go uphill (x + learning_rate·∇f): descend, x − learning_rate·∇f(x)"),
        "path_without_x0": (
            pgd_path_without_x0,
            "the path misses its first row: it starts with x0, then one row per step"),
        "mutates_x0": (
            pgd_mutates_x0,
            "x0 is changed in place (x = x0; x -= ...): start from a copy"),
    },
}

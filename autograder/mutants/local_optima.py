"""Known mistakes in the 02_local_optima exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are in
``autograder/references/local_optima.py``.
"""

from __future__ import annotations

import math

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


# ---------------------------------------------------------------------------------------------
# linear_interpolation_losses


def interp_swapped(loss_fn, theta_a, theta_b, alphas):
    return np.array([loss_fn(alpha * theta_a + (1 - alpha) * theta_b) for alpha in alphas], dtype=np.float64)


def interp_clipped(loss_fn, theta_a, theta_b, alphas):
    return np.array([loss_fn((1 - a) * theta_a + a * theta_b) for a in np.clip(alphas, 0.0, 1.0)], dtype=np.float64)


def interp_endpoints_evaluated(loss_fn, theta_a, theta_b, alphas):
    start, end = loss_fn(theta_a), loss_fn(theta_b)  # "for reference", never used
    del start, end
    return np.array([loss_fn((1 - a) * theta_a + a * theta_b) for a in alphas], dtype=np.float64)


def interp_relative_to_start(loss_fn, theta_a, theta_b, alphas):
    start = loss_fn(theta_a)
    return np.array([loss_fn((1 - a) * theta_a + a * theta_b) - start for a in alphas], dtype=np.float64)


def interp_returns_list(loss_fn, theta_a, theta_b, alphas):
    return [loss_fn((1 - a) * theta_a + a * theta_b) for a in alphas]


def interp_list_of_arrays(loss_fn, theta_a, theta_b, alphas):
    return [np.array([loss_fn((1 - a) * theta_a + a * theta_b)]) for a in alphas]


def interp_missing_minus(loss_fn, theta_a, theta_b, alphas):
    return np.array([loss_fn(theta_a + a * theta_b) for a in alphas], dtype=np.float64)


def interp_evenly_spaced(loss_fn, theta_a, theta_b, alphas):
    return np.array([loss_fn((1 - a) * theta_a + a * theta_b) for a in np.linspace(0.0, 1.0, len(alphas))],
                    dtype=np.float64)


def interp_vectorized(loss_fn, theta_a, theta_b, alphas):
    along = np.vectorize(lambda a: loss_fn((1 - a) * theta_a + a * theta_b))  # no otypes: one extra call
    return along(alphas)


def interp_mutates_theta_a(loss_fn, theta_a, theta_b, alphas):
    losses = np.zeros(len(alphas))
    step = theta_b - theta_a
    theta, done = theta_a, 0.0
    for k, a in enumerate(alphas):
        theta += (a - done) * step  # walks along the line in place: theta is theta_a
        done = a
        losses[k] = loss_fn(theta)
    return losses


# ---------------------------------------------------------------------------------------------
# filter_normalized_direction


def _by_columns(g, w, scale_to_w=True):
    norms_w = np.linalg.norm(w, axis=0) if scale_to_w else np.ones(w.shape[1])
    return g / np.linalg.norm(g, axis=0) * norms_w


def direction_rows(weights, rng):
    out = []
    for w in weights:
        g = rng.standard_normal(w.shape)
        if w.ndim == 1:
            out.append(np.zeros_like(w))
        else:  # each row (an input's outgoing weights) rescaled: the transpose of a filter
            out.append(_by_columns(g.T, w.T).T)
    return out


def direction_layer_norm(weights, rng):
    out = []
    for w in weights:
        g = rng.standard_normal(w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else g / np.linalg.norm(g) * np.linalg.norm(w))
    return out


def direction_unnormalized(weights, rng):
    out = []
    for w in weights:
        g = rng.standard_normal(w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else g)
    return out


def direction_unit_filters(weights, rng):
    out = []
    for w in weights:
        g = rng.standard_normal(w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else _by_columns(g, w, scale_to_w=False))
    return out


def direction_biases_kept(weights, rng):
    out = []
    for w in weights:
        g = rng.standard_normal(w.shape)
        out.append(g if w.ndim == 1 else _by_columns(g, w))
    return out


def direction_matrices_only_drawn(weights, rng):
    return [np.zeros_like(w) if w.ndim == 1 else _by_columns(rng.standard_normal(w.shape), w) for w in weights]


def direction_global_random(weights, rng):
    out = []
    for w in weights:
        g = np.random.standard_normal(w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else _by_columns(g, w))
    return out


def direction_own_generator(weights, rng):
    own = np.random.default_rng(12345)
    out = []
    for w in weights:
        g = own.standard_normal(w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else _by_columns(g, w))
    return out


def direction_uniform(weights, rng):
    out = []
    for w in weights:
        g = rng.uniform(-1.0, 1.0, w.shape)
        out.append(np.zeros_like(w) if w.ndim == 1 else _by_columns(g, w))
    return out


def direction_overwrites_list(weights, rng):
    for i, w in enumerate(weights):
        g = rng.standard_normal(w.shape)
        weights[i] = np.zeros_like(w) if w.ndim == 1 else _by_columns(g, w)
    return weights



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
    "predicted_escape_steps": {
        "linearized_log": (
            math.ceil(math.log(1e6) / 0.2),
            "this replaces ln(1 + η|λ|) by η|λ| = 0.2, which overestimates ln 1.2 = 0.182 and so underestimates "
            "the count by about 9%: solve 1.2^t · 1e-9 ≥ 1e-3 exactly, t ≥ ln(1e6) / ln 1.2 ≈ 75.8, so 76 steps"),
        "log10_over_ln": (
            math.ceil(math.log10(1e6) / math.log(1.2)),
            "this divides log10(1e6) = 6 by a natural logarithm, ln 1.2: use the same logarithm on both sides, "
            "ln(1e6) / ln 1.2 ≈ 75.8, so 76 steps"),
        "shrinking_factor": (
            math.ceil(math.log(1e6) / -math.log(0.8)),
            "this uses the factor 1 − η|λ| = 0.8, that of a positive eigenvalue; along y the eigenvalue is −1, "
            "so the factor is 1 − ηλ = 1.2 and t ≥ ln(1e6) / ln 1.2 ≈ 75.8: 76 steps"),
        "ignores_the_target": (
            math.ceil(math.log(1 / 1e-9) / math.log(1.2)),
            "this is the count to grow from 1e-9 to 1 (ln(1/ε)); the target is 1e-3: t ≥ ln(1e-3 / 1e-9) / ln 1.2 "
            "≈ 75.8, so 76 steps"),
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
    "linear_interpolation_losses": {
        "swapped": (
            interp_swapped,
            "alpha and 1 − alpha are swapped: alpha = 0 must give theta_a and alpha = 1 theta_b"),
        "clipped": (
            interp_clipped,
            "the alphas are clipped to [0, 1]: alphas below 0 or above 1 extend the line beyond theta_a and theta_b"),
        "endpoints_evaluated": (
            interp_endpoints_evaluated,
            "loss_fn is also called at theta_a and theta_b: call it exactly once per alpha, in order, and at nothing "
            "else (on a network every call is a pass over the data)"),
        "relative_to_start": (
            interp_relative_to_start,
            "the losses are reported relative to the loss at theta_a: return the losses themselves"),
        "returns_list": (
            interp_returns_list,
            "the losses come back as a Python list: return one float64 NumPy array of shape (n,)"),
        "list_of_arrays": (
            interp_list_of_arrays,
            "the losses come back as a list of arrays: return one float64 NumPy array of shape (n,), a number per alpha"),
        "missing_minus": (
            interp_missing_minus,
            "the point is theta_a + alpha·theta_b: the line from theta_a moves along theta_b − theta_a"),
        "evenly_spaced": (
            interp_evenly_spaced,
            "the alphas are replaced by evenly spaced values in [0, 1]: use the given alphas, in their order"),
        "vectorized": (
            interp_vectorized,
            "np.vectorize without otypes calls loss_fn once more, on the first alpha, to learn the output type: "
            "loop over the alphas, or give np.vectorize otypes=[float]"),
        "mutates_theta_a": (
            interp_mutates_theta_a,
            "theta_a is changed in place (theta = theta_a; theta += ...): build each point as a new array"),
    },
    "filter_normalized_direction": {
        "rows": (
            direction_rows,
            "each row of W is rescaled: a filter of a (fan_in, fan_out) matrix is a column, the incoming weights "
            "of one unit"),
        "layer_norm": (
            direction_layer_norm,
            "the whole matrix is rescaled to the norm of W (layer normalization): rescale each column to the norm "
            "of that column of W"),
        "unnormalized": (
            direction_unnormalized,
            "the Gaussian draw is not rescaled: each column must get the norm of the same column of W"),
        "unit_filters": (
            direction_unit_filters,
            "each column has norm 1: rescale it to the norm of the same column of W"),
        "biases_kept": (
            direction_biases_kept,
            "the 1-D arrays (biases) keep their random draw: their direction is zero"),
        "matrices_only_drawn": (
            direction_matrices_only_drawn,
            "nothing is drawn for the 1-D arrays: draw one rng.standard_normal(w.shape) for every array of "
            "weights, in order, 1-D arrays included (then set their direction to zero)"),
        "global_random": (
            direction_global_random,
            "the direction is drawn from np.random (two generators of the same seed give different directions), "
            "not from the rng argument"),
        "own_generator": (
            direction_own_generator,
            "the direction comes from a generator created inside the function, not from the rng argument"),
        "uniform": (
            direction_uniform,
            "the draw is uniform (rng.uniform): Li et al. draw Gaussian directions, rng.standard_normal"),
        "overwrites_list": (
            direction_overwrites_list,
            "the list of weights is overwritten (weights[i] = ...) and returned: build and return a new list"),
    },
}

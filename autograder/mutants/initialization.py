"""Known mistakes in the 05_initialization exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are

    xavier_uniform:  U(−a, a), a = √(6/(fan_in + fan_out)), shape (fan_in, fan_out), drawn from rng
    xavier_normal:   N(0, σ²), σ = √(2/(fan_in + fan_out))
    he_normal:       N(0, σ²), σ = √(2/fan_in)
    orthogonal:      gain × Haar-random orthonormal columns (fan_in ≥ fan_out) or rows (fan_in < fan_out)
    lsuv_init:       layer by layer, W ← W/√Var(out) until |Var(out) − 1| < tol, ≤ max_iter times
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MUTANTS"]


# ---------------------------------------------------------------------------------------------
# xavier_uniform


def xu_bound_fan_in_only(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xu_normal_not_uniform(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xu_std_as_bound(fan_in, fan_out, rng):
    a = math.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xu_no_sqrt(fan_in, fan_out, rng):
    a = 6.0 / (fan_in + fan_out)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xu_zero_to_a(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(0.0, a, size=(fan_in, fan_out))


def xu_global_random(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, size=(fan_in, fan_out))


def xu_fixed_seed(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return np.random.default_rng(0).uniform(-a, a, size=(fan_in, fan_out))


def xu_transposed(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))


def xu_float32(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# xavier_normal


def xn_variance_as_std(fan_in, fan_out, rng):
    return rng.normal(0.0, 2.0 / (fan_in + fan_out), size=(fan_in, fan_out))


def xn_uniform_not_normal(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xn_lecun(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def xn_one_over_sum(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(1.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xn_unscaled(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out))


def xn_global_random(fan_in, fan_out, rng):
    return np.random.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xn_transposed(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_out, fan_in))


def xn_fixed_seed(fan_in, fan_out, rng):
    return np.random.default_rng(1234).normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


# ---------------------------------------------------------------------------------------------
# he_normal


def he_fan_out(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / fan_out), size=(fan_in, fan_out))


def he_variance_as_std(fan_in, fan_out, rng):
    return rng.normal(0.0, 2.0 / fan_in, size=(fan_in, fan_out))


def he_xavier_std(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def he_lecun(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    a = math.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_global_random(fan_in, fan_out, rng):
    return np.random.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_float32(fan_in, fan_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# orthogonal


def _qr_fixed(n, k, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def orth_no_sign_fix(fan_in, fan_out, rng, gain=1.0):
    n, k = max(fan_in, fan_out), min(fan_in, fan_out)
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return gain * (q if fan_in >= fan_out else q.T)


def orth_gain_ignored(fan_in, fan_out, rng, gain=1.0):
    q = _qr_fixed(max(fan_in, fan_out), min(fan_in, fan_out), rng)
    return q if fan_in >= fan_out else q.T


def orth_gain_squared(fan_in, fan_out, rng, gain=1.0):
    q = _qr_fixed(max(fan_in, fan_out), min(fan_in, fan_out), rng)
    return gain**2 * (q if fan_in >= fan_out else q.T)


def orth_reshape_not_transpose(fan_in, fan_out, rng, gain=1.0):
    q = _qr_fixed(max(fan_in, fan_out), min(fan_in, fan_out), rng)
    return gain * q.reshape(fan_in, fan_out)


def orth_gaussian(fan_in, fan_out, rng, gain=1.0):
    return gain * rng.standard_normal((fan_in, fan_out)) / math.sqrt(max(fan_in, fan_out))


def orth_columns_normalized(fan_in, fan_out, rng, gain=1.0):
    G = rng.standard_normal((fan_in, fan_out))
    return gain * G / np.linalg.norm(G, axis=0)


def orth_wide_square(fan_in, fan_out, rng, gain=1.0):
    q, r = np.linalg.qr(rng.standard_normal((fan_in, fan_out)))
    return gain * q * np.sign(np.diag(r))


def orth_global_random(fan_in, fan_out, rng, gain=1.0):
    n, k = max(fan_in, fan_out), min(fan_in, fan_out)
    q, r = np.linalg.qr(np.random.standard_normal((n, k)))
    q = q * np.sign(np.diag(r))
    return gain * (q if fan_in >= fan_out else q.T)


# ---------------------------------------------------------------------------------------------
# lsuv_init


def _lsuv(weights, forward_fn, X, tol, max_iter, scale, measure=np.var, order=None, cap=None):
    new = [np.array(W, dtype=np.float64) for W in weights]
    for i in (order if order is not None else range(len(new))):
        for _ in range(max_iter if cap is None else cap):
            v = float(measure(forward_fn(new, X)[i]))
            if abs(v - 1.0) < tol:
                break
            new[i] = scale(new[i], v)
    return new


def lsuv_divides_by_variance(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / v)


def lsuv_multiplies(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W * math.sqrt(v))


def lsuv_single_pass(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / math.sqrt(v), cap=1)


def lsuv_variances_from_first_pass(weights, forward_fn, X, tol=1e-2, max_iter=10):
    new = [np.array(W, dtype=np.float64) for W in weights]
    outs = forward_fn(new, X)
    for i, out in enumerate(outs):
        v = float(np.var(out))
        if abs(v - 1.0) >= tol:
            new[i] = new[i] / math.sqrt(v)
    return new


def lsuv_reverse_order(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / math.sqrt(v),
                 order=range(len(weights) - 1, -1, -1))


def lsuv_second_moment(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / math.sqrt(v),
                 measure=lambda a: np.mean(a**2))


def lsuv_ignores_max_iter(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / math.sqrt(v), cap=200)


def lsuv_one_extra_iteration(weights, forward_fn, X, tol=1e-2, max_iter=10):
    return _lsuv(weights, forward_fn, X, tol, max_iter, lambda W, v: W / math.sqrt(v), cap=max_iter + 1)


def lsuv_mutates_input(weights, forward_fn, X, tol=1e-2, max_iter=10):
    for i in range(len(weights)):
        for _ in range(max_iter):
            v = float(np.var(forward_fn(weights, X)[i]))
            if abs(v - 1.0) < tol:
                break
            weights[i] /= math.sqrt(v)
    return weights


def lsuv_returns_input_list(weights, forward_fn, X, tol=1e-2, max_iter=10):
    for i in range(len(weights)):
        for _ in range(max_iter):
            v = float(np.var(forward_fn(weights, X)[i]))
            if abs(v - 1.0) < tol:
                break
            weights[i] = weights[i] / math.sqrt(v)
    return weights


MUTANTS = {
    "xavier_uniform": {
        "bound_fan_in_only": (
            xu_bound_fan_in_only,
            "the bound uses fan_in only, a = √(6/fan_in); Glorot's compromise averages both directions: "
            "a = √(6/(fan_in + fan_out))"),
        "normal_not_uniform": (
            xu_normal_not_uniform,
            "the entries follow a normal distribution (some exceed ±a); xavier_uniform draws from "
            "U(−a, a), e.g. rng.uniform(-a, a, size=(fan_in, fan_out))"),
        "std_as_bound": (
            xu_std_as_bound,
            "the bound a is the *standard deviation* √(2/(fan_in + fan_out)); a uniform U(−a, a) has "
            "std a/√3, so the bound must be √3 times larger: a = √(6/(fan_in + fan_out))"),
        "no_sqrt": (
            xu_no_sqrt,
            "the square root is missing: a = 6/(fan_in + fan_out) instead of √(6/(fan_in + fan_out))"),
        "zero_to_a": (
            xu_zero_to_a,
            "the entries are drawn from U(0, a), all positive; the range is symmetric, U(−a, a)"),
        "global_random": (
            xu_global_random,
            "the draws come from np.random (the global generator), not from the rng argument: use rng.uniform(...)"),
        "fixed_seed": (
            xu_fixed_seed,
            "the function makes its own generator with a fixed seed instead of using the rng argument"),
        "transposed": (
            xu_transposed,
            "the matrix is transposed: the course's W has shape (fan_in, fan_out)"),
        "float32": (
            xu_float32,
            "the matrix is float32; keep float64"),
    },
    "xavier_normal": {
        "variance_as_std": (
            xn_variance_as_std,
            "the variance 2/(fan_in + fan_out) is used as the standard deviation (the square root is "
            "missing): rng.normal's scale is the std, σ = √(2/(fan_in + fan_out))"),
        "uniform_not_normal": (
            xn_uniform_not_normal,
            "the entries are uniform (Xavier *uniform*); xavier_normal draws from a normal distribution"),
        "lecun": (
            xn_lecun,
            "the std is √(1/fan_in) (LeCun's initialization); Xavier's is √(2/(fan_in + fan_out))"),
        "one_over_sum": (
            xn_one_over_sum,
            "the std is √(1/(fan_in + fan_out)); the numerator is 2: σ = √(2/(fan_in + fan_out))"),
        "unscaled": (
            xn_unscaled,
            "the entries are standard normal (std 1): multiply by σ = √(2/(fan_in + fan_out))"),
        "global_random": (
            xn_global_random,
            "the draws come from np.random (the global generator), not from the rng argument: use rng.normal(...)"),
        "transposed": (
            xn_transposed,
            "the matrix is transposed: the course's W has shape (fan_in, fan_out)"),
        "fixed_seed": (
            xn_fixed_seed,
            "the function makes its own generator with a fixed seed instead of using the rng argument"),
    },
    "he_normal": {
        "fan_out": (
            he_fan_out,
            "the std uses fan_out, √(2/fan_out); He's forward-pass rule (mode='fan_in' in PyTorch) is "
            "σ = √(2/fan_in), the number of inputs each unit sums over"),
        "variance_as_std": (
            he_variance_as_std,
            "the variance 2/fan_in is used as the standard deviation (the square root is missing): σ = √(2/fan_in)"),
        "xavier_std": (
            he_xavier_std,
            "this is Xavier's std √(2/(fan_in + fan_out)); He's is √(2/fan_in)"),
        "lecun": (
            he_lecun,
            "the std is √(1/fan_in) (LeCun's); ReLU zeroes half of its inputs, hence He's factor 2: σ = √(2/fan_in)"),
        "uniform": (
            he_uniform,
            "the entries are uniform (He *uniform*, U(−√(6/fan_in), √(6/fan_in))); he_normal draws from a normal distribution"),
        "global_random": (
            he_global_random,
            "the draws come from np.random (the global generator), not from the rng argument: use rng.normal(...)"),
        "float32": (
            he_float32,
            "the matrix is float32; keep float64"),
    },
    "orthogonal": {
        "no_sign_fix": (
            orth_no_sign_fix,
            "Q from np.linalg.qr is used without the sign correction: multiply each column of Q by the "
            "sign of the matching diagonal entry of R (q * np.sign(np.diag(r))), otherwise the matrix is "
            "not uniformly random (its diagonal leans negative)"),
        "gain_ignored": (
            orth_gain_ignored,
            "the gain is ignored: multiply the orthonormal matrix by gain, so that WᵀW (or WWᵀ) = gain²·I"),
        "gain_squared": (
            orth_gain_squared,
            "the matrix is multiplied by gain² instead of gain: then WᵀW = gain⁴·I"),
        "reshape_not_transpose": (
            orth_reshape_not_transpose,
            "for fan_in < fan_out the tall orthonormal matrix is *reshaped* to (fan_in, fan_out); "
            "transpose it instead (q.T), so that the rows are orthonormal"),
        "gaussian": (
            orth_gaussian,
            "the matrix is a scaled Gaussian, not orthogonal: orthogonalize it with np.linalg.qr"),
        "columns_normalized": (
            orth_columns_normalized,
            "the columns have unit length but are not orthogonal to each other: use np.linalg.qr "
            "(Gram–Schmidt), not just a normalization"),
        "wide_square": (
            orth_wide_square,
            "for fan_in < fan_out, the QR of a (fan_in, fan_out) matrix gives a (fan_in, fan_in) Q; "
            "take the QR of the tall (fan_out, fan_in) matrix and transpose its Q"),
        "global_random": (
            orth_global_random,
            "the draws come from np.random (the global generator), not from the rng argument"),
    },
    "lsuv_init": {
        "divides_by_variance": (
            lsuv_divides_by_variance,
            "each layer is divided by the variance of its output; divide by its square root, the std "
            "(scaling W by s scales the variance by s²)"),
        "multiplies": (
            lsuv_multiplies,
            "each layer is multiplied by √Var instead of divided by it, which pushes the variance away from 1"),
        "single_pass": (
            lsuv_single_pass,
            "each layer is rescaled only once; with biases (and nonlinearities) one rescaling does not "
            "reach variance 1 exactly, so repeat measure-and-rescale until |Var − 1| < tol (at most max_iter times)"),
        "variances_from_first_pass": (
            lsuv_variances_from_first_pass,
            "every layer is rescaled using the variances of one forward pass made before any rescaling; "
            "rescaling layer l changes the inputs of every later layer, so run forward_fn again after each rescaling"),
        "reverse_order": (
            lsuv_reverse_order,
            "the layers are processed from the last to the first; go from the first to the last, since "
            "rescaling a layer changes the outputs of the layers after it"),
        "second_moment": (
            lsuv_second_moment,
            "the mean of the squared outputs is used instead of their variance (np.var subtracts the mean)"),
        "ignores_max_iter": (
            lsuv_ignores_max_iter,
            "max_iter is not honoured: rescale each layer at most max_iter times, even if the variance "
            "is not yet within tol"),
        "one_extra_iteration": (
            lsuv_one_extra_iteration,
            "each layer is rescaled up to max_iter + 1 times; max_iter is the largest number of rescalings"),
        "mutates_input": (
            lsuv_mutates_input,
            "the input weight matrices are changed in place (W /= ...); work on copies and return a new list"),
        "returns_input_list": (
            lsuv_returns_input_list,
            "the input list is modified (weights[i] = ...) and returned; build and return a new list"),
    },
    "predicted_torch_default_var": {
        "no_relu_halving": (
            (1 / 3) ** 10,
            "the ReLU's halving is missing: with Var(w) = 1/(3n) each layer multiplies by n·Var(w) = 1/3 only "
            "without a ReLU; a ReLU in front of the layer halves E[h²], so each layer after the first multiplies "
            "by 1/6: Var(a_10) = (1/3)·(1/6)^9"),
        "relu_on_the_input": (
            (1 / 6) ** 10,
            "the variance was halved at the first layer too, but the inputs x reach it without a ReLU: Var(a_1) = n·Var(w)·E[x²] = 1/3, "
            "and only the nine layers after it multiply by 1/6"),
        "one_factor_too_many": (
            (1 / 3) * (1 / 6) ** 10,
            "ten factors of 1/6 come after Var(a_1); a_1 is already the first layer's output, so from a_1 to a_10 "
            "there are nine: Var(a_10) = (1/3)·(1/6)^9"),
        "bound_as_std": (
            1.0 * 0.5 ** 9,
            "the bound 1/√n was taken as the standard deviation (Var(w) = 1/n); U(−a, a) has variance a²/3, "
            "so Var(w) = 1/(3n), Var(a_1) = 1/3 and each ReLU layer multiplies by 1/6"),
        "std_not_variance": (
            math.sqrt((1 / 3) * (1 / 6) ** 9),
            "this is the standard deviation of a_10; the question asks for its variance, (1/3)·(1/6)^9"),
        "uniform_variance_over_12": (
            (1 / 12) * (1 / 24) ** 9,
            "U(−a, a) has width 2a and variance (2a)²/12 = a²/3, not a²/12: Var(w) = 1/(3n), "
            "so Var(a_10) = (1/3)·(1/6)^9"),
    },
}

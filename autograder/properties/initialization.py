"""Properties behind the hidden tests of 05_initialization (no answers here: see the package docstring).

Every function returns ``(code, message, value)`` problems (``*_problems``, also used by the grader's
hints) or just the messages (``*_properties``, the ``Exercise.properties`` hooks). What needs the
grader's own computation comes with the case: the target distribution of an initializer
(``case["target"]``) and what the grader's LSUV reaches (``case["reference_variances"]``,
``case["reference_scales"]``).

* Initializers (driver ``initializer``: draws for two seeds, and the first seed again): a float64
  (fan_in, fan_out) array, finite; the same seed gives the same matrix and another seed another;
  with n pooled entries (n ≥ 1000), mean within 6σ/√n of 0 and variance within 6 standard errors
  (σ²·√(κ−1)/√n, κ = 3 normal, 1.8 uniform) of σ²; uniform: |w| ≤ a, and max|w| ≥ a(1 − 30/n)
  (missed with probability e⁻³⁰); normal (n ≥ 5000): kurtosis above 2.4 (a uniform has 1.8).
* ``orthogonal``: WᵀW (fan_in ≥ fan_out) or WWᵀ equals gain²·I to 1e-9; with at least 8 draws and
  min(fan_in, fan_out) = k ≥ 20, the mean of trace(W[:k, :k])/gain is within 6 standard errors of 0
  (for Haar-distributed W, Var(trace) = k/max(fan_in, fan_out)).
* ``lsuv_init`` (driver ``layerwise_init``): a list of float64 arrays of the input shapes, each a
  positive multiple of its input matrix; not the input list; forward_fn called at most
  L·(max_iter + 2) + 2 times; every layer the grader's LSUV gets within tol of variance 1 within
  tol for the learner too, and where max_iter stopped the grader, the same scale (to 1e-3).
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_helpers.init_checks import layer_preactivations

__all__ = ["SIGMAS", "initializer_problems", "orthogonal_problems", "lsuv_problems", "initializer_properties",
           "orthogonal_properties", "lsuv_init_properties", "PROBLEMS"]

SIGMAS = 6.0  # how many standard errors a statistic may stray before a correct init would fail


def _matrix_problem(W, fan_in, fan_out):
    if type(W) is not np.ndarray:
        return ("type", f"the returned value should be a NumPy array of shape ({fan_in}, {fan_out}), got a "
                        f"{type(W).__name__}", None)
    if W.shape != (fan_in, fan_out):
        extra = " (transposed: W has shape (fan_in, fan_out))" if W.shape == (fan_out, fan_in) else ""
        return ("shape", f"the returned matrix has shape {W.shape}, expected (fan_in, fan_out) = "
                         f"({fan_in}, {fan_out}){extra}", None)
    if W.dtype != np.float64:
        return ("dtype", f"the returned matrix has dtype {W.dtype}, expected float64", None)
    if not np.all(np.isfinite(W)):
        return ("finite", "the returned matrix contains NaN or inf", None)
    return None


def _rng_problems(draws, repeat, fan_in, fan_out) -> list:
    if not np.array_equal(repeat, draws[0]):
        return [("rng_global", "two calls with generators made from the same seed returned different matrices: "
                               "draw every random number from the rng argument (not np.random)", None)]
    if fan_in * fan_out > 1 and np.array_equal(draws[0], draws[1]):
        return [("rng_ignored", "generators with different seeds gave the same matrix: the result does not "
                                "depend on the rng argument", None)]
    return []


def _structure(case, actual) -> tuple[list, list]:
    """(problems, draws): problems with the type/shape/dtype of every draw and with the use of rng."""
    fan_in, fan_out = case["fan_in"], case["fan_out"]
    draws, repeat = actual.get("draws"), actual.get("repeat")
    if type(draws) is not list or len(draws) != len(case["seeds"]):
        return [("type", "the grader got no draws", None)], []
    for W in draws + [repeat]:
        problem = _matrix_problem(W, fan_in, fan_out)
        if problem:
            return [problem], []
    return _rng_problems(draws, repeat, fan_in, fan_out), draws


def initializer_problems(case, actual) -> list:
    """(code, message, value) for every property of an initializer's draws that fails.

    ``case["target"]`` (computed by the grader) names the distribution: ``family`` ("uniform" or
    "normal"), ``std`` and, for a uniform one, ``bound``.
    """
    problems, draws = _structure(case, actual)
    if problems:
        return problems
    fan_in, fan_out = case["fan_in"], case["fan_out"]
    t = case["target"]
    w = np.concatenate([W.ravel() for W in draws])
    n = w.size
    sigma = t["std"]
    uniform = t["family"] == "uniform"
    if n >= 1000:
        mean = float(w.mean())
        if abs(mean) > SIGMAS * sigma / math.sqrt(n):
            problems.append(("mean", f"the entries have mean {mean:.3g}, expected 0 (±{SIGMAS * sigma / math.sqrt(n):.2g} "
                                     f"for {n} draws)", mean / sigma))
        ratio = float(np.mean((w - mean) ** 2)) / sigma**2
        se = math.sqrt((0.8 if uniform else 2.0) / n)  # Var(w²)/σ⁴ = 4/5 (uniform) or 2 (normal)
        if abs(ratio - 1.0) > SIGMAS * se:
            problems.append(("std", f"the entries have std {sigma * math.sqrt(ratio):.4g}, expected {sigma:.4g} "
                                    f"(ratio {math.sqrt(ratio):.3f}) for fan_in={fan_in}, fan_out={fan_out}",
                             math.sqrt(ratio)))
    biggest = float(np.abs(w).max())
    if uniform:
        a = t["bound"]
        if biggest > a * (1 + 1e-9):
            problems.append(("beyond_bound", f"an entry has |w| = {biggest:.4g}, beyond the bound a = {a:.4g} of "
                                             "U(−a, a)", biggest / a))
        elif n >= 1000 and biggest < a * (1 - 30.0 / n):
            problems.append(("below_bound", f"the largest |w| is {biggest:.4g}; {n} draws from U(−a, a) with "
                                            f"a = {a:.4g} come much closer to a", biggest / a))
    elif n >= 5000:
        z = w - w.mean()
        kurtosis = float(np.mean(z**4) / np.mean(z**2) ** 2)
        if kurtosis < 2.4:  # normal: 3 (± 0.07 at n = 5000); uniform: 1.8
            problems.append(("not_normal", f"the entries are not normally distributed (kurtosis {kurtosis:.2f}, "
                                           "a normal distribution has 3, a uniform one 1.8)", None))
    return problems


def orthogonal_problems(case, actual) -> list:
    """(code, message, value) for every property of an orthogonal initializer's draws that fails."""
    problems, draws = _structure(case, actual)
    if problems:
        return problems
    fan_in, fan_out = case["fan_in"], case["fan_out"]
    gain = float(case["kwargs"].get("gain", 1.0))
    g2 = gain * gain
    which = "WᵀW" if fan_in >= fan_out else "WWᵀ"
    for W in draws:
        gram = W.T @ W if fan_in >= fan_out else W @ W.T
        k = gram.shape[0]
        err = float(np.abs(gram - g2 * np.eye(k)).max())
        if err > 1e-9 * max(g2, 1.0):
            c = float(np.trace(gram)) / k
            if c > 0 and float(np.abs(gram - c * np.eye(k)).max()) <= 1e-9 * c:
                problems.append(("gain", f"{which} = {c:.4g}·I, expected gain²·I = {g2:.4g}·I (gain={gain:g})",
                                 math.sqrt(c) / gain))
            elif float(np.abs(np.diag(gram) - g2).max()) <= 1e-9 * max(g2, 1.0):
                rows = "columns" if fan_in >= fan_out else "rows"
                problems.append(("unit_not_orthogonal", f"the {rows} have length gain but are not orthogonal to "
                                                        f"each other: {which} differs from gain²·I by up to {err:.2g}",
                                 None))
            else:
                rows = "columns" if fan_in >= fan_out else "rows"
                problems.append(("not_orthonormal", f"the {rows} are not orthonormal: {which} differs from "
                                                    f"gain²·I by up to {err:.2g}", None))
            return problems
    k, n = min(fan_in, fan_out), max(fan_in, fan_out)
    if len(draws) >= 8 and k >= 20:
        traces = [float(np.trace(W[:k, :k])) / gain for W in draws]
        mean_trace = float(np.mean(traces))
        limit = SIGMAS * math.sqrt(k / n) / math.sqrt(len(draws))  # Haar: Var(trace) = k/n
        if abs(mean_trace) > limit:
            problems.append(("sign_bias", f"the matrices are not uniformly random: the trace of W[:{k}, :{k}]/gain "
                                          f"averages {mean_trace:.2f} over {len(draws)} seeds, expected 0 ± {limit:.2f}",
                             mean_trace))
    return problems


def lsuv_problems(case, actual) -> list:
    """(code, message, value) for every property of an LSUV result that fails.

    ``case["reference_variances"]`` and ``case["reference_scales"]`` (computed by the grader) are
    what its own LSUV reaches: a layer whose reference variance is within tol of 1 must be within
    tol for the learner too; one where max_iter stopped the reference must be scaled alike.
    """
    weights = [np.asarray(W, dtype=np.float64) for W in case["weights"]]
    L = len(weights)
    kwargs = case.get("kwargs", {})
    tol, max_iter = float(kwargs.get("tol", 1e-2)), int(kwargs.get("max_iter", 10))
    result = actual.get("result")
    if type(result) is not list or len(result) != L:
        got = f"a list of {len(result)}" if type(result) is list else f"a {type(result).__name__}"
        return [("type", f"the returned value should be a list of {L} weight matrices, got {got}", None)]
    problems = []
    if actual.get("returned_input_list"):
        problems.append(("same_list", "the function returned the list it was given; return a new list", None))
    scales = []
    for i, (W, W0) in enumerate(zip(result, weights)):
        if type(W) is not np.ndarray or W.shape != W0.shape or W.dtype != np.float64:
            what = f"an array of shape {W.shape} and dtype {W.dtype}" if type(W) is np.ndarray else f"a {type(W).__name__}"
            return problems + [("type", f"weights[{i}] is {what}, expected float64 of shape {W0.shape}", None)]
        c = float(np.sum(W * W0) / np.sum(W0 * W0))
        if not (c > 0 and np.all(np.isfinite(W)) and float(np.abs(W - c * W0).max()) <= 1e-9 * c * float(np.abs(W0).max())):
            return problems + [("not_multiple", f"weights[{i}] is not a positive multiple of the input matrix "
                                                "(LSUV only rescales each matrix)", None)]
        scales.append(c)
    calls = actual.get("forward_calls", 0)
    if calls > L * (max_iter + 2) + 2:
        problems.append(("max_iter", f"forward_fn was called {calls} times for {L} layers with max_iter={max_iter}; "
                                     f"each layer is rescaled at most max_iter times", None))
    outs = layer_preactivations(result, case["X"], case["activation"], list(case["biases"]))
    for i in range(L):
        v = float(np.var(outs[i]))
        ref_v = float(case["reference_variances"][i])
        if abs(ref_v - 1.0) < tol:  # reachable within max_iter: the learner must get there too
            if not abs(v - 1.0) <= tol * (1 + 1e-6):
                problems.append(("variance", f"layer {i + 1}'s output has variance {v:.4g} on X, expected within "
                                             f"tol={tol:g} of 1", v))
                break
        else:  # max_iter stops the grader's LSUV first: the same rescalings are expected
            ref_c = float(case["reference_scales"][i])
            if abs(scales[i] - ref_c) > 1e-3 * ref_c:
                problems.append(("max_iter_result", f"layer {i + 1} was scaled by {scales[i]:.4g}; after at most "
                                                    f"max_iter={max_iter} rescalings (W ← W/√Var) it is scaled by "
                                                    f"{ref_c:.4g} (its variance is then {ref_v:.4g})", scales[i]))
                break
    return problems


def _messages(problems) -> list[str]:
    return [p[1] for p in problems]


def initializer_properties(case, actual) -> list[str]:
    """Exercise.properties of xavier_uniform, xavier_normal and he_normal."""
    return _messages(initializer_problems(case, actual))


def orthogonal_properties(case, actual) -> list[str]:
    """Exercise.properties of orthogonal."""
    return _messages(orthogonal_problems(case, actual))


def lsuv_init_properties(case, actual) -> list[str]:
    """Exercise.properties of lsuv_init."""
    with np.errstate(all="ignore"):  # a wrong rescaling may overflow; the problem says so
        return _messages(lsuv_problems(case, actual))


PROBLEMS = {
    "xavier_uniform": initializer_problems,
    "xavier_normal": initializer_problems,
    "he_normal": initializer_problems,
    "orthogonal": orthogonal_problems,
    "lsuv_init": lsuv_problems,
}

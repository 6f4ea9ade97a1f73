"""Known mistakes in the 03_momentum exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are

    sgd_momentum:       v ← μ·v − lr·dw;            next_w = w + v
    nesterov_momentum:  v_prev ← v; v ← μ·v − lr·dw; next_w = w − μ·v_prev + (1 + μ)·v

with defaults learning_rate 1e-2, momentum 0.9, velocity zeros, filled with ``setdefault``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MUTANTS"]


def _defaults(w, config, momentum=0.9, learning_rate=1e-2):
    """Correct default handling (or with a wrong default value, for the mutants that need one)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", learning_rate)
    config.setdefault("momentum", momentum)
    config.setdefault("velocity", np.zeros_like(w))
    return config


# ---------------------------------------------------------------------------------------------
# sgd_momentum


def sgd_velocity_sign_flipped(w, dw, config=None):
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] + config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_velocity_stored_negated(w, dw, config=None):
    # PyTorch-like sign: v accumulates +lr·dw and is subtracted. The iterates are right,
    # but config['velocity'] holds −v instead of v.
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] + config["learning_rate"] * dw
    config["velocity"] = v
    return w - v, config


def sgd_velocity_not_stored(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    return w + v, config


def sgd_velocity_reset_each_call(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config["velocity"] = np.zeros_like(w)  # '=' instead of setdefault: the history is lost
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_mutates_w(w, dw, config=None):
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    w += v  # changes the caller's array
    return w, config


def sgd_no_defaults(w, dw, config=None):
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_default_momentum_099(w, dw, config=None):
    config = _defaults(w, config, momentum=0.99)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_default_learning_rate_1e3(w, dw, config=None):
    config = _defaults(w, config, learning_rate=1e-3)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_lr_momentum_swapped(w, dw, config=None):
    config = _defaults(w, config)
    v = config["learning_rate"] * config["velocity"] - config["momentum"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_ignores_momentum(w, dw, config=None):
    config = _defaults(w, config)
    v = -config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_lr_on_whole_velocity(w, dw, config=None):
    # The PyTorch buffer update (buf = μ·buf + dw) stored as if it were our velocity.
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] - dw
    config["velocity"] = v
    return w + config["learning_rate"] * v, config


def sgd_returns_float32(w, dw, config=None):
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return (w + v).astype(np.float32), config


def sgd_returns_list(w, dw, config=None):
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return (w + v).tolist(), config


# ---------------------------------------------------------------------------------------------
# nesterov_momentum


def nesterov_as_plain_momentum(w, dw, config=None):
    config = _defaults(w, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov_uses_new_velocity(w, dw, config=None):
    # −μ·v + (1 + μ)·v with the *new* v everywhere: the look-ahead correction cancels out.
    config = _defaults(w, config)
    mu = config["momentum"]
    v = mu * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v + (1 + mu) * v, config


def nesterov_v_prev_aliased(w, dw, config=None):
    # v_prev = v keeps a reference, then v is updated in place: v_prev changes too.
    config = _defaults(w, config)
    mu = config["momentum"]
    v = config["velocity"]
    v_prev = v
    v *= mu
    v -= config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_correction_sign_flipped(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w + mu * v_prev + (1 + mu) * v, config


def nesterov_missing_one_plus(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + mu * v, config


def nesterov_velocity_sign_flipped(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev + config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_velocity_not_stored(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    mu = config["momentum"]
    v_prev = config.get("velocity", np.zeros_like(w))
    v = mu * v_prev - config["learning_rate"] * dw
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_stores_v_prev(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    return w - mu * v_prev + (1 + mu) * v, config  # config['velocity'] never moves on from v_prev


def nesterov_mutates_w(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    w += -mu * v_prev + (1 + mu) * v
    return w, config


def nesterov_no_defaults(w, dw, config=None):
    mu = config["momentum"]
    v_prev = config.get("velocity", np.zeros_like(w))
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_default_momentum_099(w, dw, config=None):
    config = _defaults(w, config, momentum=0.99)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_lr_momentum_swapped(w, dw, config=None):
    config = _defaults(w, config)
    lr, mu = config["momentum"], config["learning_rate"]
    v_prev = config["velocity"]
    v = mu * v_prev - lr * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_returns_float32(w, dw, config=None):
    config = _defaults(w, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return (w - mu * v_prev + (1 + mu) * v).astype(np.float32), config


# ---------------------------------------------------------------------------------------------
# momentum_optimal_params


def optimal_eigenvalues_swapped(lambda_min, lambda_max):
    lambda_min, lambda_max = lambda_max, lambda_min
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return (2 / (a + b)) ** 2, ((b - a) / (b + a)) ** 2, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def optimal_rate_with_kappa(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return (2 / (a + b)) ** 2, ((b - a) / (b + a)) ** 2, (kappa - 1) / (kappa + 1)


def optimal_no_square_roots(lambda_min, lambda_max):
    kappa = lambda_max / lambda_min
    lr = (2 / (lambda_min + lambda_max)) ** 2
    mu = ((lambda_max - lambda_min) / (lambda_max + lambda_min)) ** 2
    return lr, mu, (kappa - 1) / (kappa + 1)


def optimal_lr_not_squared(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return 2 / (a + b), ((b - a) / (b + a)) ** 2, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def optimal_momentum_not_squared(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return (2 / (a + b)) ** 2, (b - a) / (b + a), (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def optimal_gd_learning_rate(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return 2 / (lambda_min + lambda_max), ((b - a) / (b + a)) ** 2, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def optimal_returns_momentum_as_rate(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    mu = ((b - a) / (b + a)) ** 2
    return (2 / (a + b)) ** 2, mu, mu


def optimal_wrong_order(lambda_min, lambda_max):
    a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
    kappa = lambda_max / lambda_min
    return ((b - a) / (b + a)) ** 2, (2 / (a + b)) ** 2, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


# Legitimate conventions of other libraries and courses: right in their own terms, not this course's.


def sgd_pytorch_buffer(w, dw, config=None):
    # torch.optim.SGD: buf = momentum·buf + dw; w -= lr·buf. Same iterates for a constant lr,
    # but the state stored is PyTorch's buffer (= −v/lr), not this course's velocity.
    config = _defaults(w, config)
    buf = config["momentum"] * config["velocity"] + dw
    config["velocity"] = buf
    return w - config["learning_rate"] * buf, config


def sgd_averaged_form(w, dw, config=None):
    # deeplearning.ai's exponential average: m = β·m + (1 − β)·dw; w -= α·m.
    config = _defaults(w, config)
    m = config["momentum"] * config["velocity"] + (1 - config["momentum"]) * dw
    config["velocity"] = m
    return w - config["learning_rate"] * m, config


def nesterov_pytorch_form(w, dw, config=None):
    # torch.optim.SGD(nesterov=True): buf = momentum·buf + dw; w -= lr·(dw + momentum·buf).
    # Same iterates for a constant lr; the state stored is PyTorch's buffer, not the velocity.
    config = _defaults(w, config)
    buf = config["momentum"] * config["velocity"] + dw
    config["velocity"] = buf
    return w - config["learning_rate"] * (dw + config["momentum"] * buf), config


MUTANTS = {
    "sgd_momentum": {
        "velocity_sign_flipped": (
            sgd_velocity_sign_flipped,
            "the velocity adds +learning_rate·dw, so w moves uphill; the convention is "
            "v = momentum·v − learning_rate·dw, then next_w = w + v"),
        "velocity_stored_negated": (
            sgd_velocity_stored_negated,
            "the iterates are right but config['velocity'] has the opposite sign: you store "
            "momentum·v + learning_rate·dw (PyTorch's sign) and subtract it; this course keeps "
            "v = momentum·v − learning_rate·dw and adds it"),
        "velocity_not_stored": (
            sgd_velocity_not_stored,
            "the new velocity is not stored back into config['velocity'], so every step starts "
            "again from zero velocity"),
        "velocity_reset_each_call": (
            sgd_velocity_reset_each_call,
            "the velocity never builds up: every step is plain SGD, v = −learning_rate·dw. Is "
            "config['velocity'] reset to zeros on every call (config['velocity'] = ... instead of "
            "config.setdefault), or is the momentum·v term missing?"),
        "mutates_w": (
            sgd_mutates_w,
            "w is changed in place (w += ...): compute next_w = w + v as a new array"),
        "no_defaults": (
            sgd_no_defaults,
            "defaults are not filled in: with config=None (or missing keys) the function fails; "
            "use config.setdefault for learning_rate, momentum and velocity"),
        "default_momentum_0.99": (
            sgd_default_momentum_099,
            "the default momentum is 0.99; it should be 0.9"),
        "default_learning_rate_1e-3": (
            sgd_default_learning_rate_1e3,
            "the default learning rate is 1e-3; it should be 1e-2"),
        "lr_momentum_swapped": (
            sgd_lr_momentum_swapped,
            "learning_rate and momentum are swapped: v = learning_rate·v − momentum·dw"),
        "ignores_momentum": (
            sgd_ignores_momentum,
            "momentum is ignored: every step is plain SGD, v = −learning_rate·dw; the velocity "
            "should carry over, v = momentum·v − learning_rate·dw"),
        "lr_on_whole_velocity": (
            sgd_lr_on_whole_velocity,
            "the learning rate multiplies the whole velocity (PyTorch's buffer form, v = momentum·v − dw, "
            "next_w = w + learning_rate·v) but config['velocity'] must hold v = momentum·v − learning_rate·dw"),
        "returns_float32": (
            sgd_returns_float32,
            "next_w is float32; keep float64 (do not cast)"),
        "returns_list": (
            sgd_returns_list,
            "next_w is a Python list; return a NumPy array"),
        "pytorch_buffer": (
            sgd_pytorch_buffer,
            "this is PyTorch's convention (torch.optim.SGD: buf = momentum·buf + dw, w −= learning_rate·buf), "
            "a legitimate one: your iterates are right for a constant learning rate, but config['velocity'] "
            "holds PyTorch's buffer. This course stores the velocity v = momentum·v − learning_rate·dw "
            "(= −learning_rate·buf) and adds it: next_w = w + v (docs/conventions.md)"),
        "averaged_form": (
            sgd_averaged_form,
            "this is the averaged form of deeplearning.ai and others (m = β·m + (1 − β)·dw, "
            "w −= α·m): a legitimate convention, the same algorithm with this course's learning_rate = "
            "α(1 − β). Here the learning rate multiplies the raw gradient: v = momentum·v − "
            "learning_rate·dw, next_w = w + v (docs/conventions.md)"),
    },
    "nesterov_momentum": {
        "plain_momentum": (
            nesterov_as_plain_momentum,
            "this is plain momentum (next_w = w + v): Nesterov's update is "
            "next_w = w − momentum·v_prev + (1 + momentum)·v, where v_prev is the velocity *before* "
            "this step (if you update v in place, v_prev = v changes with it)"),
        "uses_new_velocity": (
            nesterov_uses_new_velocity,
            "the correction uses the new v where it needs v_prev (the velocity before this step), "
            "so −momentum·v + (1 + momentum)·v collapses to plain momentum"),
        "v_prev_aliased": (
            nesterov_v_prev_aliased,
            "v_prev is the same array as v and v is updated in place (v *= ..., v -= ...), so "
            "v_prev changes too; keep v_prev = config['velocity'] and build v as a new array"),
        "correction_sign_flipped": (
            nesterov_correction_sign_flipped,
            "the look-ahead correction has the wrong sign: it is −momentum·v_prev, not +momentum·v_prev"),
        "missing_one_plus": (
            nesterov_missing_one_plus,
            "the new velocity is weighted by momentum instead of (1 + momentum)"),
        "velocity_sign_flipped": (
            nesterov_velocity_sign_flipped,
            "the velocity adds +learning_rate·dw, so w moves uphill; v = momentum·v − learning_rate·dw"),
        "velocity_not_stored": (
            nesterov_velocity_not_stored,
            "the new velocity is not stored back into config['velocity']"),
        "stores_v_prev": (
            nesterov_stores_v_prev,
            "config['velocity'] keeps the old velocity v_prev; store the new v"),
        "mutates_w": (
            nesterov_mutates_w,
            "w is changed in place (w += ...): compute next_w as a new array"),
        "no_defaults": (
            nesterov_no_defaults,
            "defaults are not filled in: with config=None (or missing keys) the function fails; "
            "use config.setdefault"),
        "default_momentum_0.99": (
            nesterov_default_momentum_099,
            "the default momentum is 0.99; it should be 0.9"),
        "lr_momentum_swapped": (
            nesterov_lr_momentum_swapped,
            "learning_rate and momentum are swapped"),
        "returns_float32": (
            nesterov_returns_float32,
            "next_w is float32; keep float64 (do not cast)"),
        "pytorch_form": (
            nesterov_pytorch_form,
            "this is PyTorch's Nesterov (torch.optim.SGD(nesterov=True): buf = momentum·buf + dw, "
            "w −= learning_rate·(dw + momentum·buf)), a legitimate form: your iterates are right for a "
            "constant learning rate, but config['velocity'] holds PyTorch's buffer. This course stores "
            "v = momentum·v − learning_rate·dw and steps next_w = w − momentum·v_prev + (1 + momentum)·v "
            "(docs/conventions.md)"),
    },
    "momentum_optimal_params": {
        "eigenvalues_swapped": (
            optimal_eigenvalues_swapped,
            "λmin and λmax are swapped: κ = λmax/λmin is at least 1 and the rate is at least 0"),
        "rate_with_kappa": (
            optimal_rate_with_kappa,
            "the rate uses κ instead of √κ: (κ − 1)/(κ + 1) is gradient descent's rate, "
            "momentum's is (√κ − 1)/(√κ + 1)"),
        "no_square_roots": (
            optimal_no_square_roots,
            "the square roots are missing: these are formulas in √λmin and √λmax"),
        "lr_not_squared": (
            optimal_lr_not_squared,
            "the learning rate is not squared: (2/(√λmin + √λmax))²"),
        "momentum_not_squared": (
            optimal_momentum_not_squared,
            "the momentum is not squared: ((√λmax − √λmin)/(√λmax + √λmin))²"),
        "gd_learning_rate": (
            optimal_gd_learning_rate,
            "the learning rate is gradient descent's optimal 2/(λmin + λmax); with momentum it is "
            "(2/(√λmin + √λmax))²"),
        "momentum_as_rate": (
            optimal_returns_momentum_as_rate,
            "the rate returned is the momentum; the rate is its square root, (√κ − 1)/(√κ + 1)"),
        "wrong_order": (
            optimal_wrong_order,
            "the results are in the wrong order: return (learning_rate, momentum, rate)"),
    },
    "predicted_nesterov_max_lr": {
        "heavy_ball_limit": (
            2 * (1 + 0.9) / 50.0,
            "this is heavy ball's limit 2(1+μ)/λmax; Nesterov takes the gradient at the look-ahead point, "
            "which multiplies the w_{t-1} term by (1−ηλ) too: the limit is 2(1+μ)/((1+2μ)λmax)"),
        "sgd_limit": (
            2 / 50.0,
            "this is plain gradient descent's limit 2/λmax; with momentum the recurrence has two roots, "
            "and for Nesterov one reaches −1 at η = 2(1+μ)/((1+2μ)λmax), below SGD's limit"),
        "missing_one_plus_mu": (
            2 / ((1 + 2 * 0.9) * 50.0),
            "the factor (1+μ) is missing: at z = −1 the condition is 1 + (1+μ)(1−ηλ) + μ(1−ηλ) = 0"),
        "lambda_min": (
            2 * (1 + 0.9) / (1 + 2 * 0.9),
            "this uses the smallest eigenvalue (1); the steepest direction, λmax = 50, diverges first"),
        "polyak_learning_rate": (
            (2 / (1 + 50 ** 0.5)) ** 2,
            "this is Polyak's optimal heavy-ball learning rate, not a stability limit"),
    },
}

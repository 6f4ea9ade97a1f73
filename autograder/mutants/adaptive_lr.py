"""Known mistakes in the 04_adaptive_lr exercises, each as a working function.

Every function here is *wrong on purpose*. The correct conventions are in
``autograder/references/adaptive_lr.py`` (and docs/conventions.md); defaults are filled with ``setdefault``.
Each mistake is written the way a learner would write it, with NumPy on whole arrays.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MUTANTS"]

_DEFAULTS = {
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "adamw": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 1e-2},
    "adadelta": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
}
_STATE = {"adagrad": ("cache",), "rmsprop": ("cache",), "adam": ("m", "v"), "adamw": ("m", "v"),
          "adadelta": ("square_avg", "acc_delta")}


def _defaults(rule, w, config, **wrong):
    """Correct default handling (or with wrong default values, for the mutants that need them)."""
    if config is None:
        config = {}
    for key, value in {**_DEFAULTS[rule], **wrong}.items():
        config.setdefault(key, value)
    for key in _STATE[rule]:
        config.setdefault(key, np.zeros_like(w))
    if rule in ("adam", "adamw"):
        config.setdefault("t", 0)
    return config


# ---------------------------------------------------------------------------------------------
# adagrad


def _adagrad(w, dw, config, *, eps_inside=False, no_sqrt=False, eps_precedence=False, step_first=False,
             replace=False, store=True, sign=-1.0, **wrong):
    config = _defaults("adagrad", w, config, **wrong)
    old = config["cache"]
    cache = dw**2 if replace else old + dw**2
    used = old if step_first else cache
    lr, eps = config["learning_rate"], config["epsilon"]
    if eps_inside:
        step = dw / np.sqrt(used + eps)
    elif no_sqrt:
        step = dw / (used + eps)
    elif eps_precedence:
        step = dw / np.sqrt(used) + eps
    else:
        step = dw / (np.sqrt(used) + eps)
    if store:
        config["cache"] = cache
    return w + sign * lr * step, config


def adagrad_eps_inside_sqrt(w, dw, config=None):
    return _adagrad(w, dw, config, eps_inside=True)


def adagrad_no_sqrt(w, dw, config=None):
    return _adagrad(w, dw, config, no_sqrt=True)


def adagrad_eps_precedence(w, dw, config=None):
    return _adagrad(w, dw, config, eps_precedence=True)


def adagrad_step_before_cache_update(w, dw, config=None):
    return _adagrad(w, dw, config, step_first=True)


def adagrad_cache_replaced(w, dw, config=None):
    return _adagrad(w, dw, config, replace=True)


def adagrad_cache_not_stored(w, dw, config=None):
    return _adagrad(w, dw, config, store=False)


def adagrad_sign_flipped(w, dw, config=None):
    return _adagrad(w, dw, config, sign=1.0)


def adagrad_default_learning_rate_1e3(w, dw, config=None):
    return _adagrad(w, dw, config, learning_rate=1e-3)


def adagrad_cache_of_gradients(w, dw, config=None):
    config = _defaults("adagrad", w, config)
    config["cache"] = config["cache"] + np.abs(dw)  # |g| instead of g²
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def adagrad_mutates_w(w, dw, config=None):
    config = _defaults("adagrad", w, config)
    config["cache"] = config["cache"] + dw**2
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w, config


def adagrad_no_defaults(w, dw, config=None):
    cache = config.get("cache", np.zeros_like(w)) + dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


# ---------------------------------------------------------------------------------------------
# rmsprop


def _rmsprop(w, dw, config, *, eps_inside=False, no_sqrt=False, swapped=False, no_one_minus=False,
             accumulate=False, step_first=False, store=True, **wrong):
    config = _defaults("rmsprop", w, config, **wrong)
    rho, lr, eps = config["decay_rate"], config["learning_rate"], config["epsilon"]
    old = config["cache"]
    if accumulate:
        cache = old + dw**2
    elif swapped:
        cache = (1 - rho) * old + rho * dw**2
    elif no_one_minus:
        cache = rho * old + dw**2
    else:
        cache = rho * old + (1 - rho) * dw**2
    used = old if step_first else cache
    if eps_inside:
        step = dw / np.sqrt(used + eps)
    elif no_sqrt:
        step = dw / (used + eps)
    else:
        step = dw / (np.sqrt(used) + eps)
    if store:
        config["cache"] = cache
    return w - lr * step, config


def rmsprop_eps_inside_sqrt(w, dw, config=None):
    return _rmsprop(w, dw, config, eps_inside=True)


def rmsprop_no_sqrt(w, dw, config=None):
    return _rmsprop(w, dw, config, no_sqrt=True)


def rmsprop_decay_swapped(w, dw, config=None):
    return _rmsprop(w, dw, config, swapped=True)


def rmsprop_no_one_minus_decay(w, dw, config=None):
    return _rmsprop(w, dw, config, no_one_minus=True)


def rmsprop_as_adagrad(w, dw, config=None):
    return _rmsprop(w, dw, config, accumulate=True)


def rmsprop_step_before_cache_update(w, dw, config=None):
    return _rmsprop(w, dw, config, step_first=True)


def rmsprop_cache_not_stored(w, dw, config=None):
    return _rmsprop(w, dw, config, store=False)


def rmsprop_default_decay_09(w, dw, config=None):
    return _rmsprop(w, dw, config, decay_rate=0.9)


def rmsprop_default_learning_rate_1e3(w, dw, config=None):
    return _rmsprop(w, dw, config, learning_rate=1e-3)


def rmsprop_mutates_w(w, dw, config=None):
    config = _defaults("rmsprop", w, config)
    rho = config["decay_rate"]
    config["cache"] = rho * config["cache"] + (1 - rho) * dw**2
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w, config


# ---------------------------------------------------------------------------------------------
# adam (and the Adam part of adamw)


def _adam_step(w, dw, config, *, t_late=False, t_not_stored=False, no_correction=False, only_m=False,
               only_v=False, eps_inside=False, store_hat=False, betas_swapped=False, no_one_minus=False,
               v_abs=False, store=True):
    """One Adam step on a config whose defaults are filled; returns next_w (config updated)."""
    b1, b2 = config["beta1"], config["beta2"]
    if betas_swapped:
        b1, b2 = b2, b1
    lr, eps = config["learning_rate"], config["epsilon"]
    t = config["t"] if t_late else config["t"] + 1
    g2 = np.abs(dw) if v_abs else dw**2
    if no_one_minus:
        m = b1 * config["m"] + dw
        v = b2 * config["v"] + g2
    else:
        m = b1 * config["m"] + (1 - b1) * dw
        v = b2 * config["v"] + (1 - b2) * g2
    m_hat = m if (no_correction or only_v) else m / (1 - b1**t)
    v_hat = v if (no_correction or only_m) else v / (1 - b2**t)
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    next_w = w - lr * m_hat / denom
    if store:
        config["m"], config["v"] = (m_hat, v_hat) if store_hat else (m, v)
    if not t_not_stored:
        config["t"] = config["t"] + 1
    return next_w


def _adam(w, dw, config, wrong=None, **mistake):
    config = _defaults("adam", w, config, **(wrong or {}))
    return _adam_step(w, dw, config, **mistake), config


def adam_t_used_before_increment(w, dw, config=None):
    return _adam(w, dw, config, t_late=True)


def adam_t_not_stored(w, dw, config=None):
    return _adam(w, dw, config, t_not_stored=True)


def adam_no_bias_correction(w, dw, config=None):
    return _adam(w, dw, config, no_correction=True)


def adam_bias_correction_only_m(w, dw, config=None):
    return _adam(w, dw, config, only_m=True)


def adam_bias_correction_only_v(w, dw, config=None):
    return _adam(w, dw, config, only_v=True)


def adam_eps_inside_sqrt(w, dw, config=None):
    return _adam(w, dw, config, eps_inside=True)


def adam_stores_corrected_moments(w, dw, config=None):
    return _adam(w, dw, config, store_hat=True)


def adam_betas_swapped(w, dw, config=None):
    return _adam(w, dw, config, betas_swapped=True)


def adam_no_one_minus_beta(w, dw, config=None):
    return _adam(w, dw, config, no_one_minus=True)


def adam_v_of_abs_gradient(w, dw, config=None):
    return _adam(w, dw, config, v_abs=True)


def adam_moments_not_stored(w, dw, config=None):
    return _adam(w, dw, config, store=False)


def adam_default_learning_rate_1e2(w, dw, config=None):
    return _adam(w, dw, config, wrong={"learning_rate": 1e-2})


def adam_default_beta2_099(w, dw, config=None):
    return _adam(w, dw, config, wrong={"beta2": 0.99})


def adam_t_starts_at_1(w, dw, config=None):
    return _adam(w, dw, config, wrong={"t": 1})


def adam_mutates_w(w, dw, config=None):
    config = _defaults("adam", w, config)
    next_w = _adam_step(w, dw, config)
    w -= w - next_w  # the same step, applied to the caller's array
    return w, config


# ---------------------------------------------------------------------------------------------
# adamw


def adamw_l2_in_gradient(w, dw, config=None):
    config = _defaults("adamw", w, config)
    return _adam_step(w, dw + config["weight_decay"] * w, config), config


def adamw_decay_after_step(w, dw, config=None):
    config = _defaults("adamw", w, config)
    next_w = _adam_step(w, dw, config)
    return next_w - config["learning_rate"] * config["weight_decay"] * next_w, config


def adamw_decay_not_scaled_by_lr(w, dw, config=None):
    config = _defaults("adamw", w, config)
    return _adam_step(w - config["weight_decay"] * w, dw, config), config


def adamw_decay_sign_flipped(w, dw, config=None):
    config = _defaults("adamw", w, config)
    return _adam_step(w + config["learning_rate"] * config["weight_decay"] * w, dw, config), config


def adamw_no_weight_decay(w, dw, config=None):
    config = _defaults("adamw", w, config)
    return _adam_step(w, dw, config), config


def adamw_default_weight_decay_0(w, dw, config=None):
    config = _defaults("adamw", w, config, weight_decay=0.0)
    lr, wd = config["learning_rate"], config["weight_decay"]
    return _adam_step(w - lr * wd * w, dw, config), config


def adamw_decay_in_place(w, dw, config=None):
    config = _defaults("adamw", w, config)
    w *= 1 - config["learning_rate"] * config["weight_decay"]  # changes the caller's array
    return _adam_step(w, dw, config), config


def adamw_no_bias_correction(w, dw, config=None):
    config = _defaults("adamw", w, config)
    lr, wd = config["learning_rate"], config["weight_decay"]
    return _adam_step(w - lr * wd * w, dw, config, no_correction=True), config


def adamw_t_used_before_increment(w, dw, config=None):
    config = _defaults("adamw", w, config)
    lr, wd = config["learning_rate"], config["weight_decay"]
    return _adam_step(w - lr * wd * w, dw, config, t_late=True), config


# ---------------------------------------------------------------------------------------------
# adadelta


def _adadelta(w, dw, config, *, eps_outside=False, ratio_inverted=False, old_square_avg=False,
              acc_of_gradient=False, acc_with_lr=False, ignore_lr=False, swapped=False, store_acc=True,
              **wrong):
    config = _defaults("adadelta", w, config, **wrong)
    rho, eps, lr = config["rho"], config["epsilon"], config["learning_rate"]
    if swapped:
        square_avg = (1 - rho) * config["square_avg"] + rho * dw**2
    else:
        square_avg = rho * config["square_avg"] + (1 - rho) * dw**2
    s = config["square_avg"] if old_square_avg else square_avg
    a = config["acc_delta"]
    if eps_outside:
        delta = (np.sqrt(a) + eps) / (np.sqrt(s) + eps) * dw
    elif ratio_inverted:
        delta = np.sqrt(s + eps) / np.sqrt(a + eps) * dw
    else:
        delta = np.sqrt(a + eps) / np.sqrt(s + eps) * dw
    step = delta if ignore_lr else lr * delta
    if acc_of_gradient:
        acc = rho * a + (1 - rho) * dw**2
    elif acc_with_lr:
        acc = rho * a + (1 - rho) * step**2
    elif swapped:
        acc = (1 - rho) * a + rho * delta**2
    else:
        acc = rho * a + (1 - rho) * delta**2
    config["square_avg"] = square_avg
    if store_acc:
        config["acc_delta"] = acc
    return w - step, config


def adadelta_eps_outside_sqrt(w, dw, config=None):
    return _adadelta(w, dw, config, eps_outside=True)


def adadelta_ratio_inverted(w, dw, config=None):
    return _adadelta(w, dw, config, ratio_inverted=True)


def adadelta_uses_old_square_avg(w, dw, config=None):
    return _adadelta(w, dw, config, old_square_avg=True)


def adadelta_acc_of_gradient(w, dw, config=None):
    return _adadelta(w, dw, config, acc_of_gradient=True)


def adadelta_acc_with_lr(w, dw, config=None):
    return _adadelta(w, dw, config, acc_with_lr=True)


def adadelta_ignores_learning_rate(w, dw, config=None):
    return _adadelta(w, dw, config, ignore_lr=True)


def adadelta_decay_swapped(w, dw, config=None):
    return _adadelta(w, dw, config, swapped=True)


def adadelta_acc_delta_not_stored(w, dw, config=None):
    return _adadelta(w, dw, config, store_acc=False)


def adadelta_default_rho_095(w, dw, config=None):
    return _adadelta(w, dw, config, rho=0.95)


def adadelta_default_epsilon_1e8(w, dw, config=None):
    return _adadelta(w, dw, config, epsilon=1e-8)


def adadelta_default_learning_rate_1e3(w, dw, config=None):
    return _adadelta(w, dw, config, learning_rate=1e-3)


def adadelta_mutates_w(w, dw, config=None):
    next_w, config = _adadelta(w, dw, config)
    w -= w - next_w
    return w, config


# ---------------------------------------------------------------------------------------------
# cosine_learning_rate


def _cosine(step, total_steps, lr_max, lr_min, warmup_steps):
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * fraction))


def cosine_ignores_warmup(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    return _cosine(step, total_steps, lr_max, lr_min, warmup_steps)


def cosine_zero_division_without_warmup(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    warm = lr_max * step / warmup_steps  # computed before the test: fails when warmup_steps is 0
    return warm if step < warmup_steps else _cosine(step, total_steps, lr_max, lr_min, warmup_steps)


def cosine_progress_ignores_warmup(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * step / total_steps))


def cosine_full_period(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(2 * math.pi * fraction))


def cosine_ignores_lr_min(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    return _cosine(step, total_steps, lr_max, 0.0, warmup_steps)


def cosine_lr_min_added_to_full_range(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * lr_max * (1 + math.cos(math.pi * fraction))


def cosine_warmup_off_by_one(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * (step + 1) / warmup_steps
    return _cosine(step, total_steps, lr_max, lr_min, warmup_steps)


def cosine_warmup_from_lr_min(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_min + (lr_max - lr_min) * step / warmup_steps
    return _cosine(step, total_steps, lr_max, lr_min, warmup_steps)


def cosine_integer_division(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * (step // warmup_steps)
    fraction = (step - warmup_steps) // (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * fraction))


def cosine_sine_instead_of_cosine(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.sin(math.pi * fraction))


def cosine_linear_decay(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_max - (lr_max - lr_min) * fraction


def cosine_returns_array(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    if step < warmup_steps:
        return np.array(lr_max * step / warmup_steps)
    return np.array(_cosine(step, total_steps, lr_max, lr_min, warmup_steps))


MUTANTS = {
    "adagrad": {
        "eps_inside_sqrt": (
            adagrad_eps_inside_sqrt,
            "epsilon is inside the square root, √(cache + ε); the convention is √cache + ε. Inside, "
            "it acts like an epsilon of √ε = 1e-4 and shrinks the steps of small gradients"),
        "no_sqrt": (
            adagrad_no_sqrt,
            "the gradient is divided by cache + ε without the square root: the step must be "
            "learning_rate·dw/(√cache + ε)"),
        "eps_precedence": (
            adagrad_eps_precedence,
            "epsilon is added after the division, dw/√cache + ε; put brackets around the "
            "denominator: dw/(√cache + ε)"),
        "step_before_cache_update": (
            adagrad_step_before_cache_update,
            "the step divides by the cache from *before* this gradient was added (on the first step "
            "that is √0 + ε, a huge step); update the cache first, then take the step"),
        "cache_replaced": (
            adagrad_cache_replaced,
            "the cache is replaced by dw² instead of accumulating, cache = cache + dw²"),
        "cache_not_stored": (
            adagrad_cache_not_stored,
            "the new cache is not stored back into config['cache'], so the sum of squared gradients "
            "never grows past one step"),
        "sign_flipped": (
            adagrad_sign_flipped,
            "the step goes uphill (w + ...); it is next_w = w − learning_rate·dw/(√cache + ε)"),
        "default_learning_rate_1e-3": (
            adagrad_default_learning_rate_1e3,
            "the default learning rate is 1e-3; for AdaGrad it should be 1e-2"),
        "cache_of_abs_gradient": (
            adagrad_cache_of_gradients,
            "the cache accumulates |dw| instead of the squared gradient dw²"),
        "mutates_w": (
            adagrad_mutates_w,
            "w is changed in place (w -= ...): compute next_w = w − ... as a new array"),
        "no_defaults": (
            adagrad_no_defaults,
            "defaults are not filled in: with config=None (or missing keys) the function fails; "
            "use config.setdefault for learning_rate, epsilon and cache"),
    },
    "rmsprop": {
        "eps_inside_sqrt": (
            rmsprop_eps_inside_sqrt,
            "epsilon is inside the square root, √(cache + ε); the convention is √cache + ε. Inside, "
            "it acts like an epsilon of √ε = 1e-4 and shrinks the steps of small gradients"),
        "no_sqrt": (
            rmsprop_no_sqrt,
            "the gradient is divided by cache + ε without the square root"),
        "decay_swapped": (
            rmsprop_decay_swapped,
            "decay_rate and 1 − decay_rate are swapped: the old cache keeps a fraction decay_rate, "
            "cache = decay_rate·cache + (1 − decay_rate)·dw²"),
        "no_one_minus_decay": (
            rmsprop_no_one_minus_decay,
            "the new dw² is added without the factor (1 − decay_rate), so the cache is a sum, not an "
            "average, and grows about 100 times too large"),
        "as_adagrad": (
            rmsprop_as_adagrad,
            "the cache accumulates like AdaGrad's (cache + dw²); RMSProp's is a moving average, "
            "decay_rate·cache + (1 − decay_rate)·dw²"),
        "step_before_cache_update": (
            rmsprop_step_before_cache_update,
            "the step divides by the cache from *before* this gradient was added (on the first step "
            "that is √0 + ε, a huge step); update the cache first, then take the step"),
        "cache_not_stored": (
            rmsprop_cache_not_stored,
            "the new cache is not stored back into config['cache']"),
        "default_decay_rate_0.9": (
            rmsprop_default_decay_09,
            "the default decay_rate is 0.9 (Keras's rho); this course, like PyTorch's alpha, uses 0.99"),
        "default_learning_rate_1e-3": (
            rmsprop_default_learning_rate_1e3,
            "the default learning rate is 1e-3 (Keras's); this course, like PyTorch, uses 1e-2"),
        "mutates_w": (
            rmsprop_mutates_w,
            "w is changed in place (w -= ...): compute next_w = w − ... as a new array"),
    },
    "adam": {
        "t_used_before_increment": (
            adam_t_used_before_increment,
            "t is used before it is incremented: the bias corrections use the old t (on the first "
            "step 1 − β1⁰ = 0, a division by zero). Do config['t'] += 1 first, then correct with the new t"),
        "t_not_stored": (
            adam_t_not_stored,
            "t is not stored back into config['t'], so every step is bias-corrected as if it were the "
            "first"),
        "no_bias_correction": (
            adam_no_bias_correction,
            "bias correction is skipped: use m̂ = m/(1 − β1ᵗ) and v̂ = v/(1 − β2ᵗ) in the step "
            "(without them the first steps are about 3 times too large with the default betas)"),
        "bias_correction_only_m": (
            adam_bias_correction_only_m,
            "only m is bias-corrected; v needs it too, v̂ = v/(1 − β2ᵗ)"),
        "bias_correction_only_v": (
            adam_bias_correction_only_v,
            "only v is bias-corrected; m needs it too, m̂ = m/(1 − β1ᵗ)"),
        "eps_inside_sqrt": (
            adam_eps_inside_sqrt,
            "epsilon is inside the square root, √(v̂ + ε); the convention is √v̂ + ε. Inside, it acts "
            "like an epsilon of √ε = 1e-4 and shrinks the steps of small gradients"),
        "stores_corrected_moments": (
            adam_stores_corrected_moments,
            "config['m'] and config['v'] hold the bias-corrected m̂ and v̂; store the raw moving "
            "averages m and v (the correction is recomputed from t at every step)"),
        "betas_swapped": (
            adam_betas_swapped,
            "beta1 and beta2 are swapped: beta1 (0.9) averages the gradient m, beta2 (0.999) the "
            "squared gradient v"),
        "no_one_minus_beta": (
            adam_no_one_minus_beta,
            "the moving averages miss the (1 − β) factors: m = β1·m + (1 − β1)·dw and "
            "v = β2·v + (1 − β2)·dw²"),
        "v_of_abs_gradient": (
            adam_v_of_abs_gradient,
            "v averages |dw| instead of the squared gradient dw²"),
        "moments_not_stored": (
            adam_moments_not_stored,
            "the new m and v are not stored back into config['m'] and config['v']"),
        "default_learning_rate_1e-2": (
            adam_default_learning_rate_1e2,
            "the default learning rate is 1e-2; Adam's default is 1e-3"),
        "default_beta2_0.99": (
            adam_default_beta2_099,
            "the default beta2 is 0.99; it should be 0.999"),
        "t_starts_at_1": (
            adam_t_starts_at_1,
            "t starts at 1 instead of 0, so the first step is corrected as step 2; the default is "
            "t = 0, and t becomes 1 during the first update"),
        "mutates_w": (
            adam_mutates_w,
            "w is changed in place (w -= ...): compute next_w = w − ... as a new array"),
    },
    "predicted_uncorrected_step": {
        "first_step": (
            (1 - 0.9) / math.sqrt(1 - 0.999),
            "this is the factor of the first step, (1 − β1)/√(1 − β2) ≈ 3.2; at step 10 both averages have filled "
            "further: m_10 = (1 − 0.9^10) g, v_10 = (1 − 0.999^10) g², and the step is their ratio ≈ 6.53 η"),
        "no_square_root": (
            (1 - 0.9**10) / (1 - 0.999**10),
            "the square root of v is missing: the step is m/√v, (1 − 0.9^10) / √(1 − 0.999^10) ≈ 6.53 times η"),
        "no_decay_of_old_terms": (
            (10 * (1 - 0.9)) / math.sqrt(10 * (1 - 0.999)),
            "this adds up ten contributions (1 − β)·g without decaying the older ones by β each step; the weights "
            "sum to 1 − β^t: m_10 = (1 − 0.9^10) g, v_10 = (1 − 0.999^10) g², a step of ≈ 6.53 η"),
        "bias_corrected": (
            1.0,
            "1 is the step *with* bias correction; without it the raw ratio m_10/√v_10 = (1 − 0.9^10) / "
            "√(1 − 0.999^10) ≈ 6.53 times η"),
    },
    "adamw": {
        "l2_in_gradient": (
            adamw_l2_in_gradient,
            "weight decay is coupled into the gradient (dw + weight_decay·w, which is Adam with L2 "
            "regularization); AdamW decouples it: first w ← w − learning_rate·weight_decay·w, then "
            "the Adam step with the unchanged dw"),
        "decay_after_step": (
            adamw_decay_after_step,
            "the decay is applied after the Adam step, to the new w; apply it first, to the current w: "
            "w ← w − learning_rate·weight_decay·w"),
        "decay_not_scaled_by_lr": (
            adamw_decay_not_scaled_by_lr,
            "the decay is w ← w − weight_decay·w; in this course (and PyTorch) it is scaled by the "
            "learning rate, w ← w − learning_rate·weight_decay·w"),
        "decay_sign_flipped": (
            adamw_decay_sign_flipped,
            "the decay grows the weights (w + ...); it is w ← w − learning_rate·weight_decay·w"),
        "default_weight_decay_0": (
            adamw_default_weight_decay_0,
            "the default weight_decay is 0 (Adam's); AdamW's default is 1e-2"),
        "no_weight_decay": (
            adamw_no_weight_decay,
            "there is no weight decay at all: this is plain Adam"),
        "decay_in_place": (
            adamw_decay_in_place,
            "w is decayed in place (w *= ...), which changes the caller's array: compute a new array"),
        "no_bias_correction": (
            adamw_no_bias_correction,
            "the Adam part skips bias correction: use m̂ = m/(1 − β1ᵗ) and v̂ = v/(1 − β2ᵗ)"),
        "t_used_before_increment": (
            adamw_t_used_before_increment,
            "t is used before it is incremented: do config['t'] += 1 first, then correct with the new t"),
    },
    "adadelta": {
        "eps_outside_sqrt": (
            adadelta_eps_outside_sqrt,
            "epsilon is outside the square roots; AdaDelta puts it inside both, "
            "√(acc_delta + ε)/√(square_avg + ε) (Zeiler's RMS[x] = √(E[x²] + ε)). Outside, the first "
            "steps are about 1000 times too small"),
        "ratio_inverted": (
            adadelta_ratio_inverted,
            "the ratio is upside down: delta = √(acc_delta + ε)/√(square_avg + ε)·dw"),
        "uses_old_square_avg": (
            adadelta_uses_old_square_avg,
            "delta uses square_avg from before this gradient was added; update square_avg first"),
        "acc_of_gradient": (
            adadelta_acc_of_gradient,
            "acc_delta averages dw²; it averages the squared *updates*, delta²"),
        "acc_with_lr": (
            adadelta_acc_with_lr,
            "acc_delta averages (learning_rate·delta)²; it averages delta² (learning_rate only scales "
            "the final step, w − learning_rate·delta)"),
        "ignores_learning_rate": (
            adadelta_ignores_learning_rate,
            "learning_rate is ignored: the step is w − learning_rate·delta"),
        "decay_swapped": (
            adadelta_decay_swapped,
            "rho and 1 − rho are swapped: the old averages keep a fraction rho"),
        "acc_delta_not_stored": (
            adadelta_acc_delta_not_stored,
            "the new acc_delta is not stored back into config['acc_delta']"),
        "default_rho_0.95": (
            adadelta_default_rho_095,
            "the default rho is 0.95 (Zeiler's experiments and Keras); this course, like PyTorch, uses 0.9"),
        "default_epsilon_1e-8": (
            adadelta_default_epsilon_1e8,
            "the default epsilon is 1e-8; AdaDelta's is 1e-6 (it sets the size of the first steps)"),
        "default_learning_rate_1e-3": (
            adadelta_default_learning_rate_1e3,
            "the default learning rate is 1e-3; AdaDelta's is 1.0 (as in PyTorch)"),
        "mutates_w": (
            adadelta_mutates_w,
            "w is changed in place (w -= ...): compute next_w = w − ... as a new array"),
    },
    "cosine_learning_rate": {
        "ignores_warmup": (
            cosine_ignores_warmup,
            "there is no warm-up: for step < warmup_steps the rate should rise linearly, "
            "lr_max·step/warmup_steps"),
        "zero_division_without_warmup": (
            cosine_zero_division_without_warmup,
            "with warmup_steps = 0 the function divides by zero: compute lr_max·step/warmup_steps only "
            "when step < warmup_steps"),
        "progress_ignores_warmup": (
            cosine_progress_ignores_warmup,
            "the cosine runs over step/total_steps; it starts after the warm-up: "
            "(step − warmup_steps)/(total_steps − warmup_steps)"),
        "full_period": (
            cosine_full_period,
            "the cosine makes a full period (cos 2πx) and comes back up; the decay is half a cosine, cos πx"),
        "ignores_lr_min": (
            cosine_ignores_lr_min,
            "lr_min is ignored: the decay goes from lr_max to lr_min, "
            "lr_min + ½(lr_max − lr_min)(1 + cos πx)"),
        "lr_min_added_to_full_range": (
            cosine_lr_min_added_to_full_range,
            "lr_min is added to the full range: use (lr_max − lr_min), not lr_max, in "
            "lr_min + ½(lr_max − lr_min)(1 + cos πx)"),
        "warmup_off_by_one": (
            cosine_warmup_off_by_one,
            "the warm-up is off by one: step 0 has rate 0, the rate is lr_max·step/warmup_steps"),
        "warmup_from_lr_min": (
            cosine_warmup_from_lr_min,
            "the warm-up starts at lr_min; it starts at 0: lr_max·step/warmup_steps"),
        "integer_division": (
            cosine_integer_division,
            "an integer division (//) truncates the fractions to 0; use /"),
        "sine_instead_of_cosine": (
            cosine_sine_instead_of_cosine,
            "sin is used instead of cos"),
        "linear_decay": (
            cosine_linear_decay,
            "the decay is linear; it follows half a cosine, lr_min + ½(lr_max − lr_min)(1 + cos πx)"),
        "returns_array": (
            cosine_returns_array,
            "the function returns a NumPy array; return a plain number (use math.cos)"),
    },
}

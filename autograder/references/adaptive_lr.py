"""References for 04_adaptive_lr, written one element at a time with ``math`` (not as the solutions are).

Conventions (docs/conventions.md), with g the gradient and every operation elementwise:

    adagrad:   cache ← cache + g²;                          w ← w − lr·g/(√cache + ε)
    rmsprop:   cache ← ρ·cache + (1 − ρ)·g²;                w ← w − lr·g/(√cache + ε)
    adam:      t ← t + 1; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
               m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ);           w ← w − lr·m̂/(√v̂ + ε)
    adamw:     w ← w − lr·λ·w first (decoupled weight decay), then the Adam step with g
    adadelta:  s ← ρ·s + (1 − ρ)·g²; δ = √(a + ε)/√(s + ε)·g; a ← ρ·a + (1 − ρ)·δ²; w ← w − lr·δ
    cosine_learning_rate(step, total, lr_max, lr_min, warmup):
               lr_max·step/warmup while step < warmup, then
               lr_min + ½(lr_max − lr_min)(1 + cos(π·(step − warmup)/(total − warmup)))

Each ``*_case`` function returns what ``autograder.drivers`` reports for a correct function on
a case: ``{"steps": [{"next_w": ..., "config": {recorded keys}}...], "mutated": []}`` for the
update rules, ``{"result": float, "mutated": []}`` for the schedule.
"""

from __future__ import annotations

import copy
import math

import numpy as np

__all__ = ["DEFAULTS", "STATE", "adagrad_case", "rmsprop_case", "adam_case", "adamw_case", "adadelta_case",
           "cosine_learning_rate", "cosine_learning_rate_case", "REFERENCES"]

#: Hyperparameter defaults of every rule.
DEFAULTS = {
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "adamw": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 1e-2},
    "adadelta": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
}
#: State arrays of every rule (zeros of the shape of w when absent); Adam's step counter is separate.
STATE = {
    "adagrad": ("cache",),
    "rmsprop": ("cache",),
    "adam": ("m", "v"),
    "adamw": ("m", "v"),
    "adadelta": ("square_avg", "acc_delta"),
}


def _setup(rule: str, case):
    """Hyperparameters (floats), state arrays (copies) and the start ``w`` of a case."""
    config = case.get("config") or {}
    hyper = {k: float(config[k]) if k in config else v for k, v in DEFAULTS[rule].items()}
    w = np.array(case["w"], dtype=np.float64)
    state = {k: np.array(config[k], dtype=np.float64) if k in config else np.zeros(w.shape) for k in STATE[rule]}
    if rule in ("adam", "adamw"):
        state["t"] = int(config.get("t", 0))
    return hyper, state, w


def _adagrad_element(h, s, w, g):
    cache = s["cache"] + g * g
    return w - h["learning_rate"] * g / (math.sqrt(cache) + h["epsilon"]), {"cache": cache}


def _rmsprop_element(h, s, w, g):
    rho = h["decay_rate"]
    cache = rho * s["cache"] + (1.0 - rho) * g * g
    return w - h["learning_rate"] * g / (math.sqrt(cache) + h["epsilon"]), {"cache": cache}


def _adam_element(h, s, w, g, t):
    b1, b2 = h["beta1"], h["beta2"]
    m = b1 * s["m"] + (1.0 - b1) * g
    v = b2 * s["v"] + (1.0 - b2) * g * g
    m_hat = m / (1.0 - b1**t)
    v_hat = v / (1.0 - b2**t)
    return w - h["learning_rate"] * m_hat / (math.sqrt(v_hat) + h["epsilon"]), {"m": m, "v": v}


def _adamw_element(h, s, w, g, t):
    decayed = w - h["learning_rate"] * h["weight_decay"] * w
    return _adam_element(h, s, decayed, g, t)


def _adadelta_element(h, s, w, g):
    rho, eps = h["rho"], h["epsilon"]
    square_avg = rho * s["square_avg"] + (1.0 - rho) * g * g
    delta = math.sqrt(s["acc_delta"] + eps) / math.sqrt(square_avg + eps) * g
    acc_delta = rho * s["acc_delta"] + (1.0 - rho) * delta * delta
    return w - h["learning_rate"] * delta, {"square_avg": square_avg, "acc_delta": acc_delta}


_ELEMENT = {"adagrad": _adagrad_element, "rmsprop": _rmsprop_element, "adam": _adam_element,
            "adamw": _adamw_element, "adadelta": _adadelta_element}


def _run(rule: str, case) -> dict:
    """Replay the case's steps one element at a time; report what the driver would."""
    hyper, state, w = _setup(rule, case)
    element = _ELEMENT[rule]
    has_t = "t" in state
    record = list(case.get("record", []))
    steps = []
    for dw in case["dws"]:
        dw = np.array(dw, dtype=np.float64)
        if has_t:
            state["t"] += 1
        new_w = np.empty(w.shape)
        new_state = {k: np.empty(w.shape) for k in STATE[rule]}
        for idx in np.ndindex(*w.shape):
            old = {k: float(state[k][idx]) for k in STATE[rule]}
            args = (hyper, old, float(w[idx]), float(dw[idx])) + ((state["t"],) if has_t else ())
            new_w[idx], values = element(*args)
            for k, value in values.items():
                new_state[k][idx] = value
        w = new_w
        state.update(new_state)
        everything = {**hyper, **state}
        steps.append({"next_w": w.copy(),
                      "config": {k: copy.deepcopy(everything[k]) for k in record if k in everything}})
    return {"steps": steps, "mutated": []}


def adagrad_case(case) -> dict:
    """Driver output of a correct ``adagrad`` on an ``update_rule`` case."""
    return _run("adagrad", case)


def rmsprop_case(case) -> dict:
    """Driver output of a correct ``rmsprop`` on an ``update_rule`` case."""
    return _run("rmsprop", case)


def adam_case(case) -> dict:
    """Driver output of a correct ``adam`` on an ``update_rule`` case."""
    return _run("adam", case)


def adamw_case(case) -> dict:
    """Driver output of a correct ``adamw`` on an ``update_rule`` case."""
    return _run("adamw", case)


def adadelta_case(case) -> dict:
    """Driver output of a correct ``adadelta`` on an ``update_rule`` case."""
    return _run("adadelta", case)


def cosine_learning_rate(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0) -> float:
    """Linear warm-up from 0 to lr_max over ``warmup_steps``, then half a cosine down to lr_min."""
    step, total_steps, warmup_steps = int(step), int(total_steps), int(warmup_steps)
    lr_max, lr_min = float(lr_max), float(lr_min)
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    fraction = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr_max - lr_min) * (1.0 + math.cos(math.pi * fraction)) / 2.0


_SCHEDULE_ARGS = ("step", "total_steps", "lr_max", "lr_min", "warmup_steps")


def cosine_learning_rate_case(case) -> dict:
    """Driver output of a correct ``cosine_learning_rate`` on a ``function`` case."""
    kwargs = dict(zip(_SCHEDULE_ARGS, case.get("args", [])))
    kwargs.update(case.get("kwargs", {}))
    return {"result": cosine_learning_rate(**kwargs), "mutated": []}


REFERENCES = {
    "adagrad": adagrad_case,
    "rmsprop": rmsprop_case,
    "adam": adam_case,
    "adamw": adamw_case,
    "adadelta": adadelta_case,
    "cosine_learning_rate": cosine_learning_rate_case,
}

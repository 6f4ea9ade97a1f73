"""References for 03_momentum, written elementwise with explicit loops (not as the solutions are).

Conventions (docs/conventions.md):

    sgd_momentum:       v ← μ·v − lr·dw;            w ← w + v
    nesterov_momentum:  v_prev ← v; v ← μ·v − lr·dw; w ← w − μ·v_prev + (1 + μ)·v
    momentum_optimal_params(λmin, λmax) → (lr, μ, rate) with
        lr = (2 / (√λmin + √λmax))², μ = ((√λmax − √λmin) / (√λmax + √λmin))², rate = (√κ − 1)/(√κ + 1)

Defaults: learning_rate 1e-2, momentum 0.9, velocity zeros.
"""

from __future__ import annotations

import copy
import math

import numpy as np

__all__ = ["DEFAULTS", "sgd_momentum_case", "nesterov_momentum_case", "momentum_optimal_params_case",
           "optimal_params", "REFERENCES"]

DEFAULTS = {"learning_rate": 1e-2, "momentum": 0.9}


def _hyper(config, key):
    """A hyperparameter from the case's config, or its default (as a Python float)."""
    if config is not None and key in config:
        return float(config[key])
    return DEFAULTS[key]


def _run(case, nesterov: bool) -> dict:
    """Replay the case's steps one element at a time; report what the driver would."""
    config = copy.deepcopy(case.get("config"))
    lr = _hyper(config, "learning_rate")
    mu = _hyper(config, "momentum")
    w = np.array(case["w"], dtype=np.float64)
    if config is not None and "velocity" in config:
        v = np.array(config["velocity"], dtype=np.float64)
    else:
        v = np.zeros(w.shape, dtype=np.float64)
    record = list(case.get("record", []))
    steps = []
    for dw in case["dws"]:
        dw = np.array(dw, dtype=np.float64)
        new_w = np.empty(w.shape, dtype=np.float64)
        new_v = np.empty(w.shape, dtype=np.float64)
        for idx in np.ndindex(*w.shape):
            old_v = float(v[idx])
            vel = mu * old_v - lr * float(dw[idx])
            new_v[idx] = vel
            if nesterov:
                new_w[idx] = float(w[idx]) - mu * old_v + (1.0 + mu) * vel
            else:
                new_w[idx] = float(w[idx]) + vel
        w, v = new_w, new_v
        state = {"learning_rate": lr, "momentum": mu, "velocity": v.copy()}
        steps.append({"next_w": w.copy(), "config": {k: copy.deepcopy(state[k]) for k in record if k in state}})
    return {"steps": steps, "mutated": []}


def sgd_momentum_case(case) -> dict:
    """Driver output of a correct ``sgd_momentum`` on an ``update_rule`` case."""
    return _run(case, nesterov=False)


def nesterov_momentum_case(case) -> dict:
    """Driver output of a correct ``nesterov_momentum`` on an ``update_rule`` case."""
    return _run(case, nesterov=True)


def optimal_params(lambda_min, lambda_max) -> tuple[float, float, float]:
    """Polyak's heavy-ball tuning for a quadratic with Hessian spectrum in [λmin, λmax]."""
    a, b = math.sqrt(float(lambda_min)), math.sqrt(float(lambda_max))
    learning_rate = 4.0 / ((a + b) * (a + b))
    momentum = ((b - a) / (b + a)) ** 2
    sqrt_kappa = b / a
    rate = (sqrt_kappa - 1.0) / (sqrt_kappa + 1.0)
    return learning_rate, momentum, rate


def momentum_optimal_params_case(case) -> dict:
    """Driver output of a correct ``momentum_optimal_params`` on a ``function`` case."""
    args = list(case.get("args", [])) + [case.get("kwargs", {})[k] for k in ("lambda_min", "lambda_max")
                                         if k in case.get("kwargs", {})]
    return {"result": list(optimal_params(*args)), "mutated": []}


REFERENCES = {
    "sgd_momentum": sgd_momentum_case,
    "nesterov_momentum": nesterov_momentum_case,
    "momentum_optimal_params": momentum_optimal_params_case,
}

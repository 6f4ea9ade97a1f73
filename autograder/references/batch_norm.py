"""References for 06_batch_norm, written with explicit loops over features and samples.

Conventions (docs/conventions.md, exactly ``torch.nn.BatchNorm1d``), for ``x`` of shape (N, D) and each
feature (column) j separately:

    train:  μ = mean_i x_ij,  σ² = mean_i (x_ij − μ)²  (biased),  x̂ = (x − μ)/√(σ² + eps)
            out = γ·x̂ + β
            running_mean ← (1 − momentum)·running_mean + momentum·μ
            running_var  ← (1 − momentum)·running_var  + momentum·σ²·N/(N − 1)   (unbiased)
    eval:   out = γ·(x − running_mean)/√(running_var + eps) + β; running statistics unchanged

``bn_param`` defaults (filled in with ``setdefault``): mode 'train', eps 1e-5, momentum 0.1,
running_mean zeros(D), running_var ones(D).

The backward reference does not follow a computation graph or the usual closed form: for each
feature it builds the full N×N Jacobian ∂out_i/∂x_k = γ/σ̃ · (δ_ik − 1/N − x̂_i x̂_k / N)
(σ̃ = √(σ² + eps)) element by element and multiplies it by the upstream gradient.

Layer norm (``torch.nn.functional.layer_norm`` over the last axis) is at the end, with the same
approach per sample (row) instead of per feature.
"""

from __future__ import annotations

import copy
import math

import numpy as np

__all__ = ["DEFAULTS", "forward_step", "backward_step", "batchnorm_forward_case", "batchnorm_backward_case",
           "layernorm_step", "layernorm_backward_step", "layernorm_forward_case", "layernorm_backward_case",
           "REFERENCES"]

DEFAULTS = {"mode": "train", "eps": 1e-5, "momentum": 0.1}


def _column_stats(x, j):
    """Mean and biased variance of column j, two passes, plain Python sums."""
    n = x.shape[0]
    mean = 0.0
    for i in range(n):
        mean += float(x[i, j])
    mean /= n
    var = 0.0
    for i in range(n):
        d = float(x[i, j]) - mean
        var += d * d
    return mean, var / n


def forward_step(x, gamma, beta, state: dict) -> np.ndarray:
    """One call of a correct batchnorm_forward; updates ``state`` (a bn_param dict) like it would."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    for key, value in DEFAULTS.items():
        state.setdefault(key, value)
    state.setdefault("running_mean", np.zeros(d))
    state.setdefault("running_var", np.ones(d))
    eps, momentum = float(state["eps"]), float(state["momentum"])
    run_mean = np.array(state["running_mean"], dtype=np.float64)
    run_var = np.array(state["running_var"], dtype=np.float64)
    out = np.empty((n, d))
    if state["mode"] == "train":
        new_mean, new_var = np.empty(d), np.empty(d)
        for j in range(d):
            mean, var = _column_stats(x, j)
            scale = float(gamma[j]) / math.sqrt(var + eps)
            for i in range(n):
                out[i, j] = (float(x[i, j]) - mean) * scale + float(beta[j])
            unbiased = var * n / (n - 1)
            new_mean[j] = (1.0 - momentum) * float(run_mean[j]) + momentum * mean
            new_var[j] = (1.0 - momentum) * float(run_var[j]) + momentum * unbiased
        state["running_mean"], state["running_var"] = new_mean, new_var
    elif state["mode"] == "eval":
        for j in range(d):
            scale = float(gamma[j]) / math.sqrt(float(run_var[j]) + eps)
            for i in range(n):
                out[i, j] = (float(x[i, j]) - float(run_mean[j])) * scale + float(beta[j])
        state["running_mean"], state["running_var"] = run_mean, run_var
    else:
        raise ValueError(f"mode must be 'train' or 'eval', got {state['mode']!r}")
    return out


def backward_step(x, gamma, eps, dout):
    """(dx, dgamma, dbeta) of a train-mode batch norm, through the explicit per-feature Jacobian."""
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    n, d = x.shape
    dx, dgamma, dbeta = np.zeros((n, d)), np.zeros(d), np.zeros(d)
    for j in range(d):
        mean, var = _column_stats(x, j)
        s = math.sqrt(var + eps)
        xhat = [(float(x[i, j]) - mean) / s for i in range(n)]
        g = float(gamma[j])
        for i in range(n):
            dbeta[j] += float(dout[i, j])
            dgamma[j] += float(dout[i, j]) * xhat[i]
        for k in range(n):  # dx_k = Σ_i dout_i · ∂out_i/∂x_k
            total = 0.0
            for i in range(n):
                jac = g / s * ((1.0 if i == k else 0.0) - 1.0 / n - xhat[i] * xhat[k] / n)
                total += float(dout[i, j]) * jac
            dx[k, j] = total
    return dx, dgamma, dbeta


def _plain_state(state: dict, record) -> dict:
    return {k: copy.deepcopy(state[k]) for k in record if k in state}


def batchnorm_forward_case(case) -> dict:
    """Driver output of a correct ``batchnorm_forward`` on a ``batchnorm`` case."""
    state = copy.deepcopy(case.get("bn_param") or {})
    gamma = np.asarray(case["gamma"], dtype=np.float64)
    beta = np.asarray(case["beta"], dtype=np.float64)
    steps = []
    for x, mode in zip(case["x"], case["modes"]):
        if mode is not None:
            state["mode"] = mode
        out = forward_step(x, gamma, beta, state)
        steps.append({"out": out, "bn_param": _plain_state(state, case.get("record", []))})
    return {"steps": steps, "mutated": []}


def batchnorm_backward_case(case) -> dict:
    """Driver output of a correct backward (either form) on a ``batchnorm`` case with ``dout``."""
    state = copy.deepcopy(case.get("bn_param") or {})
    gamma = np.asarray(case["gamma"], dtype=np.float64)
    beta = np.asarray(case["beta"], dtype=np.float64)
    steps = []
    for x, mode, dout in zip(case["x"], case["modes"], case["dout"]):
        if mode is not None:
            state["mode"] = mode
        out = forward_step(x, gamma, beta, state)
        dx, dgamma, dbeta = backward_step(x, gamma, float(state["eps"]), dout)
        steps.append({"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta})
    return {"steps": steps, "mutated": []}


REFERENCES = {
    "batchnorm_forward": batchnorm_forward_case,
    "batchnorm_backward": batchnorm_backward_case,
    "batchnorm_backward_alt": batchnorm_backward_case,
}


# ---------------------------------------------------------------------------------------------
# Layer normalization (``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``): every
# statistic is taken per sample (row), over its D features, with the biased variance; no state,
# the same computation in train and eval mode. Written with explicit loops over rows and features;
# the backward pass builds each row's D×D Jacobian ∂out_j/∂x_k = γ_j/σ̃ · (δ_jk − 1/D − x̂_j x̂_k / D).


def _row_stats(x, i):
    """Mean and biased variance of row i, two passes, plain Python sums."""
    d = x.shape[1]
    mean = 0.0
    for j in range(d):
        mean += float(x[i, j])
    mean /= d
    var = 0.0
    for j in range(d):
        c = float(x[i, j]) - mean
        var += c * c
    return mean, var / d


def layernorm_step(x, gamma, beta, eps: float) -> np.ndarray:
    """The output of a correct layernorm_forward."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    out = np.empty((n, d))
    for i in range(n):
        mean, var = _row_stats(x, i)
        s = math.sqrt(var + eps)
        for j in range(d):
            out[i, j] = float(gamma[j]) * (float(x[i, j]) - mean) / s + float(beta[j])
    return out


def layernorm_backward_step(x, gamma, eps: float, dout):
    """(dx, dgamma, dbeta) of layer norm at ``x``, through each row's explicit Jacobian."""
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    n, d = x.shape
    dx, dgamma, dbeta = np.zeros((n, d)), np.zeros(d), np.zeros(d)
    for i in range(n):
        mean, var = _row_stats(x, i)
        s = math.sqrt(var + eps)
        xhat = [(float(x[i, j]) - mean) / s for j in range(d)]
        for j in range(d):
            dbeta[j] += float(dout[i, j])
            dgamma[j] += float(dout[i, j]) * xhat[j]
        for k in range(d):  # dx_ik = Σ_j dout_ij · ∂out_ij/∂x_ik
            total = 0.0
            for j in range(d):
                jac = float(gamma[j]) / s * ((1.0 if j == k else 0.0) - 1.0 / d - xhat[j] * xhat[k] / d)
                total += float(dout[i, j]) * jac
            dx[i, k] = total
    return dx, dgamma, dbeta


def _ln_eps(case) -> float:
    return float((case.get("bn_param") or {}).get("eps", 1e-5))


def layernorm_forward_case(case) -> dict:
    """Driver output of a correct ``layernorm_forward`` on a ``batchnorm`` case (no state recorded)."""
    gamma = np.asarray(case["gamma"], dtype=np.float64)
    beta = np.asarray(case["beta"], dtype=np.float64)
    steps = [{"out": layernorm_step(x, gamma, beta, _ln_eps(case)), "bn_param": {}} for x in case["x"]]
    return {"steps": steps, "mutated": []}


def layernorm_backward_case(case) -> dict:
    """Driver output of a correct ``layernorm_backward`` on a ``batchnorm`` case with ``dout``."""
    gamma = np.asarray(case["gamma"], dtype=np.float64)
    beta = np.asarray(case["beta"], dtype=np.float64)
    eps = _ln_eps(case)
    steps = []
    for x, dout in zip(case["x"], case["dout"]):
        dx, dgamma, dbeta = layernorm_backward_step(x, gamma, eps, dout)
        steps.append({"out": layernorm_step(x, gamma, beta, eps), "dx": dx, "dgamma": dgamma, "dbeta": dbeta})
    return {"steps": steps, "mutated": []}


REFERENCES["layernorm_forward"] = layernorm_forward_case
REFERENCES["layernorm_backward"] = layernorm_backward_case

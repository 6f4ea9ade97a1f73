"""References for 05_initialization: what a correct initializer's draws look like, and LSUV.

Initializers are random, so there is no single right matrix: the hidden tests check properties
(``autograder.assignments.initialization``). This module states the targets those properties
are measured against, written from the papers' formulas, plus samplers and an LSUV written
independently of the solution cells (loops over layers and entries, no shared code).

    xavier_uniform(fan_in, fan_out):  U(−a, a),  a = √(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
    xavier_normal(fan_in, fan_out):   N(0, σ²),  σ = √(2 / (fan_in + fan_out))
    he_normal(fan_in, fan_out):       N(0, σ²),  σ = √(2 / fan_in)                (He et al. 2015)
    orthogonal(fan_in, fan_out, gain): gain · (a Haar-random matrix with orthonormal columns if
        fan_in ≥ fan_out, orthonormal rows otherwise)                            (Saxe et al. 2014)
    lsuv_init(weights, forward_fn, X, tol, max_iter): layer by layer, W ← W / √Var(out) until
        |Var(out) − 1| < tol, at most max_iter rescalings per layer              (Mishkin & Matas 2016)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TARGETS", "target", "sample", "haar_orthogonal", "preactivations", "lsuv", "ACTIVATIONS"]


def _xavier_uniform_target(fan_in, fan_out):
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return {"family": "uniform", "std": bound / math.sqrt(3.0), "bound": bound}


def _xavier_normal_target(fan_in, fan_out):
    return {"family": "normal", "std": math.sqrt(2.0 / (fan_in + fan_out)), "bound": None}


def _he_normal_target(fan_in, fan_out):
    return {"family": "normal", "std": math.sqrt(2.0 / fan_in), "bound": None}


TARGETS = {
    "xavier_uniform": _xavier_uniform_target,
    "xavier_normal": _xavier_normal_target,
    "he_normal": _he_normal_target,
}


def target(name: str, fan_in: int, fan_out: int) -> dict:
    """The distribution an initializer's entries must follow: family, std and (uniform) bound."""
    return TARGETS[name](int(fan_in), int(fan_out))


def sample(name: str, fan_in: int, fan_out: int, rng) -> np.ndarray:
    """A correct draw, built entry by entry from the target (for testing the property checks)."""
    t = target(name, fan_in, fan_out)
    W = np.empty((fan_in, fan_out), dtype=np.float64)
    for i in range(fan_in):
        for j in range(fan_out):
            if t["family"] == "uniform":
                W[i, j] = t["bound"] * (2.0 * rng.random() - 1.0)
            else:
                W[i, j] = t["std"] * rng.standard_normal()
    return W


def haar_orthogonal(fan_in: int, fan_out: int, rng, gain: float = 1.0) -> np.ndarray:
    """gain × a Haar-random (fan_in, fan_out) matrix with orthonormal columns or rows.

    Gram–Schmidt on Gaussian vectors (which is Haar-distributed without any sign fix), done
    explicitly with loops, on the columns of a tall matrix; a wide one is the transpose of a tall one.
    """
    n, k = max(fan_in, fan_out), min(fan_in, fan_out)
    G = rng.standard_normal((n, k))
    Q = np.zeros((n, k))
    for j in range(k):
        v = G[:, j].copy()
        for _ in range(2):  # twice is enough (Kahan): re-orthogonalize against rounding
            for i in range(j):
                v = v - float(Q[:, i] @ v) * Q[:, i]
        Q[:, j] = v / math.sqrt(float(v @ v))
    W = Q if fan_in >= fan_out else Q.T
    return float(gain) * W


def _tanh(a):
    return np.tanh(a)


def _relu(a):
    return np.where(a > 0, a, 0.0)


def _linear(a):
    return a


ACTIVATIONS = {"tanh": _tanh, "relu": _relu, "linear": _linear}


def preactivations(weights, biases, activation: str, X) -> list:
    """Each layer's output before its nonlinearity, ``a_l = h_{l-1} @ W_l + b_l``, ``h_0 = X``."""
    act = ACTIVATIONS[activation]
    h = np.array(X, dtype=np.float64)
    outs = []
    for W, b in zip(weights, biases):
        a = h @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        outs.append(a)
        h = act(a)
    return outs


def _variance(a) -> float:
    """Population variance of every entry, written out (mean of squared deviations)."""
    flat = np.asarray(a, dtype=np.float64).ravel()
    mean = math.fsum(flat) / flat.size
    return math.fsum((flat - mean) ** 2) / flat.size


def lsuv(weights, biases, activation: str, X, tol: float = 1e-2, max_iter: int = 10):
    """LSUV on the net (weights, biases, activation): returns (new weights, rescalings per layer).

    For layer l = 1..L in turn: up to ``max_iter`` times, measure v = Var(a_l) on X; stop if
    |v − 1| < tol, else W_l ← W_l / √v.
    """
    Ws = [np.array(W, dtype=np.float64) for W in weights]
    counts = []
    for layer in range(len(Ws)):
        done = 0
        for _ in range(int(max_iter)):
            v = _variance(preactivations(Ws, biases, activation, X)[layer])
            if abs(v - 1.0) < tol:
                break
            Ws[layer] = Ws[layer] / math.sqrt(v)
            done += 1
        counts.append(done)
    return Ws, counts

"""Layer statistics for notebook 05 (initialization), and the views of its visible checks.

A random initializer has no single right answer, so its visible checks compare *statistics* of
its draws (standard deviation, largest entry, kurtosis, the spectrum of ``WᵀW``) with the values
stored in ``nnopt_helpers/expected/05_initialization.json``, within tolerances far wider than the
sampling noise. The views below (``initializer_stats``, ``orthogonal_stats``, ``lsuv_stats``)
turn what the hidden tests' drivers got from the learner's function into those statistics (the
notebook may pass them to :func:`nnopt_helpers.checks.run_check` as ``call=``; the stored entry
names its view anyway); they first check what needs no statistics (the type, shape and dtype of
the result, that the draws come from the ``rng`` argument, that the inputs stay unchanged) and
raise :class:`~nnopt_helpers.checks.CheckFailed` with an explanation when that fails.

``layer_preactivations`` and ``forward_fn_for`` compute, for a stack of layers, the output of
every layer before its nonlinearity (what LSUV and the depth experiments look at).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .checks import VIEWS, CheckFailed
from .data import as_rng

__all__ = [
    "ACTIVATIONS",
    "layer_preactivations",
    "forward_fn_for",
    "random_layers",
    "initializer_stats",
    "orthogonal_stats",
    "lsuv_stats",
]

ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "linear": lambda a: a,
}


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")


def _check_weights(weights, biases):
    if not isinstance(weights, (list, tuple)) or not weights:
        raise TypeError(f"weights: expected a non-empty list of 2-D arrays, got {type(weights).__name__}")
    Ws = []
    for i, W in enumerate(weights):
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2:
            raise ValueError(f"weights[{i}]: expected a 2-D array (fan_in, fan_out), got shape {W.shape}")
        if i and W.shape[0] != Ws[-1].shape[1]:
            raise ValueError(f"weights[{i}]: fan_in {W.shape[0]} does not match fan_out {Ws[-1].shape[1]} "
                             f"of weights[{i - 1}]")
        Ws.append(W)
    if biases is None:
        bs = [np.zeros(W.shape[1]) for W in Ws]
    else:
        if not isinstance(biases, (list, tuple)) or len(biases) != len(Ws):
            raise ValueError(f"biases: expected a list of {len(Ws)} arrays (one per layer) or None")
        bs = []
        for i, (b, W) in enumerate(zip(biases, Ws)):
            b = np.asarray(b, dtype=np.float64)
            if b.shape != (W.shape[1],):
                raise ValueError(f"biases[{i}]: expected shape ({W.shape[1]},), got {b.shape}")
            bs.append(b)
    return Ws, bs


def layer_preactivations(weights, X, activation="tanh", biases=None) -> list:
    """Every layer's output before its nonlinearity: ``a_l = h_{l-1} @ W_l + b_l``, ``h_l = act(a_l)``, ``h_0 = X``.

    Args:
        weights: list of L arrays, ``weights[l]`` of shape (fan_in_l, fan_out_l), chained.
        X: array of shape (N, fan_in_0).
        activation: ``'tanh'``, ``'relu'`` or ``'linear'`` (applied after every layer).
        biases: list of L arrays of shape (fan_out_l,), or None for zeros.

    Returns:
        list of L arrays ``a_l`` of shape (N, fan_out_l).
    """
    _check_activation(activation)
    Ws, bs = _check_weights(weights, biases)
    h = np.asarray(X, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != Ws[0].shape[0]:
        raise ValueError(f"X: expected shape (N, {Ws[0].shape[0]}), got {h.shape}")
    act = ACTIVATIONS[activation]
    outs = []
    for W, b in zip(Ws, bs):
        a = h @ W + b
        outs.append(a)
        h = act(a)
    return outs


def forward_fn_for(activation="tanh", biases=None):
    """``forward_fn(weights, X) -> layer_preactivations(weights, X, activation, biases)``, for ``lsuv_init``."""
    _check_activation(activation)
    if biases is not None:
        biases = [np.array(b, dtype=np.float64) for b in biases]

    def forward_fn(weights, X):
        return layer_preactivations(weights, X, activation, biases)

    forward_fn.__name__ = f"forward_fn_{activation}"
    return forward_fn


def random_layers(sizes, rng=None, weight_std=1.0, bias_std=0.0):
    """Gaussian weights and biases for layer sizes ``[n_0, n_1, ..., n_L]``.

    Returns ``(weights, biases)``: ``weights[l]`` of shape (n_l, n_{l+1}) with entries
    ``weight_std · N(0, 1)``, ``biases[l]`` of shape (n_{l+1},) with entries ``bias_std · N(0, 1)``.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
        raise ValueError(f"sizes: expected at least two positive ints, got {sizes!r}")
    for name, v in (("weight_std", weight_std), ("bias_std", bias_std)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
            raise ValueError(f"{name}: expected a number >= 0, got {v!r}")
    rng = as_rng(rng)
    weights = [weight_std * rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [bias_std * rng.standard_normal(b) for b in sizes[1:]]
    return weights, biases


# --------------------------------------------------------------------------------------------
# Views for run_check: the hidden tests' drivers (``initializer``, ``layerwise_init``) call the
# function; these put what came back in statistics, after checking what needs none.


def _name(fn) -> str:
    return getattr(fn, "__name__", "your function")


def _check_matrix(W, name, fan_in, fan_out, what="the result"):
    if not isinstance(W, np.ndarray):
        raise CheckFailed(f"{name} returned a {type(W).__name__}; return a NumPy array of shape (fan_in, fan_out).")
    if W.shape != (fan_in, fan_out):
        hint = " It is transposed: the course's W has shape (fan_in, fan_out)." if W.shape == (fan_out, fan_in) else ""
        raise CheckFailed(f"{what} of {name}({fan_in}, {fan_out}, rng) has shape {W.shape}; expected "
                          f"(fan_in, fan_out) = ({fan_in}, {fan_out}).{hint}")
    if W.dtype != np.float64:
        raise CheckFailed(f"{what} of {name} has dtype {W.dtype}; the course works in float64 (do not cast).")
    if not np.all(np.isfinite(W)):
        raise CheckFailed(f"{what} of {name} contains NaN or inf.")


def _draws(raw, case, name) -> list:
    """The draws of the ``initializer`` driver (one per seed, the first seed twice), checked for shape and the use of rng."""
    if "error" in raw:
        raise CheckFailed(f"{name}: {raw['error']}.")
    fan_in, fan_out = int(case["fan_in"]), int(case["fan_out"])
    draws = list(raw["draws"])
    for W in draws + [raw["repeat"]]:
        _check_matrix(W, name, fan_in, fan_out)
    if not np.array_equal(draws[0], raw["repeat"]):
        raise CheckFailed(
            f"{name} gave two different matrices for two generators made with the same seed: the random "
            "numbers do not all come from the rng argument. Draw them with rng (rng.normal(...), "
            "rng.uniform(...), rng.standard_normal(...)), never with np.random.*, so that a seed reproduces a run.")
    if fan_in * fan_out > 1 and np.array_equal(draws[0], draws[1]):
        raise CheckFailed(
            f"{name} gave the same matrix for two generators with different seeds: it ignores the rng "
            "argument (a generator made inside the function with a fixed seed?). Draw from rng.")
    return draws


def initializer_stats(raw, case, names=(), name="your function") -> dict:
    """Statistics of the draw for the first seed of an ``initializer`` case.

    Returns ``{"std", "max_abs", "kurtosis", "mean"}`` of its entries (kurtosis = E[(w − m)⁴] /
    E[(w − m)²]²: 3 for a normal distribution, 1.8 for a uniform one).
    """
    W = _draws(raw, case, name)[0]
    z = W - W.mean()
    var = float(np.mean(z**2))
    out = {"std": math.sqrt(var), "max_abs": float(np.abs(W).max()),
           "kurtosis": float(np.mean(z**4)) / var**2 if var > 0 else float("nan"), "mean": float(W.mean())}
    return {k: out[k] for k in names} if names else out


def orthogonal_stats(raw, case, names=(), name="your function") -> dict:
    """Statistics of the draws of ``fn(fan_in, fan_out, rng, **kwargs)``, gain × an orthonormal matrix.

    Returns ``gram_min_eig`` and ``gram_max_eig``, the extreme eigenvalues of WᵀW (fan_in ≥ fan_out)
    or WWᵀ (fan_in < fan_out) for the first seed (both gain² when the columns, or rows, are
    orthonormal), ``mean_trace``, the mean over the seeds of trace(W[:k, :k]) / gain with
    k = min(fan_in, fan_out), and ``sign_bias`` = max(1, |mean_trace| / (6 standard errors)).
    For a uniformly random (Haar) orthogonal matrix the trace has mean 0 and variance k/max(fan_in,
    fan_out), so ``sign_bias`` is 1 unless the draws lean to one sign.
    """
    fan_in, fan_out = int(case["fan_in"]), int(case["fan_out"])
    gain = float(dict(case.get("kwargs", {})).get("gain", 1.0))
    draws = _draws(raw, case, name)
    W = draws[0]
    eig = np.linalg.eigvalsh(W.T @ W if fan_in >= fan_out else W @ W.T)
    k = min(fan_in, fan_out)
    mean_trace = float(np.mean([float(np.trace(D[:k, :k])) / gain for D in draws]))
    limit = 6.0 * math.sqrt(k / max(fan_in, fan_out)) / math.sqrt(len(draws))
    out = {"gram_min_eig": float(eig[0]), "gram_max_eig": float(eig[-1]), "mean_trace": mean_trace,
           "sign_bias": max(1.0, abs(mean_trace) / limit)}
    return {k: out[k] for k in names} if names else out


def _lsuv_weights(raw, originals, name) -> list:
    """The returned weights of a ``layerwise_init`` run: a new list of float64 matrices of the input shapes."""
    if "error" in raw:
        raise CheckFailed(f"{name}: {raw['error']}.")
    if any(str(m).startswith("weights") for m in raw["mutated"]):
        raise CheckFailed(f"{name} modified its input weights (the list or the arrays in it). Copy them first "
                          "(new = [W.copy() for W in weights]) and rescale the copies.")
    if "X" in raw["mutated"]:
        raise CheckFailed(f"{name} modified its input X.")
    if raw["returned_input_list"]:
        raise CheckFailed(f"{name} returned the list it was given; return a new list.")
    new = raw["result"]
    if not isinstance(new, list) or len(new) != len(originals):
        got = f"a {type(new).__name__}" + (f" of length {len(new)}" if isinstance(new, list) else "")
        raise CheckFailed(f"{name} returned {got}; expected a list of {len(originals)} weight matrices.")
    for i, (W, W0) in enumerate(zip(new, originals)):
        if not isinstance(W, np.ndarray) or W.shape != W0.shape or W.dtype != np.float64:
            what = f"shape {W.shape}, dtype {W.dtype}" if isinstance(W, np.ndarray) else type(W).__name__
            raise CheckFailed(f"weights[{i}] returned by {name} is {what}; expected a float64 array of shape {W0.shape}.")
        if not np.all(np.isfinite(W)):
            raise CheckFailed(f"weights[{i}] returned by {name} contains NaN or inf: the rescaling went wrong "
                              "(divide W by the std of the layer's output, √Var).")
    return new


def lsuv_stats(raw, case, names=(), name="your function") -> dict:
    """Statistics of ``new_weights = fn(weights, forward_fn, X, **kwargs)`` (LSUV) on a ``layerwise_init`` case.

    Checks that the inputs stay unchanged, that a new list of matrices of the same shapes comes
    back and that each is a positive multiple of its input matrix. Returns ``variances`` (the
    variance of each layer's pre-activations with the new weights) and ``scales`` (the factor
    each matrix was multiplied by).
    """
    originals = [np.asarray(W, dtype=np.float64) for W in case["weights"]]
    new = _lsuv_weights(raw, originals, name)
    scales = []
    for i, (W, W0) in enumerate(zip(new, originals)):
        c = float(np.sum(W * W0) / np.sum(W0 * W0))
        if not np.allclose(W, c * W0, rtol=1e-9, atol=1e-12 * abs(c)) or c <= 0:
            raise CheckFailed(f"weights[{i}] returned by {name} is not a positive multiple of the input matrix: "
                              "LSUV only rescales each matrix, W ← W / √Var(output).")
        scales.append(c)
    with np.errstate(all="ignore"):
        outs = layer_preactivations(list(new), case["X"], case["activation"], list(case["biases"]))
    return {"variances": np.array([float(np.var(a)) for a in outs]), "scales": np.array(scales)}


VIEWS.update(initializer_stats=initializer_stats, orthogonal_stats=orthogonal_stats, lsuv_stats=lsuv_stats)

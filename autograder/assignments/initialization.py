"""Hidden tests of 05_initialization: cases, the properties a correct result has, and hints.

Initializers are random: the exact draws depend on how the learner uses ``rng``, so there is no
reference matrix. Each exercise is judged by properties (``Exercise(reference=None,
properties=...)``), with tolerances derived from the sample size so that a correct function
essentially never fails (six standard errors) while the classic mistakes fail every time:

* ``xavier_uniform``, ``xavier_normal``, ``he_normal`` (driver ``initializer``): the driver calls
  the function with ``np.random.default_rng(seed)`` for two seeds and once more with the first.
  Checked: type, shape (fan_in, fan_out), float64, finite; same seed → same matrix, other seed →
  other matrix; mean ≈ 0 and variance ≈ σ² (within 6 standard errors of the pooled entries);
  uniform: every |w| ≤ a and the largest close to a; normal: kurtosis far from a uniform's.
  Shapes: 100×400, 400×100, 256×256, a random large one, and small ones (1×1, 1×n, n×1...).
* ``orthogonal`` (driver ``initializer``): WᵀW = gain²·I (fan_in ≥ fan_out) or WWᵀ = gain²·I to
  1e-9, the same rng checks, and, on matrices drawn with twelve seeds, no sign bias: the mean
  trace of the leading square block, divided by gain, is within 6 standard errors of 0 (Haar
  measure); Q from a QR without the sign correction leans far negative.
* ``lsuv_init`` (driver ``layerwise_init``): the driver builds ``forward_fn`` from a plain net
  (weights, biases, activation) and counts its calls. Checked: a new list, inputs unchanged,
  each matrix a positive multiple of its input matrix, each layer's pre-activation variance on X
  within ``tol`` of 1 (recomputed), and where ``max_iter`` is too small to get there, the
  same rescalings as the grader's own LSUV (``autograder.references.initialization.lsuv``).
* ``predicted_torch_default_var`` (driver ``value``): the number the learner derived, the variance
  of the 10th layer's pre-activations under PyTorch's default ``nn.Linear`` initialization.

The property functions live in ``autograder.properties.initialization`` (they are copied into the
sandbox for the in-kernel hidden tests, so they hold no answers); what they need from the
references travels in the cases, computed here: each initializer case's ``target`` distribution,
each LSUV case's ``reference_variances`` and ``reference_scales``.

``explain`` runs the known mistakes of ``autograder.mutants.initialization`` on the same case
and names the one whose problems (and measured statistics) look like the learner's.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..drivers import DRIVERS
from ..plain import NotPlain, pack, unpack
from ..properties import initialization as props
from ..references import initialization as ref
from ..spec import Assignment, Exercise
from .common import mutant_explainer

__all__ = ["ASSIGNMENT", "initializer_cases", "orthogonal_cases", "lsuv_cases", "public_initializer", "public_orthogonal",
           "public_lsuv"]



# ---------------------------------------------------------------------------------------------
# Cases


def _seeds(rng, k=2) -> list:
    return [int(s) for s in rng.choice(10**6, size=k, replace=False)]


def initializer_cases(rng: np.random.Generator, name: str = "xavier_normal") -> list[dict]:
    """Shapes for the three scaled initializers: large ones for the statistics, small edge cases.

    Each case carries ``target``, the distribution ``name``'s entries must follow (for the properties).
    """
    shapes = [(100, 400), (400, 100), (256, 256)]
    shapes.append(tuple(int(n) for n in rng.integers(120, 400, size=2)))
    shapes += [(1, 1), (1, int(rng.integers(2, 9))), (int(rng.integers(2, 9)), 1),
               tuple(int(n) for n in rng.integers(2, 12, size=2))]
    return [{"fan_in": a, "fan_out": b, "seeds": _seeds(rng), "kwargs": {}, "target": ref.target(name, a, b)}
            for a, b in shapes]


def orthogonal_cases(rng: np.random.Generator) -> list[dict]:
    """Tall, wide and square, default and non-default gains; twelve seeds where the sign bias is tested.

    The sizes stay below 100: the test needs many draws, not large ones (the bias of a QR without
    sign correction is −4.7 ± 0.8 on the trace of a 64×64 matrix, against 0 ± 1 for a uniform one),
    and small QRs stay fast on a busy machine.
    """
    specs = [((64, 64), {}, 12), ((96, 24), {"gain": 2.0}, 12), ((24, 96), {"gain": math.sqrt(2.0)}, 12),
             ((48, 48), {"gain": 0.5}, 2), ((1, 1), {}, 2), ((1, int(rng.integers(2, 9))), {"gain": 3.0}, 2),
             ((int(rng.integers(2, 9)), 1), {}, 2)]
    a, b = (int(n) for n in rng.integers(2, 40, size=2))
    specs.append(((a, b), {"gain": float(rng.uniform(0.5, 2.0))}, 2))
    return [{"fan_in": s[0], "fan_out": s[1], "seeds": _seeds(rng, k), "kwargs": kw} for s, kw, k in specs]


def _net_case(rng, sizes, activation, weight_std, bias_std, N, kwargs) -> dict:
    """A net, a batch, the keyword arguments, and what the grader's own LSUV reaches on them."""
    weights = [weight_std * rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [bias_std * rng.standard_normal(b) for b in sizes[1:]]
    X = rng.standard_normal((N, sizes[0]))
    new, _ = ref.lsuv(weights, biases, activation, X, **kwargs)
    variances = [float(np.var(a)) for a in ref.preactivations(new, biases, activation, X)]
    scales = [float(np.sum(Wn * W) / np.sum(W * W)) for Wn, W in zip(new, weights)]
    return {"weights": weights, "biases": biases, "activation": activation, "X": X, "kwargs": dict(kwargs),
            "reference_variances": np.array(variances), "reference_scales": np.array(scales)}


def lsuv_cases(rng: np.random.Generator) -> list[dict]:
    """Nets of 1–4 layers (tanh, ReLU, linear), with and without biases, badly scaled on purpose."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    return [
        # the defaults, a tanh net with biases and too-large weights
        _net_case(rng, [r(10, 20), r(20, 40), r(20, 40), r(5, 10)], "tanh", 1.0, 0.5, r(100, 160), {}),
        # ReLU, tiny weights, a tight tolerance
        _net_case(rng, [r(10, 20), r(20, 40), r(20, 40), r(20, 40), r(5, 10)], "relu", 0.05, 0.2, r(80, 120),
                  {"tol": 1e-3}),
        # linear layers, a loose tolerance and more iterations allowed
        _net_case(rng, [r(5, 12), r(10, 30), r(3, 8)], "linear", 2.0, 0.5, r(60, 100), {"tol": 0.05, "max_iter": 20}),
        # no biases: one rescaling per layer is exact
        _net_case(rng, [r(8, 16), r(16, 32), r(16, 32)], "tanh", 0.02, 0.0, r(60, 100), {}),
        # a single layer
        _net_case(rng, [r(4, 10), r(4, 10)], "tanh", 3.0, 0.3, r(50, 80), {"tol": 1e-2, "max_iter": 10}),
        # max_iter too small to reach tol: the rescalings must stop there
        _net_case(rng, [r(10, 20), r(20, 40), r(20, 40), r(5, 10)], "tanh", 3.0, 0.5, r(100, 160), {"max_iter": 1}),
        _net_case(rng, [r(10, 20), r(20, 40), r(20, 40)], "relu", 2.0, 0.5, r(80, 120), {"max_iter": 2, "tol": 1e-4}),
    ]


# ---------------------------------------------------------------------------------------------
# Descriptions and hints


def describe_init_case(case) -> str:
    """E.g. ``fan_in=100, fan_out=400`` or ``fan_in=400, fan_out=100, gain=2``."""
    extra = "".join(f", {k}={v:g}" for k, v in case.get("kwargs", {}).items())
    return f"fan_in={case['fan_in']}, fan_out={case['fan_out']}{extra}"


def describe_lsuv_case(case) -> str:
    """E.g. ``a 3-layer tanh net (sizes [12, 30, 30, 8]), a batch of 120, max_iter=1``."""
    sizes = [np.shape(case["weights"][0])[0]] + [np.shape(W)[1] for W in case["weights"]]
    kw = ", ".join(f"{k}={v:g}" for k, v in case.get("kwargs", {}).items()) or "the default tol and max_iter"
    biases = "" if any(np.any(b) for b in case["biases"]) else ", no biases"
    return (f"a {len(case['weights'])}-layer {case['activation']} net (sizes {sizes}{biases}), "
            f"a batch of {len(case['X'])}, {kw}")


def _lsuv_scales(case, actual) -> dict:
    """{"scale i": the factor the learner's weights[i] is of the input's} where that is readable."""
    result = actual.get("result")
    if type(result) is not list or len(result) != len(case["weights"]):
        return {}
    scales = {}
    for i, (W, W0) in enumerate(zip(result, case["weights"])):
        if type(W) is np.ndarray and W.shape == np.shape(W0) and np.all(np.isfinite(W)):
            scales[f"scale {i}"] = float(np.sum(W * W0) / np.sum(np.asarray(W0) ** 2))
    return scales


def _signature(name, case, actual):
    """What a result looks like to the grader: its problem codes and measured values, and mutations."""
    with np.errstate(all="ignore"):
        problems = props.PROBLEMS[name](case, actual)
        values = {p[0]: p[2] for p in problems if p[2] is not None}
        if name == "lsuv_init":  # deterministic: the rescalings identify the mistake
            values = _lsuv_scales(case, actual)
    return ({p[0] for p in problems}, values, tuple(actual.get("mutated") or ()),
            bool(actual.get("returned_input_list")))


def _close(a: dict, b: dict, rtol: float) -> bool:
    return all(abs(a[k] - b[k]) <= rtol * max(abs(a[k]), abs(b[k])) + 1e-12 for k in a)


def _explainer(name: str):
    """explain(case, expected, actual): the known mistake whose result looks like the learner's."""

    def explain(case, expected, actual):
        from ..mutants.initialization import MUTANTS  # grader side only; imported when a hint is needed

        codes, values, mutated, same_list = _signature(name, case, actual)
        if not codes and not mutated:
            return None
        driver = DRIVERS[ASSIGNMENT.exercise(name).driver]
        for fn, description in MUTANTS.get(name, {}).values():
            try:
                out = unpack(pack(driver(fn, case)))
            except NotPlain:
                continue
            if "error" in out:
                continue
            m_codes, m_values, m_mutated, m_same = _signature(name, case, out)
            if (m_codes, m_mutated, m_same) == (codes, mutated, same_list) and m_values.keys() == values.keys() \
                    and _close(values, m_values, 1e-6 if name == "lsuv_init" else 0.1):
                return f"it looks like {description}"
        return None

    return explain


# ---------------------------------------------------------------------------------------------
# The assignment


def _init_exercise(name: str) -> Exercise:
    return Exercise(name=name, driver="initializer",
                    make_cases=functools.partial(initializer_cases, name=name), reference=None,
                    properties=props.initializer_properties,
                    explain=_explainer(name), describe=describe_init_case, public=lambda: public_initializer(name))


ASSIGNMENT = Assignment(
    id="05_initialization",
    notebook="05_initialization.ipynb",
    exercises=(
        _init_exercise("xavier_uniform"),
        _init_exercise("xavier_normal"),
        _init_exercise("he_normal"),
        Exercise(name="orthogonal", driver="initializer",
                 make_cases=orthogonal_cases, reference=None, properties=props.orthogonal_properties,
                 explain=_explainer("orthogonal"), describe=describe_init_case, public=lambda: public_orthogonal()),
        Exercise(name="lsuv_init", driver="layerwise_init",
                 make_cases=lsuv_cases, reference=None, properties=props.lsuv_init_properties,
                 explain=_explainer("lsuv_init"), describe=describe_lsuv_case, public=lambda: public_lsuv()),
        Exercise(
            name="predicted_torch_default_var",
            driver="value",
            make_cases=lambda rng: [{}],
            # PyTorch's nn.Linear default U(−1/√n, 1/√n), n = 256: Var(w) = a²/3 = 1/(3n). Unit-variance
            # inputs without a ReLU: Var(a_1) = n·Var(w) = 1/3; each later ReLU layer multiplies by
            # ½·n·Var(w) = 1/6, nine times up to layer 10: Var(a_10) = (1/3)·(1/6)^9 ≈ 3.31e-8
            reference=lambda case: {"result": (1 / 3) * (1 / 6) ** 9},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer("05_initialization", "predicted_torch_default_var", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Visible checks (nnopt_helpers/expected/05_initialization.json)


# Statistics a correct function's draws have on fixed inputs. The checks run through the call
# styles of ``nnopt_helpers.init_checks`` (the notebook passes them as ``call=``); the tolerances
# are many standard errors wide, so any correct use of the rng passes.


def public_initializer(name: str) -> dict:
    """The standard deviation and the largest entry (uniform) or the kurtosis (normal) of a 100 × 400 draw."""
    t = ref.target(name, 100, 400)
    values, tol = ({"std": t["std"], "max_abs": t["bound"]}, {"std": 0.02, "max_abs": 0.01}) if name == "xavier_uniform" \
        else ({"std": t["std"], "kurtosis": 3.0}, {"std": 0.02, "kurtosis": 0.04})
    return {name: {"view": "initializer_stats", "case": {"fan_in": 100, "fan_out": 400, "seeds": [0, 1], "kwargs": {}},
                   "expected": values, "tol": tol}}


def public_orthogonal() -> dict:
    """A tall and a wide matrix (the spectrum of the Gram matrix), and twelve 64 × 64 draws.

    Haar measure: trace(W) of a random orthogonal 64×64 matrix has mean 0 and std 1, so the mean of
    twelve is within 1.73 (six standard errors) of 0 (sign_bias = 1); without the sign correction it
    is about −4.7 (sign_bias ≈ 2.7).
    """
    return {name: {"view": "orthogonal_stats",
                   "case": {"fan_in": fan_in, "fan_out": fan_out, "seeds": seeds, "kwargs": kwargs},
                   "expected": values, "tol": 1e-9} for name, fan_in, fan_out, seeds, kwargs, values in (
        ("orthogonal_tall", 120, 30, [0, 1], {"gain": 2.0}, {"gram_min_eig": 4.0, "gram_max_eig": 4.0}),
        ("orthogonal_wide", 30, 75, [0, 1], {}, {"gram_min_eig": 1.0, "gram_max_eig": 1.0}),
        ("orthogonal_uniform", 64, 64, list(range(12)), {}, {"sign_bias": 1.0}))}


def public_lsuv() -> dict:
    """LSUV on a tanh net (20-40-40-10, N = 200), to convergence and with one iteration: each layer's variance and scale."""
    from nnopt_helpers import init_checks

    public = {}
    for name, kwargs in (("lsuv_init", {}), ("lsuv_init_max_iter", {"max_iter": 1})):
        rng = np.random.default_rng(0)
        weights, biases = init_checks.random_layers([20, 40, 40, 10], rng, 1.0, 0.5)
        X = rng.standard_normal((200, 20))
        new, _ = ref.lsuv(weights, biases, "tanh", X, **kwargs)
        variances = np.array([float(np.var(a)) for a in ref.preactivations(new, biases, "tanh", X)])
        scales = np.array([float(np.sum(Wn * W) / np.sum(W * W)) for Wn, W in zip(new, weights)])
        public[name] = {"view": "lsuv_stats",
                        "case": {"weights": weights, "biases": biases, "activation": "tanh", "X": X, "kwargs": kwargs},
                        "expected": {"variances": variances, "scales": scales}, "tol": 5e-3}
    return public

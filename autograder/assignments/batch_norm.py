"""Hidden tests of 06_batch_norm: the cases, the references they are judged against, and hints.

All five graded functions run through the ``batchnorm`` driver (``autograder.drivers``):

* ``batchnorm_forward``: runs of 2–6 calls on one ``bn_param`` dict, mixing train and eval mode,
  batches of varying size (N = 2 included, where the unbiased variance is twice the biased one),
  D = 1, a constant feature (zero variance), large offsets and scales, negative gamma, empty and
  partial ``bn_param`` dicts (every default), non-default eps and momentum, given running
  statistics, a first call in eval mode. Each call reports ``out`` and the ``bn_param`` keys.
* ``batchnorm_backward`` and ``batchnorm_backward_alt``: two forward (train) + backward passes per
  case with a non-uniform upstream gradient (with ``dout`` all ones ``dx`` is ~0 and hides bugs).
* ``layernorm_forward`` (exactly ``torch.nn.functional.layer_norm`` over the last axis): calls on one
  ``ln_param`` dict (the driver's ``bn_param``; no key recorded, layer norm keeps no state) with
  random shapes (N = D, D = 1 where the output is beta, N = 1), train and eval mode (the same
  output), default and given eps, constant rows, large offsets and scales, tiny scales.
* ``layernorm_backward``: two forward + backward passes per case through the learner's
  ``layernorm_forward``, non-uniform upstream gradients, the same kinds of shapes and rows.
* ``predicted_running_mean_std`` (driver ``value``): the number the learner derived, the
  stationary standard deviation of the running mean.

**How the backward passes are graded.** The cache is the learner's own, so the driver runs the
learner's ``batchnorm_forward`` (found by name next to the backward function) and feeds its
cache to the learner's backward. ``dx``, ``dgamma`` and ``dbeta`` are judged against the
reference computed from ``x`` alone, so a backward pass is right when it gives the true gradient.
The running statistics play no part: only a forward pass whose train-mode *output* is wrong can
make a correct backward fail, and then the hint says to fix the forward pass first.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.batch_norm``
on the same case and names the one that gives exactly the learner's output, if any.
"""

from __future__ import annotations


import numpy as np

from ..references import batch_norm as ref
from ..spec import Assignment, Exercise, rel_error
from .common import describe_config, mutant_explainer

__all__ = ["ASSIGNMENT", "forward_cases", "backward_cases", "describe_case", "public_forward", "public_backward", "RECORD",
           "layernorm_forward_cases", "layernorm_backward_cases", "describe_ln_case", "public_layernorm_forward",
           "public_layernorm_backward"]

RECORD = ["mode", "eps", "momentum", "running_mean", "running_var"]


def _x(rng, n, d, scale=None, offset=None):
    scale = float(10.0 ** rng.uniform(-0.7, 0.7)) if scale is None else scale
    offset = rng.uniform(-2, 2, size=d) if offset is None else offset
    return offset + scale * rng.standard_normal((n, d))


def _gamma_beta(rng, d):
    return rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d), rng.uniform(-1, 1, size=d)


def _case(rng, xs, modes, bn_param, gamma=None, beta=None, douts=None):
    d = xs[0].shape[1]
    if gamma is None:
        gamma, beta = _gamma_beta(rng, d)
    case = {"x": [np.asarray(x, dtype=np.float64) for x in xs], "modes": list(modes),
            "gamma": np.asarray(gamma, dtype=np.float64), "beta": np.asarray(beta, dtype=np.float64),
            "bn_param": bn_param, "record": list(RECORD)}
    if douts is not None:
        case["dout"] = [np.asarray(g, dtype=np.float64) for g in douts]
        case["forward"] = "batchnorm_forward"
    return case


def forward_cases(rng: np.random.Generator) -> list[dict]:
    """Runs of forward calls sharing one bn_param dict (random shapes, modes and values)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []
    # every default: an empty dict, the first call leaves the mode to its default ('train')
    d = r(2, 6)
    cases.append(_case(rng, [_x(rng, r(3, 9), d) for _ in range(4)], [None, "train", "train", "eval"], {}))
    # a non-default momentum; batches of different sizes (a smaller last batch)
    d = r(1, 5)
    cases.append(_case(rng, [_x(rng, n, d) for n in (r(6, 10), r(6, 10), r(2, 5), r(3, 8))],
                       ["train", "train", "train", "eval"], {"momentum": 0.3}))
    # given running statistics and eps; eval first (uses them), then train, then eval again
    d = r(2, 5)
    cases.append(_case(rng, [_x(rng, r(3, 7), d) for _ in range(3)], ["eval", "train", "eval"],
                       {"eps": 1e-3, "running_mean": rng.standard_normal(d),
                        "running_var": rng.uniform(0.2, 3.0, size=d)}))
    # only the mode given, eval with the default running statistics (zeros and ones)
    d = r(1, 4)
    cases.append(_case(rng, [_x(rng, r(2, 6), d) for _ in range(2)], [None, "train"], {"mode": "eval"}))
    # N = 2: the unbiased variance is twice the biased one
    d = r(2, 4)
    cases.append(_case(rng, [_x(rng, 2, d) for _ in range(3)], ["train", "train", "eval"], {}))
    # one feature (D = 1), many steps, a large momentum
    cases.append(_case(rng, [_x(rng, r(4, 12), 1) for _ in range(6)], ["train"] * 5 + ["eval"],
                       {"momentum": 0.9, "eps": 1e-4}))
    # a constant feature (zero variance: eps keeps it finite) next to normal ones
    n, d = r(3, 8), r(2, 4)
    x = _x(rng, n, d)
    x[:, 0] = 2.5
    x2 = _x(rng, n, d)
    x2[:, 0] = -0.75
    cases.append(_case(rng, [x, x2, x], ["train", "train", "eval"], {}))
    # large offsets and scales
    d = r(2, 5)
    cases.append(_case(rng, [_x(rng, r(4, 9), d, scale=30.0, offset=rng.uniform(50, 200, size=d))
                             for _ in range(3)], ["train", "train", "eval"], {"momentum": 0.05}))
    # everything given, mode switched back and forth
    d = r(3, 6)
    cases.append(_case(rng, [_x(rng, r(5, 9), d) for _ in range(5)], ["train", "eval", "train", "eval", "train"],
                       {"mode": "train", "eps": 1e-5, "momentum": 0.1, "running_mean": np.zeros(d),
                        "running_var": np.ones(d)}))
    # the cs231n-style linspace check
    N, D = 4, 3
    x = np.linspace(-0.5, 1.7, num=N * D).reshape(N, D) ** 2
    cases.append(_case(rng, [x, 2 * x - 1], ["train", "eval"], {},
                       gamma=np.linspace(0.5, 1.5, D), beta=np.linspace(-0.3, 0.3, D)))
    return cases


def backward_cases(rng: np.random.Generator) -> list[dict]:
    """Two forward (train) + backward passes per case, with non-uniform upstream gradients."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []

    def add(shapes, bn_param, make_x=None):
        d = shapes[0][1]
        xs = [(make_x or _x)(rng, n, d) for n, _ in shapes]
        douts = [rng.standard_normal((n, d)) * float(10.0 ** rng.uniform(-1, 1)) for n, _ in shapes]
        cases.append(_case(rng, xs, ["train"] * len(xs), bn_param, douts=douts))

    add([(r(4, 10), r(2, 6))] * 2, {})
    add([(r(4, 10), 1), (r(2, 6), 1)], {"mode": "train"})  # one feature; a second, smaller batch
    add([(2, r(2, 4))] * 2, {})  # N = 2: dx is of the size of eps/σ², all cancellation
    add([(r(3, 8), r(2, 5))] * 2, {"eps": 1e-2})
    add([(r(5, 9), r(3, 5))] * 2, {}, make_x=lambda g, n, d: _x(g, n, d, scale=20.0, offset=g.uniform(20, 80, size=d)))
    add([(r(5, 9), r(3, 5))] * 2, {}, make_x=lambda g, n, d: _x(g, n, d, scale=0.3))
    # a constant feature next to normal ones
    n, d = r(3, 7), r(2, 4)
    xs = [_x(rng, n, d) for _ in range(2)]
    for x, c in zip(xs, (1.5, -4.0)):
        x[:, 0] = c
    cases.append(_case(rng, xs, ["train", "train"], {},
                       douts=[rng.standard_normal((n, d)) for _ in range(2)]))
    # the same shape as the visible check, a square batch (N = D: an axis mix-up keeps the shapes)
    cases.append(_case(rng, [_x(rng, 4, 4) for _ in range(2)], ["train", "train"], {},
                       douts=[rng.standard_normal((4, 4)) for _ in range(2)]))
    return cases


def _describe_bn_param(bn_param) -> str:
    return describe_config(bn_param or {}, name="bn_param", array_state=False)


def describe_case(case) -> str:
    """E.g. ``4 calls (default mode, train, train, eval) on batches of shape (5, 3) with bn_param={}``."""
    shapes = sorted({tuple(x.shape) for x in case["x"]})
    shape_text = ", ".join(str(s) for s in shapes)
    if "dout" in case:
        return (f"{len(case['x'])} forward (train) + backward passes on batches of shape {shape_text} "
                f"with a random upstream gradient and {_describe_bn_param(case.get('bn_param'))}")
    modes = ", ".join("default mode" if m is None else m for m in case["modes"])
    return (f"{len(case['x'])} calls ({modes}) on batches of shape {shape_text} "
            f"with {_describe_bn_param(case.get('bn_param'))}")


FORWARD_FIRST = ("{name} is graded on the cache of your {forward}, and your forward pass's "
                 "train-mode output is wrong on this case: fix {forward} first")


def _forward_first(name: str, forward: str = "batchnorm_forward"):
    """A hint for a backward pass graded on a forward pass whose train-mode output is wrong."""

    def first(case, expected, actual):
        steps = actual.get("steps", []) if isinstance(actual, dict) else []
        if "dout" in case and isinstance(expected, dict):
            for got, want in zip(steps, expected["steps"]):
                out = got.get("out") if isinstance(got, dict) else None
                if not isinstance(out, np.ndarray) or out.shape != want["out"].shape or \
                        rel_error(out, want["out"]) > 1e-6:
                    return FORWARD_FIRST.format(name=name, forward=forward)
        return None

    return first


def _explainer(name: str, forward: str = "batchnorm_forward", nan_equal: bool = False):
    """explain(case, expected, actual): name the known mistake whose output equals ``actual``."""
    return mutant_explainer("06_batch_norm", name, "batchnorm", nan_equal=nan_equal,
                            copy_case=True, first=_forward_first(name, forward))



# ---------------------------------------------------------------------------------------------
# Layer normalization: the same ``batchnorm`` driver (the layer interface is the same; the dict is
# ``ln_param`` and no key of it is recorded: layer norm keeps no state)


def _ln_case(rng, xs, modes, ln_param, douts=None):
    case = _case(rng, xs, modes, ln_param, douts=douts)
    case["record"] = []
    if douts is not None:
        case["forward"] = "layernorm_forward"
    return case


def layernorm_forward_cases(rng: np.random.Generator) -> list[dict]:
    """Calls on one ln_param dict: random shapes (N = D, D = 1, N = 1), modes that must change
    nothing, default and given eps, constant rows, large offsets and scales, tiny scales."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []
    # every default; a square batch (N = D: a broadcast along the wrong axis keeps the shape)
    n = r(3, 6)
    cases.append(_ln_case(rng, [_x(rng, n, n) for _ in range(2)], [None, None], {}))
    # the mode changes nothing: train, eval, train on one dict
    n, d = r(2, 7), r(3, 9)
    cases.append(_ln_case(rng, [_x(rng, n, d) for _ in range(3)], ["train", "eval", "train"], {}))
    # only the mode given, eval first
    n, d = r(2, 6), r(2, 8)
    cases.append(_ln_case(rng, [_x(rng, n, d) for _ in range(2)], [None, "train"], {"mode": "eval"}))
    # a given eps, large next to the variance of small-scale rows
    n, d = r(2, 6), r(3, 8)
    cases.append(_ln_case(rng, [_x(rng, n, d, scale=0.05) for _ in range(2)], ["train", "eval"],
                          {"eps": float(rng.choice([1e-3, 1e-2]))}))
    # one sample (N = 1), several calls
    d = r(2, 10)
    cases.append(_ln_case(rng, [_x(rng, 1, d) for _ in range(3)], [None, None, None], {}))
    # one feature (D = 1): x̂ = 0, the output is beta
    cases.append(_ln_case(rng, [_x(rng, r(2, 6), 1) for _ in range(2)], ["train", "eval"], {"eps": 1e-4}))
    # constant rows (zero variance: eps keeps them finite) among normal ones
    n, d = r(3, 6), r(3, 7)
    x = _x(rng, n, d)
    x[0, :] = 2.5
    x[-1, :] = -0.75
    cases.append(_ln_case(rng, [x], ["train"], {}))
    # large offsets and scales, different in every row
    n, d = r(3, 7), r(4, 9)
    cases.append(_ln_case(rng, [rng.uniform(50, 200, size=(n, 1)) + 30.0 * rng.standard_normal((n, d))
                                for _ in range(2)], ["train", "train"], {}))
    # tiny scales: the default eps matters
    n, d = r(2, 6), r(3, 8)
    cases.append(_ln_case(rng, [_x(rng, n, d, scale=0.003)], ["train"], {"mode": "train", "eps": 1e-5}))
    return cases


def layernorm_backward_cases(rng: np.random.Generator) -> list[dict]:
    """Two forward + backward passes per case, non-uniform upstream gradients, random shapes."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []

    def add(shapes, ln_param, make_x=None):
        xs = [(make_x or _x)(rng, n, d) for n, d in shapes]
        douts = [rng.standard_normal((n, d)) * float(10.0 ** rng.uniform(-1, 1)) for n, d in shapes]
        cases.append(_ln_case(rng, xs, [None] * len(xs), ln_param, douts=douts))

    n = r(3, 6)
    add([(n, n)] * 2, {})  # square: dgamma, dbeta summed over the wrong axis keep their shape
    add([(r(2, 8), r(3, 9))] * 2, {"mode": "train"})
    add([(1, r(3, 8))] * 2, {})  # one sample
    add([(r(2, 6), 1)] * 2, {})  # one feature: dx = 0, dgamma = 0, dbeta = Σ dout
    add([(r(2, 6), r(3, 7))] * 2, {"eps": 1e-2}, make_x=lambda g, n, d: _x(g, n, d, scale=0.1))
    add([(r(3, 6), r(4, 8))] * 2, {},
        make_x=lambda g, n, d: g.uniform(20, 80, size=(n, 1)) + 20.0 * g.standard_normal((n, d)))
    # constant rows among normal ones
    n, d = r(3, 6), r(3, 6)
    xs = [_x(rng, n, d) for _ in range(2)]
    xs[0][0, :], xs[1][-1, :] = 1.5, -4.0
    cases.append(_ln_case(rng, xs, [None, None], {}, douts=[rng.standard_normal((n, d)) for _ in range(2)]))
    return cases


def describe_ln_case(case) -> str:
    """E.g. ``2 calls (default mode, eval) on batches of shape (4, 6) with ln_param={}``."""
    shapes = ", ".join(str(s) for s in sorted({tuple(x.shape) for x in case["x"]}))
    ln_param = describe_config(case.get("bn_param") or {}, name="ln_param", array_state=False)
    if "dout" in case:
        return (f"{len(case['x'])} forward + backward passes on batches of shape {shapes} "
                f"with a random upstream gradient and {ln_param}")
    modes = ", ".join("default mode" if m is None else m for m in case["modes"])
    return f"{len(case['x'])} call{'s' if len(case['x']) > 1 else ''} ({modes}) on batches of shape {shapes} with {ln_param}"


def _ln_visible_inputs():
    """N = 4 samples, D = 5 features, each row with its own offset and scale."""
    N, D = 4, 5
    x = np.linspace(-1.1, 1.9, num=N * D).reshape(N, D) ** 2 * np.array([[1.0], [0.3], [2.0], [0.05]]) \
        + np.array([[0.5], [-2.0], [4.0], [1.0]])
    return x, np.linspace(0.6, 1.4, num=D), np.linspace(-0.5, 0.3, num=D)


def public_layernorm_forward() -> dict:
    """Every default on one call; then train and eval with a large eps (the mode must change nothing)."""
    x, gamma, beta = _ln_visible_inputs()

    def check(xs, modes, ln_param):
        return {"case": {"x": xs, "modes": modes, "gamma": gamma, "beta": beta, "bn_param": ln_param, "record": []},
                "outputs": ["out"], "tol": 1e-7, "same_shapes": True}

    return {"layernorm_forward": check([x], [None], {}),
            "layernorm_forward_eval_eps": check([x, 0.5 * x[::-1] - 1.0], ["train", "eval"], {"eps": 0.05})}


def public_layernorm_backward() -> dict:
    """A square batch (N = D = 4, so dgamma and dbeta summed over the wrong axis keep their shape) and a
    non-uniform dout; the notebook passes call=backward_through(layernorm_forward)."""
    xb = np.linspace(-1.3, 2.1, num=16).reshape(4, 4) ** 2 + np.array([[0.0], [-1.0], [3.0], [0.5]])
    dout = np.linspace(-0.9, 1.1, num=16).reshape(4, 4) ** 3 + np.sin(np.arange(16.0)).reshape(4, 4)
    case = {"x": [xb], "modes": [None], "gamma": np.linspace(0.5, 1.5, num=4), "beta": np.linspace(-0.4, 0.4, num=4),
            "bn_param": {}, "record": [], "dout": [dout], "forward": "layernorm_forward"}
    return {"layernorm_backward": {"case": case, "outputs": ["dx", "dgamma", "dbeta"], "tol": 1e-7,
                                   "same_shapes": True}}


ASSIGNMENT = Assignment(
    id="06_batch_norm",
    notebook="06_batch_norm.ipynb",
    exercises=(
        Exercise(
            name="batchnorm_forward",
            driver="batchnorm",
            make_cases=forward_cases,
            reference=ref.batchnorm_forward_case,
            explain=_explainer("batchnorm_forward"),
            describe=describe_case,
            public=lambda: public_forward(),
        ),
        Exercise(
            name="batchnorm_backward",
            driver="batchnorm",
            make_cases=backward_cases,
            reference=ref.batchnorm_backward_case,
            explain=_explainer("batchnorm_backward"),
            describe=describe_case,
            public=lambda: public_backward("batchnorm_backward"),
        ),
        Exercise(
            name="batchnorm_backward_alt",
            driver="batchnorm",
            make_cases=backward_cases,
            reference=ref.batchnorm_backward_case,
            explain=_explainer("batchnorm_backward_alt"),
            describe=describe_case,
            public=lambda: public_backward("batchnorm_backward_alt"),
        ),
        Exercise(
            name="predicted_running_mean_std",
            driver="value",
            make_cases=lambda rng: [{}],
            # rm = Σ_k m(1−m)^k μ_{B,t−k}, independent batch means of variance σ²/N:
            # Var(rm) = m²/(1 − (1−m)²)·σ²/N = m/(2−m)·σ²/N; m = 0.05, σ² = 4, N = 16: std ≈ 0.0801
            reference=lambda case: {"result": (0.05 / (2 - 0.05) * 4 / 16) ** 0.5},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer("06_batch_norm", "predicted_running_mean_std", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
        Exercise(
            name="layernorm_forward",
            driver="batchnorm",
            make_cases=layernorm_forward_cases,
            reference=ref.layernorm_forward_case,
            explain=_explainer("layernorm_forward", "layernorm_forward", nan_equal=True),
            describe=describe_ln_case,
            public=lambda: public_layernorm_forward(),
        ),
        Exercise(
            name="layernorm_backward",
            driver="batchnorm",
            make_cases=layernorm_backward_cases,
            reference=ref.layernorm_backward_case,
            explain=_explainer("layernorm_backward", "layernorm_forward", nan_equal=True),
            describe=describe_ln_case,
            public=lambda: public_layernorm_backward(),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Visible self-checks (nnopt_helpers/expected/06_batch_norm.json)


def _visible_inputs():
    """Fixed, linspace-style inputs (N = 4, D = 3), the same on every run."""
    N, D = 4, 3
    x = np.linspace(-1.2, 2.3, num=N * D).reshape(N, D) ** 2 + np.array([0.0, -1.0, 3.0])
    gamma = np.linspace(0.5, 1.5, num=D)
    beta = np.linspace(-0.4, 0.4, num=D)
    return N, D, x, gamma, beta


def _forward_check(xs: list, modes: list, bn_param: dict, record: list) -> dict:
    _, _, _, gamma, beta = _visible_inputs()
    return {"case": {"x": xs, "modes": modes, "gamma": gamma, "beta": beta, "bn_param": bn_param, "record": record},
            "outputs": ["out", *record], "tol": 1e-7, "same_shapes": True}


def public_forward() -> dict:
    """One training call with given running statistics, one with every default, and train, train, eval."""
    _, D, x, _, _ = _visible_inputs()
    stats = ["running_mean", "running_var"]
    return {
        "batchnorm_forward": _forward_check([x], [None], {"mode": "train", "running_mean": np.linspace(-0.2, 0.4, D),
                                                          "running_var": np.linspace(0.8, 1.6, D)}, stats),
        # numbers only among the state: mistakes are stored as floats
        "batchnorm_forward_defaults": _forward_check([0.5 * x - 1.0], [None], {}, ["eps", "momentum", *stats]),
        "batchnorm_forward_eval": _forward_check([x, 1.5 * x[::-1] + 0.5, x - 2.0], ["train", "train", "eval"],
                                                 {"mode": "train"}, stats),
    }


def public_backward(name: str) -> dict:
    """A square batch (N = D = 4): dgamma and dbeta summed over the wrong axis keep their shape, so
    the check can name that mistake. dout is non-uniform on purpose: with dout all ones, dx is ~0
    and hides most mistakes. The notebook passes call=backward_through(batchnorm_forward), the
    learner's forward; the known mistakes run through the mutants module's own (correct) forward."""
    xb = np.linspace(-1.2, 2.3, num=16).reshape(4, 4) ** 2 + np.array([0.0, -1.0, 3.0, 0.5])
    dout = np.linspace(-1.0, 0.8, num=16).reshape(4, 4) ** 3 + np.cos(np.arange(16)).reshape(4, 4)
    case = {"x": [xb], "modes": [None], "gamma": np.linspace(0.5, 1.5, num=4), "beta": np.linspace(-0.4, 0.4, num=4),
            "bn_param": {"mode": "train"}, "dout": [dout], "forward": "batchnorm_forward"}
    return {name: {"case": case, "outputs": ["dx", "dgamma", "dbeta"], "tol": 1e-7, "same_shapes": True}}

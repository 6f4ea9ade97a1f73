"""Hidden tests of 06_batch_norm: the cases, the references they are judged against, and hints.

All three exercises run through the ``batchnorm`` driver (``autograder.drivers``):

* ``batchnorm_forward``: runs of 2–6 calls on one ``bn_param`` dict, mixing train and eval mode,
  batches of varying size (N = 2 included, where the unbiased variance is twice the biased one),
  D = 1, a constant feature (zero variance), large offsets and scales, negative gamma, empty and
  partial ``bn_param`` dicts (every default), non-default eps and momentum, given running
  statistics, a first call in eval mode. Each call reports ``out`` and the ``bn_param`` keys.
* ``batchnorm_backward`` and ``batchnorm_backward_alt``: two forward (train) + backward passes per
  case with a non-uniform upstream gradient (with ``dout`` all ones ``dx`` is ~0 and hides bugs).

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

__all__ = ["ASSIGNMENT", "forward_cases", "backward_cases", "describe_case", "public_forward", "public_backward", "RECORD"]

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


FORWARD_FIRST = ("{name} is graded on the cache of your batchnorm_forward, and your forward pass's "
                 "train-mode output is wrong on this case: fix batchnorm_forward first")


def _forward_first(name: str):
    """A hint for a backward pass graded on a forward pass whose train-mode output is wrong."""

    def first(case, expected, actual):
        steps = actual.get("steps", []) if isinstance(actual, dict) else []
        if "dout" in case and isinstance(expected, dict):
            for got, want in zip(steps, expected["steps"]):
                out = got.get("out") if isinstance(got, dict) else None
                if not isinstance(out, np.ndarray) or out.shape != want["out"].shape or \
                        rel_error(out, want["out"]) > 1e-6:
                    return FORWARD_FIRST.format(name=name)
        return None

    return first


def _explainer(name: str):
    """explain(case, expected, actual): name the known mistake whose output equals ``actual``."""
    return mutant_explainer("06_batch_norm", name, "batchnorm", nan_equal=False,
                            copy_case=True, first=_forward_first(name))


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

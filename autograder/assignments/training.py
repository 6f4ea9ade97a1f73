"""Hidden tests of 07_training_in_practice: the cases, the references they are judged against, and hints.

* ``gradient_noise_scale`` (driver ``function_inf``: a returned ``np.inf`` arrives as the text
  ``'inf'``): per-example gradients of shape (B, P), B from 2 to 64 and P from 1 to 40, with a
  signal (a common mean) and noise on every scale; B = 2 (where ddof matters most), P = 1, B < P
  and B > P, mean rows (no noise: the noise scale is 0), and rows whose mean is zero or tiny
  (|Ĝ|² <= 0: the contract returns ``np.inf``).
* ``clip_grad_norm`` (driver ``function``): lists of 1 to 5 arrays of shapes from () to (4, 5),
  total norms far above, near and below ``max_norm``, tiny norms (where ``1e-6`` matters), all-zero
  gradients, ``max_norm`` by keyword.
* ``lr_range_test`` (driver ``surface_function``: ``loss_fn`` and ``grad_fn`` are a surface's value
  and gradient, evaluated by the oracle in the verifier): random convex quadratics (b = 0, so the
  loss is >= 0), quadratic bowls, Rosenbrock and a rotated, scaled and shifted Rosenbrock, rates
  over 2 to 6 decades, 2 to 40 steps, default and explicit ``diverge_factor``, runs that stop early
  and runs that do not.
* ``predicted_exp_decay_mean_lr`` (driver ``value``): the number the learner derived, the average
  learning rate of the exponential decay over the run, as a fraction of the peak.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.training`` on
the same case and names the one that gives exactly the learner's output, if any.
"""

from __future__ import annotations

import numpy as np

from ..references import training as ref
from ..spec import Assignment, Exercise
from .common import mutant_explainer

__all__ = ["ASSIGNMENT", "noise_cases", "clip_cases", "range_cases", "public_noise", "public_clip", "public_range"]

ID = "07_training_in_practice"


# ---------------------------------------------------------------------------------------------
# Cases


def _grads(rng, B, P, signal, noise):
    mean = rng.standard_normal(P) * signal
    return mean + noise * rng.standard_normal((B, P))


def noise_cases(rng: np.random.Generator) -> list[dict]:
    """Per-example gradients for ``gradient_noise_scale`` (driver ``function_inf``)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    mats = []
    for _ in range(3):  # random sizes first: the hints of the first failures are the most telling
        scale = float(10.0 ** rng.uniform(-3, 2))
        mats.append(scale * _grads(rng, r(3, 64), r(2, 40), 1.0, float(10.0 ** rng.uniform(-1, 0.7))))
    mats.append(_grads(rng, 2, r(3, 8), 2.0, 0.5))  # B = 2: ddof matters by a factor 2
    mats.append(_grads(rng, r(4, 20), 1, 1.5, 0.7))  # one parameter
    mats.append(_grads(rng, r(3, 6), r(20, 40), 1.0, 0.3))  # fewer examples than parameters
    # every example agrees: no noise, scale 0 (multiples of 1/8 and B = 4: the mean is exact, the spread exactly 0)
    G = np.tile(np.round(8 * rng.standard_normal(r(2, 6))) / 8, (4, 1))
    mats.append(G)
    G = rng.standard_normal((r(3, 10), r(2, 6)))
    mats.append(G - G.mean(axis=0))  # mean exactly zero (up to rounding): |Ĝ|² < 0, inf
    G = rng.standard_normal((2, r(2, 5)))
    mats.append(np.vstack([G[0], -G[0]]))  # B = 2, opposite gradients: inf
    mats.append(_grads(rng, r(30, 60), r(5, 12), 0.05, 1.0))  # a weak signal: the bias correction matters
    return [{"args": [G], "kwargs": {}} for G in mats]


def _array(rng, shape, scale):
    return scale * rng.standard_normal(shape)


def clip_cases(rng: np.random.Generator) -> list[dict]:
    """Lists of gradient arrays and a max_norm for ``clip_grad_norm`` (driver ``function``)."""
    shapes = [(), (1,), (3,), (2, 3), (4, 5), (5,), (3, 1)]
    cases = []

    def add(grads, max_norm, keyword=False):
        grads = [np.asarray(g, dtype=np.float64) for g in grads]
        if keyword:
            cases.append({"args": [grads], "kwargs": {"max_norm": float(max_norm)}})
        else:
            cases.append({"args": [grads, float(max_norm)], "kwargs": {}})

    def random_list(n, scales):
        picks = rng.choice(len(shapes), size=n)
        return [_array(rng, shapes[int(k)], s) for k, s in zip(picks, scales)]

    # arrays of very different norms, total far above max_norm: clipped
    add(random_list(4, [10.0, 0.1, 3.0, 1.0]), float(rng.uniform(0.5, 2.0)))
    # total below max_norm: unchanged
    grads = random_list(3, [0.2, 0.1, 0.3])
    add(grads, float(rng.uniform(2.0, 5.0)))
    # tiny norms, clipped: 1e-6 is a visible fraction of the norm
    grads = random_list(2, [1e-4, 3e-4])
    add(grads, float(np.sqrt(sum(np.sum(g * g) for g in grads))) * 0.3)
    # tiny norms just below max_norm: the factor is max_norm/(total + 1e-6) < 1 even though total < max_norm
    grads = random_list(3, [1e-5, 2e-5, 1e-5])
    add(grads, float(np.sqrt(sum(np.sum(g * g) for g in grads))) + 5e-7)
    # a single array; a scalar array among others
    add([_array(rng, (int(rng.integers(2, 6)),), 5.0)], 1.0)
    add([np.array(float(rng.uniform(3, 6))), _array(rng, (2, 2), 1.0)], 0.5)
    # all zero: the norm is 0 and nothing changes
    add([np.zeros((2, 3)), np.zeros(4)], 1.0)
    # max_norm by keyword, many arrays
    add(random_list(5, [1.0, 2.0, 0.5, 4.0, 0.1]), float(rng.uniform(0.1, 1.0)), keyword=True)
    # large values
    add(random_list(2, [1e3, 5e2]), 10.0)
    return cases


def _spd(rng, d, kappa):
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = np.sort(np.exp(rng.uniform(0.0, np.log(kappa), d)))
    lam[0], lam[-1] = 1.0, kappa
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)


def _range_case(surface, theta0, lr_min, lr_max, num_steps, diverge_factor=None) -> dict:
    case = {"surface": surface, "args": ["@value", "@grad", np.asarray(theta0, dtype=np.float64), float(lr_min),
                                         float(lr_max), int(num_steps)], "kwargs": {}}
    if diverge_factor is not None:
        case["kwargs"]["diverge_factor"] = float(diverge_factor)
    return case


def range_cases(rng: np.random.Generator) -> list[dict]:
    """Surfaces, starts and rate ranges for ``lr_range_test`` (driver ``surface_function``)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []
    for _ in range(2):  # random convex quadratics ½xᵀAx (b = 0: the loss is >= 0), rates up to divergence
        d = r(2, 5)
        scale = float(10.0 ** rng.uniform(-1, 1))
        A = scale * _spd(rng, d, float(rng.uniform(2, 30)))
        lr_max = float(10.0 ** rng.uniform(0.5, 1.5)) / scale
        cases.append(_range_case({"name": "quadratic", "kwargs": {"A": A, "b": np.zeros(d)}},
                                 rng.standard_normal(d), lr_max * 10.0 ** -rng.uniform(3, 6), lr_max, r(15, 40)))
    # a quadratic bowl and an explicit diverge_factor
    # (rates just past 2/λmax = 0.2: the loss grows slowly, so the factor decides where the test stops)
    cases.append(_range_case({"name": "quadratic_bowl", "kwargs": {"condition_number": 10.0, "angle": 0.4}},
                             np.array([1.2, -0.8]) + 0.1 * rng.standard_normal(2), 0.15, 0.25, 30, diverge_factor=1.3))
    # Rosenbrock: the loss first falls, then blows up
    cases.append(_range_case({"name": "rosenbrock", "kwargs": {}}, [-1.0 + 0.2 * rng.standard_normal(), 1.0],
                             1e-5, 1e-2, r(15, 30)))
    # a rotated, scaled and shifted Rosenbrock (scale > 0: still >= 0), a large diverge_factor
    c, s = np.cos(0.7), np.sin(0.7)
    cases.append(_range_case({"name": "rosenbrock", "kwargs": {},
                              "transform": {"scale": float(rng.uniform(0.5, 2.0)), "rotation": [[c, -s], [s, c]],
                                            "shift": rng.uniform(-0.5, 0.5, 2)}},
                             rng.uniform(-1.5, 1.5, 2), 1e-6, 1e-2, r(20, 35), diverge_factor=10.0))
    # a range that never diverges: every step is recorded
    d = r(2, 4)
    A = _spd(rng, d, 5.0)
    cases.append(_range_case({"name": "quadratic", "kwargs": {"A": A, "b": np.zeros(d)}}, rng.standard_normal(d),
                             1e-4, 0.1, r(5, 12)))
    # two steps: only the end points
    cases.append(_range_case({"name": "quadratic_bowl", "kwargs": {"condition_number": 4.0}}, [1.0, -1.0],
                             0.01, 0.1, 2))
    # a start at the minimum: the loss is 0 and stays 0 (0 > factor × 0 is false: no stop)
    cases.append(_range_case({"name": "quadratic_bowl", "kwargs": {"condition_number": 3.0}}, [0.0, 0.0],
                             0.01, 10.0, r(4, 8)))
    return cases


# ---------------------------------------------------------------------------------------------
# Descriptions


def describe_noise_case(case) -> str:
    G = case["args"][0]
    return f"per-example gradients of shape {tuple(np.shape(G))}"


def describe_clip_case(case) -> str:
    grads = case["args"][0]
    max_norm = case["args"][1] if len(case["args"]) > 1 else case["kwargs"]["max_norm"]
    total = float(np.sqrt(sum(np.sum(np.asarray(g) ** 2) for g in grads)))
    shapes = ", ".join(str(tuple(np.shape(g))) for g in grads)
    by = " (by keyword)" if "max_norm" in case.get("kwargs", {}) else ""
    return f"{len(grads)} arrays of shapes {shapes}, total norm {total:.3g}, max_norm={max_norm:.3g}{by}"


def describe_range_case(case) -> str:
    spec = case["surface"]
    name = spec["name"] + (" (rotated, scaled and shifted)" if spec.get("transform") else "")
    if spec["name"] == "quadratic":
        name = f"a {len(spec['kwargs']['b'])}-D convex quadratic"
    _, _, theta0, lr_min, lr_max, n = case["args"]
    factor = case.get("kwargs", {}).get("diverge_factor")
    extra = f", diverge_factor={factor:g}" if factor is not None else ""
    return f"{name} from theta0 = {np.round(theta0, 3).tolist()}, lr_min={lr_min:.3g}, lr_max={lr_max:.3g}, " \
           f"num_steps={n}{extra}"


ASSIGNMENT = Assignment(
    id=ID,
    notebook="07_training_in_practice.ipynb",
    exercises=(
        Exercise(
            name="gradient_noise_scale",
            driver="function_inf",
            make_cases=noise_cases,
            reference=ref.noise_scale_case,
            rtol=1e-6,
            explain=mutant_explainer(ID, "gradient_noise_scale", "function_inf"),
            describe=describe_noise_case,
            public=lambda: public_noise(),
        ),
        Exercise(
            name="clip_grad_norm",
            driver="function",
            make_cases=clip_cases,
            reference=ref.clip_case,
            explain=mutant_explainer(ID, "clip_grad_norm", "function"),
            describe=describe_clip_case,
            public=lambda: public_clip(),
        ),
        Exercise(
            name="lr_range_test",
            driver="surface_function",
            make_cases=range_cases,
            reference=ref.range_test_case,
            explain=mutant_explainer(ID, "lr_range_test", "surface_function"),
            describe=describe_range_case,
            public=lambda: public_range(),
        ),
        Exercise(
            name="predicted_exp_decay_mean_lr",
            driver="value",
            make_cases=lambda rng: [{}],
            # η(t) = η0·0.01^t on t ∈ [0, 1]: mean/η0 = ∫0^1 e^{−t ln 100} dt = (1 − 0.01)/ln 100 ≈ 0.2150
            # (the 215 discrete steps of the notebook average 0.2173, within the tolerance)
            reference=lambda case: {"result": (1 - 0.01) / np.log(100.0)},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer(ID, "predicted_exp_decay_mean_lr", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Visible self-checks: nnopt_helpers/expected/07_training_in_practice.json (python -m autograder.expected)


def public_noise() -> dict:
    """A (6, 4) batch with a clear signal, and a batch of two opposite gradients (no signal: inf)."""
    G = np.linspace(-0.5, 1.0, num=24).reshape(6, 4) ** 2 + np.linspace(0.2, 0.8, num=4)
    G2 = np.linspace(-1.0, 0.5, num=3)
    return {
        "gradient_noise_scale": {"case": {"args": [G], "kwargs": {}}, "outputs": ["noise_scale"], "tol": 1e-7},
        "gradient_noise_scale_no_signal": {"case": {"args": [np.vstack([G2, -G2])], "kwargs": {}},
                                           "outputs": ["noise_scale"], "tol": 1e-7},
    }


def public_clip() -> dict:
    """Three arrays clipped; the same arrays under a larger max_norm (unchanged); tiny gradients."""
    grads = [np.linspace(-1.0, 2.0, num=6).reshape(2, 3), np.linspace(0.5, -0.5, num=4), np.array([3.0])]
    tiny = [np.linspace(-2e-4, 3e-4, num=4), np.linspace(1e-4, 0.0, num=3)]
    check = lambda args: {"case": {"args": args, "kwargs": {}}, "outputs": ["clipped", "total_norm"],  # noqa: E731
                          "view": "flat_arrays", "tol": 1e-7}
    return {"clip_grad_norm": check([grads, 1.5]), "clip_grad_norm_small": check([grads, 10.0]),
            "clip_grad_norm_tiny": check([tiny, 1e-4])}


def public_range() -> dict:
    """A quadratic bowl (κ = 10, so 2/λmax = 0.2): rates from 1e-3 to 10 over 16 steps (the loss falls, then
    the test stops early); rates just past 0.2 with diverge_factor=1.3 (the loss grows slowly)."""
    bowl = {"name": "quadratic_bowl", "kwargs": {"condition_number": 10.0, "angle": 0.3}}
    return {"lr_range_test": {"case": _range_case(bowl, [1.5, -1.0], 1e-3, 10.0, 16), "outputs": ["lrs", "losses"],
                              "tol": 1e-7},
            "lr_range_test_factor": {"case": _range_case(bowl, [1.2, -0.8], 0.15, 0.25, 30, diverge_factor=1.3),
                                     "outputs": ["lrs", "losses"], "tol": 1e-7}}

"""Hidden tests of 02_local_optima: the cases, how results are judged, and hints.

The source notebook's hidden-test cells call ``get("02_local_optima").check(name, fn)``; the
verifier runs the same cases out of the kernel. Functions that take callables or an rng are called
through drivers that build them from plain data (``autograder.drivers``): a surface of
``nnopt_helpers.surfaces`` by name (or a quadratic by its arrays), a generator from a seed.

* ``numerical_hessian`` (driver ``surface_function``): points on Himmelblau, Rosenbrock, Beale,
  the six-hump camel, the strict and the monkey saddle, Rastrigin in 1 to 5 dimensions and random
  quadratics in 2 to 6 dimensions; default and explicit ``h``. Judged by properties (exact
  symmetry; accuracy against the analytic Hessian), because valid stencils differ by rounding.
* ``classify_critical_point`` (driver ``function``): rotated diagonal matrices in 1 to 6
  dimensions with every sign pattern, zero and tiny eigenvalues, explicit ``tol``. Exact reference.
* ``find_minima`` (driver ``surface_function``): random starts on Himmelblau and the six-hump
  camel, starts on the stable line of the strict saddle, runs too short to converge, quadratic
  bowls (one minimum) and quadratic saddles (none: the result has shape (0, d)), explicit ``tol``.
  Judged by properties against the minima the grader's reference reaches (stored in the case).
* ``perturbed_gradient_descent`` (driver ``noisy_path``): starts on the stable manifold of the
  strict saddle and of quadratic saddles in 3 to 5 dimensions, and one run without noise. Judged
  by properties (shape, start, plain GD without noise, the rng's seed decides the path, noise
  statistics, escape).
* ``predicted_escape_steps`` (driver ``value``): the number of steps the learner derived.

* ``linear_interpolation_losses`` (driver ``interpolation``): the loss along the line through two
  points of rotated, scaled and shifted surfaces (Himmelblau, Rosenbrock, the six-hump camel,
  Rastrigin in 3 to 6 dimensions) and of random indefinite quadratics in 2 to 9 dimensions, with
  alphas in [0, 1], beyond both ends, unsorted, descending, only the two ends, a single one and
  none, and two equal points. Exact reference, *and* the points at which ``loss_fn`` was called
  must be the reference's: once per alpha, in order. In the verifier the surface is evaluated by the
  oracle process, so the learner's ``loss_fn`` holds no parameter of it.
* ``filter_normalized_direction`` (driver ``direction``): weights of MLPs with 1 to 3 layers,
  fan-ins 2 to 40, biases, a dead unit (a zero column), an extra 1-D array (as batch norm's
  gamma), each called with two seeds and the first seed again. Graded **by value**: the draw order
  is part of the contract (one ``rng.standard_normal(w.shape)`` per array, in order, 1-D arrays
  included, as Li et al.'s code draws), like ``perturbed_gradient_descent``'s. Properties would
  accept more implementations, but they could only name mistakes statistically; an exact reference
  names every mistake on the first case (row instead of column normalization, a whole-layer norm,
  biases not zeroed, the draws of 1-D arrays skipped, global np.random...) and the contract states
  the order, so a correct function is never rejected.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.local_optima``
on the same case and names the one whose output matches the learner's, if any.
"""

from __future__ import annotations

import math

import numpy as np

from ..properties import local_optima as props
from ..references import local_optima as ref
from ..spec import Assignment, Exercise
from .common import mutant_explainer

__all__ = ["ASSIGNMENT", "hessian_cases", "classify_cases", "find_minima_cases", "perturbed_cases",
           "interpolation_cases", "direction_cases", "public_hessian", "public_classify", "public_find_minima",
           "public_perturbed", "public_interpolation", "public_direction"]


def _surf(name, **kwargs) -> dict:
    return {"name": name, "kwargs": kwargs}


def _rotation(rng, d) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _sym(rng, eigenvalues) -> np.ndarray:
    """A symmetric matrix with these eigenvalues in a random orthonormal basis."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    Q = _rotation(rng, len(lam))
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)


# ---------------------------------------------------------------------------------------------
# numerical_hessian


def _transformed(rng, spec: dict, x) -> tuple[dict, np.ndarray]:
    """``spec`` rotated, scaled and shifted at random, and the point that maps to ``x`` on the original.

    The named surfaces are public (``nnopt_helpers.surfaces``, with their analytic Hessians): a
    function that recognised one by its values could return that Hessian without differentiating.
    Nobody can recognise ``s·g(Rx + c)`` for a random rotation R, scale s and shift c, and in the
    verifier its parameters stay in the oracle process (``autograder/kernel/oracle.py``).
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[0]
    R = _rotation(rng, d)
    shift = rng.uniform(-0.5, 0.5, d)
    transform = {"scale": float(rng.uniform(0.5, 2.0)), "rotation": R, "shift": shift}
    return {**spec, "transform": transform}, R.T @ (x - shift)  # R·x' + c = x


def hessian_cases(rng: np.random.Generator) -> list[dict]:
    def case(surface, x, **kwargs):
        return {"surface": surface, "args": ["@value", np.asarray(x, dtype=np.float64)], "kwargs": kwargs}

    def moved(surface, x, **kwargs):
        return case(*_transformed(rng, surface, x), **kwargs)

    u = lambda lo, hi, n=2: rng.uniform(lo, hi, n)  # noqa: E731
    cases = [
        case(_surf("himmelblau"), u(-4, 4)),
        moved(_surf("himmelblau"), u(-4, 4), h=1e-3),
        moved(_surf("rosenbrock"), u(-1.5, 1.5)),
        case(_surf("rosenbrock"), u(-1.5, 1.5), h=1e-5),
        moved(_surf("beale"), u(-2, 2)),
        moved(_surf("six_hump_camel"), u(-1.5, 1.5)),
        case(_surf("strict_saddle"), [0.0, 0.0]),
        moved(_surf("strict_saddle"), u(-1.5, 1.5)),
        case(_surf("monkey_saddle"), [0.0, 0.0]),
        moved(_surf("monkey_saddle"), u(-1, 1)),
        case(_surf("rastrigin", dim=1), u(-2, 2, 1)),
    ]
    for dim in (3, 5):
        cases.append(moved(_surf("rastrigin", dim=dim), u(-2, 2, dim)))
    for _ in range(2):
        d = int(rng.integers(2, 7))
        A = _sym(rng, rng.uniform(-3, 3, d))
        cases.append(case(_surf("quadratic", A=A, b=rng.standard_normal(d)), rng.standard_normal(d)))
    return cases


def describe_hessian_case(case) -> str:
    x = case["args"][1]
    h = case.get("kwargs", {}).get("h")
    return (f"the {_surface_name(case['surface'])} at x = {np.array2string(x, precision=3)}"
            + (f" with h={h:g}" if h is not None else " with the default h"))


def _surface_name(spec) -> str:
    if spec.get("transform"):
        return _surface_name({k: v for k, v in spec.items() if k != "transform"}) + " (rotated, scaled and shifted)"
    kw = spec.get("kwargs", {})
    if spec["name"] == "quadratic":
        return f"{len(kw['A'])}-D quadratic ½xᵀAx − bᵀx"
    if spec["name"] == "rastrigin":
        return f"{kw.get('dim', 2)}-D Rastrigin function"
    return spec["name"].replace("_", " ") + " surface"


# ---------------------------------------------------------------------------------------------
# classify_critical_point


def classify_cases(rng: np.random.Generator) -> list[dict]:
    def case(eigenvalues, tol=None, rotate=True):
        H = _sym(rng, eigenvalues) if rotate else np.diag(np.asarray(eigenvalues, dtype=np.float64))
        return {"args": [H] if tol is None else [H, tol], "kwargs": {}}

    pos = lambda n: rng.uniform(0.5, 3.0, n)  # noqa: E731
    cases = [
        case(pos(1)), case(-pos(1)), case([0.0], rotate=False),
        case(pos(2)), case(-pos(2)), case([1.5, -0.7]), case([-2.0, -0.5]),
        case([2.0, -1.0, -1.0]), case([-3.0, -1.0, 2.0]), case([1.0, 1.0, -0.5]),
        case([1.0, 0.0, -1.0]), case([2.0, 1e-10]), case([-2.0, -1e-10, -1.0]),
        case([1.0, 1e-3], tol=1e-2), case([1.0, 1e-3], tol=1e-6), case([-1.0, 5e-3, 2.0], tol=1e-2),
        case(np.zeros(3), rotate=False), case([3.0, -1.0]),
        {"args": [np.array([[1.0, 2.0], [2.0, 1.0]])], "kwargs": {}},
        {"args": [np.array([[-1.0, 0.5], [0.5, 2.0]])], "kwargs": {"tol": 1e-4}},
    ]
    for _ in range(4):
        d = int(rng.integers(3, 7))
        signs = rng.choice([-1.0, 1.0, 0.0], size=d, p=[0.4, 0.4, 0.2])
        cases.append(case(signs * rng.uniform(0.5, 2.0, d)))
    return cases


def describe_classify_case(case) -> str:
    H = np.asarray(case["args"][0])
    tol = case["args"][1] if len(case["args"]) > 1 else case.get("kwargs", {}).get("tol")
    lam = np.linalg.eigvalsh(H)
    return (f"a {H.shape[0]}×{H.shape[0]} Hessian with eigenvalues {np.array2string(lam, precision=3)}"
            + (f" and tol={tol:g}" if tol is not None else ""))


# ---------------------------------------------------------------------------------------------
# find_minima


def find_minima_cases(rng: np.random.Generator) -> list[dict]:
    def case(surface, starts, lr, n, **kwargs):
        c = {"surface": surface, "args": ["@value", "@grad", np.asarray(starts, dtype=np.float64), lr, n],
             "kwargs": kwargs}
        c["minima"] = ref.find_minima_case(c)
        return c

    cases = [
        case(_surf("himmelblau"), rng.uniform(-4.5, 4.5, (int(rng.integers(10, 20)), 2)), 0.01, 200),
        case(_surf("himmelblau"), rng.uniform(-4.5, 4.5, (8, 2)), 0.005, 400, tol=1e-4),
        case(_surf("himmelblau"), rng.uniform(-4, 4, (12, 2)), 0.001, 25),  # not converged
        case(_surf("six_hump_camel"), rng.uniform([-2, -1], [2, 1], (16, 2)), 0.02, 300),
        case(_surf("strict_saddle"),
             np.vstack([[[rng.uniform(0.3, 1.5), 0.0], [0.0, 0.0], [-rng.uniform(0.3, 1.5), 0.0]],
                        rng.uniform(-1.5, 1.5, (4, 2))])[rng.permutation(7)], 0.1, 300),
        case(_surf("strict_saddle"), [[1.0, 0.0], [0.5, 0.2], [0.5, -0.2]], 0.1, 300, tol=1e-2),
    ]
    d = int(rng.integers(2, 6))
    A = _sym(rng, rng.uniform(0.5, 2.0, d))
    cases.append(case(_surf("quadratic", A=A, b=rng.standard_normal(d)), rng.standard_normal((5, d)), 0.3, 200))
    d = int(rng.integers(3, 5))
    lam = np.concatenate([rng.uniform(0.5, 2.0, d - 1), [-rng.uniform(0.5, 1.0)]])
    Q = _rotation(rng, d)
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    on_stable = rng.standard_normal((3, d - 1)) @ Q[:, :-1].T  # no component along the negative direction
    cases.append(case(_surf("quadratic", A=A), np.vstack([on_stable, rng.standard_normal((2, d))]), 0.1, 100))
    return cases


def describe_find_minima_case(case) -> str:
    starts, lr, n = case["args"][2:5]
    tol = case.get("kwargs", {}).get("tol")
    return (f"{len(starts)} starts on the {_surface_name(case['surface'])}, learning_rate={lr:g}, "
            f"num_steps={n}" + (f", tol={tol:g}" if tol is not None else ""))


# ---------------------------------------------------------------------------------------------
# perturbed_gradient_descent


def perturbed_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for _ in range(3):
        cases.append({"surface": _surf("strict_saddle"), "x0": np.array([rng.uniform(-1.5, 1.5), 0.0]),
                      "learning_rate": float(rng.uniform(0.1, 0.2)), "num_steps": int(rng.integers(150, 251)),
                      "noise_scale": float(10 ** rng.uniform(-3, -2)), "seed": int(rng.integers(0, 2**31)),
                      "escape_value": -0.2})
    cases.append({"surface": _surf("strict_saddle"), "x0": np.array([1.0, 0.0]), "learning_rate": 0.1,
                  "num_steps": 100, "noise_scale": 0.0, "seed": 7, "escape_value": -0.2})
    for d in (3, 5):
        lam = np.concatenate([rng.uniform(0.5, 2.0, d - 1), [-rng.uniform(0.5, 1.0)]])
        Q = _rotation(rng, d)
        A = (Q * lam) @ Q.T
        lr = float(0.1 / -lam[-1])
        cases.append({"surface": _surf("quadratic", A=0.5 * (A + A.T)), "x0": Q[:, :-1] @ rng.standard_normal(d - 1),
                      "learning_rate": min(lr, 0.9 / lam.max()), "num_steps": 150,
                      "noise_scale": float(10 ** rng.uniform(-2.3, -1.5)), "seed": int(rng.integers(0, 2**31)),
                      "escape_value": -0.05})
    return cases


def describe_perturbed_case(case) -> str:
    return (f"x0={np.array2string(case['x0'], precision=3)} on the {_surface_name(case['surface'])} "
            f"(a start on the saddle's stable manifold), learning_rate={case['learning_rate']:.3g}, "
            f"num_steps={case['num_steps']}, noise_scale={case['noise_scale']:.3g}, rng seed {case['seed']}")


# ---------------------------------------------------------------------------------------------
# linear_interpolation_losses


def interpolation_cases(rng: np.random.Generator) -> list[dict]:
    """Lines through random points of transformed surfaces and random quadratics; alphas of every kind."""
    def case(surface, theta_a, theta_b, alphas):
        return {"surface": surface, "theta_a": np.asarray(theta_a, dtype=np.float64),
                "theta_b": np.asarray(theta_b, dtype=np.float64), "alphas": np.asarray(alphas, dtype=np.float64)}

    def moved(name, lo, hi, alphas, **kwargs):
        spec = _surf(name, **kwargs)
        d = int(kwargs.get("dim", 2))
        spec, a = _transformed(rng, spec, rng.uniform(lo, hi, d))
        return case(spec, a, a + rng.uniform(lo, hi, d) * 0.8, alphas)

    def quadratic(alphas, d=None, same=False):
        d = int(rng.integers(2, 10)) if d is None else d
        A = _sym(rng, rng.uniform(-2, 3, d))
        a = rng.standard_normal(d)
        return case(_surf("quadratic", A=A, b=rng.standard_normal(d)), a, a if same else rng.standard_normal(d), alphas)

    n = lambda: int(rng.integers(5, 30))  # noqa: E731
    return [
        moved("himmelblau", -4, 4, np.linspace(0.0, 1.0, n())),
        moved("rosenbrock", -1.5, 1.5, np.linspace(-1.0, 2.0, n())),
        moved("six_hump_camel", -1.5, 1.5, rng.uniform(-1.5, 2.5, n())),  # unsorted, beyond both ends
        moved("rastrigin", -2, 2, np.linspace(1.5, -0.5, n()), dim=int(rng.integers(3, 7))),  # descending
        quadratic(np.array([0.0, 1.0])),                        # only the two ends
        quadratic(np.array([1.0, 0.0, -1.0, 2.0])),
        quadratic(np.array([float(rng.uniform(-1, 2))])),       # a single alpha
        quadratic(np.zeros(0)),                                  # no alpha at all
        quadratic(np.linspace(-0.5, 1.5, n()), same=True),      # two equal points: a constant loss
        quadratic(rng.uniform(-3.0, 4.0, n()), d=int(rng.integers(5, 10))),
        moved("rastrigin", -2, 2, rng.uniform(-0.5, 1.5, n()), dim=3),
    ]


def describe_interpolation_case(case) -> str:
    alphas = np.asarray(case["alphas"])
    span = f"in [{alphas.min():.3g}, {alphas.max():.3g}]" if alphas.size else "(an empty array)"
    order = "" if alphas.size < 3 else (" (increasing)" if np.all(np.diff(alphas) > 0)
                                        else " (decreasing)" if np.all(np.diff(alphas) < 0) else " (unsorted)")
    same = ", theta_a == theta_b" if np.array_equal(case["theta_a"], case["theta_b"]) else ""
    return (f"{alphas.size} alphas {span}{order} between two points of the {_surface_name(case['surface'])} "
            f"(d = {len(case['theta_a'])}{same})")


# ---------------------------------------------------------------------------------------------
# filter_normalized_direction


def direction_cases(rng: np.random.Generator) -> list[dict]:
    """The weights of small MLPs (matrices (fan_in, fan_out) and bias vectors), two seeds each."""
    def mlp(sizes, bias_std=0.1, dead=False, extra_1d=False):
        weights = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            W = rng.standard_normal((a, b)) * rng.uniform(0.05, 2.0, b)  # columns of different norms
            if dead and i == 0:
                W[:, int(rng.integers(b))] = 0.0  # a unit whose incoming weights are all zero
            weights.append(W)
            weights.append(bias_std * rng.standard_normal(b))
            if extra_1d and i == 0:
                weights.append(1.0 + 0.1 * rng.standard_normal(b))  # e.g. batch norm's gamma
        return {"weights": weights, "seeds": [int(s) for s in rng.integers(0, 2**31, 2)]}

    size = lambda lo, hi: int(rng.integers(lo, hi))  # noqa: E731
    return [
        mlp([size(2, 8), size(2, 8)]),
        mlp([size(10, 40), size(5, 20), size(2, 10)]),
        mlp([size(2, 10), size(8, 16), size(3, 6)], dead=True),
        mlp([size(5, 12), size(4, 9), size(4, 9), size(2, 5)], bias_std=0.0),
        mlp([size(3, 10), size(3, 10), size(2, 5)], extra_1d=True),
        mlp([size(8, 20), 1]),  # a single output unit
    ]


def describe_direction_case(case) -> str:
    shapes = ", ".join(str(tuple(np.shape(w))) for w in case["weights"])
    dead = any(np.ndim(w) == 2 and not np.all(np.any(np.asarray(w) != 0, axis=0)) for w in case["weights"])
    return f"weights of shapes [{shapes}]" + (" (with a zero column)" if dead else "") + \
        f", generators of seeds {case['seeds']} and {case['seeds'][0]} again"


def _direction_first_hint(case, expected, actual):
    """Draws that differ for the same seed: the global random generator (no mutant's draw can match it)."""
    from ..mutants import catalogue

    draws = actual.get("result")
    if type(draws) is not list or len(draws) < 2:
        return None
    try:
        flat = [np.concatenate([np.ravel(d) for d in draw]) for draw in (draws[0], draws[-1])]
        differ = flat[0].shape != flat[1].shape or not np.array_equal(flat[0], flat[1])
    except (TypeError, ValueError):
        return None
    if differ:
        return "it looks like " + catalogue("02_local_optima")["filter_normalized_direction"]["global_random"][1]
    return None


def _direction_fallback(case, actual):
    """Right shapes, zeros and filter norms but other numbers: the draw order."""
    draws = actual.get("result")
    draw = draws[0] if type(draws) is list and draws else None
    if type(draw) is not list or len(draw) != len(case["weights"]):
        return None
    for d, w in zip(draw, case["weights"]):
        w = np.asarray(w)
        if type(d) is not np.ndarray or d.shape != w.shape:
            return None
        if w.ndim == 1 and np.any(d != 0):
            return None
        if w.ndim == 2 and not np.allclose(np.linalg.norm(d, axis=0), np.linalg.norm(w, axis=0), rtol=1e-6, atol=1e-12):
            return None
    return ("the shapes, the zero directions of the 1-D arrays and the filter norms are right, but the random "
            "numbers are others: draw one rng.standard_normal(w.shape) for every array of weights, in the "
            "order of the list, 1-D arrays included, and nothing else from rng")


# ---------------------------------------------------------------------------------------------
# Hints


def _rounding(expected) -> float:
    """Outputs that agree up to rounding: a tolerance relative to the largest entry (finite differences)."""
    return 1e-6 * max(1.0, float(np.max(np.abs(expected), initial=0.0)))


def _explainer(name: str, driver: str):
    return mutant_explainer("02_local_optima", name, driver, rtol=0.0, atol=_rounding, copy_case=True,
                            skip_errors=True)


ASSIGNMENT = Assignment(
    id="02_local_optima",
    notebook="02_local_optima.ipynb",
    exercises=(
        Exercise(name="numerical_hessian", driver="surface_function", make_cases=hessian_cases, reference=None,
                 properties=props.numerical_hessian_properties, explain=_explainer("numerical_hessian", "surface_function"),
                 describe=describe_hessian_case,
                 public=lambda: public_hessian()),
        Exercise(name="classify_critical_point", driver="function", make_cases=classify_cases, reference=ref.classify_case,
                 explain=_explainer("classify_critical_point", "function"), describe=describe_classify_case,
                 public=lambda: public_classify()),
        Exercise(name="find_minima", driver="surface_function", make_cases=find_minima_cases, reference=None,
                 properties=props.find_minima_properties, explain=_explainer("find_minima", "surface_function"),
                 describe=describe_find_minima_case,
                 public=lambda: public_find_minima()),
        Exercise(
            name="predicted_escape_steps",
            driver="value",
            make_cases=lambda rng: [{}],
            # the strict saddle ½x² − ½y² + ¼y⁴, η = 0.2, from (1, 1e-9): along y (λ = −1) each step
            # multiplies y by 1 + η|λ| = 1.2 (the quartic term is negligible up to |y| = 1e-3), so
            # |y_t| = 1.2^t·1e-9 ≥ 1e-3 first at t = ⌈ln(1e6) / ln 1.2⌉ = ⌈75.8⌉ = 76
            reference=lambda case: {"result": math.ceil(math.log(1e-3 / 1e-9) / math.log(1.2))},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer("02_local_optima", "predicted_escape_steps", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
        Exercise(name="perturbed_gradient_descent", driver="noisy_path", make_cases=perturbed_cases, reference=None,
                 properties=props.perturbed_gd_properties, explain=_explainer("perturbed_gradient_descent", "noisy_path"),
                 describe=describe_perturbed_case,
                 public=lambda: public_perturbed()),
        Exercise(name="linear_interpolation_losses", driver="interpolation", make_cases=interpolation_cases,
                 reference=ref.interpolation_case, explain=_explainer("linear_interpolation_losses", "interpolation"),
                 describe=describe_interpolation_case, public=lambda: public_interpolation()),
        Exercise(name="filter_normalized_direction", driver="direction", make_cases=direction_cases,
                 reference=ref.direction_case,
                 explain=mutant_explainer("02_local_optima", "filter_normalized_direction", "direction", rtol=1e-9,
                                          copy_case=True, skip_errors=True, first=_direction_first_hint,
                                          fallback=_direction_fallback),
                 describe=describe_direction_case, public=lambda: public_direction()),
    ),
)


# ---------------------------------------------------------------------------------------------
# Visible self-checks: nnopt_helpers/expected/02_local_optima.json (python -m autograder.expected)


def public_hessian() -> dict:
    """Himmelblau at (1, 2) (no zero entries), Rastrigin in 3-D (zero off-diagonals); the matrix must be symmetric."""
    from nnopt_helpers import surfaces

    x2, x3 = np.array([1.0, 2.0]), np.array([0.3, -1.2, 0.65])
    return {name: {"view": "symmetric_matrix", "case": {"surface": _surf(surface, **kwargs), "args": ["@value", x],
                                                        "kwargs": {}},
                   "expected": {"H": surfaces.SURFACES[surface](**kwargs).hessian(x)}, "tol": 1e-6, "atol": atol}
            for name, surface, kwargs, x, atol in (("numerical_hessian", "himmelblau", {}, x2, 0.0),
                                                   ("numerical_hessian_3d", "rastrigin", {"dim": 3}, x3, 1e-6))}


def public_classify() -> dict:
    """One check per trap."""
    rng = np.random.default_rng(2)
    return {name: {"case": {"args": [H] if tol is None else [H, tol], "kwargs": {}}, "outputs": ["kind"]}
            for name, H, tol in (
        ("classify_maximum", np.array([[-2.0, 1.0], [1.0, -3.0]]), None),
        ("classify_saddle_2d", np.array([[1.0, 2.0], [2.0, 1.0]]), None),
        ("classify_saddle_3d", np.round(_sym(rng, [-3.0, -1.0, 2.0]), 6), None),
        ("classify_saddle_with_zero_eigenvalue", np.diag([1.0, 0.0, -1.0]), None),
        ("classify_tiny_eigenvalue", np.array([[2.0, 0.0], [0.0, 1e-10]]), None),
        ("classify_with_tol", np.array([[1.0, 0.0], [0.0, 1e-3]]), 1e-2))}


def public_find_minima() -> dict:
    """Himmelblau from a grid of starts; the strict saddle with starts on its stable line;
    Himmelblau with too few steps (nothing has converged)."""
    from nnopt_helpers import surfaces

    grid = np.array([[a, b] for a in (-4.0, -1.5, 1.5, 4.0) for b in (-4.0, -1.5, 1.5, 4.0)])
    saddle_starts = np.array([[1.0, 0.0], [0.5, 0.5], [-0.8, -0.3], [0.0, 0.0], [-1.2, 0.0], [1.0, -0.1]])
    public = {}
    for name, surface, starts, lr, n in (
            ("find_minima_himmelblau", "himmelblau", grid, 0.01, 200),
            ("find_minima_saddle_starts", "strict_saddle", saddle_starts, 0.1, 300),
            ("find_minima_not_converged", "himmelblau", grid[:4], 0.001, 20)):
        s = surfaces.SURFACES[surface]()
        public[name] = {
            "case": {"surface": _surf(surface), "args": ["@value", "@grad", starts, lr, n], "kwargs": {}},
            "expected": {"minima": ref.minima_from_starts(s.value, s.grad, starts, lr, n, hessian=s.hessian)},
            "tol": 1e-6, "atol": 1e-9}
    return public


def public_perturbed() -> dict:
    """Without noise (plain GD), then the exact noisy path for a seed (a second run with the same seed
    must give the same path: mistakes that draw from global np.random are named by the view itself)."""
    from nnopt_helpers import surfaces

    saddle = surfaces.strict_saddle()
    x0 = np.array([1.0, 0.0])
    return {name: {"case": {"surface": _surf("strict_saddle"), "x0": x0, "learning_rate": 0.1, "num_steps": n,
                            "noise_scale": scale, "seed": seed},
                   "expected": {"path": ref.perturbed_path(saddle.grad, x0, 0.1, n, scale, np.random.default_rng(seed))},
                   "tol": 1e-7, "atol": 1e-12}
            for name, scale, seed, n in (("perturbed_gd_no_noise", 0.0, 0, 40), ("perturbed_gd_seeded", 0.01, 1, 100))}


def public_interpolation() -> dict:
    """Rastrigin in 4-D from one point to another, alphas from −0.5 to 1.5; Himmelblau with unsorted alphas
    that include both ends and points beyond them."""
    cases = {
        "interpolation_losses": ({"name": "rastrigin", "kwargs": {"dim": 4}}, [0.3, -1.2, 0.65, 1.1],
                                 [-0.9, 0.4, 1.3, -0.25], np.linspace(-0.5, 1.5, 9)),
        "interpolation_unsorted_alphas": (_surf("himmelblau"), [-2.5, 1.0], [3.5, -1.5],
                                          np.array([1.0, 0.0, 0.25, 2.0, -1.0, 0.6])),
    }
    return {name: {"case": {"surface": surface, "theta_a": np.array(a, dtype=np.float64),
                            "theta_b": np.array(b, dtype=np.float64), "alphas": alphas},
                   "outputs": ["losses", "points"], "tol": 1e-9, "atol": 1e-12, "where_it_shows": True}
            for name, (surface, a, b, alphas) in cases.items()}


def public_direction() -> dict:
    """A 6-4-3 MLP: columns of different norms and one all-zero column (a dead unit), biases; seeds 0 and 1."""
    W1 = np.round(np.linspace(-1.0, 1.4, 24).reshape(6, 4) * np.array([1.0, 0.5, 0.0, 2.0]), 6)  # column 2: zeros
    W2 = np.round(np.cos(np.arange(12.0)).reshape(4, 3) * np.array([0.3, 1.0, 3.0]), 6)
    weights = [W1, np.array([0.1, -0.2, 0.0, 0.3]), W2, np.array([0.05, 0.0, -0.05])]
    return {"filter_direction_mlp": {"case": {"weights": weights, "seeds": [0, 1]},
                                     "outputs": [f"direction[{i}]" for i in range(len(weights))],
                                     "tol": 1e-9, "atol": 1e-12, "where_it_shows": True}}

"""Hidden tests of 03_momentum: the cases, the references they are judged against, and hints.

The source notebook's hidden-test cells call ``ASSIGNMENT.check("sgd_momentum", sgd_momentum)``
(and so on); the verifier runs the same cases out of the kernel. Cases are plain data:

* update rules (driver ``update_rule``): arrays of shape (1,), 1-D, 2-D and 3-D, runs of 5–10
  steps with the state carried in ``config``, ``config=None``, ``config={}``, configs with only
  some keys, non-default hyperparameters, zero momentum and a non-zero starting velocity;
* ``momentum_optimal_params`` (driver ``function``): several (λmin, λmax) pairs, including κ = 1;
* ``predicted_nesterov_max_lr`` (driver ``value``): the number the learner derived.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.momentum``
on the same case and names the one that gives exactly the learner's output, if any.
"""

from __future__ import annotations

import numpy as np

from ..references import momentum as ref
from ..spec import Assignment, Exercise
from .common import describe_update_case, mutant_explainer

__all__ = ["ASSIGNMENT", "update_rule_cases", "optimal_params_cases", "describe_update_case",
           "describe_function_case"]

RECORD = ["learning_rate", "momentum", "velocity"]


def _steps(rng) -> int:
    return int(rng.integers(5, 11))


def _run_case(rng, shape, config, w=None, dws=None, grad_scale=None) -> dict:
    """One update-rule case: start ``w``, one gradient per step, the config (None or a dict)."""
    n = _steps(rng)
    scale = float(grad_scale if grad_scale is not None else 10.0 ** rng.uniform(-1, 1))
    if w is None:
        w = rng.standard_normal(shape)
    if dws is None:
        dws = [scale * rng.standard_normal(shape) for _ in range(n)]
    return {"w": np.asarray(w, dtype=np.float64), "dws": [np.asarray(d, dtype=np.float64) for d in dws],
            "config": config, "record": list(RECORD)}


def update_rule_cases(rng: np.random.Generator) -> list[dict]:
    """Cases shared by ``sgd_momentum`` and ``nesterov_momentum`` (random shapes and values)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = []
    # a one-element array with every default
    cases.append(_run_case(rng, (1,), None))
    # a vector with only the learning rate given
    cases.append(_run_case(rng, (r(2, 9),), {"learning_rate": 0.05}))
    # a matrix with every default
    cases.append(_run_case(rng, (r(2, 6), r(2, 6)), None))
    # a 3-D array with non-default hyperparameters
    cases.append(_run_case(rng, (r(2, 4), r(2, 4), r(2, 4)), {"learning_rate": 0.1, "momentum": 0.5}))
    # zero momentum: the update must reduce to plain SGD
    cases.append(_run_case(rng, (r(2, 5), r(2, 5)), {"learning_rate": 0.02, "momentum": 0.0}))
    # a run resumed with a non-zero velocity and heavy momentum
    n = r(3, 8)
    cases.append(_run_case(rng, (n,), {"learning_rate": 1e-3, "momentum": 0.99,
                                       "velocity": rng.standard_normal(n)}))
    # the cs231n linspace check, extended to several steps
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dws = [np.linspace(-0.6, 0.4, num=N * D).reshape(N, D) * (1.0 + 0.25 * k) for k in range(_steps(rng))]
    cases.append(_run_case(rng, (N, D), {"learning_rate": 1e-3,
                                         "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)},
                           w=w, dws=dws))
    # an empty dict: every default must be filled in
    cases.append(_run_case(rng, (r(1, 4), r(2, 6)), {}))
    # only the momentum given, on a one-element array with a given velocity
    cases.append(_run_case(rng, (1,), {"momentum": 0.8, "velocity": rng.standard_normal(1)}))
    # everything given, an explicit zero velocity, large steps
    shape = (2, r(1, 3), 2)
    cases.append(_run_case(rng, shape, {"learning_rate": 0.3, "momentum": 0.75, "velocity": np.zeros(shape)},
                           grad_scale=1.0))
    return cases


def optimal_params_cases(rng: np.random.Generator) -> list[dict]:
    """(λmin, λmax) pairs for ``momentum_optimal_params``, κ = 1 included."""
    pairs = [(1.0, 1.0), (2.5, 2.5), (1.0, 100.0), (1, 10), (0.5, 50.0), (1e-3, 1.0), (3.0, 300.0)]
    for _ in range(3):
        lam_min = float(10.0 ** rng.uniform(-2, 1))
        pairs.append((lam_min, lam_min * float(10.0 ** rng.uniform(0.1, 4))))
    return [{"args": [a, b], "kwargs": {}} for a, b in pairs]


def public_update_rule(name: str) -> dict:
    """The visible checks of an update rule: three steps from a given velocity, and one step with every default
    (a single step also shows the dtype returned)."""
    N, D = 4, 5
    grads = [np.linspace(-0.6, 0.4, num=N * D).reshape(N, D) + 0.25 * k for k in range(3)]
    config = {"learning_rate": 0.05, "momentum": 0.9, "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}
    return {
        name: {"case": {"w": np.linspace(-0.4, 0.6, num=N * D).reshape(N, D), "dws": grads, "config": config,
                        "record": ["velocity"]}, "outputs": ["next_w", "velocity"], "tol": 1e-7},
        f"{name}_defaults": {"case": {"w": np.linspace(-0.4, 0.6, num=6).reshape(2, 3),
                                      "dws": [np.linspace(0.5, -0.5, num=6).reshape(2, 3)], "config": None,
                                      "record": list(RECORD)}, "outputs": ["next_w", *RECORD], "tol": 1e-7},
    }


def public_optimal_params() -> dict:
    """κ = 100 and κ = 1."""
    return {name: {"case": {"args": list(pair), "kwargs": {}}, "outputs": ["learning_rate", "momentum", "rate"],
                   "tol": 1e-7}
            for name, pair in {"momentum_optimal_params": (0.5, 50.0), "momentum_optimal_params_kappa_1": (2.0, 2.0)}.items()}


def describe_function_case(case) -> str:
    """E.g. ``lambda_min=1.0, lambda_max=100.0 (κ = 100)``."""
    a, b = case["args"]
    return f"lambda_min={a!r}, lambda_max={b!r} (κ = {b / a:.4g})"


ASSIGNMENT = Assignment(
    id="03_momentum",
    notebook="03_momentum.ipynb",
    exercises=(
        Exercise(
            name="sgd_momentum",
            driver="update_rule",
            make_cases=update_rule_cases,
            reference=ref.sgd_momentum_case,
            explain=mutant_explainer("03_momentum", "sgd_momentum", "update_rule"),
            describe=describe_update_case,
            public=lambda: public_update_rule("sgd_momentum"),
        ),
        Exercise(
            name="nesterov_momentum",
            driver="update_rule",
            make_cases=update_rule_cases,
            reference=ref.nesterov_momentum_case,
            explain=mutant_explainer("03_momentum", "nesterov_momentum", "update_rule"),
            describe=describe_update_case,
            public=lambda: public_update_rule("nesterov_momentum"),
        ),
        Exercise(
            name="momentum_optimal_params",
            driver="function",
            make_cases=optimal_params_cases,
            reference=ref.momentum_optimal_params_case,
            explain=mutant_explainer("03_momentum", "momentum_optimal_params", "function"),
            describe=describe_function_case,
            public=lambda: public_optimal_params(),
        ),
        Exercise(
            name="predicted_nesterov_max_lr",
            driver="value",
            make_cases=lambda rng: [{}],
            # Nesterov along λ: w+ = (1+μ)(1−ηλ) w − μ(1−ηλ) w−; a root at z = −1 when
            # 1 + (1+2μ)(1−ηλ) = 0, i.e. η = 2(1+μ) / ((1+2μ) λ); here μ = 0.9, λmax = 50
            reference=lambda case: {"result": 2 * (1 + 0.9) / ((1 + 2 * 0.9) * 50.0)},
            rtol=0.015,  # rel_error |x−y|/(|x|+|y|) ≤ 0.015: about 3%
            explain=mutant_explainer("03_momentum", "predicted_nesterov_max_lr", "value", rtol=0.015),
        ),
    ),
)

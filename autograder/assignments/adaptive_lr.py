"""Hidden tests of 04_adaptive_lr: the cases, the references they are judged against, and hints.

The source notebook's hidden-test cells call ``ASSIGNMENT.check("adam", adam)`` (and so on); the
verifier runs the same cases out of the kernel. Cases are plain data:

* update rules (driver ``update_rule``): arrays of shape (1,), 1-D, 2-D and 3-D, runs of 5–10
  steps with the state carried in ``config``; ``config=None``, ``config={}``, configs with only
  some keys, non-default hyperparameters, runs resumed from non-zero state (and Adam's ``t``),
  gradients from 1e-6 (where the placement of epsilon decides the step) to 1e2, gradients with
  exact zeros, and, for AdamW, a large learning_rate·weight_decay (where the order of decay and
  step shows);
* ``cosine_learning_rate`` (driver ``function``): the first and last step, the end of the
  warm-up, no warm-up, lr_min 0 and not, arguments by position and by keyword, random schedules.
* ``predicted_uncorrected_step`` (driver ``value``): the number the learner derived.

When a result is wrong, ``explain`` runs the known mistakes of ``autograder.mutants.adaptive_lr``
on the same case and names the one that gives exactly the learner's output, if any.

``public_rule`` and ``public_schedule`` declare the visible self-checks
(``nnopt_helpers/expected/04_adaptive_lr.json``; ``python -m autograder.expected 04_adaptive_lr``).
"""

from __future__ import annotations

import math

import numpy as np

from ..references import adaptive_lr as ref
from ..spec import Assignment, Exercise
from .common import describe_update_case, mutant_explainer

__all__ = ["ASSIGNMENT", "RULES", "update_rule_cases", "schedule_cases", "describe_schedule_case",
           "public_rule", "public_schedule"]

ID = "04_adaptive_lr"
RULES = ("adagrad", "rmsprop", "adam", "adamw", "adadelta")
#: Non-default hyperparameters a case may set, per rule.
_HYPER = {
    "adagrad": {"learning_rate": (0.05, 0.3, 1e-3), "epsilon": (1e-6, 1e-4)},
    "rmsprop": {"learning_rate": (1e-3, 0.05, 0.2), "decay_rate": (0.9, 0.5, 0.95), "epsilon": (1e-6, 1e-4)},
    "adam": {"learning_rate": (1e-2, 0.1, 3e-4), "beta1": (0.0, 0.5, 0.8), "beta2": (0.99, 0.9, 0.9999),
             "epsilon": (1e-6, 1e-4)},
    "adamw": {"learning_rate": (1e-2, 0.1, 0.2), "beta1": (0.0, 0.5, 0.8), "beta2": (0.99, 0.9),
              "epsilon": (1e-6, 1e-4), "weight_decay": (0.1, 0.5, 1e-3)},
    "adadelta": {"learning_rate": (0.5, 0.1, 2.0), "rho": (0.5, 0.95, 0.8), "epsilon": (1e-4, 1e-8)},
}


def _record(rule: str) -> list[str]:
    """Config keys reported after every step: the hyperparameters and the state."""
    extra = ["t"] if rule in ("adam", "adamw") else []
    return list(ref.DEFAULTS[rule]) + list(ref.STATE[rule]) + extra


def _state(rule, rng, shape, t=None) -> dict:
    """A non-zero state to resume from (second moments are non-negative; Adam also gets t)."""
    out = {}
    for key in ref.STATE[rule]:
        if key == "m":
            out[key] = 0.3 * rng.standard_normal(shape)
        else:
            out[key] = rng.uniform(0.0, 1.0, shape) ** 2
    if rule in ("adam", "adamw"):
        out["t"] = int(rng.integers(1, 50)) if t is None else t
    return out


def _pick(rng, rule, *keys) -> dict:
    """Non-default values for ``keys`` (all of the rule's hyperparameters for ``"all"``)."""
    keys = list(_HYPER[rule]) if keys == ("all",) else keys
    return {k: float(rng.choice(_HYPER[rule][k])) for k in keys}


def _case(rule, rng, shape, config, w=None, dws=None, grad_scale=None, w_scale=1.0, zeros=False) -> dict:
    n = int(rng.integers(5, 11))
    scale = float(grad_scale if grad_scale is not None else 10.0 ** rng.uniform(-1, 1))
    if w is None:
        w = w_scale * rng.standard_normal(shape)
    if dws is None:
        dws = [scale * rng.standard_normal(shape) for _ in range(n)]
        if zeros:  # a sparse feature: some entries never see a gradient in some steps
            dws = [np.where(rng.random(shape) < 0.4, 0.0, d) for d in dws]
    return {"w": np.asarray(w, dtype=np.float64), "dws": [np.asarray(d, dtype=np.float64) for d in dws],
            "config": config, "record": _record(rule)}


def update_rule_cases(rule: str, rng: np.random.Generator) -> list[dict]:
    """Cases for one update rule (random shapes and values; see the module docstring)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    cases = [
        # a one-element array with every default
        _case(rule, rng, (1,), None),
        # a vector with only the learning rate given
        _case(rule, rng, (r(2, 9),), _pick(rng, rule, "learning_rate")),
        # a matrix with every default
        _case(rule, rng, (r(2, 6), r(2, 6)), None),
        # a 3-D array with every hyperparameter given
        _case(rule, rng, (r(2, 4), r(2, 4), r(2, 4)), _pick(rng, rule, "all")),
        # an empty dict: every default must be filled in
        _case(rule, rng, (r(1, 4), r(2, 6)), {}),
        # tiny gradients on small weights: where epsilon sits decides the step
        _case(rule, rng, (r(2, 5), r(2, 5)), None, grad_scale=10.0 ** rng.uniform(-6, -4), w_scale=1e-3),
        # large gradients, a larger learning rate
        _case(rule, rng, (r(2, 8),), _pick(rng, rule, "learning_rate"), grad_scale=10.0 ** rng.uniform(1, 2)),
        # gradients with exact zeros from a zero state
        _case(rule, rng, (r(3, 6), r(2, 4)), None, zeros=True),
    ]
    # a run resumed from a non-zero state, with non-default hyperparameters
    n = r(2, 8)
    cases.append(_case(rule, rng, (n,), {**_pick(rng, rule, "all"), **_state(rule, rng, (n,))}))
    # the cs231n linspace check, extended to several steps, resumed (Adam from t = 5)
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dws = [np.linspace(-0.6, 0.4, num=N * D).reshape(N, D) * (1.0 + 0.25 * k) for k in range(r(5, 10))]
    state = {k: np.linspace(0.5, 0.9, num=N * D).reshape(N, D) for k in ref.STATE[rule]}
    if rule in ("adam", "adamw"):
        state["t"] = 5
    cases.append(_case(rule, rng, (N, D), {**_pick(rng, rule, "learning_rate"), **state}, w=w, dws=dws))
    if rule == "adamw":
        # a large learning_rate·weight_decay: decay before or after the step, scaled by the rate or not
        cases.append(_case(rule, rng, (r(2, 5), r(2, 5)), {"learning_rate": 0.1, "weight_decay": 0.5}))
    if rule == "adadelta":
        # the learning rate matters only when it is not 1
        cases.append(_case(rule, rng, (r(2, 6),), {"learning_rate": 0.25}))
    return cases


def schedule_cases(rng: np.random.Generator) -> list[dict]:
    """Calls of ``cosine_learning_rate``: fixed corner cases, then random schedules."""
    cases = [
        {"args": [0, 100, 0.1], "kwargs": {}},                               # no warm-up: starts at lr_max
        {"args": [50, 100, 0.1], "kwargs": {}},                              # half way: (lr_max + lr_min)/2
        {"args": [100, 100, 0.1], "kwargs": {}},                             # the end: lr_min = 0
        {"args": [0, 100, 0.1], "kwargs": {"warmup_steps": 10}},             # warm-up starts at 0
        {"args": [5, 100, 0.1], "kwargs": {"warmup_steps": 10}},             # half way up
        {"args": [10, 100, 0.1], "kwargs": {"warmup_steps": 10}},            # the peak
        {"args": [55, 100, 0.1, 0.001, 10], "kwargs": {}},                   # every argument by position
        {"args": [100, 100, 0.1], "kwargs": {"lr_min": 0.001, "warmup_steps": 10}},
        {"args": [1, 2, 3.0], "kwargs": {"lr_min": 1.0, "warmup_steps": 1}},  # the shortest schedule
        {"args": [3, 30, 0.5], "kwargs": {"lr_min": 0.05}},
        {"args": [4, 40, 0.2], "kwargs": {"lr_min": 0.02, "warmup_steps": 8}},  # warm-up with lr_min > 0
    ]
    for _ in range(8):
        total = int(rng.integers(20, 1001))
        warmup = int(rng.integers(0, total // 4 + 1)) if rng.random() < 0.75 else 0
        step = int(rng.integers(0, total + 1))
        lr_max = float(10.0 ** rng.uniform(-4, 0))
        lr_min = 0.0 if rng.random() < 0.4 else float(lr_max * rng.uniform(0.0, 0.1))
        cases.append({"args": [step, total, lr_max], "kwargs": {"lr_min": lr_min, "warmup_steps": warmup}})
    return cases


def describe_schedule_case(case) -> str:
    """E.g. ``cosine_learning_rate(5, 100, 0.1, warmup_steps=10)``."""
    args = [repr(a) for a in case["args"]] + [f"{k}={v!r}" for k, v in case["kwargs"].items()]
    return f"cosine_learning_rate({', '.join(args)})"


def _rule_exercise(rule: str) -> Exercise:
    return Exercise(
        name=rule,
        driver="update_rule",
        make_cases=lambda rng, _rule=rule: update_rule_cases(_rule, rng),
        reference=ref.REFERENCES[rule],
        explain=mutant_explainer(ID, rule, "update_rule"),
        describe=describe_update_case,
        public=lambda: public_rule(rule),
    )


ASSIGNMENT = Assignment(
    id=ID,
    notebook="04_adaptive_lr.ipynb",
    exercises=(
        _rule_exercise("adagrad"),
        _rule_exercise("rmsprop"),
        _rule_exercise("adam"),
        Exercise(
            name="predicted_uncorrected_step",
            driver="value",
            make_cases=lambda rng: [{}],
            # Adam without bias correction, β1 = 0.9, β2 = 0.999, the same gradient g at every step:
            # m_t = (1 − β1^t) g and v_t = (1 − β2^t) g², so |Δw|/η = (1 − 0.9^10) / √(1 − 0.999^10)
            # = 0.6513 / 0.09978 ≈ 6.53 at t = 10 (the corrected step is exactly 1)
            reference=lambda case: {"result": (1 - 0.9**10) / math.sqrt(1 - 0.999**10)},
            rtol=0.015,  # cs231n rel_error |x−y|/(|x|+|y|) ≤ 0.015, i.e. about 3%
            explain=mutant_explainer(ID, "predicted_uncorrected_step", "value", rtol=0.015),
            describe=lambda case: "your number",
        ),
        _rule_exercise("adamw"),
        _rule_exercise("adadelta"),
        Exercise(
            name="cosine_learning_rate",
            driver="function",
            make_cases=schedule_cases,
            reference=ref.cosine_learning_rate_case,
            explain=mutant_explainer(ID, "cosine_learning_rate", "function"),
            describe=describe_schedule_case,
            public=lambda: public_schedule(),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# The visible self-checks: fixed linspace inputs, expected values from the references, and what
# each known mistake outputs on them (see nnopt_helpers/checks.py for the format).

#: check name -> (rule, config, recorded keys, kind of gradients); ``config`` may hold "state" for
#: the linspace state of the rule (and Adam's t = 5).
_RULE_CHECKS = {
    "adagrad": ("adagrad", {"learning_rate": 0.1, "state": True}, ["next_w", "cache"], "linspace"),
    "adagrad_defaults": ("adagrad", None, ["next_w", "learning_rate", "epsilon", "cache"], "small"),
    "adagrad_small_gradients": ("adagrad", {"learning_rate": 0.1}, ["next_w"], "tiny"),
    "rmsprop": ("rmsprop", {"learning_rate": 0.01, "decay_rate": 0.9, "state": True}, ["next_w", "cache"],
                "linspace"),
    "rmsprop_defaults": ("rmsprop", None, ["next_w", "learning_rate", "decay_rate", "epsilon", "cache"], "small"),
    "rmsprop_small_gradients": ("rmsprop", {"learning_rate": 0.1}, ["next_w"], "tiny"),
    "adam": ("adam", {"learning_rate": 0.01, "state": True}, ["next_w", "m", "v", "t"], "linspace"),
    "adam_defaults": ("adam", None, ["next_w", "learning_rate", "beta1", "beta2", "epsilon", "m", "v", "t"],
                      "small"),
    "adam_small_gradients": ("adam", {"learning_rate": 0.1}, ["next_w"], "tiny"),
    "adamw": ("adamw", {"learning_rate": 0.05, "weight_decay": 0.2, "state": True}, ["next_w", "m", "v", "t"],
              "linspace"),
    "adamw_defaults": ("adamw", None, ["next_w", "learning_rate", "weight_decay", "m", "v", "t"], "small"),
    "adadelta": ("adadelta", {"learning_rate": 0.5, "rho": 0.8, "state": True},
                 ["next_w", "square_avg", "acc_delta"], "linspace"),
    "adadelta_defaults": ("adadelta", None, ["next_w", "learning_rate", "rho", "epsilon", "square_avg",
                                             "acc_delta"], "small"),
}
#: check name -> (args, kwargs) of one call of cosine_learning_rate.
_SCHEDULE_CHECKS = {
    "cosine_learning_rate_warmup": ([3, 100, 0.1], {"lr_min": 0.001, "warmup_steps": 10}),
    "cosine_learning_rate_peak": ([10, 100, 0.1], {"lr_min": 0.001, "warmup_steps": 10}),
    "cosine_learning_rate_decay": ([40, 100, 0.1, 0.001, 10], {}),
    "cosine_learning_rate_end": ([100, 100, 0.1], {"lr_min": 0.001, "warmup_steps": 10}),
    "cosine_learning_rate_no_warmup": ([0, 50, 0.2], {}),
}


def _check_inputs(rule, config, kind):
    """w, the gradients and the config of a rule's visible check (fixed, linspace-style)."""
    if kind == "linspace":
        N, D = 3, 4
        w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
        grads = [np.linspace(-0.6, 0.4, num=N * D).reshape(N, D) + 0.25 * k for k in range(3)]
    else:
        w = np.linspace(-0.4, 0.6, num=6).reshape(2, 3)
        grads = [np.linspace(0.5, -0.5, num=6).reshape(2, 3), np.linspace(-0.3, 0.7, num=6).reshape(2, 3)]
        if kind == "tiny":  # |g| from 2e-6 to 2e-4: comparable to √ε = 1e-4, far above ε = 1e-8
            w = w * 1e-2
            grads = [np.array([[2e-4, -5e-5, 1e-5], [-2e-6, 8e-5, -1.5e-4]]) * s for s in (1.0, 0.5)]
    if config is None:
        return w, grads, None
    config = dict(config)
    if config.pop("state", False):
        shape = w.shape
        n = int(np.prod(shape))
        for key in ref.STATE[rule]:
            start, stop = {"m": (0.6, 0.9), "v": (0.7, 0.5), "cache": (0.2, 0.9), "square_avg": (0.3, 0.6),
                           "acc_delta": (0.01, 0.05)}[key]
            config[key] = np.linspace(start, stop, num=n).reshape(shape)
        if rule in ("adam", "adamw"):
            config["t"] = 5
    return w, grads, config


def public_rule(rule: str) -> dict:
    """The visible checks of one update rule (``_RULE_CHECKS``); each mistake is stored where it shows."""
    public = {}
    for name, (_, config, keys, kind) in ((n, c) for n, c in _RULE_CHECKS.items() if c[0] == rule):
        w, grads, config = _check_inputs(rule, config, kind)
        public[name] = {"case": {"w": w, "dws": grads, "config": config, "record": [k for k in keys if k != "next_w"]},
                        "outputs": keys, "tol": 1e-7, "where_it_shows": True}
    return public


def public_schedule() -> dict:
    """The visible checks of ``cosine_learning_rate`` (``_SCHEDULE_CHECKS``)."""
    return {name: {"case": {"args": list(args), "kwargs": dict(kwargs)}, "outputs": ["learning_rate"], "tol": 1e-7}
            for name, (args, kwargs) in _SCHEDULE_CHECKS.items()}

"""Drivers: how a graded function is called on one test case.

A driver takes the learner's function and a *case* (plain data made by the grader) and returns
plain data (see ``autograder.plain``). The same drivers run in nbgrader's kernel (hidden-test
cells) and in the verifier's sandbox, so they hold no references and no expected values; the
comparison always happens elsewhere.

Every driver reports problems it can see from the outside (an exception, a wrong return
structure, a mutated input) as data in its result rather than by raising, so that one bad
call does not hide the others.
"""

from __future__ import annotations

import copy

import numpy as np

from .plain import NotPlain, same, to_plain

__all__ = ["DRIVERS", "VALUE_DRIVERS", "INPUTS", "ORACLE_KEYS", "inputs_of", "surface_from_spec", "update_rule", "function"]


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}"[:500], "error_type": type(exc).__name__}


def _copy_args(value):
    """Deep copy with arrays copied, so the learner gets fresh, writable inputs."""
    return copy.deepcopy(value)


def update_rule(fn, case: dict) -> dict:
    """Run ``next_w, config = fn(w, dw, config)`` for several steps, carrying ``config``.

    case: ``w`` array, ``dws`` list of arrays (one per step), ``config`` dict or None (None:
    the rule must fill in its defaults), ``record`` list of config keys to report each step.
    Returns ``{"steps": [{"next_w": ..., "config": {key: ...}}...], "mutated": [...]}``;
    a step that failed has ``error`` instead and ends the run.
    """
    w = np.array(case["w"], dtype=np.float64)
    config = _copy_args(case.get("config"))
    steps, mutated = [], []
    for t, dw in enumerate(case["dws"]):
        dw = np.array(dw, dtype=np.float64)
        w_in, dw_in = w.copy(), dw.copy()
        try:
            ret = fn(w_in, dw_in, config)
        except Exception as exc:  # noqa: BLE001 - any learner error becomes data
            steps.append(_error(exc))
            break
        if not np.array_equal(w_in, w, equal_nan=True):
            mutated.append(f"w (step {t + 1})")
        if not np.array_equal(dw_in, dw, equal_nan=True):
            mutated.append(f"dw (step {t + 1})")
        step = _update_step(ret, list(case.get("record", [])))
        steps.append(step)
        if "error" in step:
            break
        w, config = np.array(ret[0], dtype=np.float64), ret[1]
    return {"steps": steps, "mutated": mutated}


def _update_step(ret, record: list) -> dict:
    """``{"next_w", "config": {recorded keys}}`` (and ``missing_keys``) of one returned pair, or an error."""
    if type(ret) is np.ndarray:
        return _return_error("returned a single array; an update rule returns the pair `return next_w, config` "
                             "so that its state travels to the next call")
    if type(ret) not in (tuple, list) or len(ret) != 2:
        length = f" of length {len(ret)}" if type(ret) in (tuple, list) else ""
        return _return_error(f"returned a {type(ret).__name__}{length}; it should return the pair (next_w, config)")
    next_w, config = ret
    if config is None:
        return _return_error("returned config=None. Return the config dict (`return next_w, config`), creating it "
                             "with `if config is None: config = {}`")
    if type(config) is not dict:
        return _return_error(f"returned a {type(config).__name__} where the config dict belongs; the order is "
                             "`return next_w, config`")
    try:
        step = {"next_w": to_plain(next_w, _where="next_w"),
                "config": {k: to_plain(config[k], _where=f"config[{k!r}]") for k in record if k in config}}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain"}
    if type(next_w) is not np.ndarray:
        return _return_error(f"returned next_w as a {type(next_w).__name__}; return a float64 NumPy array "
                             "(compute it from w and dw with NumPy operations)")
    missing = [k for k in record if k not in config]
    return {**step, "missing_keys": missing} if missing else step


def function(fn, case: dict) -> dict:
    """Call ``fn(*args, **kwargs)`` once; report its plain result and mutated arguments.

    case: ``args`` list and ``kwargs`` dict of plain values.
    Returns ``{"result": ...}`` or ``{"error": ...}``, plus ``mutated``.
    """
    args = _copy_args(list(case.get("args", [])))
    kwargs = _copy_args(dict(case.get("kwargs", {})))
    before = _copy_args((args, kwargs))
    try:
        ret = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return {**_error(exc), "mutated": []}
    mutated = [f"argument {i + 1}" for i, (a, b) in enumerate(zip(args, before[0])) if not same(a, b)]
    mutated += [f"argument {k}" for k in kwargs if not same(kwargs[k], before[1][k])]
    try:
        return {"result": to_plain(ret), "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


def value(answer, case: dict) -> dict:
    """A number the learner wrote down (a prediction, a derived quantity): ``answer`` is the value of
    the exercise's variable, not a function. ``case`` is empty.

    Returns ``{"result": float}``, or ``{"error": ...}`` when it is not one real number
    (``error_type`` ``NotImplementedError`` while it is still ``None``, as released).
    """
    if answer is None:
        return {"error": "no value yet: the variable is still None", "error_type": "NotImplementedError", "mutated": []}
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer, np.floating)):
        return {"error": f"expected one number (a float), got {type(answer).__name__}", "error_type": "TypeError",
                "mutated": []}
    return {"result": float(answer), "mutated": []}


#: Drivers whose "function" is a plain value the learner assigned (see :func:`value`).
VALUE_DRIVERS = frozenset({"value"})

DRIVERS = {"update_rule": update_rule, "function": function, "value": value}


def batchnorm(fn, case: dict) -> dict:
    """Run a batch-norm layer call after call on one ``bn_param`` dict (and, for a backward exercise, backward).

    case: ``x`` list of arrays of shape (N, D), one per call; ``modes`` list of the same length
    ('train', 'eval', or None: leave ``bn_param['mode']`` as it is, so the default applies);
    ``gamma``, ``beta`` arrays of shape (D,); ``bn_param`` the starting dict (carried from call to
    call as one dict object, as ``nnopt_helpers.nets.MLP`` does); ``record`` list of bn_param keys
    to report after each call.

    Forward exercise (no ``dout`` in the case): ``out, cache = fn(x, gamma, beta, bn_param)``; each
    step reports ``out`` and ``bn_param`` (the recorded keys present).

    Backward exercise: ``dout`` list of arrays (one per call) and ``forward``, the name of the
    forward function. The cache is the learner's own, so the forward is the learner's too: the
    function of that name in ``fn``'s global namespace (the notebook or the sandbox, where both
    are defined; the visible checks pass the function itself). Each step runs the forward, then ``dx, dgamma, dbeta = fn(dout, cache)`` on the
    cache it returned, and reports the forward's ``out`` and the three gradients.

    Returns ``{"steps": [...], "mutated": [...]}``; a failed step has ``error`` and ends the run.
    """
    forward = case.get("forward", "batchnorm_forward") if "dout" in case else fn
    forward = forward if callable(forward) else _forward_next_to(fn, str(forward))
    if isinstance(forward, dict):
        return {"steps": [forward], "mutated": []}
    gamma = np.array(case["gamma"], dtype=np.float64)
    beta = np.array(case["beta"], dtype=np.float64)
    bn_param = _copy_args(case.get("bn_param"))
    bn_param = {} if bn_param is None else bn_param
    steps, mutated = [], []
    for t, (x, mode) in enumerate(zip(case["x"], case["modes"])):
        if mode is not None:
            bn_param["mode"] = mode
        step = _bn_forward_step(forward, np.array(x, dtype=np.float64), gamma, beta, bn_param, case, t, mutated)
        if "error" not in step and "dout" in case:
            step = _bn_backward_step(fn, step.pop("_cache"), np.array(case["dout"][t], dtype=np.float64), step,
                                     t, mutated)
        steps.append(step)
        if "error" in step:
            break
    return {"steps": steps, "mutated": mutated}


def _forward_next_to(fn, name: str):
    """The learner's forward pass that a backward exercise is graded through (a callable, or an error step).

    ``case["forward"]`` names it; it is looked up in ``fn``'s global namespace (the notebook or the sandbox).
    """
    namespace = getattr(fn, "__globals__", None)
    forward = namespace.get(name) if isinstance(namespace, dict) else None
    if callable(forward):
        return forward
    return {"error": f"no function {name} found next to {getattr(fn, '__name__', 'the backward')}: "
                     f"the backward pass is graded on the cache that your {name} returns",
            "error_type": "MissingForward"}


def _return_error(text: str) -> dict:
    return {"error": text, "error_type": "ReturnType"}


def _bn_forward_step(forward, x, gamma, beta, bn_param, case, t, mutated) -> dict:
    """One forward call: ``{"out", "bn_param"}`` (forward exercise) or ``{"out", "_cache"}``, or an error."""
    backward = "dout" in case
    x_in, gamma_in, beta_in = x.copy(), gamma.copy(), beta.copy()
    try:
        ret = forward(x_in, gamma_in, beta_in, bn_param)
    except Exception as exc:  # noqa: BLE001 - any learner error becomes data
        return _error(exc)
    by = " (by the forward pass)" if backward else ""
    mutated += [f"{label}{by} (step {t + 1})" for label, before, after in
                (("x", x, x_in), ("gamma", gamma, gamma_in), ("beta", beta, beta_in))
                if not np.array_equal(before, after, equal_nan=True)]
    if type(ret) not in (tuple, list) or len(ret) != 2:
        what = "a single array" if type(ret) is np.ndarray else f"a {type(ret).__name__}"
        return _return_error(f"{'the forward pass ' if backward else ''}returned {what}; a layer's forward pass "
                             "returns the pair (out, cache), the cache holding what the backward pass needs")
    if type(ret[0]) is not np.ndarray:
        return _return_error(f"out is a {type(ret[0]).__name__}, expected a NumPy array")
    if not backward and type(bn_param) is not dict:
        return _return_error("bn_param is no longer a dict")
    try:
        step = {"out": to_plain(ret[0], _where="out")}
        if backward:
            return {**step, "_cache": ret[1]}
        record = list(case.get("record", []))
        return {**step, "bn_param": {k: to_plain(bn_param[k], _where=f"bn_param[{k!r}]") for k in record if k in bn_param}}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain"}


def _bn_backward_step(fn, cache, dout, step, t, mutated) -> dict:
    """``dx, dgamma, dbeta = fn(dout, cache)`` added to the forward's step, or an error."""
    dout_in = dout.copy()
    try:
        grads = fn(dout_in, cache)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    if not np.array_equal(dout, dout_in, equal_nan=True):
        mutated.append(f"dout (step {t + 1})")
    if type(grads) not in (tuple, list) or len(grads) != 3:
        got = f"{len(grads)} values" if type(grads) in (tuple, list) else f"one {type(grads).__name__}"
        return _return_error(f"should return 3 values (dx, dgamma, dbeta), got {got}")
    try:
        for key, value in zip(("dx", "dgamma", "dbeta"), grads):
            if type(value) is not np.ndarray:
                raise NotPlain(f"{key} is a {type(value).__name__}, expected a NumPy array")
            step[key] = to_plain(value, _where=key)
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain"}
    return step


DRIVERS["batchnorm"] = batchnorm


# --------------------------------------------------------------------------------------------
# 02_local_optima: functions that take a loss surface (as callables) and an rng


class TransformedSurface:
    """``f(x) = scale · g(R x + shift)`` for a surface ``g``, a rotation ``R`` and a shift: a surface whose
    Hessian no public table holds (the verifier's secret cases for ``numerical_hessian`` use it)."""

    def __init__(self, base, scale: float, rotation, shift):
        self.base, self.scale = base, float(scale)
        self.R = np.array(rotation, dtype=np.float64)
        self.shift = np.array(shift, dtype=np.float64)
        self.dim = base.dim
        if self.R.shape != (self.dim, self.dim) or self.shift.shape != (self.dim,):
            raise ValueError(f"a transform of a {self.dim}-D surface needs a ({self.dim}, {self.dim}) rotation "
                             f"and a ({self.dim},) shift")
        self.name = f"{getattr(base, 'name', 'surface')} (rotated, scaled and shifted)"

    def _y(self, x):
        return np.asarray(x, dtype=np.float64) @ self.R.T + self.shift

    def value(self, x):
        return self.scale * np.asarray(self.base.value(self._y(x)), dtype=np.float64)

    def grad(self, x):
        return self.scale * (np.asarray(self.base.grad(self._y(x)), dtype=np.float64) @ self.R)

    def hessian(self, x):
        H = np.asarray(self.base.hessian(self._y(x)), dtype=np.float64)
        return self.scale * np.einsum("ki,...kl,lj->...ij", self.R, H, self.R)


class RemoteSurface:
    """A surface evaluated by the verifier's oracle process (``autograder/kernel/oracle.py``).

    In the verifier's sandbox the learner's process holds only this: a handle number and the
    dimension. The surface's parameters (a random quadratic's matrix, a secret rotation) live in
    another process that the learner's code cannot read.
    """

    def __init__(self, handle: int, dim: int):
        self.handle, self.dim = int(handle), int(dim)

    def value(self, x):
        return REMOTE(self.handle, "value", x)

    def grad(self, x):
        return REMOTE(self.handle, "grad", x)


#: In the verifier's sandbox: ``REMOTE(handle, "value" | "grad", x) -> array`` (set by verify_runner).
REMOTE = None


def surface_from_spec(spec: dict):
    """A surface from plain data: ``{"name": ..., "kwargs": {...}, "transform": {...}}``.

    ``name`` is a constructor of ``nnopt_helpers.surfaces.SURFACES`` or ``"quadratic"`` (kwargs
    ``A``, ``b``); the optional ``transform`` (``scale``, ``rotation``, ``shift``) makes a
    :class:`TransformedSurface`. ``{"__oracle__": k, "dim": d}`` is a :class:`RemoteSurface`.
    """
    if "__oracle__" in spec:
        return RemoteSurface(spec["__oracle__"], spec["dim"])
    from nnopt_helpers import surfaces

    name = spec["name"]
    if name != "quadratic" and name not in surfaces.SURFACES:
        raise ValueError(f"unknown surface {name!r}")
    ctor = surfaces.quadratic if name == "quadratic" else surfaces.SURFACES[name]
    surface = ctor(**dict(spec.get("kwargs", {})))
    t = spec.get("transform")
    if t:
        surface = TransformedSurface(surface, t["scale"], t["rotation"], t["shift"])
    return surface


_surface_from_case = surface_from_spec  # the name the tests of 02 use


def _surface_callable(surface, method: str):
    """A plain callable around a surface's ``value`` (returning a float) or ``grad`` (an array).

    Only ``surface``'s public method is reachable through it; in the verifier ``surface`` is a
    :class:`RemoteSurface`, so nothing reachable from the callable holds the surface's parameters.
    """
    if method == "value":
        return lambda x: float(surface.value(np.asarray(x, dtype=np.float64)))
    return lambda x: np.array(surface.grad(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def surface_function(fn, case: dict) -> dict:
    """Call ``fn(*args, **kwargs)`` once, where args may name a surface's ``value`` or ``grad``.

    case: ``surface`` (``{"name", "kwargs"}``, see ``_surface_from_case``), ``args`` list and
    ``kwargs`` dict of plain values in which the strings ``"@value"`` and ``"@grad"`` stand for
    the surface's function f (returning a float) and its gradient (returning an array).
    Returns ``{"result": ...}`` or ``{"error": ...}``, plus ``mutated`` (arrays among the args).
    """
    try:
        surface = surface_from_spec(case["surface"])
    except Exception as exc:  # noqa: BLE001 - a malformed case is reported, never raised
        return {**_error(exc), "mutated": []}
    named = {"@value": _surface_callable(surface, "value"), "@grad": _surface_callable(surface, "grad")}

    def bind(v):
        return named[v] if isinstance(v, str) and v in named else v

    args = [bind(a) for a in _copy_args([a for a in case.get("args", []) if not callable(a)])]
    kwargs = {k: bind(v) for k, v in _copy_args(dict(case.get("kwargs", {}))).items()}
    before = _copy_args((args, kwargs))
    try:
        ret = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return {**_error(exc), "mutated": []}
    mutated = [f"argument {i + 1}" for i, (a, b) in enumerate(zip(args, before[0]))
               if isinstance(b, np.ndarray) and not same(a, b)]
    mutated += [f"argument {k}" for k in kwargs if isinstance(before[1][k], np.ndarray)
                and not same(kwargs[k], before[1][k])]
    try:
        return {"result": to_plain(ret), "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


def noisy_path(fn, case: dict) -> dict:
    """Run ``fn(grad_fn, x0, learning_rate, num_steps, noise_scale, rng)`` four times.

    case: ``surface`` (as in ``surface_function``), ``x0`` array (d,), ``learning_rate``,
    ``num_steps``, ``noise_scale``, ``seed`` (int). The runs: ``path`` with
    ``rng = np.random.default_rng(seed)``; ``same_seed``, again with a fresh generator of the
    same seed; ``other_seed`` with seed + 1; ``no_noise`` with ``noise_scale = 0.0`` (seed).
    Returns ``{"result": {run: plain value}, "mutated": [...]}`` or an ``error``.
    """
    try:
        surface = surface_from_spec(case["surface"])
        x0 = np.array(case["x0"], dtype=np.float64)
        seed = int(case["seed"])
        lr, n, scale = float(case["learning_rate"]), int(case["num_steps"]), float(case["noise_scale"])
    except Exception as exc:  # noqa: BLE001
        return {**_error(exc), "mutated": []}
    grad_fn = _surface_callable(surface, "grad")
    runs = {"path": (scale, seed), "same_seed": (scale, seed), "other_seed": (scale, seed + 1),
            "no_noise": (0.0, seed)}
    result, mutated = {}, []
    for name, (noise, s) in runs.items():
        x_in = x0.copy()
        try:
            ret = fn(grad_fn, x_in, lr, n, noise, np.random.default_rng(s))
        except Exception as exc:  # noqa: BLE001
            return {**_error(exc), "mutated": mutated}
        if not np.array_equal(x_in, x0, equal_nan=True) and "x0" not in mutated:
            mutated.append("x0")
        try:
            result[name] = to_plain(ret, _where=f"the path ({name.replace('_', ' ')})")
        except NotPlain as exc:
            return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}
    return {"result": result, "mutated": mutated}


DRIVERS["surface_function"] = surface_function
DRIVERS["noisy_path"] = noisy_path


# --------------------------------------------------------------------------------------------
# 01_challenges: gradient descent on a gradient built from the case, with its calls recorded


def _descent_gradient(problem: dict):
    """(gradient function, dimension) of a descent case's problem.

    problem: ``{"A": (d, d), "b": (d,)}`` for ½xᵀAx − bᵀx (gradient ``A @ x - b``), or
    ``{"surface": name, "kwargs": {...}}`` for a surface of ``nnopt_helpers.surfaces.SURFACES``,
    ``{"__oracle__": k, "dim": d}`` for either, evaluated by the verifier's oracle process.
    """
    if "__oracle__" in problem:
        surface = RemoteSurface(problem["__oracle__"], problem["dim"])
        return surface.grad, surface.dim
    if "surface" in problem:
        from nnopt_helpers import surfaces

        name = problem["surface"]
        if name not in surfaces.SURFACES:
            raise ValueError(f"unknown surface {name!r}")
        surface = surfaces.SURFACES[name](**dict(problem.get("kwargs", {})))
        return surface.grad, surface.dim
    A = np.array(problem["A"], dtype=np.float64)
    b = np.array(problem["b"], dtype=np.float64)
    if A.ndim != 2 or A.shape != (len(b), len(b)):
        raise ValueError(f"A of shape {A.shape} does not match b of shape {b.shape}")
    return (lambda x: A @ x - b), len(b)


def descent(fn, case: dict) -> dict:
    """Run ``path = fn(grad_fn, x0, learning_rate, num_steps)`` with ``grad_fn`` built from the case.

    case: ``problem`` (see ``_descent_gradient``), ``x0`` array (d,), ``learning_rate`` float,
    ``num_steps`` int, optionally ``keywords: True`` to pass the last three by name.
    ``grad_fn`` takes an array of shape (d,) (anything else raises ValueError), returns a new
    float64 array of shape (d,), and records a copy of every point it is called at.
    Returns ``{"result": path, "points where grad_fn was called": array (calls, d), "mutated":
    ["x0"] or []}``, or ``{"error": ...}``.
    """
    try:
        base, d = _descent_gradient(case["problem"])
        x0 = np.array(case["x0"], dtype=np.float64)
        lr, n = float(case["learning_rate"]), int(case["num_steps"])
    except Exception as exc:  # noqa: BLE001 - a malformed case is reported, never raised
        return {**_error(exc), "mutated": []}
    calls: list = []
    limit = 10 * (n + 1) + 100  # a runaway loop ends here instead of filling memory

    def grad_fn(x):
        arr = np.array(x, dtype=np.float64)
        if arr.shape != (d,):
            raise ValueError(f"grad_fn takes a point of shape ({d},), got shape {arr.shape}")
        if len(calls) >= limit:
            raise RuntimeError(f"grad_fn was called more than {limit} times for num_steps = {n}")
        calls.append(arr.copy())
        return np.array(base(arr), dtype=np.float64)

    x_in = x0.copy()
    try:
        if case.get("keywords"):
            ret = fn(grad_fn, x_in, learning_rate=lr, num_steps=n)
        else:
            ret = fn(grad_fn, x_in, lr, n)
    except Exception as exc:  # noqa: BLE001 - any learner error becomes data
        return {**_error(exc), "mutated": []}
    mutated = [] if np.array_equal(x_in, x0, equal_nan=True) else ["x0"]
    points = np.array(calls, dtype=np.float64).reshape(len(calls), d)
    try:
        return {"result": to_plain(ret, _where="the path"), "points where grad_fn was called": points,
                "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


DRIVERS["descent"] = descent


def initializer(fn, case: dict) -> dict:
    """Call a random initializer ``W = fn(fan_in, fan_out, rng, **kwargs)`` with generators built here.

    case: ``fan_in``, ``fan_out`` (ints), ``seeds`` (list of at least two ints) and ``kwargs`` (a dict,
    e.g. ``{"gain": 2.0}``). Each seed becomes a fresh ``np.random.default_rng(seed)``; the first seed
    is used twice, so that the grader can see whether the draws come from ``rng`` (same seed, same
    matrix; another seed, another matrix).
    Returns ``{"draws": [W for each seed], "repeat": W for the first seed again, "mutated": []}``, or
    ``{"error": ...}`` when a call raised or returned something that is not plain data.
    """
    fan_in, fan_out = int(case["fan_in"]), int(case["fan_out"])
    kwargs = _copy_args(dict(case.get("kwargs", {})))
    seeds = [int(s) for s in case["seeds"]]
    draws = []
    try:
        for s in seeds + seeds[:1]:
            ret = fn(fan_in, fan_out, np.random.default_rng(s), **_copy_args(kwargs))
            draws.append(to_plain(ret, _where="the returned matrix"))
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": []}
    except Exception as exc:  # noqa: BLE001 - any learner error becomes data
        return {**_error(exc), "mutated": []}
    return {"draws": draws[:-1], "repeat": draws[-1], "mutated": []}


def _layer_net(case: dict):
    """forward_fn(weights, X) -> list of pre-activations, for the plain net description of a case."""
    biases = [np.array(b, dtype=np.float64) for b in case["biases"]]
    shapes = [tuple(np.shape(W)) for W in case["weights"]]
    activation = case.get("activation", "tanh")
    nonlinearity = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0), "linear": lambda a: a}[activation]
    calls = [0]
    limit = 100 * (len(shapes) + 1) * (int(case.get("kwargs", {}).get("max_iter", 10)) + 2)

    def forward_fn(weights, X):
        if calls[0] >= limit:
            raise RuntimeError(f"forward_fn was called more than {limit} times")
        calls[0] += 1
        if not isinstance(weights, (list, tuple)) or len(weights) != len(shapes):
            raise ValueError(f"forward_fn takes a list of {len(shapes)} weight matrices, got a "
                             f"{type(weights).__name__} of length {len(weights) if hasattr(weights, '__len__') else '?'}")
        h = np.asarray(X, dtype=np.float64)
        outs = []
        for i, (W, b, shape) in enumerate(zip(weights, biases, shapes)):
            W = np.asarray(W, dtype=np.float64)
            if W.shape != shape:
                raise ValueError(f"forward_fn: weights[{i}] has shape {W.shape}, expected {shape}")
            a = h @ W + b
            outs.append(a)
            h = nonlinearity(a)
        return outs

    return forward_fn, calls


def layerwise_init(fn, case: dict) -> dict:
    """Call ``new_weights = fn(weights, forward_fn, X, **kwargs)`` (LSUV-style) on a net built here.

    case: ``weights`` (list of arrays), ``biases`` (list of arrays, one per layer), ``activation``
    (``'tanh'``, ``'relu'`` or ``'linear'``), ``X`` (array of shape (N, fan_in of layer 1)),
    ``kwargs`` (dict). ``forward_fn(weights, X)`` returns every layer's output before its
    nonlinearity, ``a_l = h_{l-1} @ W_l + b_l`` with ``h_0 = X``.
    Returns ``{"result": ..., "forward_calls": int, "returned_input_list": bool, "mutated": [...]}``.
    """
    forward_fn, calls = _layer_net(case)
    weights = [np.array(W, dtype=np.float64) for W in case["weights"]]
    arrays = list(weights)
    originals = [W.copy() for W in weights]
    X = np.array(case["X"], dtype=np.float64)
    X_in = X.copy()
    kwargs = _copy_args(dict(case.get("kwargs", {})))
    try:
        with np.errstate(all="ignore"):  # a wrong rescaling may overflow; the grader says so
            ret = fn(weights, forward_fn, X_in, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any learner error becomes data
        return {**_error(exc), "mutated": []}
    mutated = []
    if any(not same(a, b) for a, b in zip(arrays, originals)):
        mutated.append("weights (arrays changed in place)")
    if len(weights) != len(arrays) or any(a is not b for a, b in zip(weights, arrays)):
        mutated.append("weights (items of the list replaced)")
    if not np.array_equal(X_in, X, equal_nan=True):
        mutated.append("X")
    try:
        return {"result": to_plain(ret), "forward_calls": int(calls[0]), "returned_input_list": ret is weights,
                "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


DRIVERS["initializer"] = initializer
DRIVERS["layerwise_init"] = layerwise_init


# --------------------------------------------------------------------------------------------
# What crosses into the verifier's sandbox

#: The keys of a case each driver reads. The verifier sends only these into the sandbox; every
#: other key of a case (the minima a correct ``find_minima`` reaches, an initializer's target
#: standard deviation, LSUV's reference scales, a path's escape value...) stays in the grader,
#: which judges with the whole case. A key a driver needs but is missing here fails
#: ``tests/test_answers_out_of_reach.py``, which runs every driver on the inputs alone.
INPUTS = {
    "update_rule": ("w", "dws", "config", "record"),
    "function": ("args", "kwargs"),
    "value": (),
    "batchnorm": ("x", "modes", "gamma", "beta", "bn_param", "record", "dout", "forward"),
    "surface_function": ("surface", "args", "kwargs"),
    "noisy_path": ("surface", "x0", "learning_rate", "num_steps", "noise_scale", "seed"),
    "descent": ("problem", "x0", "learning_rate", "num_steps", "keywords"),
    "initializer": ("fan_in", "fan_out", "seeds", "kwargs"),
    "layerwise_init": ("weights", "biases", "activation", "X", "kwargs"),
}

#: The input of a driver that describes a function (a surface, a descent problem). In the verifier
#: it is replaced by ``{"__oracle__": k, "dim": d}`` and evaluated in the oracle process.
ORACLE_KEYS = {"surface_function": "surface", "noisy_path": "surface", "descent": "problem"}


def inputs_of(driver: str, case: dict) -> dict:
    """The part of ``case`` that ``driver`` reads (see :data:`INPUTS`)."""
    return {k: case[k] for k in INPUTS[driver] if k in case}


def function_spec_dim(spec: dict) -> int:
    """The dimension of a surface spec or descent problem (built in the grader, to make a handle)."""
    if "surface" in spec and isinstance(spec["surface"], str):  # a descent problem naming a surface
        return int(surface_from_spec({"name": spec["surface"], "kwargs": spec.get("kwargs", {})}).dim)
    if "name" in spec:
        return int(surface_from_spec(spec).dim)
    return int(len(spec["b"]))


def oracle_functions(spec: dict):
    """``(value, grad)`` of a surface spec or descent problem (the oracle process evaluates these)."""
    if "name" in spec:
        surface = surface_from_spec(spec)
        return surface.value, surface.grad
    if "surface" in spec:
        surface = surface_from_spec({"name": spec["surface"], "kwargs": spec.get("kwargs", {})})
        return surface.value, surface.grad
    A = np.array(spec["A"], dtype=np.float64)
    b = np.array(spec["b"], dtype=np.float64)

    def value(x):
        return 0.5 * np.einsum("...i,ij,...j->...", x, A, x) - x @ b

    def grad(x):
        return A @ x - b if x.ndim == 1 else x @ A.T - b  # A @ x - b: as the in-kernel descent driver

    return value, grad


# --------------------------------------------------------------------------------------------
# 07_training_in_practice: a function whose answer may be infinite


def function_inf(fn, case: dict) -> dict:
    """:func:`function`, with a returned non-finite float reported as the text ``'inf'``, ``'-inf'`` or ``'nan'``.

    For a function whose contract returns ``np.inf`` in a defined case (a noise scale whose signal
    estimate is not positive): the comparer treats every non-finite number as wrong, a label
    compares as equal text. Finite results are reported unchanged.
    """
    out = function(fn, case)
    value = out.get("result")
    if type(value) is float and not np.isfinite(value):
        out["result"] = "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return out


DRIVERS["function_inf"] = function_inf
INPUTS["function_inf"] = ("args", "kwargs")


# --------------------------------------------------------------------------------------------
# 02_local_optima, loss landscapes: a loss along a line (calls recorded), a random direction per seed


def interpolation(fn, case: dict) -> dict:
    """Run ``losses = fn(loss_fn, theta_a, theta_b, alphas)`` with ``loss_fn`` built from the case.

    case: ``surface`` (as in ``surface_function``; in the verifier an oracle handle), ``theta_a`` and
    ``theta_b`` arrays (d,), ``alphas`` array (n,). ``loss_fn`` takes a flat vector of shape (d,)
    (anything else raises ValueError), returns a float, and records a copy of every point it is
    called at. Returns ``{"result": ..., "points where loss_fn was called": array (calls, d),
    "mutated": [...]}``, or ``{"error": ...}``.
    """
    try:
        surface = surface_from_spec(case["surface"])
        theta_a = np.array(case["theta_a"], dtype=np.float64)
        theta_b = np.array(case["theta_b"], dtype=np.float64)
        alphas = np.array(case["alphas"], dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - a malformed case is reported, never raised
        return {**_error(exc), "mutated": []}
    d = theta_a.shape[0]
    calls: list = []
    limit = 10 * (len(alphas) + 1) + 100  # a runaway loop ends here instead of filling memory

    def loss_fn(theta):
        arr = np.array(theta, dtype=np.float64)
        if arr.shape != (d,):
            raise ValueError(f"loss_fn takes one flat parameter vector of shape ({d},), got shape {arr.shape}")
        if len(calls) >= limit:
            raise RuntimeError(f"loss_fn was called more than {limit} times for {len(alphas)} alphas")
        calls.append(arr.copy())
        return float(surface.value(arr))

    inputs = {"theta_a": theta_a, "theta_b": theta_b, "alphas": alphas}
    given = {k: v.copy() for k, v in inputs.items()}
    try:
        ret = fn(loss_fn, given["theta_a"], given["theta_b"], given["alphas"])
    except Exception as exc:  # noqa: BLE001 - any learner error becomes data
        return {**_error(exc), "mutated": []}
    mutated = [k for k in inputs if not np.array_equal(given[k], inputs[k], equal_nan=True)]
    points = np.array(calls, dtype=np.float64).reshape(len(calls), d)
    try:
        return {"result": to_plain(ret, _where="the losses"), "points where loss_fn was called": points,
                "mutated": mutated}
    except NotPlain as exc:
        return {"error": str(exc), "error_type": "NotPlain", "mutated": mutated}


def direction(fn, case: dict) -> dict:
    """Call ``fn(weights, rng)`` once per seed of the case, then once more with the first seed.

    case: ``weights`` (a list of arrays) and ``seeds`` (a list of ints; each call gets a fresh
    ``np.random.default_rng(seed)`` and fresh copies of the weights in a new list).
    Returns ``{"result": [what each call returned], "mutated": [...]}`` (the arrays changed in place,
    or the items of the list replaced), or ``{"error": ...}``.
    """
    try:
        weights = [np.array(w, dtype=np.float64) for w in case["weights"]]
        seeds = [int(s) for s in case["seeds"]]
    except Exception as exc:  # noqa: BLE001
        return {**_error(exc), "mutated": []}
    draws, mutated = [], []
    for seed in seeds + seeds[:1]:
        arrays = [w.copy() for w in weights]
        given = list(arrays)
        try:
            ret = fn(given, np.random.default_rng(seed))
        except Exception as exc:  # noqa: BLE001 - any learner error becomes data
            return {**_error(exc), "mutated": mutated}
        if any(not np.array_equal(a, w, equal_nan=True) for a, w in zip(arrays, weights)):
            mutated.append("weights (arrays changed in place)")
        if len(given) != len(arrays) or any(a is not b for a, b in zip(given, arrays)):
            mutated.append("weights (items of the list replaced)")
        try:
            draws.append(to_plain(ret, _where="the direction"))
        except NotPlain as exc:
            return {"error": str(exc), "error_type": "NotPlain", "mutated": sorted(set(mutated))}
    return {"result": draws, "mutated": sorted(set(mutated))}


DRIVERS["interpolation"] = interpolation
DRIVERS["direction"] = direction
INPUTS["interpolation"] = ("surface", "theta_a", "theta_b", "alphas")
INPUTS["direction"] = ("weights", "seeds")
ORACLE_KEYS["interpolation"] = "surface"

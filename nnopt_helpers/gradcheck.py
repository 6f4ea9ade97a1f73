"""Numerical gradients by central differences, and a readable gradient check.

Conventions follow cs231n's ``gradient_check.py``: central differences with step ``h`` and the
relative error ``|x − y| / max(1e-8, |x| + |y|)``, whose maximum over elements should be below
about 1e-7 for a correct gradient of a smooth function in float64.

    >>> import numpy as np
    >>> result = check_gradient(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.array([1.0, -2.0]))
    >>> result.passed           # a GradCheck is also truthy exactly when it passed
    True
    >>> print(result)           # doctest: +ELLIPSIS
    gradient check passed: max relative error ... <= tol 1e-06; worst at index ...
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

__all__ = ["rel_error", "numerical_gradient", "numerical_gradient_array", "check_gradient", "GradCheck"]


def _elementwise_rel_error(x, y):
    """Relative error per element; x, y: arrays of the same shape."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got x {x.shape} and y {y.shape}")
    # The 1e-8 floor keeps two tiny values (e.g. both ~1e-12) from counting as a 100% error.
    return np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))


def rel_error(x, y):
    """Max over elements of |x − y| / max(1e-8, |x| + |y|); x, y: scalars or arrays of one shape."""
    err = _elementwise_rel_error(x, y)
    return float(np.max(err)) if err.size else 0.0


def _check_h(h):
    if isinstance(h, bool) or not isinstance(h, numbers.Real) or not math.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a positive finite number; got {h!r}")
    return float(h)


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function.

    f: function taking an array of x's shape and returning a scalar.
    x: array of any shape (a float64 copy is used; the caller's x is never modified).
    Returns: array of x's shape, the estimate of ∂f/∂x.
    """
    h = _check_h(h)
    x = np.array(x, dtype=np.float64)  # always a copy
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = _scalar(f(x))
        x[idx] = old - h
        f_minus = _scalar(f(x))
        x[idx] = old  # restore before moving on, so f always sees x changed in one entry only
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def _scalar(value):
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(
            f"f must return a scalar; got an array of shape {arr.shape} "
            "(for array-valued functions use numerical_gradient_array)"
        )
    return float(arr.reshape(()))


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Central-difference gradient of sum(f(x) * dout) with respect to x.

    f: function taking an array of x's shape and returning an array of dout's shape.
    x: array of any shape (a float64 copy is used; the caller's x is never modified).
    dout: array, the upstream gradient ∂L/∂f(x). Use a non-uniform one: all-ones can hide bugs.
    Returns: array of x's shape, the estimate of ∂L/∂x (what a layer's backward should return).
    """
    h = _check_h(h)
    x = np.array(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        # Copy: f may return a view of x (e.g. a reshape), which the next line would change.
        out_plus = np.array(f(x), dtype=np.float64)
        x[idx] = old - h
        out_minus = np.array(f(x), dtype=np.float64)
        x[idx] = old
        if out_plus.shape != dout.shape:
            raise ValueError(f"f(x) must have the shape of dout; got f(x) {out_plus.shape} and dout {dout.shape}")
        grad[idx] = np.sum((out_plus - out_minus) * dout) / (2 * h)
    return grad


@dataclasses.dataclass(frozen=True, eq=False)
class GradCheck:
    """The result of :func:`check_gradient`; truthy exactly when the check passed.

    rel_error: max relative error between analytic and numerical gradient.
    passed: rel_error <= tol (False if either gradient holds NaN).
    worst_index: index into x where the relative error is largest (``()`` for a scalar x).
    tol: the tolerance used.
    analytic, numerical: the two gradients, arrays of x's shape.
    """

    rel_error: float
    passed: bool
    worst_index: tuple
    tol: float
    analytic: np.ndarray
    numerical: np.ndarray

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict = "passed" if self.passed else "FAILED"
        relation = "<=" if self.passed else ">"
        where = ""
        if self.analytic.size:
            a, n = self.analytic[self.worst_index], self.numerical[self.worst_index]
            where = f"; worst at index {self.worst_index}: analytic {a:.6g}, numerical {n:.6g}"
        return f"gradient check {verdict}: max relative error {self.rel_error:.3g} {relation} tol {self.tol:.3g}{where}"


def check_gradient(f, grad_fn, x, h=1e-5, tol=1e-6):
    """Compare an analytic gradient with central differences.

    f: function taking an array of x's shape and returning a scalar.
    grad_fn: function taking an array of x's shape and returning its gradient, same shape.
    x: array of any shape, the point to check at (never modified).
    Returns: a :class:`GradCheck`; ``print`` it for a readable verdict.
    """
    h = _check_h(h)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number; got {tol!r}")
    x = np.array(x, dtype=np.float64)
    analytic = np.array(grad_fn(x.copy()), dtype=np.float64)  # a copy, in case grad_fn mutates it
    if analytic.shape != x.shape:
        raise ValueError(f"grad_fn(x) must have the shape of x; got grad_fn(x) {analytic.shape} and x {x.shape}")
    numerical = numerical_gradient(f, x, h=h)
    err = _elementwise_rel_error(analytic, numerical)
    if err.size == 0:
        return GradCheck(0.0, True, (), float(tol), analytic, numerical)
    flat = int(np.argmax(err))  # argmax returns the first NaN if there is one: it is the worst
    worst_index = tuple(int(i) for i in np.unravel_index(flat, err.shape))
    max_err = float(err.reshape(-1)[flat])
    passed = bool(max_err <= tol)  # False for NaN
    return GradCheck(max_err, passed, worst_index, float(tol), analytic, numerical)

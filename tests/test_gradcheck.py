"""Tests for nnopt_helpers.gradcheck: relative error, numerical gradients, the gradient check."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnopt_helpers.gradcheck import (
    GradCheck,
    check_gradient,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)

# ---------------------------------------------------------------------------------------------
# rel_error
# ---------------------------------------------------------------------------------------------


def test_rel_error_known_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == 0.5  # |1 - 3| / (1 + 3)
    assert rel_error(2.0, -2.0) == 1.0  # opposite signs: the largest possible error
    assert rel_error(np.array([1.0, 10.0]), np.array([1.0, 11.0])) == pytest.approx(1 / 21)
    assert rel_error(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    # Tiny values are compared against the 1e-8 floor, not against each other.
    assert rel_error(1e-12, 2e-12) == pytest.approx(1e-4)
    assert isinstance(rel_error(1, 2), float)
    assert rel_error(np.empty(0), np.empty(0)) == 0.0
    assert np.isnan(rel_error(np.array([1.0, np.nan]), np.array([1.0, 1.0])))


def test_rel_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"x \(2,\) and y \(3,\)"):
        rel_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"x \(2, 1\) and y \(2,\)"):
        rel_error(np.ones((2, 1)), np.ones(2))  # no silent broadcasting


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=finite), st.data())
def test_rel_error_is_symmetric_and_between_0_and_1(x, data):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=finite))
    e = rel_error(x, y)
    assert 0.0 <= e <= 1.0
    assert e == rel_error(y, x)
    assert rel_error(x, x) == 0.0


# ---------------------------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------------------------


def test_numerical_gradient_of_quadratic_is_Ax():
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 2.0]])
    x = np.linspace(-1.0, 2.0, 3)
    grad = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    # Central differences are exact on quadratics up to rounding.
    assert rel_error(grad, A @ x) < 1e-9


def test_numerical_gradient_matrix_shaped_input():
    W = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    grad = numerical_gradient(lambda w: np.sum(w**3), W)
    assert grad.shape == (3, 4)
    assert rel_error(grad, 3 * W**2) < 1e-8


def test_numerical_gradient_scalar_and_integer_inputs():
    assert numerical_gradient(lambda t: t**2, 3.0) == pytest.approx(6.0)
    x = np.array([1, 2, 3])  # integers: a float64 copy is perturbed, not truncated back to ints
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), x), [2.0, 4.0, 6.0], rtol=1e-9)


def test_numerical_gradient_does_not_modify_x():
    x = np.array([0.5, -1.5, 2.0])
    before = x.copy()
    seen = []

    def f(v):
        seen.append(v is x)
        return np.sum(np.sin(v))

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert not any(seen)  # f only ever saw a copy


def test_numerical_gradient_perturbs_one_entry_at_a_time():
    x = np.array([1.0, 2.0, 3.0])
    changed = []

    def f(v):
        changed.append(int(np.sum(v != x)))
        return float(np.sum(v))

    numerical_gradient(f, x)
    assert changed == [1] * 6  # each entry restored before the next one moves


@pytest.mark.parametrize("h", [0.0, -1e-5, np.nan, np.inf, True, "1e-5"])
def test_h_must_be_positive(h):
    for call in (
        lambda: numerical_gradient(np.sum, np.ones(2), h=h),
        lambda: numerical_gradient_array(np.sin, np.ones(2), np.ones(2), h=h),
        lambda: check_gradient(np.sum, np.ones_like, np.ones(2), h=h),
    ):
        with pytest.raises(ValueError, match="h must be a positive finite number"):
            call()


def test_numerical_gradient_rejects_array_valued_f():
    with pytest.raises(ValueError, match="f must return a scalar.*numerical_gradient_array"):
        numerical_gradient(lambda v: v**2, np.ones(3))


# ---------------------------------------------------------------------------------------------
# numerical_gradient_array
# ---------------------------------------------------------------------------------------------


def test_numerical_gradient_array_square():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    dout = rng.standard_normal((4, 5))
    x_before = x.copy()
    dx = numerical_gradient_array(lambda v: v**2, x, dout)
    assert rel_error(dx, 2 * x * dout) < 1e-8
    np.testing.assert_array_equal(x, x_before)


def test_numerical_gradient_array_linear_layer():
    """For out = x @ W, the gradient of sum(out * dout) w.r.t. x is dout @ W.T."""
    rng = np.random.default_rng(1)
    x, W, dout = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    assert rel_error(numerical_gradient_array(lambda v: v @ W, x, dout), dout @ W.T) < 1e-8
    assert rel_error(numerical_gradient_array(lambda w: x @ w, W, dout), x.T @ dout) < 1e-8


def test_numerical_gradient_array_when_f_returns_a_view():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal(6)
    # f returns a view of its input; without copying outputs this would come out as zeros.
    dx = numerical_gradient_array(lambda v: v.reshape(-1), x, dout)
    assert rel_error(dx, dout.reshape(2, 3)) < 1e-8


def test_numerical_gradient_array_shape_mismatch():
    with pytest.raises(ValueError, match=r"f\(x\) \(3,\) and dout \(2,\)"):
        numerical_gradient_array(np.sin, np.ones(3), np.ones(2))


# ---------------------------------------------------------------------------------------------
# check_gradient
# ---------------------------------------------------------------------------------------------


def cubic(x):
    return np.sum(x**3) + x[0] * x[1]


def cubic_grad(x):
    g = 3 * x**2
    g[0] += x[1]
    g[1] += x[0]
    return g


def test_check_gradient_passes_for_correct_gradient():
    x = np.linspace(-1.0, 1.5, 4)
    result = check_gradient(cubic, cubic_grad, x)
    assert isinstance(result, GradCheck)
    assert result.passed and bool(result) and result.rel_error < 1e-8
    assert result.analytic.shape == result.numerical.shape == x.shape
    assert str(result).startswith("gradient check passed: max relative error")


def test_check_gradient_detects_wrong_gradient():
    x = np.linspace(-1.0, 1.5, 4)

    def wrong_grad(v):
        g = cubic_grad(v)
        g[2] *= 0.5  # a bug in one entry
        return g

    result = check_gradient(cubic, wrong_grad, x)
    assert not result.passed and not result
    assert result.worst_index == (2,)
    assert result.rel_error == pytest.approx(1 / 3)  # |g/2 - g| / (g/2 + g)
    text = str(result)
    assert "FAILED" in text and "(2,)" in text and "> tol" in text


def test_check_gradient_on_a_matrix_reports_a_2d_index():
    W = np.linspace(-1.0, 1.0, 6).reshape(2, 3)

    def wrong_grad(w):
        g = 2 * w
        g[1, 0] = 0.0
        return g

    result = check_gradient(lambda w: np.sum(w**2), wrong_grad, W)
    assert not result.passed and result.worst_index == (1, 0)


def test_check_gradient_nan_fails():
    result = check_gradient(np.sum, lambda v: np.full_like(v, np.nan), np.ones(3))
    assert not result.passed


def test_check_gradient_tolerance():
    x = np.array([1.0, 2.0])
    slightly_off = check_gradient(lambda v: np.sum(v**2), lambda v: 2 * v * (1 + 1e-5), x)
    assert not slightly_off.passed
    assert check_gradient(lambda v: np.sum(v**2), lambda v: 2 * v * (1 + 1e-5), x, tol=1e-4).passed
    with pytest.raises(ValueError, match="tol must be a non-negative number"):
        check_gradient(np.sum, np.ones_like, x, tol=-1.0)


def test_check_gradient_shape_mismatch_and_no_mutation():
    with pytest.raises(ValueError, match=r"grad_fn\(x\) \(3,\) and x \(2,\)"):
        check_gradient(np.sum, lambda v: np.ones(3), np.ones(2))
    x = np.array([1.0, 2.0])

    def mutating_grad(v):
        g = 2 * v.copy()
        v[:] = 0.0  # a careless grad_fn must not corrupt the caller's x
        return g

    assert check_gradient(lambda v: np.sum(v**2), mutating_grad, x).passed
    np.testing.assert_array_equal(x, [1.0, 2.0])

"""Tests for nnopt_helpers.surfaces: analytic derivatives against finite differences, known points."""

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnopt_helpers.gradcheck import numerical_gradient, numerical_gradient_array
from nnopt_helpers.surfaces import (
    SURFACES,
    QuadraticSurface,
    Surface,
    beale,
    himmelblau,
    monkey_saddle,
    quadratic,
    quadratic_bowl,
    rastrigin,
    rosenbrock,
    six_hump_camel,
    strict_saddle,
)

# Every registered surface with its defaults, plus variants whose parameters change the formulas.
CASES = {name: make for name, make in SURFACES.items()}
CASES["quadratic_bowl(rotated)"] = lambda: quadratic_bowl(50.0, angle=0.7)
CASES["quadratic_bowl(dim=5)"] = lambda: quadratic_bowl(100.0, dim=5)
CASES["quadratic(indefinite, b)"] = lambda: quadratic([[2.0, 0.5], [0.5, -1.0]], [1.0, -2.0])
CASES["rosenbrock(a=-1.5, b=10)"] = lambda: rosenbrock(a=-1.5, b=10.0)
CASES["rastrigin(A=3, dim=3)"] = lambda: rastrigin(A=3.0, dim=3)

ALL = pytest.mark.parametrize("make", CASES.values(), ids=list(CASES))


def random_points(surface, n, seed=0):
    """n points drawn uniformly inside the surface's plotting window: shape (n, dim)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array(surface.bounds).T
    return rng.uniform(lo, hi, size=(n, surface.dim))


def assert_close_scaled(actual, expected, tol):
    """max |actual - expected| <= tol * max(1, max |expected|): relative to the array's scale."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual - expected)))
    assert err <= tol * scale, f"max abs error {err:.3g} > {tol:.1g} * scale {scale:.3g}"


def fd_hessian_rows(surface, x):
    """Finite differences of the analytic gradient, one Hessian row per gradient component."""
    return np.array([numerical_gradient_array(surface.grad, x, np.eye(surface.dim)[i]) for i in range(surface.dim)])


def ring(point, radius=1e-3, n=64):
    """Points at distance `radius` around `point` (a 2-D surface's), or along ± each axis otherwise."""
    d = point.shape[0]
    if d == 2:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return point + radius * np.stack([np.cos(t), np.sin(t)], -1)
    return point + radius * np.vstack([np.eye(d), -np.eye(d)])


# ---------------------------------------------------------------------------------------------
# Derivatives and vectorization, for every surface
# ---------------------------------------------------------------------------------------------


@ALL
def test_grad_matches_finite_differences(make):
    s = make()
    for x in random_points(s, 6, seed=1):
        assert_close_scaled(s.grad(x), numerical_gradient(s.value, x), 1e-7)


@ALL
def test_hessian_matches_finite_differences_of_grad(make):
    s = make()
    for x in random_points(s, 6, seed=2):
        H = s.hessian(x)
        np.testing.assert_array_equal(H, H.T)
        assert_close_scaled(H, fd_hessian_rows(s, x), 1e-7)


@ALL
def test_vectorized_matches_pointwise(make):
    s = make()
    pts = random_points(s, 12, seed=3).reshape(3, 4, s.dim)
    values, grads, hessians = s.value(pts), s.grad(pts), s.hessian(pts)
    assert values.shape == (3, 4) and grads.shape == (3, 4, s.dim) and hessians.shape == (3, 4, s.dim, s.dim)
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(values[i, j], s.value(pts[i, j]), rtol=1e-13, atol=1e-13)
            np.testing.assert_allclose(grads[i, j], s.grad(pts[i, j]), rtol=1e-13, atol=1e-13)
            np.testing.assert_allclose(hessians[i, j], s.hessian(pts[i, j]), rtol=1e-13, atol=1e-13)


@ALL
def test_single_point_gives_a_float_and_call_is_value(make):
    s = make()
    x = random_points(s, 1, seed=4)[0]
    v = s.value(x)
    assert isinstance(v, float) and np.ndim(v) == 0
    assert s(x) == v
    assert s.value(list(x)) == v  # plain lists are accepted


@ALL
def test_wrong_last_dimension_is_rejected(make):
    s = make()
    bad = np.zeros(s.dim + 1)
    msg = rf"x must have shape \(\.\.\., {s.dim}\); got \({s.dim + 1},\)"
    for method in (s.value, s.grad, s.hessian):
        with pytest.raises(ValueError, match=msg):
            method(bad)
    with pytest.raises(ValueError, match=r"got \(\)"):
        s.value(1.0)


@ALL
def test_metadata_shapes(make):
    s = make()
    assert s.minima.shape[1:] == (s.dim,) and s.saddles.shape[1:] == (s.dim,) and s.maxima.shape[1:] == (s.dim,)
    assert len(s.bounds) == s.dim and all(lo < hi for lo, hi in s.bounds)
    assert isinstance(s.log_contours, bool)
    assert len(repr(s)) < 120 and s.name in repr(s)


# ---------------------------------------------------------------------------------------------
# Known critical points
# ---------------------------------------------------------------------------------------------


@ALL
def test_minima_are_strict_local_minima(make):
    s = make()
    for m in s.minima:
        assert np.max(np.abs(s.grad(m))) < 1e-9
        assert np.all(np.linalg.eigvalsh(s.hessian(m)) > 0)
        assert np.all(s.value(ring(m)) > s.value(m))
        if s.global_min_value is not None:
            assert s.value(m) >= s.global_min_value - 1e-12


@ALL
def test_global_minimum_is_listed_first(make):
    s = make()
    if s.global_min_value is not None:
        assert len(s.minima) >= 1
        assert s.value(s.minima[0]) == pytest.approx(s.global_min_value, abs=1e-12)


@ALL
def test_saddles_have_zero_gradient_and_are_not_extrema(make):
    s = make()
    for p in s.saddles:
        assert np.max(np.abs(s.grad(p))) < 1e-9
        eig = np.linalg.eigvalsh(s.hessian(p))
        assert not np.all(eig > 0) and not np.all(eig < 0), f"Hessian eigenvalues {eig} at saddle {p}"
        around = s.value(ring(p))
        assert around.min() < s.value(p) < around.max()  # some directions go down, some up


@ALL
def test_maxima_are_strict_local_maxima(make):
    s = make()
    for p in s.maxima:
        assert np.max(np.abs(s.grad(p))) < 1e-9
        assert np.all(np.linalg.eigvalsh(s.hessian(p)) < 0)
        assert np.all(s.value(ring(p)) < s.value(p))


def test_registry_names_match():
    for name, make in SURFACES.items():
        s = make()
        assert isinstance(s, Surface) and s.name == name


def test_rosenbrock_minimum():
    assert rosenbrock().value([1.0, 1.0]) == 0.0
    s = rosenbrock(a=2.0, b=10.0)
    np.testing.assert_array_equal(s.minima, [[2.0, 4.0]])
    assert s.value([2.0, 4.0]) == 0.0 and s.global_min_value == 0.0
    np.testing.assert_array_equal(s.grad([2.0, 4.0]), [0.0, 0.0])
    assert s.log_contours


def test_beale_minimum_and_saddles():
    s = beale()
    assert s.value([3.0, 0.5]) == 0.0 and s.global_min_value == 0.0
    np.testing.assert_array_equal(s.minima, [[3.0, 0.5]])
    np.testing.assert_array_equal(s.saddles[0], [0.0, 1.0])
    np.testing.assert_allclose(s.saddles[1], [0.10053794, -2.64451358], atol=1e-7)
    assert s.log_contours


def test_himmelblau_four_minima_of_value_zero():
    s = himmelblau()
    assert s.minima.shape == (4, 2)
    np.testing.assert_array_equal(s.minima[0], [3.0, 2.0])
    np.testing.assert_allclose(
        s.minima[1:], [[-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848127]], atol=1e-6
    )
    np.testing.assert_allclose(s.value(s.minima), 0.0, atol=1e-20)
    assert np.max(np.abs(s.grad(s.minima))) < 1e-12  # Newton-refined, not just 6 digits
    assert s.saddles.shape == (4, 2) and s.maxima.shape == (1, 2)
    assert s.value(s.maxima[0]) == pytest.approx(181.616522, abs=1e-6)


def test_six_hump_camel_minima():
    s = six_hump_camel()
    assert s.minima.shape == (6, 2)
    assert s.global_min_value == pytest.approx(-1.0316284535, abs=1e-10)
    np.testing.assert_allclose(s.minima[:2], [[0.0898, -0.7126], [-0.0898, 0.7126]], atol=1e-4)
    np.testing.assert_allclose(s.value(s.minima[:2]), -1.0316284535, atol=1e-10)
    assert np.all(s.value(s.minima[2:]) > s.global_min_value + 0.5)
    assert np.max(np.abs(s.grad(s.minima))) < 1e-12
    # The function is even under x -> -x, so its critical points come in ± pairs.
    for pts in (s.minima, s.saddles, s.maxima):
        for p in pts:
            assert np.min(np.abs(pts + p).max(axis=1)) < 1e-12
    assert s.saddles.shape == (7, 2) and s.maxima.shape == (2, 2)


def test_rastrigin_global_minimum():
    for dim in (1, 2, 5):
        s = rastrigin(dim=dim)
        assert s.value(np.zeros(dim)) == 0.0 and s.global_min_value == 0.0
        np.testing.assert_array_equal(s.minima, np.zeros((1, dim)))
    with pytest.raises(ValueError, match="grid needs a 2-D surface"):
        rastrigin(dim=3).grid()


def test_strict_saddle():
    s = strict_saddle()
    np.testing.assert_array_equal(s.hessian([0.0, 0.0]), [[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_array_equal(s.minima, [[0.0, 1.0], [0.0, -1.0]])
    np.testing.assert_array_equal(s.value(s.minima), [-0.25, -0.25])
    # Started on the x axis, the gradient never leaves it: that is why plain descent stalls.
    assert s.grad([0.7, 0.0])[1] == 0.0


def test_monkey_saddle_is_degenerate():
    s = monkey_saddle()
    np.testing.assert_array_equal(s.hessian([0.0, 0.0]), np.zeros((2, 2)))
    assert s.minima.shape == (0, 2) and s.global_min_value is None
    assert s.value([-1.0, 0.0]) == -1.0  # unbounded below along -x


def test_grid():
    s = himmelblau()
    X, Y, Z = s.grid(n=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    assert (X[0, 0], X[0, -1], Y[0, 0], Y[-1, 0]) == (-5.0, 5.0, -5.0, 5.0)
    for i, j in [(0, 0), (2, 5), (6, 3)]:
        assert Z[i, j] == s.value([X[i, j], Y[i, j]])
    with pytest.raises(ValueError, match="n must be >= 2"):
        s.grid(n=1)


# ---------------------------------------------------------------------------------------------
# Quadratics
# ---------------------------------------------------------------------------------------------


def test_quadratic_formulas():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    q = quadratic(A, b)
    assert isinstance(q, QuadraticSurface)
    x = np.array([0.3, -1.2])
    assert q.value(x) == pytest.approx(0.5 * x @ A @ x - b @ x, rel=1e-15)
    np.testing.assert_allclose(q.grad(x), A @ x - b, rtol=1e-15)
    np.testing.assert_array_equal(q.hessian(x), A)
    np.testing.assert_allclose(q.minima, [np.linalg.solve(A, b)], rtol=1e-14)
    lam = np.linalg.eigvalsh(A)
    np.testing.assert_allclose(q.eigenvalues, lam, rtol=1e-14)
    assert q.condition_number == pytest.approx(lam[1] / lam[0], rel=1e-14)
    assert q.global_min_value == pytest.approx(q.value(q.minima[0]), rel=1e-14)


def test_quadratic_b_defaults_to_zero():
    q = quadratic(np.diag([1.0, 4.0]))
    np.testing.assert_array_equal(q.b, [0.0, 0.0])
    np.testing.assert_array_equal(q.minima, [[0.0, 0.0]])
    assert q.global_min_value == 0.0 and q.condition_number == 4.0


def test_quadratic_indefinite_and_negative_definite():
    q = quadratic([[2.0, 0.0], [0.0, -1.0]], [1.0, 1.0])
    assert q.minima.shape == (0, 2) and q.global_min_value is None and q.condition_number == math.inf
    np.testing.assert_array_equal(q.saddles, [[0.5, -1.0]])
    q = quadratic(-np.eye(2))
    assert q.minima.shape == (0, 2) and q.saddles.shape == (0, 2)
    np.testing.assert_array_equal(q.maxima, [[0.0, 0.0]])
    q = quadratic([[1.0, 0.0], [0.0, 0.0]])  # singular: a valley of minima, none isolated
    assert q.minima.shape == (0, 2) and q.condition_number == math.inf


@pytest.mark.parametrize(
    "A, match",
    [
        (np.ones((2, 3)), r"A must be a square 2-D matrix; got shape \(2, 3\)"),
        (np.ones(3), r"A must be a square 2-D matrix; got shape \(3,\)"),
        (np.zeros((0, 0)), "A must be non-empty"),
        ([[1.0, 2.0], [0.0, 1.0]], r"A must be symmetric; got max \|A - A.T\| = 2"),
        ([[1.0, np.nan], [np.nan, 1.0]], "A must be finite"),
        ([[np.inf, 0.0], [0.0, 1.0]], "A must be finite"),
    ],
)
def test_quadratic_rejects_bad_A(A, match):
    with pytest.raises(ValueError, match=match):
        quadratic(A)


def test_quadratic_rejects_bad_b_and_x():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) to match A; got \(3,\)"):
        quadratic(np.eye(2), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="b must be finite"):
        quadratic(np.eye(2), [1.0, np.nan])
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\); got \(3,\)"):
        quadratic(np.eye(2)).value(np.zeros(3))
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\); got \(4, 3\)"):
        quadratic(np.eye(2)).grad(np.zeros((4, 3)))


def test_quadratic_accepts_rounding_level_asymmetry():
    A = np.array([[2.0, 1.0], [1.0 + 1e-14, 3.0]])
    q = quadratic(A)
    np.testing.assert_array_equal(q.A, q.A.T)


def test_quadratic_bowl_spectrum_is_exact():
    for kappa in (1.0, 10.0, 1e4):
        q = quadratic_bowl(kappa, angle=0.3)
        np.testing.assert_array_equal(q.eigenvalues, [1.0, kappa])
        assert q.condition_number == kappa
        np.testing.assert_allclose(np.linalg.eigvalsh(q.A), [1.0, kappa], rtol=1e-12)
    np.testing.assert_array_equal(quadratic_bowl(10.0).A, np.diag([1.0, 10.0]))
    np.testing.assert_allclose(quadratic_bowl(10.0, angle=np.pi / 2).A, np.diag([10.0, 1.0]), atol=1e-14)
    q = quadratic_bowl(1000.0, dim=4)
    np.testing.assert_array_equal(q.eigenvalues, np.geomspace(1.0, 1000.0, 4))
    assert q.condition_number == 1000.0
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), [1.0, 10.0, 100.0, 1000.0], rtol=1e-12)
    assert np.max(np.abs(q.A - np.diag(np.diag(q.A)))) > 1.0  # not axis-aligned
    np.testing.assert_array_equal(q.A, quadratic_bowl(1000.0, dim=4).A)  # deterministic
    np.testing.assert_array_equal(q.minima, np.zeros((1, 4)))
    assert quadratic_bowl(1.0, dim=1).condition_number == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"condition_number": 0.5}, "condition_number must be >= 1"),
        ({"condition_number": np.nan}, "condition_number must be a finite real number"),
        ({"condition_number": np.inf}, "condition_number must be a finite real number"),
        ({"dim": 0}, "dim must be >= 1"),
        ({"dim": 2.5}, "dim must be an integer"),
        ({"dim": True}, "dim must be an integer"),
        ({"dim": 1}, "condition_number must be 1"),
        ({"dim": 3, "angle": 0.1}, "angle only applies to dim=2"),
    ],
)
def test_quadratic_bowl_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadratic_bowl(**kwargs)


def test_parameter_validation():
    with pytest.raises(ValueError, match="b must be > 0"):
        rosenbrock(b=0.0)
    with pytest.raises(ValueError, match="a must be a finite real number"):
        rosenbrock(a=np.nan)
    with pytest.raises(ValueError, match="A must be >= 0"):
        rastrigin(A=-1.0)
    with pytest.raises(ValueError, match="dim must be >= 1"):
        rastrigin(dim=0)


@settings(max_examples=40, deadline=None)
@given(
    eigenvalues=st.lists(st.floats(0.1, 100.0), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_spd_quadratics(eigenvalues, seed):
    """Any SPD quadratic: one minimum solving Ax = b, κ = λmax/λmin, gradient Ax - b."""
    rng = np.random.default_rng(seed)
    d = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = (Q * eigenvalues) @ Q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(d)
    q = quadratic(A, b)
    lam = np.sort(eigenvalues)
    np.testing.assert_allclose(q.eigenvalues, lam, rtol=1e-8, atol=1e-12)
    assert q.condition_number == pytest.approx(lam[-1] / lam[0], rel=1e-8)
    (m,) = q.minima
    np.testing.assert_allclose(A @ m, b, atol=1e-9 * max(1.0, np.abs(b).max()))
    x = rng.standard_normal(d)
    np.testing.assert_allclose(numerical_gradient(q.value, x), A @ x - b, rtol=1e-6, atol=1e-6)
    assert np.all(q.value(ring(m, radius=1e-2)) >= q.value(m))


# ---------------------------------------------------------------------------------------------
# Immutability and pickling
# ---------------------------------------------------------------------------------------------


def test_surfaces_are_read_only():
    s = himmelblau()
    with pytest.raises(AttributeError, match="read-only"):
        s.name = "other"
    with pytest.raises(ValueError, match="read-only"):
        s.minima[0, 0] = 0.0
    q = quadratic_bowl()
    with pytest.raises(ValueError, match="read-only"):
        q.A[0, 0] = 5.0


def test_input_matrix_is_copied():
    A = np.diag([1.0, 2.0])
    q = quadratic(A)
    A[0, 0] = 100.0
    assert q.A[0, 0] == 1.0 and q.value([1.0, 0.0]) == 0.5


@pytest.mark.parametrize("make", SURFACES.values(), ids=list(SURFACES))
def test_surfaces_pickle(make):
    s = make()
    t = pickle.loads(pickle.dumps(s))
    x = random_points(s, 3, seed=5)
    np.testing.assert_array_equal(t.value(x), s.value(x))
    np.testing.assert_array_equal(t.minima, s.minima)
    assert not t.minima.flags.writeable

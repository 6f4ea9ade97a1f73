"""Loss surfaces with analytic gradients and Hessians, for experiments and plots.

Every surface is a :class:`Surface`: ``value``, ``grad`` and ``hessian`` take points of shape
``(..., dim)`` and are vectorized over the leading dimensions, so one call evaluates a whole
meshgrid or a whole optimizer path. Each surface also carries what is known about it (its local
minima, saddle points and local maxima, the global minimum value) and a plotting window.

    >>> s = rosenbrock()
    >>> float(s.value([1.0, 1.0]))
    0.0
    >>> X, Y, Z = s.grid(100)          # for contour plots

Constructors: :func:`quadratic`, :func:`quadratic_bowl`, :func:`rosenbrock`, :func:`beale`,
:func:`himmelblau`, :func:`six_hump_camel`, :func:`rastrigin`, :func:`strict_saddle`,
:func:`monkey_saddle`. ``SURFACES`` maps each name (except ``quadratic``, which needs a matrix)
to its constructor, callable with no arguments.

All functions here are module-level and parameters are bound with ``functools.partial``, so
surfaces pickle and can be sent to worker processes.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

__all__ = [
    "Surface",
    "QuadraticSurface",
    "quadratic",
    "quadratic_bowl",
    "rosenbrock",
    "beale",
    "himmelblau",
    "six_hump_camel",
    "rastrigin",
    "strict_saddle",
    "monkey_saddle",
    "SURFACES",
]


# --------------------------------------------------------------------------------------------
# The Surface class
# --------------------------------------------------------------------------------------------


class Surface:
    """A scalar function of ``dim`` variables with analytic gradient and Hessian.

    Args:
        name: short name, e.g. ``'rosenbrock'``.
        dim: number of variables.
        value: function mapping a float64 array of shape (..., dim) to shape (...).
        grad: function mapping shape (..., dim) to shape (..., dim).
        hessian: function mapping shape (..., dim) to shape (..., dim, dim), or None if unknown.
        minima: array-like of shape (k, dim), the known local minima, global ones first.
        global_min_value: the global minimum value, or None if unbounded below or unknown.
        saddles: array-like of shape (s, dim), the known saddle points.
        maxima: array-like of shape (m, dim), the known local maxima.
        bounds: one ``(low, high)`` plotting window per axis; default ``(-2, 2)`` on each.
        log_contours: True where contour levels read best on a logarithmic scale.
        params: the constructor arguments, shown by ``repr``.

    The functions receive inputs already checked and converted to float64, so they only do the
    maths. Instances are read-only: build a new surface rather than changing one.
    """

    def __init__(
        self,
        name,
        dim,
        value,
        grad,
        hessian=None,
        *,
        minima=(),
        global_min_value=None,
        saddles=(),
        maxima=(),
        bounds=None,
        log_contours=False,
        params=None,
    ):
        dim = _check_int("dim", dim, minimum=1)
        if bounds is None:
            bounds = ((-2.0, 2.0),) * dim
        bounds = tuple((float(lo), float(hi)) for lo, hi in bounds)
        if len(bounds) != dim:
            raise ValueError(f"bounds must hold one (low, high) pair per axis ({dim}); got {len(bounds)}")
        for axis, (lo, hi) in enumerate(bounds):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"bounds[{axis}] must be finite with low < high; got {(lo, hi)}")
        self.name = str(name)
        self.dim = dim
        self._value = value
        self._grad = grad
        self._hessian = hessian
        self.minima = _points("minima", minima, dim)
        self.saddles = _points("saddles", saddles, dim)
        self.maxima = _points("maxima", maxima, dim)
        self.global_min_value = None if global_min_value is None else float(global_min_value)
        self.bounds = bounds
        self.log_contours = bool(log_contours)
        self.params = dict(params or {})
        self._frozen = True

    def __setattr__(self, attr, val):
        # Surfaces are shared between cells and widgets; silently editing one would desync them.
        if getattr(self, "_frozen", False):
            raise AttributeError(f"Surface is read-only; cannot set {attr!r} (build a new surface instead)")
        object.__setattr__(self, attr, val)

    def __setstate__(self, state):
        # Unpickled arrays come back writable; make them read-only again.
        for key, val in state.items():
            if isinstance(val, np.ndarray):
                val.setflags(write=False)
        self.__dict__.update(state)

    def _check_x(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}); got {x.shape}")
        return x

    def value(self, x):
        """f(x). x: array of shape (..., dim) -> array of shape (...); a NumPy float for one point."""
        x = self._check_x(x)
        out = np.asarray(self._value(x), dtype=np.float64)
        if out.shape != x.shape[:-1]:
            raise ValueError(f"{self.name}: value function returned shape {out.shape}, expected {x.shape[:-1]}")
        return out[()]  # 0-d array -> NumPy scalar, anything else unchanged

    __call__ = value

    def grad(self, x):
        """Gradient. x: array of shape (..., dim) -> array of shape (..., dim)."""
        x = self._check_x(x)
        out = np.asarray(self._grad(x), dtype=np.float64)
        if out.shape != x.shape:
            raise ValueError(f"{self.name}: grad function returned shape {out.shape}, expected {x.shape}")
        return out

    def hessian(self, x):
        """Hessian. x: array of shape (..., dim) -> array of shape (..., dim, dim)."""
        x = self._check_x(x)
        if self._hessian is None:
            raise NotImplementedError(f"surface {self.name!r} has no analytic Hessian")
        out = np.asarray(self._hessian(x), dtype=np.float64)
        expected = x.shape + (self.dim,)
        if out.shape != expected:
            raise ValueError(f"{self.name}: hessian function returned shape {out.shape}, expected {expected}")
        return out

    def grid(self, n=200):
        """Meshgrid over ``bounds`` for contour plots: returns (X, Y, Z), each of shape (n, n).

        ``X[i, j]`` and ``Y[i, j]`` are the coordinates (``indexing='xy'``, as ``plt.contour``
        expects) and ``Z[i, j]`` the value there. Only for 2-D surfaces.
        """
        if self.dim != 2:
            raise ValueError(f"grid needs a 2-D surface; {self.name!r} has dim={self.dim}")
        n = _check_int("n", n, minimum=2)
        (x0, x1), (y0, y1) = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self.value(np.stack([X, Y], axis=-1))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"<{type(self).__name__} {self.name}({args}): dim={self.dim}>"


class QuadraticSurface(Surface):
    """f(x) = ½ xᵀAx − bᵀx, with its matrix and spectrum at hand.

    Extra attributes: ``A`` (dim, dim), ``b`` (dim,), ``eigenvalues`` (dim,) ascending, and
    ``condition_number`` (λmax/λmin if A is positive definite, else inf).
    """

    def __init__(self, A, b, eigenvalues, name="quadratic", params=None):
        dim = A.shape[0]
        self.A = _readonly(A)
        self.b = _readonly(b)
        self.eigenvalues = _readonly(eigenvalues)
        lam_min, lam_max = float(eigenvalues[0]), float(eigenvalues[-1])
        # Eigenvalues this small relative to the largest are rounding noise: treat A as singular.
        tol = dim * np.finfo(np.float64).eps * max(abs(lam_min), abs(lam_max))
        positive_definite = lam_min > tol
        self.condition_number = lam_max / lam_min if positive_definite else math.inf

        minima = saddles = maxima = np.empty((0, dim))
        global_min_value = None
        center = np.zeros(dim)
        if np.all(np.abs(eigenvalues) > tol):  # nonsingular: exactly one critical point
            center = np.linalg.solve(A, b)
            if positive_definite:
                minima = center[None]
                global_min_value = float(-0.5 * (b @ center)) + 0.0  # + 0.0 turns -0.0 into 0.0
            elif eigenvalues[-1] < -tol:
                maxima = center[None]
            else:
                saddles = center[None]
        super().__init__(
            name,
            dim,
            functools.partial(_quadratic_value, A=self.A, b=self.b),
            functools.partial(_quadratic_grad, A=self.A, b=self.b),
            functools.partial(_quadratic_hessian, A=self.A),
            minima=minima,
            global_min_value=global_min_value,
            saddles=saddles,
            maxima=maxima,
            bounds=tuple((c - 2.0, c + 2.0) for c in center),
            log_contours=False,
            params=params,
        )

    def __repr__(self):
        if self.params:
            return super().__repr__()
        return f"<QuadraticSurface {self.name}: dim={self.dim}, condition_number={self.condition_number:.4g}>"


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_int(name, value, minimum=None):
    """Return value as int, or raise ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _check_real(name, value, minimum=None, strict=False):
    """Return value as a finite float, or raise ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}; got {value}")
    return float(value)


def _points(name, pts, dim):
    """Known critical points as a read-only array of shape (k, dim)."""
    arr = np.array(pts, dtype=np.float64)
    if arr.size == 0:
        arr = np.empty((0, dim))
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (k, {dim}); got {arr.shape}")
    return _readonly(arr)


def _readonly(arr):
    arr = np.array(arr, dtype=np.float64)  # a private copy, so nobody else can change it either
    arr.setflags(write=False)
    return arr


def _hess2(hxx, hxy, hyy):
    """Assemble 2x2 Hessians of shape (..., 2, 2) from their three distinct entries."""
    hxx, hxy, hyy = np.broadcast_arrays(hxx, hxy, hyy)
    return np.stack([np.stack([hxx, hxy], axis=-1), np.stack([hxy, hyy], axis=-1)], axis=-2)


def _newton_refine(grad, hessian, seeds):
    """Polish critical points known to a few digits with Newton steps on the analytic gradient."""
    seeds = np.asarray(seeds, dtype=np.float64)
    pts = seeds.copy()
    for _ in range(20):
        step = np.linalg.solve(hessian(pts), grad(pts)[..., None])[..., 0]
        pts = pts - step
        if np.max(np.abs(step)) < 1e-15:
            break
    # Guard against a typo in the seeds sending Newton to a different critical point.
    if np.max(np.abs(pts - seeds)) > 1e-5 or np.max(np.abs(grad(pts))) > 1e-9:
        raise RuntimeError("Newton refinement of the known critical points did not converge")
    return pts


# --------------------------------------------------------------------------------------------
# Quadratics
# --------------------------------------------------------------------------------------------


def _quadratic_value(x, A, b):
    return 0.5 * np.einsum("...i,ij,...j->...", x, A, x) - x @ b


def _quadratic_grad(x, A, b):
    return x @ A - b  # A is symmetric, so x @ A == (A @ x.T).T


def _quadratic_hessian(x, A):
    return np.broadcast_to(A, x.shape + (x.shape[-1],)).copy()


def quadratic(A, b=None):
    """f(x) = ½ xᵀAx − bᵀx.

    A: array of shape (d, d), symmetric; b: array of shape (d,), default zeros.
    The minimum is A⁻¹b when A is positive definite; an indefinite nonsingular A gives a saddle
    there, a negative definite one a maximum.
    """
    A = np.array(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square 2-D matrix; got shape {A.shape}")
    if A.shape[0] == 0:
        raise ValueError("A must be non-empty; got shape (0, 0)")
    if not np.all(np.isfinite(A)):
        raise ValueError("A must be finite; got NaN or inf entries")
    asym = float(np.max(np.abs(A - A.T)))
    if asym > 1e-10 * float(np.max(np.abs(A))):
        raise ValueError(f"A must be symmetric; got max |A - A.T| = {asym:.3g}")
    A = 0.5 * (A + A.T)  # remove rounding-level asymmetry so the gradient is exact
    d = A.shape[0]
    if b is None:
        b = np.zeros(d)
    b = np.array(b, dtype=np.float64)
    if b.shape != (d,):
        raise ValueError(f"b must have shape ({d},) to match A; got {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("b must be finite; got NaN or inf entries")
    return QuadraticSurface(A, b, np.linalg.eigvalsh(A))


def quadratic_bowl(condition_number=10.0, dim=2, angle=0.0):
    """A convex quadratic ½ xᵀAx with eigenvalues from 1 to ``condition_number``, minimum at 0.

    dim 2: A = R diag(1, κ) Rᵀ with R the rotation by ``angle`` radians (angle 0: the steep
    direction is the y axis). dim > 2: eigenvalues log-spaced from 1 to κ in a fixed orthonormal
    basis (the orthonormal DCT-II, deterministic and not axis-aligned). dim 1 needs κ = 1.
    """
    kappa = _check_real("condition_number", condition_number, minimum=1.0)
    dim = _check_int("dim", dim, minimum=1)
    angle = _check_real("angle", angle)
    if dim == 1 and kappa != 1.0:
        raise ValueError(f"a 1-D bowl has one eigenvalue, so condition_number must be 1; got {kappa}")
    if dim != 2 and angle != 0.0:
        raise ValueError(f"angle only applies to dim=2; got angle={angle} with dim={dim}")
    if dim == 2:
        eigenvalues = np.array([1.0, kappa])
        c, s = math.cos(angle), math.sin(angle)
        Q = np.array([[c, -s], [s, c]])
    else:
        eigenvalues = np.geomspace(1.0, kappa, dim)
        n = np.arange(dim)
        Q = np.cos(np.pi * (n[:, None] + 0.5) * n[None, :] / dim) * np.sqrt(2.0 / dim)
        Q[:, 0] /= np.sqrt(2.0)
    A = (Q * eigenvalues) @ Q.T
    A = 0.5 * (A + A.T)
    params = {"condition_number": kappa, "dim": dim, "angle": angle}
    # Hand over the eigenvalues we built A from, so condition_number is exactly κ.
    return QuadraticSurface(A, np.zeros(dim), eigenvalues, name="quadratic_bowl", params=params)


# --------------------------------------------------------------------------------------------
# Classic 2-D test functions
# --------------------------------------------------------------------------------------------


def _rosenbrock_value(x, a, b):
    x, y = x[..., 0], x[..., 1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


def _rosenbrock_grad(x, a, b):
    x, y = x[..., 0], x[..., 1]
    return np.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)], axis=-1)


def _rosenbrock_hessian(x, a, b):
    x, y = x[..., 0], x[..., 1]
    return _hess2(2 - 4 * b * y + 12 * b * x**2, -4 * b * x, 2 * b)


def rosenbrock(a=1.0, b=100.0):
    """f(x, y) = (a − x)² + b(y − x²)²: a curved, flat-bottomed valley; minimum 0 at (a, a²)."""
    a = _check_real("a", a)
    b = _check_real("b", b, minimum=0.0, strict=True)
    s = max(1.0, abs(a))
    return Surface(
        "rosenbrock",
        2,
        functools.partial(_rosenbrock_value, a=a, b=b),
        functools.partial(_rosenbrock_grad, a=a, b=b),
        functools.partial(_rosenbrock_hessian, a=a, b=b),
        minima=[[a, a * a]],
        global_min_value=0.0,
        bounds=((-2.0 * s, 2.0 * s), (-(s**2), 3.0 * s**2)),
        log_contours=True,
        params={"a": a, "b": b},
    )


_BEALE_C = (1.5, 2.25, 2.625)


def _beale_value(x):
    x, y = x[..., 0], x[..., 1]
    return sum((c - x + x * y ** (k + 1)) ** 2 for k, c in enumerate(_BEALE_C))


def _beale_grad(x):
    x, y = x[..., 0], x[..., 1]
    gx = gy = 0.0
    for k, c in enumerate(_BEALE_C):
        n = k + 1
        r = c - x + x * y**n  # residual of term n; f = Σ r²
        gx = gx + 2 * r * (y**n - 1)
        gy = gy + 2 * r * n * x * y ** (n - 1)
    return np.stack([gx, gy], axis=-1)


def _beale_hessian(x):
    x, y = x[..., 0], x[..., 1]
    hxx = hxy = hyy = 0.0
    for k, c in enumerate(_BEALE_C):
        n = k + 1
        r = c - x + x * y**n
        rx, ry = y**n - 1, n * x * y ** (n - 1)  # ∂r/∂x, ∂r/∂y
        rxy, ryy = n * y ** (n - 1), n * (n - 1) * x * y ** max(n - 2, 0)  # ∂²r/∂x∂y, ∂²r/∂y²
        hxx = hxx + 2 * rx * rx  # ∂²r/∂x² = 0
        hxy = hxy + 2 * (rx * ry + r * rxy)
        hyy = hyy + 2 * (ry * ry + r * ryy)
    return _hess2(hxx, hxy, hyy)


def beale():
    """Beale's function: sharp ridges and flat plateaus; minimum 0 at (3, 0.5).

    Two strict saddles: (0, 1) (f is constant along x = 0) and one near (0.1005, −2.6445).
    """
    return Surface(
        "beale",
        2,
        _beale_value,
        _beale_grad,
        _beale_hessian,
        minima=[[3.0, 0.5]],
        global_min_value=0.0,
        saddles=_BEALE_SADDLES,
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        log_contours=True,
    )


_BEALE_SADDLES = np.vstack([[0.0, 1.0], _newton_refine(_beale_grad, _beale_hessian, [[0.10053794, -2.64451358]])])


def _himmelblau_value(x):
    x, y = x[..., 0], x[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(x):
    x, y = x[..., 0], x[..., 1]
    u, v = x**2 + y - 11, x + y**2 - 7
    return np.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], axis=-1)


def _himmelblau_hessian(x):
    x, y = x[..., 0], x[..., 1]
    return _hess2(12 * x**2 + 4 * y - 42, 4 * (x + y), 4 * x + 12 * y**2 - 26)


# Closed form for (3, 2); the other critical points are roots of a quartic, known to ~1e-6 and
# polished to machine precision here.
_HIMMELBLAU_MINIMA = np.vstack(
    [
        [3.0, 2.0],
        _newton_refine(
            _himmelblau_grad,
            _himmelblau_hessian,
            [[-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848127]],
        ),
    ]
)
_HIMMELBLAU_SADDLES = _newton_refine(
    _himmelblau_grad,
    _himmelblau_hessian,
    [[0.086677, 2.884254], [-3.073026, -0.081353], [3.385154, 0.073852], [-0.127961, -1.953715]],
)
_HIMMELBLAU_MAXIMA = _newton_refine(_himmelblau_grad, _himmelblau_hessian, [[-0.270845, -0.923039]])


def himmelblau():
    """Himmelblau's function (x² + y − 11)² + (x + y² − 7)²: four global minima, all of value 0.

    Also four saddles and one local maximum (near (−0.2708, −0.9230)).
    """
    return Surface(
        "himmelblau",
        2,
        _himmelblau_value,
        _himmelblau_grad,
        _himmelblau_hessian,
        minima=_HIMMELBLAU_MINIMA,
        global_min_value=0.0,
        saddles=_HIMMELBLAU_SADDLES,
        maxima=_HIMMELBLAU_MAXIMA,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        log_contours=True,  # values span 0 to ~900; linear levels hide the four basins
    )


def _camel_value(x):
    x, y = x[..., 0], x[..., 1]
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _camel_grad(x):
    x, y = x[..., 0], x[..., 1]
    return np.stack([8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3], axis=-1)


def _camel_hessian(x):
    x, y = x[..., 0], x[..., 1]
    return _hess2(8 - 25.2 * x**2 + 10 * x**4, 1.0, -8 + 48 * y**2)


# The function is symmetric under (x, y) -> (-x, -y): critical points come in pairs.
_CAMEL_MINIMA = _newton_refine(
    _camel_grad,
    _camel_hessian,
    [
        [0.08984201, -0.7126564],  # global
        [-0.08984201, 0.7126564],  # global
        [-1.70360672, 0.79608357],
        [1.70360672, -0.79608357],
        [1.60710475, 0.56865145],
        [-1.60710475, -0.56865145],
    ],
)
_CAMEL_SADDLES = np.vstack(
    [
        [0.0, 0.0],
        _newton_refine(
            _camel_grad,
            _camel_hessian,
            [
                [1.63806798, 0.22867407],
                [-1.63806798, -0.22867407],
                [1.29607027, 0.60508439],
                [-1.29607027, -0.60508439],
                [1.10920534, -0.76826809],
                [-1.10920534, 0.76826809],
            ],
        ),
    ]
)
_CAMEL_MAXIMA = _newton_refine(_camel_grad, _camel_hessian, [[1.23022988, 0.16233458], [-1.23022988, -0.16233458]])


def six_hump_camel():
    """Six-hump camel function: six local minima, two of them global (−1.0316 at ±(0.0898, −0.7126)).

    Also seven saddles (one at the origin) and two local maxima.
    """
    return Surface(
        "six_hump_camel",
        2,
        _camel_value,
        _camel_grad,
        _camel_hessian,
        minima=_CAMEL_MINIMA,
        global_min_value=float(_camel_value(_CAMEL_MINIMA[0])),
        saddles=_CAMEL_SADDLES,
        maxima=_CAMEL_MAXIMA,
        bounds=((-2.0, 2.0), (-1.0, 1.0)),
        log_contours=False,  # values go negative
    )


def _rastrigin_value(x, A):
    return A * x.shape[-1] + np.sum(x**2 - A * np.cos(2 * np.pi * x), axis=-1)


def _rastrigin_grad(x, A):
    return 2 * x + 2 * np.pi * A * np.sin(2 * np.pi * x)


def _rastrigin_hessian(x, A):
    d = x.shape[-1]
    H = np.zeros(x.shape + (d,))
    i = np.arange(d)
    H[..., i, i] = 2 + 4 * np.pi**2 * A * np.cos(2 * np.pi * x)  # separable: diagonal Hessian
    return H


def rastrigin(A=10.0, dim=2):
    """Rastrigin's function A·d + Σ(xᵢ² − A cos 2πxᵢ): a bowl covered in local minima.

    Global minimum 0 at the origin (the only minimum listed; there is one near every integer point).
    """
    A = _check_real("A", A, minimum=0.0)
    dim = _check_int("dim", dim, minimum=1)
    return Surface(
        "rastrigin",
        dim,
        functools.partial(_rastrigin_value, A=A),
        functools.partial(_rastrigin_grad, A=A),
        functools.partial(_rastrigin_hessian, A=A),
        minima=np.zeros((1, dim)),
        global_min_value=0.0,
        bounds=((-5.12, 5.12),) * dim,
        params={"A": A, "dim": dim},
    )


def _strict_saddle_value(x):
    x, y = x[..., 0], x[..., 1]
    return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4


def _strict_saddle_grad(x):
    x, y = x[..., 0], x[..., 1]
    return np.stack([x, y**3 - y], axis=-1)


def _strict_saddle_hessian(x):
    x, y = x[..., 0], x[..., 1]
    return _hess2(np.ones_like(x), np.zeros_like(x), 3 * y**2 - 1)


def strict_saddle():
    """f(x, y) = x²/2 − y²/2 + y⁴/4: a strict saddle at the origin (Hessian eigenvalues 1 and −1).

    Gradient descent started on the x axis converges to the saddle; any perturbation in y escapes
    to one of the two minima at (0, ±1), both of value −1/4. (Plain x² − y² would have no minimum
    to escape to.)
    """
    return Surface(
        "strict_saddle",
        2,
        _strict_saddle_value,
        _strict_saddle_grad,
        _strict_saddle_hessian,
        minima=[[0.0, 1.0], [0.0, -1.0]],
        global_min_value=-0.25,
        saddles=[[0.0, 0.0]],
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
    )


def _monkey_value(x):
    x, y = x[..., 0], x[..., 1]
    return x**3 - 3 * x * y**2


def _monkey_grad(x):
    x, y = x[..., 0], x[..., 1]
    return np.stack([3 * x**2 - 3 * y**2, -6 * x * y], axis=-1)


def _monkey_hessian(x):
    x, y = x[..., 0], x[..., 1]
    return _hess2(6 * x, -6 * y, -6 * x)


def monkey_saddle():
    """f(x, y) = x³ − 3xy²: a degenerate saddle at the origin (zero Hessian), three valleys, no minimum."""
    return Surface(
        "monkey_saddle",
        2,
        _monkey_value,
        _monkey_grad,
        _monkey_hessian,
        global_min_value=None,  # unbounded below
        saddles=[[0.0, 0.0]],
        bounds=((-1.5, 1.5), (-1.5, 1.5)),
    )


SURFACES = {
    "quadratic_bowl": quadratic_bowl,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "six_hump_camel": six_hump_camel,
    "rastrigin": rastrigin,
    "strict_saddle": strict_saddle,
    "monkey_saddle": monkey_saddle,
}

"""Data for the course: handwritten digits, toy 2-D sets, shifted regression, minibatches.

Conventions: inputs ``X`` are float64 of shape ``(N, D)``, labels ``y`` are int64 of shape ``(N,)``.
Every random function takes ``rng``: a ``np.random.Generator`` or an int seed (``None`` means
seed 0, so re-running a cell gives the same data). Nothing here reads or changes NumPy's global
random state.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_rng",
    "load_digits_split",
    "make_spirals",
    "make_moons",
    "make_shifted_regression",
    "minibatches",
]

DEFAULT_SEED = 0


def as_rng(rng=None) -> np.random.Generator:
    """Return a ``np.random.Generator``: ``rng`` itself, a new one seeded with an int, or seed 0 for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(DEFAULT_SEED)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng: a seed must be a non-negative int, got {rng}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            "rng: got a legacy np.random.RandomState; pass np.random.default_rng(seed) or an int seed"
        )
    raise TypeError(f"rng: expected a np.random.Generator or an int seed, got {type(rng).__name__}")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def _check_nonneg(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name}: expected a finite real number >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value}")
    return float(value)


def load_digits_split(test_size=0.25, seed=0, standardize=True):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download), split and scaled.

    Args:
        test_size: fraction of the samples held out, in (0, 1).
        seed: int seed of the stratified split (every class keeps its proportion in both parts).
        standardize: if True, each pixel is centred and scaled with the mean and std of the
            *training* part only (the test part is never looked at); a pixel whose training std is
            below 1e-8 (e.g. the always-blank corners) is only centred, not divided.

    Returns:
        X_train: array of shape (N_train, 64), float64
        y_train: array of shape (N_train,), int64, values 0..9
        X_test: array of shape (N_test, 64), float64
        y_test: array of shape (N_test,), int64
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real) or not 0 < test_size < 1:
        raise ValueError(f"test_size: expected a fraction strictly between 0 and 1, got {test_size!r}")
    seed = _check_int("seed", seed, 0)
    digits = load_digits()
    X = np.asarray(digits.data, dtype=np.float64)
    y = np.asarray(digits.target, dtype=np.int64)
    # An int random_state gives scikit-learn its own RandomState: the global state is not touched.
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=float(test_size), random_state=seed, stratify=y
    )
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std = np.where(std < 1e-8, 1.0, std)  # constant pixels: avoid dividing by ~0
        X_train = (X_train - mean) / std
        X_test = (X_test - mean) / std
    return (
        np.ascontiguousarray(X_train, dtype=np.float64),
        np.ascontiguousarray(y_train, dtype=np.int64),
        np.ascontiguousarray(X_test, dtype=np.float64),
        np.ascontiguousarray(y_test, dtype=np.int64),
    )


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, rng=None):
    """Interleaved spiral arms, one per class (the CS231n toy set); not linearly separable.

    Class ``j`` has radii ``linspace(0, 1, n_per_class)`` and angles
    ``linspace(4j, 4(j+1), n_per_class) + noise * standard normal``.

    Returns:
        X: array of shape (n_per_class * n_classes, 2), float64, inside the unit disc
        y: array of shape (n_per_class * n_classes,), int64, sorted by class
    """
    n_per_class = _check_int("n_per_class", n_per_class, 1)
    n_classes = _check_int("n_classes", n_classes, 1)
    noise = _check_nonneg("noise", noise)
    rng = as_rng(rng)
    X = np.empty((n_per_class * n_classes, 2), dtype=np.float64)
    y = np.empty(n_per_class * n_classes, dtype=np.int64)
    radius = np.linspace(0.0, 1.0, n_per_class)
    for j in range(n_classes):
        rows = slice(j * n_per_class, (j + 1) * n_per_class)
        theta = np.linspace(4.0 * j, 4.0 * (j + 1), n_per_class) + noise * rng.standard_normal(n_per_class)
        X[rows] = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
        y[rows] = j
    return X, y


def make_moons(n=200, noise=0.1, rng=None):
    """Two interleaving half circles (same geometry as ``sklearn.datasets.make_moons``).

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc ``(1 - cos t, 0.5 - sin t)``,
    ``t`` evenly spaced in [0, pi]; Gaussian noise of std ``noise`` is added to every coordinate.

    Returns:
        X: array of shape (n, 2), float64
        y: array of shape (n,), int64, the first ``n // 2`` are class 0
    """
    n = _check_int("n", n, 2)
    noise = _check_nonneg("noise", noise)
    rng = as_rng(rng)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate(
        [np.column_stack([np.cos(t0), np.sin(t0)]), np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])]
    )
    X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    return X, y


def make_shifted_regression(n_train=200, n_test=200, d=2, shift=0.0, noise=0.1, rng=None):
    """Linear-regression data whose test set comes from a shifted distribution.

    Exactly what is drawn (with ``u`` and ``v`` random unit vectors and ``w_true`` standard normal,
    all of shape ``(d,)`` and drawn from ``rng``):

    - training inputs  ``X_train ~ N(0, I)``;
      training targets ``y_train = X_train @ w_true + noise * e``,
    - test inputs      ``X_test ~ N(shift * u, I)`` (the input mean moves by ``shift`` along ``u``,
      which also stretches the test loss surface along ``u``: its Hessian is ``≈ I + shift² u uᵀ``);
      test targets     ``y_test = X_test @ w_test + noise * e'`` with ``w_test = w_true + shift * v``.

    So with ``shift = 0`` both sets come from the same distribution, and the least-squares minimizer
    of the test loss sits about ``shift`` away from that of the training loss (``w_test`` vs
    ``w_true``). Everything random is drawn in the same order whatever ``shift`` is, so the same
    ``rng`` seed with different shifts gives the same underlying samples, only shifted: a sweep over
    ``shift`` varies nothing else.

    Returns:
        dict with ``X_train`` (n_train, d), ``y_train`` (n_train,), ``X_test`` (n_test, d),
        ``y_test`` (n_test,), ``w_true`` (d,) [the training weights], and also ``w_test`` (d,),
        ``input_direction`` (u), ``weight_direction`` (v), ``shift`` (float). All float64.
    """
    n_train = _check_int("n_train", n_train, 1)
    n_test = _check_int("n_test", n_test, 1)
    d = _check_int("d", d, 1)
    shift = _check_nonneg("shift", shift)
    noise = _check_nonneg("noise", noise)
    rng = as_rng(rng)

    def unit(vec):
        return vec / np.linalg.norm(vec)

    w_true = rng.standard_normal(d)
    u = unit(rng.standard_normal(d))
    v = unit(rng.standard_normal(d))
    X_train = rng.standard_normal((n_train, d))
    e_train = rng.standard_normal(n_train)
    X_test = rng.standard_normal((n_test, d)) + shift * u
    e_test = rng.standard_normal(n_test)
    w_test = w_true + shift * v
    return {
        "X_train": X_train,
        "y_train": X_train @ w_true + noise * e_train,
        "X_test": X_test,
        "y_test": X_test @ w_test + noise * e_test,
        "w_true": w_true,
        "w_test": w_test,
        "input_direction": u,
        "weight_direction": v,
        "shift": shift,
    }


def minibatches(X, y, batch_size, rng=None, shuffle=True, drop_last=False):
    """Iterate once over ``(X, y)`` in minibatches: one epoch.

    Args:
        X: array of shape (N, ...)
        y: array of shape (N, ...)
        batch_size: positive int; the last batch is smaller when ``batch_size`` does not divide N,
            unless ``drop_last`` is True (then it is skipped).
        rng: ``np.random.Generator`` or int seed; required when ``shuffle`` is True. A Generator is
            advanced, so calling again with the same Generator gives a new order each epoch.
        shuffle: visit the samples in a random order (otherwise in order).

    Yields:
        (X_batch, y_batch), copies of rows of X and y. Arguments are checked when this is
        called, before the first batch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must be arrays with a first (sample) axis; got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples; got len(X)={len(X)}, len(y)={len(y)}")
    n = len(X)
    if shuffle:
        if rng is None:
            raise ValueError("rng: shuffle=True needs a np.random.Generator or an int seed (or pass shuffle=False)")
        order = as_rng(rng).permutation(n)
    else:
        order = np.arange(n)
    batch_size = int(batch_size)
    stop = n - n % batch_size if drop_last else n

    def batches():
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            yield X[idx], y[idx]

    return batches()

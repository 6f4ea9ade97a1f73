"""Tests for nnopt_helpers.data: shapes, determinism, no global random state, the shift, minibatches."""

import numpy as np
import pytest

from nnopt_helpers.data import (
    as_rng,
    load_digits_split,
    make_moons,
    make_shifted_regression,
    make_spirals,
    minibatches,
)


# ---------------------------------------------------------------------------------------------
# as_rng


def test_as_rng_passes_generators_through_and_seeds_ints():
    """A Generator is returned as is; an int seed (or None = 0) gives a reproducible Generator."""
    g = np.random.default_rng(5)
    assert as_rng(g) is g
    assert as_rng(7).random() == np.random.default_rng(7).random()
    assert as_rng(np.int64(7)).random() == np.random.default_rng(7).random()
    assert as_rng(None).random() == np.random.default_rng(0).random()


@pytest.mark.parametrize("bad", [1.5, "3", True, np.random.RandomState(0)])
def test_as_rng_rejects_other_types(bad):
    """Floats, strings, bools and legacy RandomState objects are refused with a TypeError."""
    with pytest.raises(TypeError, match="rng"):
        as_rng(bad)


def test_as_rng_rejects_negative_seed():
    with pytest.raises(ValueError, match="rng"):
        as_rng(-1)


def test_nothing_touches_the_global_random_state():
    """Every function gives the same output whatever the global seed, and leaves it unchanged."""

    def run_all():
        out = [
            *make_spirals(20, 3, rng=1),
            *make_moons(30, rng=1),
            *load_digits_split(seed=1)[:2],
            *make_shifted_regression(30, 30, shift=1.0, rng=1).values(),
            *next(minibatches(np.arange(10), np.arange(10), 4, rng=1)),
        ]
        return out

    np.random.seed(123)
    before = np.random.get_state()
    first = run_all()
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    np.random.seed(999)
    second = run_all()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# digits


def test_digits_shapes_dtypes_and_stratified_split():
    X_train, y_train, X_test, y_test = load_digits_split()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    # Stratified: each class keeps (to within one sample) its share in both parts.
    all_counts = np.bincount(np.concatenate([y_train, y_test]))
    np.testing.assert_allclose(np.bincount(y_test), all_counts * 0.25, atol=1.0)


def test_digits_standardized_with_training_statistics_only():
    """Standardized = raw split scaled by the training mean/std; test data never contributes."""
    Xr_train, yr_train, Xr_test, yr_test = load_digits_split(seed=3, standardize=False)
    X_train, y_train, X_test, y_test = load_digits_split(seed=3)
    np.testing.assert_array_equal(y_train, yr_train)
    np.testing.assert_array_equal(y_test, yr_test)
    assert Xr_train.min() == 0 and Xr_train.max() == 16  # raw pixel intensities
    mean, std = Xr_train.mean(axis=0), Xr_train.std(axis=0)
    constant = std < 1e-8
    assert constant.any()  # e.g. the blank top-left pixel: must not produce inf/NaN
    std = np.where(constant, 1.0, std)
    np.testing.assert_allclose(X_train, (Xr_train - mean) / std, atol=1e-12)
    np.testing.assert_allclose(X_test, (Xr_test - mean) / std, atol=1e-12)
    assert np.all(np.isfinite(X_train)) and np.all(np.isfinite(X_test))
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(X_train.std(axis=0)[~constant], 1.0, atol=1e-10)
    # The test part, scaled with someone else's statistics, is not exactly standardized.
    assert np.abs(X_test.mean(axis=0)).max() > 1e-3


def test_digits_split_is_deterministic_in_the_seed():
    a = load_digits_split(seed=0)
    b = load_digits_split(seed=0)
    c = load_digits_split(seed=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_digits_test_size():
    X_train, _, X_test, _ = load_digits_split(test_size=0.5)
    assert len(X_train) + len(X_test) == 1797 and abs(len(X_test) - 898.5) <= 1
    with pytest.raises(ValueError, match="test_size"):
        load_digits_split(test_size=1.5)


# ---------------------------------------------------------------------------------------------
# spirals and moons


def test_spirals_shapes_labels_and_geometry():
    X, y = make_spirals(n_per_class=50, n_classes=4, noise=0.2, rng=0)
    assert X.shape == (200, 2) and y.shape == (200,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50] * 4)
    radius = np.linalg.norm(X, axis=1)
    # Radii are linspace(0, 1) per class whatever the angular noise.
    np.testing.assert_allclose(radius[y == 2], np.linspace(0, 1, 50), atol=1e-12)


def test_spirals_deterministic_and_seed_dependent():
    a, ya = make_spirals(rng=4)
    b, yb = make_spirals(rng=np.random.default_rng(4))
    c, _ = make_spirals(rng=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.allclose(a, c)
    clean1, _ = make_spirals(noise=0.0, rng=1)
    clean2, _ = make_spirals(noise=0.0, rng=2)
    np.testing.assert_array_equal(clean1, clean2)  # noise=0: no randomness left


def test_spirals_generator_is_advanced():
    """Passing the same Generator twice gives two different draws."""
    g = np.random.default_rng(0)
    a, _ = make_spirals(rng=g)
    b, _ = make_spirals(rng=g)
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_per_class": 0}, "n_per_class"), ({"n_classes": 0}, "n_classes"), ({"noise": -1.0}, "noise")],
)
def test_spirals_validate_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_spirals(**kwargs)


def test_moons_shapes_and_arcs():
    X, y = make_moons(n=101, noise=0.0, rng=0)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50, 51])
    # Without noise, class 0 lies on the unit circle, class 1 on the circle centred at (1, 0.5).
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0)


def test_moons_deterministic_and_seed_dependent():
    a, _ = make_moons(rng=3)
    b, _ = make_moons(rng=3)
    c, _ = make_moons(rng=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    noisy, y = make_moons(n=2000, noise=0.1, rng=0)
    clean, _ = make_moons(n=2000, noise=0.0, rng=0)
    assert abs(np.std(noisy - clean) - 0.1) < 0.01


# ---------------------------------------------------------------------------------------------
# shifted regression


def _lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def test_shifted_regression_keys_shapes_and_targets():
    data = make_shifted_regression(n_train=50, n_test=70, d=3, shift=0.5, noise=0.0, rng=0)
    assert {"X_train", "y_train", "X_test", "y_test", "w_true"} <= set(data)
    assert data["X_train"].shape == (50, 3) and data["y_train"].shape == (50,)
    assert data["X_test"].shape == (70, 3) and data["y_test"].shape == (70,)
    assert data["w_true"].shape == (3,)
    for key in ("X_train", "y_train", "X_test", "y_test", "w_true"):
        assert data[key].dtype == np.float64
    # noise=0: targets are exactly linear, training with w_true, test with w_true + shift * v.
    np.testing.assert_allclose(data["y_train"], data["X_train"] @ data["w_true"])
    w_test = data["w_true"] + 0.5 * data["weight_direction"]
    np.testing.assert_allclose(data["y_test"], data["X_test"] @ w_test)
    np.testing.assert_allclose(data["w_test"], w_test)


def test_shift_zero_gives_the_same_distribution():
    """With shift=0, train and test inputs have the same mean/covariance and the same minimizer."""
    data = make_shifted_regression(n_train=4000, n_test=4000, d=3, shift=0.0, noise=0.1, rng=0)
    Xtr, Xte = data["X_train"], data["X_test"]
    np.testing.assert_allclose(Xtr.mean(axis=0), Xte.mean(axis=0), atol=0.1)
    np.testing.assert_allclose(np.cov(Xtr.T), np.cov(Xte.T), atol=0.15)
    w_train = _lstsq(Xtr, data["y_train"])
    w_test = _lstsq(Xte, data["y_test"])
    assert np.linalg.norm(w_train - w_test) < 0.02
    np.testing.assert_allclose(w_train, data["w_true"], atol=0.02)


def test_larger_shift_moves_the_test_minimizer_further():
    shifts = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    distances, means = [], []
    for shift in shifts:
        data = make_shifted_regression(shift=shift, rng=7)
        w_train = _lstsq(data["X_train"], data["y_train"])
        w_test = _lstsq(data["X_test"], data["y_test"])
        distances.append(np.linalg.norm(w_test - w_train))
        means.append(np.linalg.norm(data["X_test"].mean(axis=0)))
    assert np.all(np.diff(distances) > 0), distances
    assert np.all(np.diff(means) > 0), means  # the inputs move too
    np.testing.assert_allclose(distances, shifts, atol=0.05)


def test_same_seed_different_shift_changes_only_the_shift():
    a = make_shifted_regression(shift=0.0, rng=2)
    b = make_shifted_regression(shift=1.5, rng=2)
    for key in ("X_train", "y_train", "w_true", "input_direction", "weight_direction"):
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_allclose(b["X_test"] - a["X_test"], np.tile(1.5 * a["input_direction"], (200, 1)))


def test_shifted_regression_validates():
    with pytest.raises(ValueError, match="shift"):
        make_shifted_regression(shift=-1.0)
    with pytest.raises(ValueError, match="d"):
        make_shifted_regression(d=0)
    with pytest.raises(TypeError, match="n_train"):
        make_shifted_regression(n_train=2.5)


# ---------------------------------------------------------------------------------------------
# minibatches


def test_minibatches_cover_every_sample_exactly_once():
    X = np.arange(103 * 2).reshape(103, 2).astype(float)
    y = np.arange(103)
    batches = list(minibatches(X, y, 10, rng=0))
    assert [len(yb) for _, yb in batches] == [10] * 10 + [3]
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), y)
    assert not np.array_equal(seen, y)  # actually shuffled
    for Xb, yb in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)


def test_minibatches_drop_last_and_no_shuffle():
    y = np.arange(23)
    batches = [yb for _, yb in minibatches(y, y, 5, rng=0, drop_last=True)]
    assert [len(b) for b in batches] == [5] * 4
    assert len(set(np.concatenate(batches))) == 20
    in_order = [yb for _, yb in minibatches(y, y, 5, rng=None, shuffle=False)]
    np.testing.assert_array_equal(np.concatenate(in_order), y)
    assert len(list(minibatches(y, y, 50, rng=0, drop_last=True))) == 0
    assert len(list(minibatches(y, y, 50, rng=0))) == 1


def test_minibatches_new_order_each_epoch_with_one_generator():
    y = np.arange(50)
    g = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in minibatches(y, y, 10, g)])
    second = np.concatenate([yb for _, yb in minibatches(y, y, 10, g)])
    assert not np.array_equal(first, second)
    again = np.concatenate([yb for _, yb in minibatches(y, y, 10, np.random.default_rng(0))])
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
def test_minibatches_reject_bad_batch_size_immediately(batch_size):
    """Errors come when minibatches() is called, not at the first next()."""
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(np.zeros((4, 2)), np.zeros(4), batch_size, rng=0)


def test_minibatches_other_errors():
    with pytest.raises(ValueError, match="same number of samples"):
        minibatches(np.zeros((4, 2)), np.zeros(5), 2, rng=0)
    with pytest.raises(ValueError, match="rng"):
        minibatches(np.zeros((4, 2)), np.zeros(4), 2, None)
    with pytest.raises(ValueError, match="rng"):
        minibatches(np.zeros((4, 2)), np.zeros(4), 2)

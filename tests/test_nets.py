"""Tests for nnopt_helpers.nets: layers vs numerical gradients, the MLP, sgd, and the training loop."""

import copy
import warnings

import numpy as np
import pytest

from nnopt_helpers.data import load_digits_split, make_spirals
from nnopt_helpers.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from nnopt_helpers.nets import (
    MLP,
    History,
    affine_backward,
    affine_forward,
    gaussian_init,
    relu_backward,
    relu_forward,
    sgd,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy,
    tanh_backward,
    tanh_forward,
    train,
)

# ---------------------------------------------------------------------------------------------
# A test-local normalization layer with the batch-norm interface (per-sample layer norm, NOT
# batch norm: batch norm is a graded exercise and must not appear in the helpers or their tests).


def layer_norm_forward(x, gamma, beta, bn_param):
    eps = bn_param.setdefault("eps", 1e-5)
    bn_param.setdefault("modes_seen", []).append(bn_param["mode"])
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma)


def layer_norm_backward(dout, cache):
    xhat, std, gamma = cache
    D = xhat.shape[1]
    dxhat = dout * gamma
    dx = (D * dxhat - dxhat.sum(axis=1, keepdims=True) - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (D * std)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def test_the_test_local_layer_norm_is_right():
    """Check the helper used below, so that an MLP failure cannot come from it."""
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=5)
    dout = rng.normal(size=(4, 5))
    out, cache = layer_norm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = layer_norm_backward(dout, cache)
    np.testing.assert_allclose(((out - beta) / gamma).mean(axis=1), 0.0, atol=1e-12)

    def fwd(x=x, gamma=gamma, beta=beta):
        return layer_norm_forward(x, gamma, beta, {"mode": "train"})[0]

    assert rel_error(dx, numerical_gradient_array(lambda v: fwd(x=v), x, dout)) < 1e-7
    assert rel_error(dgamma, numerical_gradient_array(lambda v: fwd(gamma=v), gamma, dout)) < 1e-7
    assert rel_error(dbeta, numerical_gradient_array(lambda v: fwd(beta=v), beta, dout)) < 1e-7


# ---------------------------------------------------------------------------------------------
# Layers


def test_affine_forward_on_linspace_values():
    x = np.linspace(-0.1, 0.5, num=2 * 4).reshape(2, 4)
    W = np.linspace(-0.2, 0.3, num=4 * 3).reshape(4, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    out, _ = affine_forward(x, W, b)
    expected = np.array([[sum(x[i, k] * W[k, j] for k in range(4)) + b[j] for j in range(3)] for i in range(2)])
    assert rel_error(out, expected) < 1e-12


def test_affine_backward_matches_numerical_gradient():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    dout = rng.normal(size=(5, 3))
    _, cache = affine_forward(x, W, b)
    dx, dW, db = affine_backward(dout, cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    assert rel_error(dx, numerical_gradient_array(lambda v: affine_forward(v, W, b)[0], x, dout)) < 1e-7
    assert rel_error(dW, numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], W, dout)) < 1e-7
    assert rel_error(db, numerical_gradient_array(lambda v: affine_forward(x, W, v)[0], b, dout)) < 1e-7


def test_affine_shape_errors_name_the_argument():
    x, W, b = np.zeros((2, 4)), np.zeros((4, 3)), np.zeros(3)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 4\)"):
        affine_forward(np.zeros((2, 5)), W, b)
    with pytest.raises(ValueError, match=r"b: expected shape \(3,\)"):
        affine_forward(x, W, np.zeros(4))
    with pytest.raises(ValueError, match="W"):
        affine_forward(x, np.zeros(4), b)
    _, cache = affine_forward(x, W, b)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\)"):
        affine_backward(np.zeros((2, 4)), cache)


@pytest.mark.parametrize(
    "forward, backward",
    [(relu_forward, relu_backward), (tanh_forward, tanh_backward), (sigmoid_forward, sigmoid_backward)],
    ids=["relu", "tanh", "sigmoid"],
)
def test_activation_backward_matches_numerical_gradient(forward, backward):
    rng = np.random.default_rng(1)
    # Keep values away from ReLU's kink at 0, where the numerical gradient is meaningless.
    x = rng.uniform(0.05, 2.0, size=(6, 5)) * rng.choice([-1.0, 1.0], size=(6, 5))
    dout = rng.normal(size=(6, 5))
    out, cache = forward(x)
    assert out.shape == x.shape
    dx = backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda v: forward(v)[0], x, dout)) < 1e-7


def test_activation_values():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(relu_forward(x)[0], np.maximum(x, 0))
    np.testing.assert_allclose(tanh_forward(x)[0], np.tanh(x))
    np.testing.assert_allclose(sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)), rtol=1e-14)


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[2] == 0.5
    assert 0 < out[1] < 1e-20


def test_softmax_loss_is_log_c_at_zero_scores():
    loss, dscores = softmax_cross_entropy(np.zeros((7, 10)), np.arange(7))
    assert abs(loss - np.log(10)) < 1e-12
    expected = np.full((7, 10), 0.1)
    expected[np.arange(7), np.arange(7)] -= 1
    np.testing.assert_allclose(dscores, expected / 7)


def test_softmax_gradient_matches_numerical_gradient():
    rng = np.random.default_rng(2)
    scores, y = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    loss, dscores = softmax_cross_entropy(scores, y)
    num = numerical_gradient(lambda s: softmax_cross_entropy(s, y)[0], scores)
    assert rel_error(dscores, num) < 1e-7


def test_softmax_is_stable_and_mean_over_batch():
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    with np.errstate(over="raise", invalid="raise"):
        loss, dscores = softmax_cross_entropy(scores, np.array([0, 0]))
    assert abs(loss - 1000.0 / 2) < 1e-9  # first row costs 0, second 1000; mean over 2 rows
    assert np.all(np.isfinite(dscores))


def test_softmax_validates_labels():
    with pytest.raises(ValueError, match=r"y: expected shape \(2,\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="0..2"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


# ---------------------------------------------------------------------------------------------
# sgd and gaussian_init


def test_sgd_step_defaults_and_no_mutation():
    w = np.linspace(-1, 1, 6).reshape(2, 3)
    dw = np.linspace(0.5, -0.5, 6).reshape(2, 3)
    w0, dw0 = w.copy(), dw.copy()
    next_w, config = sgd(w, dw)
    assert config == {"learning_rate": 1e-2}
    np.testing.assert_allclose(next_w, w0 - 1e-2 * dw0, rtol=1e-15)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(dw, dw0)
    cfg = {"learning_rate": 0.5}
    next_w, out_cfg = sgd(w, dw, cfg)
    assert out_cfg is cfg
    np.testing.assert_allclose(next_w, w0 - 0.5 * dw0)


def test_sgd_validates():
    with pytest.raises(ValueError, match="learning_rate"):
        sgd(np.zeros(3), np.zeros(3), {"learning_rate": -0.1})
    with pytest.raises(ValueError, match="dw"):
        sgd(np.zeros(3), np.zeros(4))


def test_gaussian_init():
    init = gaussian_init(0.5)
    W = init(200, 300, np.random.default_rng(0))
    assert W.shape == (200, 300) and W.dtype == np.float64
    assert abs(W.std() - 0.5) < 0.01 and abs(W.mean()) < 0.01
    np.testing.assert_array_equal(W, init(200, 300, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="scale"):
        gaussian_init(-1.0)


# ---------------------------------------------------------------------------------------------
# MLP


def test_mlp_params_and_records():
    model = MLP([6, 5, 4, 3], activation="tanh", rng=0)
    assert list(model.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert model.params["W1"].shape == (6, 5) and model.params["W3"].shape == (4, 3)
    assert model.params["b2"].shape == (4,) and not model.params["b2"].any()
    X = np.random.default_rng(0).normal(size=(9, 6))
    scores, _ = model.forward(X)
    assert scores.shape == (9, 3)
    assert [a.shape for a in model.pre_activations] == [(9, 5), (9, 4)]
    assert [a.shape for a in model.activations] == [(9, 5), (9, 4)]
    np.testing.assert_allclose(model.activations[0], np.tanh(model.pre_activations[0]))
    assert model.predict(X).shape == (9,) and model.predict(X).dtype == np.int64
    assert 0.0 <= model.accuracy(X, np.zeros(9, dtype=int)) <= 1.0


def test_mlp_norm_params_and_modes():
    model = MLP([6, 5, 4, 3], norm=(layer_norm_forward, layer_norm_backward), rng=0)
    assert list(model.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    np.testing.assert_array_equal(model.params["gamma2"], np.ones(4))
    np.testing.assert_array_equal(model.params["beta1"], np.zeros(5))
    X = np.random.default_rng(0).normal(size=(9, 6))
    model.forward(X)
    model.predict(X)
    assert [p["modes_seen"] for p in model.bn_params] == [["train", "eval"]] * 2
    # The recorded pre-activations are the norm layer's output: zero mean per row here.
    np.testing.assert_allclose(model.pre_activations[0].mean(axis=1), 0.0, atol=1e-12)


def _gradcheck_model(model, X, y):
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in model.params:
        original = model.params[name]

        def f(value, name=name):
            model.params[name] = value
            return model.loss(X, y)[0]

        num = numerical_gradient(f, original, h=1e-6)
        model.params[name] = original
        assert grads[name].shape == original.shape
        err = rel_error(grads[name], num)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_gradients_match_numerical_gradients(activation):
    rng = np.random.default_rng(3)
    model = MLP([5, 6, 4, 3], activation=activation, weight_scale=0.7, rng=1, reg=0.1)
    for name in model.params:  # non-zero biases so no bias gradient check is trivial
        model.params[name] = model.params[name] + 0.1 * rng.normal(size=model.params[name].shape)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    _gradcheck_model(model, X, y)


def test_mlp_with_norm_gradients_match_numerical_gradients():
    rng = np.random.default_rng(4)
    model = MLP([5, 6, 4, 3], activation="tanh", norm=(layer_norm_forward, layer_norm_backward), weight_scale=0.5, rng=2)
    for name in model.params:  # move gamma/beta away from ones/zeros
        model.params[name] = model.params[name] + 0.3 * rng.normal(size=model.params[name].shape)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    _gradcheck_model(model, X, y)


def test_mlp_accepts_norm_as_object():
    class LayerNorm:
        forward = staticmethod(layer_norm_forward)
        backward = staticmethod(layer_norm_backward)

    model = MLP([3, 4, 2], norm=LayerNorm(), rng=0)
    assert "gamma1" in model.params
    with pytest.raises(TypeError, match="norm"):
        MLP([3, 4, 2], norm=layer_norm_forward)


def test_mlp_uses_the_given_initializer_and_is_deterministic():
    calls = []

    def ones_init(fan_in, fan_out, rng):
        calls.append((fan_in, fan_out, type(rng)))
        return np.ones((fan_in, fan_out))

    model = MLP([4, 3, 2], init=ones_init, rng=5)
    assert calls == [(4, 3, np.random.Generator), (3, 2, np.random.Generator)]
    np.testing.assert_array_equal(model.params["W2"], np.ones((3, 2)))
    a, b, c = MLP([4, 3, 2], rng=5), MLP([4, 3, 2], rng=5), MLP([4, 3, 2], rng=6)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.allclose(a.params["W1"], c.params["W1"])
    assert abs(MLP([400, 300, 2], weight_scale=0.3).params["W1"].std() - 0.3) < 0.01


def test_mlp_validates():
    with pytest.raises(ValueError, match="layer_sizes"):
        MLP([10])
    with pytest.raises(ValueError, match="layer_sizes"):
        MLP([10, 0, 3])
    with pytest.raises(ValueError, match="activation"):
        MLP([4, 3], activation="gelu")
    with pytest.raises(ValueError, match="init or weight_scale"):
        MLP([4, 3], init=gaussian_init(), weight_scale=0.1)
    with pytest.raises(ValueError, match=r"expected \(fan_in, fan_out\) = \(4, 3\)"):
        MLP([4, 3], init=lambda fan_in, fan_out, rng: np.zeros((fan_out, fan_in)))
    model = MLP([4, 3])
    with pytest.raises(ValueError, match=r"X: expected shape \(N, 4\)"):
        model.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="mode"):
        model.forward(np.zeros((2, 4)), mode="test")
    with pytest.raises(ValueError, match="y"):
        model.loss(np.zeros((2, 4)), np.array([0, 1, 2]))


# ---------------------------------------------------------------------------------------------
# train


def test_train_on_spirals_decreases_loss_and_beats_chance():
    X, y = make_spirals(100, 3, rng=0)
    model = MLP([2, 50, 3], weight_scale=0.1, rng=0)
    hist = train(model, X, y, sgd, {"learning_rate": 1.0}, num_epochs=60, batch_size=50, rng=0)
    assert isinstance(hist, History) and not hist.diverged
    assert hist.loss_history.shape == (60 * 6,)
    assert abs(hist.loss_history[0] - np.log(3)) < 0.05  # starts at chance
    assert hist.loss_history[-30:].mean() < 0.5 * hist.loss_history[:30].mean()
    assert hist.train_acc_history[0] < 0.5 and hist.train_acc_history[-1] > 0.8  # chance is 1/3


def test_train_on_digits_with_validation():
    X_train, y_train, X_test, y_test = load_digits_split()
    model = MLP([64, 64, 10], rng=0)
    hist = train(
        model, X_train, y_train, sgd, {"learning_rate": 0.1}, num_epochs=5, batch_size=50, rng=0,
        X_val=X_test, y_val=y_test,
    )
    np.testing.assert_array_equal(hist.epochs, np.arange(6))
    assert hist.train_acc_history.shape == hist.val_acc_history.shape == hist.val_loss_history.shape == (6,)
    assert hist.val_acc_history[-1] > 0.8  # chance is 0.1
    assert hist.val_loss_history[-1] < hist.val_loss_history[0] - 1.0
    assert hist.val_acc_history[-1] == model.accuracy(X_test, y_test)
    assert "val_acc=" in repr(hist) and "DIVERGED" not in repr(hist)


def test_train_records_layer_statistics():
    X, y = make_spirals(30, 3, rng=1)  # 90 samples, batches of 20 -> 5 iterations per epoch
    model = MLP([2, 8, 6, 3], activation="tanh", weight_scale=0.5, rng=1)
    hist = train(model, X, y, sgd, {"learning_rate": 0.1}, num_epochs=4, batch_size=20, rng=1, record_every=3)
    assert hist.num_iterations == 20
    np.testing.assert_array_equal(hist.stats_iterations, np.arange(0, 20, 3))
    R = len(hist.stats_iterations)
    assert hist.activation_mean.shape == hist.activation_std.shape == (R, 2)
    assert hist.grad_std.shape == hist.update_ratio.shape == (R, 3)
    assert hist.weight_names == ["W1", "W2", "W3"]
    assert np.all(hist.activation_std > 0) and np.all(hist.grad_std > 0)
    assert np.all(np.abs(hist.activation_mean) < 1)  # tanh outputs
    # Check both statistics on a single full-batch step, against a recomputation.
    fresh = MLP([2, 8, 6, 3], activation="tanh", weight_scale=0.5, rng=1)
    W_before = copy.deepcopy(fresh.params)
    one = train(fresh, X[:20], y[:20], sgd, {"learning_rate": 0.1}, num_epochs=1, batch_size=20, rng=1)
    _, grads = MLP([2, 8, 6, 3], activation="tanh", weight_scale=0.5, rng=1).loss(X[:20], y[:20])
    for j, k in enumerate(one.weight_names):
        expected = np.linalg.norm(fresh.params[k] - W_before[k]) / np.linalg.norm(W_before[k])
        assert abs(one.update_ratio[0, j] - expected) < 1e-12
        assert abs(one.grad_std[0, j] - grads[k].std()) < 1e-12  # full batch: order does not matter


def test_train_keeps_a_separate_config_per_parameter():
    """Each parameter's state lives in its own copy of config; the caller's config is untouched."""
    seen = {}

    def counting_rule(w, dw, config):
        config["count"] = config.get("count", 0) + 1
        config["history"].append(config["count"])
        seen.setdefault(id(config), config)
        return w - 0.01 * dw, config

    config = {"history": []}
    model = MLP([2, 4, 3], rng=0)
    X, y = make_spirals(10, 3, rng=0)
    hist = train(model, X, y, counting_rule, config, num_epochs=2, batch_size=10, rng=0)
    assert config == {"history": []}
    assert len(seen) == len(model.params) == 4
    for cfg in seen.values():
        assert cfg["count"] == hist.num_iterations == 6
        assert cfg["history"] == list(range(1, 7))


def test_train_with_sgd_does_not_mutate_the_callers_arrays():
    X, y = make_spirals(20, 3, rng=0)
    X0, y0 = X.copy(), y.copy()
    model = MLP([2, 5, 3], rng=0)
    W1 = model.params["W1"]
    W1_before = W1.copy()
    train(model, X, y, sgd, {"learning_rate": 0.5}, num_epochs=2, batch_size=15, rng=0)
    np.testing.assert_array_equal(W1, W1_before)  # sgd returns new arrays
    assert not np.allclose(model.params["W1"], W1_before)  # but the model was trained
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_train_is_deterministic_and_leaves_global_state_alone():
    X, y = make_spirals(20, 3, rng=0)
    np.random.seed(0)
    state = np.random.get_state()
    runs = [
        train(MLP([2, 5, 3], rng=1), X, y, sgd, {"learning_rate": 0.5}, num_epochs=3, batch_size=16, rng=2)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].loss_history, runs[1].loss_history)
    assert np.array_equal(np.random.get_state()[1], state[1])
    other = train(MLP([2, 5, 3], rng=1), X, y, sgd, {"learning_rate": 0.5}, num_epochs=3, batch_size=16, rng=3)
    assert not np.array_equal(runs[0].loss_history, other.loss_history)  # another shuffle


def test_huge_learning_rate_is_flagged_as_divergence_without_warnings():
    X_train, y_train, _, _ = load_digits_split()
    model = MLP([64, 32, 10], rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning spam for learners
        hist = train(model, X_train[:300], y_train[:300], sgd, {"learning_rate": 1e6}, num_epochs=50, batch_size=100, rng=0)
    assert hist.diverged
    assert hist.diverged_at == hist.num_iterations - 1 < 150  # stopped early
    assert np.isnan(hist.loss_history[-1]) and np.all(np.isfinite(hist.loss_history[:-1]))
    assert "DIVERGED" in repr(hist)
    assert len(hist.activation_mean) == len(hist.update_ratio)  # aligned records for plotting


def test_divergence_caught_when_an_update_produces_nan():
    def broken_rule(w, dw, config):
        return w * np.nan, config

    X, y = make_spirals(10, 3, rng=0)
    hist = train(MLP([2, 4, 3], rng=0), X, y, broken_rule, num_epochs=3, batch_size=30, rng=0)
    assert hist.diverged and hist.diverged_at == 1
    assert np.isfinite(hist.loss_history[0]) and np.isnan(hist.loss_history[1])


def test_train_validates_arguments():
    model = MLP([2, 4, 3], rng=0)
    X, y = make_spirals(10, 3, rng=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(model, X, y, sgd, batch_size=0)
    with pytest.raises(ValueError, match="num_epochs"):
        train(model, X, y, sgd, num_epochs=-1)
    with pytest.raises(ValueError, match="record_every"):
        train(model, X, y, sgd, record_every=0)
    with pytest.raises(ValueError, match=r"y_train: expected shape \(30,\)"):
        train(model, X, y[:5], sgd)
    with pytest.raises(ValueError, match="X_val and y_val"):
        train(model, X, y, sgd, X_val=X)
    with pytest.raises(TypeError, match="update_rule"):
        train(model, X, y, "sgd")
    with pytest.raises(TypeError, match=r"\(next_w, config\)"):
        train(model, X, y, lambda w, dw, config: w - dw)


def test_train_stub_error_propagates():
    """A learner's unanswered stub fails loudly instead of being swallowed."""

    def stub(w, dw, config=None):
        raise NotImplementedError("write adam")

    X, y = make_spirals(10, 3, rng=0)
    with pytest.raises(NotImplementedError, match="write adam"):
        train(MLP([2, 4, 3]), X, y, stub, num_epochs=1)


def test_train_with_progress_bar(capsys):
    X, y = make_spirals(10, 3, rng=0)
    hist = train(MLP([2, 4, 3]), X, y, sgd, num_epochs=2, batch_size=10, progress=True)
    assert hist.num_iterations == 6
    assert "6/6" in capsys.readouterr().err


def test_mlp_validates_init_reg_and_sizes():
    with pytest.raises(TypeError, match=r"init: expected a function init\(fan_in, fan_out, rng\)"):
        MLP([4, 3], init=0.1)
    with pytest.raises(ValueError, match="reg"):
        MLP([4, 3], reg=-1.0)
    with pytest.raises(ValueError, match="reg"):
        MLP([4, 3], reg=True)
    with pytest.raises(ValueError, match="layer_sizes"):
        MLP([4, True])
    with pytest.raises(ValueError, match="layer_sizes"):
        MLP([4, 2.0, 3])
    model = MLP((4, np.int64(5), 3), weight_scale=0.5, rng=0)
    assert model.layer_sizes == [4, 5, 3] and all(type(s) is int for s in model.layer_sizes)
    assert model.params["W1"].dtype == np.float64 and model.params["W1"].std() > 0.1


def test_train_with_no_epochs_records_only_the_start():
    X, y = make_spirals(10, 3, rng=0)
    model = MLP([2, 4, 3], rng=0)
    before = copy.deepcopy(model.params)
    hist = train(model, X, y, sgd, num_epochs=0, X_val=X, y_val=y)
    assert hist.num_iterations == 0 and not hist.diverged
    np.testing.assert_array_equal(hist.epochs, [0])
    assert hist.train_acc_history.shape == hist.val_acc_history.shape == hist.val_loss_history.shape == (1,)
    assert hist.activation_mean.shape == (0, 1) and hist.update_ratio.shape == (0, 2)
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_divergence_in_an_update_keeps_the_records_aligned():
    def broken_rule(w, dw, config):
        return w * np.nan, config

    X, y = make_spirals(10, 3, rng=0)
    hist = train(MLP([2, 4, 3], rng=0), X, y, broken_rule, num_epochs=3, batch_size=10, rng=0, X_val=X, y_val=y)
    np.testing.assert_array_equal(hist.stats_iterations, [0])  # the step that blew up is recorded
    assert hist.activation_mean.shape == (1, 1) and hist.update_ratio.shape == (1, 2)
    assert np.all(np.isnan(hist.update_ratio))
    np.testing.assert_array_equal(hist.epochs, [0])  # no epoch finished
    assert hist.val_acc_history.shape == (1,)


def test_train_validates_more_arguments():
    model = MLP([2, 4, 3], rng=0)
    X, y = make_spirals(10, 3, rng=0)
    with pytest.raises(TypeError, match="config: expected a dict"):
        train(model, X, y, sgd, [0.1])
    with pytest.raises(ValueError, match="X_train: expected a 2-D array"):
        train(model, X[:, 0], y, sgd)
    with pytest.raises(ValueError, match=r"y_val: expected shape \(30,\) \(one label per row of X_val\)"):
        train(model, X, y, sgd, X_val=X, y_val=y[:3])
    with pytest.raises(ValueError, match="X_val: expected a 2-D array"):
        train(model, X, y, sgd, X_val=X[:, 0], y_val=y)
    with pytest.raises(ValueError, match=r"update_rule returned next_w of shape \(1, 4\) for W1"):
        train(model, X, y, lambda w, dw, config: (w[:1], config))


def test_progress_bar_says_where_training_diverged(capsys):
    X, y = make_spirals(10, 3, rng=0)
    hist = train(MLP([2, 4, 3], rng=0), X, y, sgd, {"learning_rate": 1e300}, num_epochs=3, batch_size=10, progress=True)
    assert hist.diverged
    assert f"diverged at iteration {hist.diverged_at}" in capsys.readouterr().err

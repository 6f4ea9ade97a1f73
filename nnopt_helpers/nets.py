"""A small NumPy multilayer perceptron, plain SGD and a training loop that records diagnostics.

Conventions (``docs/conventions.md``): float64; a weight matrix ``W`` has shape ``(fan_in, fan_out)`` and an
affine layer computes ``x @ W + b`` with ``x`` of shape ``(N, fan_in)``.

Every layer has the same interface: ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> grads``. Every update rule has the interface
``next_w, config = rule(w, dw, config=None)``; only plain ``sgd`` lives here, the other rules are
the learner's exercises and are passed in (to :func:`train`) as arguments. Initializers
(``init(fan_in, fan_out, rng) -> W``) and normalization layers are passed to :class:`MLP` the same way.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .data import as_rng, minibatches

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "tanh_forward",
    "tanh_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "softmax_cross_entropy",
    "sgd",
    "gaussian_init",
    "MLP",
    "History",
    "train",
    "layer_gradient_norms",
    "flat_loss_fn",
    "per_example_gradients",
    "flatten_params",
    "unflatten_params",
    "Run",
    "train_steps",
]


# ----------------------------------------------------------------------------------------------
# Layers


def _as_float_array(name, x, ndim=None):
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    return arr


def _check_same_shape(name, arr, shape, what):
    if arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} ({what}), got {arr.shape}")


def affine_forward(x, W, b):
    """Affine layer ``x @ W + b``.

    Args:
        x: array of shape (N, fan_in)
        W: array of shape (fan_in, fan_out)
        b: array of shape (fan_out,)

    Returns:
        out: array of shape (N, fan_out)
        cache: (x, W) for the backward pass
    """
    x = _as_float_array("x", x, ndim=2)
    W = _as_float_array("W", W, ndim=2)
    b = _as_float_array("b", b, ndim=1)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x: expected shape (N, {W.shape[0]}) to match W of shape {W.shape}, got {x.shape}")
    _check_same_shape("b", b, (W.shape[1],), "fan_out of W")
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    Args:
        dout: array of shape (N, fan_out), upstream gradient
        cache: from ``affine_forward``

    Returns:
        dx: array of shape (N, fan_in); dW: (fan_in, fan_out); db: (fan_out,)
    """
    x, W = cache
    dout = _as_float_array("dout", dout)
    _check_same_shape("dout", dout, (x.shape[0], W.shape[1]), "the layer's output")
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    """ReLU ``max(0, x)``; returns ``(out, cache)``, both of the shape of ``x``."""
    x = _as_float_array("x", x)
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward` (gradient 0 at x = 0); returns ``dx``."""
    x = cache
    dout = _as_float_array("dout", dout)
    _check_same_shape("dout", dout, x.shape, "the layer's output")
    return dout * (x > 0)


def tanh_forward(x):
    """Hyperbolic tangent; returns ``(out, cache)``."""
    out = np.tanh(_as_float_array("x", x))
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of :func:`tanh_forward`: ``dout * (1 - tanh(x)^2)``; returns ``dx``."""
    out = cache
    dout = _as_float_array("dout", dout)
    _check_same_shape("dout", dout, out.shape, "the layer's output")
    return dout * (1.0 - out**2)


def sigmoid_forward(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, without overflow for large ``|x|``; returns ``(out, cache)``."""
    x = _as_float_array("x", x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of :func:`sigmoid_forward`: ``dout * s * (1 - s)``; returns ``dx``."""
    out = cache
    dout = _as_float_array("dout", dout)
    _check_same_shape("dout", dout, out.shape, "the layer's output")
    return dout * out * (1.0 - out)


def softmax_cross_entropy(scores, y):
    """Softmax cross-entropy loss, averaged over the batch, and its gradient.

    Args:
        scores: array of shape (N, C), unnormalized class scores
        y: int array of shape (N,), labels in 0..C-1

    Returns:
        loss: float, ``mean_i -log softmax(scores_i)[y_i]`` (computed stably)
        dscores: array of shape (N, C), gradient of ``loss`` with respect to ``scores``
    """
    scores = _as_float_array("scores", scores, ndim=2)
    N, C = scores.shape
    y = _check_labels(y, N, C)
    shifted = scores - scores.max(axis=1, keepdims=True)  # exp never overflows
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    return float(loss), dscores / N


def _check_labels(y, N, C):
    y = np.asarray(y)
    if y.shape != (N,):
        raise ValueError(f"y: expected shape ({N},) (one label per row of scores), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y: expected integer class labels, got dtype {y.dtype}")
    if N and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"y: labels must be in 0..{C - 1} for {C} classes, got range {y.min()}..{y.max()}")
    return y


# ----------------------------------------------------------------------------------------------
# Plain SGD (the baseline) and a baseline initializer


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``next_w = w - learning_rate * dw``.

    Args:
        w: array, the current parameter (not modified)
        dw: array of the same shape, the gradient
        config: dict; ``learning_rate`` (default 1e-2) is set into it when absent

    Returns:
        (next_w, config)
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    lr = config["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0:
        raise ValueError(f"learning_rate: expected a number >= 0, got {lr!r}")
    w = np.asarray(w, dtype=np.float64)
    dw = np.asarray(dw, dtype=np.float64)
    _check_same_shape("dw", dw, w.shape, "the shape of w")
    return w - lr * dw, config


def gaussian_init(scale=1e-2):
    """Return ``init(fan_in, fan_out, rng) -> W``, with W's entries ``scale * N(0, 1)``.

    A fixed-scale baseline: it ignores the layer's width (compare the scaled initializers of
    notebook 05).
    """
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale >= 0:
        raise ValueError(f"scale: expected a number >= 0, got {scale!r}")
    scale = float(scale)

    def init(fan_in, fan_out, rng):
        return scale * as_rng(rng).standard_normal((fan_in, fan_out))

    init.__name__ = f"gaussian_init({scale:g})"
    init.__qualname__ = init.__name__
    return init


# ----------------------------------------------------------------------------------------------
# The network

_ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
}


def _norm_pair(norm):
    """Turn ``norm`` into ``(norm_forward, norm_backward)``."""
    if isinstance(norm, (tuple, list)) and len(norm) == 2:
        forward, backward = norm
    elif isinstance(norm, Mapping):
        forward, backward = norm.get("forward"), norm.get("backward")
    elif hasattr(norm, "forward") and hasattr(norm, "backward"):
        forward, backward = norm.forward, norm.backward
    elif hasattr(norm, "norm_forward") and hasattr(norm, "norm_backward"):
        forward, backward = norm.norm_forward, norm.norm_backward
    else:
        forward = backward = None
    if not (callable(forward) and callable(backward)):
        raise TypeError(
            "norm: expected a pair (norm_forward, norm_backward), e.g. "
            "(batchnorm_forward, batchnorm_backward), or an object with .forward and .backward; "
            f"got {norm!r}"
        )
    return forward, backward


def _check_layer_sizes(layer_sizes):
    """``layer_sizes`` as a list of ints: at least two, each a positive int (not a bool)."""
    sizes = list(layer_sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
        raise ValueError(f"layer_sizes: expected at least two positive ints [input, ..., classes], got {layer_sizes!r}")
    return [int(s) for s in sizes]


def _check_init(init, weight_scale):
    """The initializer :class:`MLP` uses: ``init``, or ``gaussian_init(weight_scale or 1e-2)`` when None."""
    if init is not None and weight_scale is not None:
        raise ValueError("give either init or weight_scale, not both (weight_scale sets the default init)")
    if init is None:
        return gaussian_init(1e-2 if weight_scale is None else weight_scale)
    if not callable(init):
        raise TypeError(f"init: expected a function init(fan_in, fan_out, rng) -> W, got {init!r}")
    return init


def _initial_weight(init, fan_in, fan_out, rng):
    """``init(fan_in, fan_out, rng)`` as a float64 array, after checking its shape."""
    W = np.asarray(init(fan_in, fan_out, rng))
    if W.shape != (fan_in, fan_out):
        name = getattr(init, "__name__", "init")
        raise ValueError(
            f"init: {name}({fan_in}, {fan_out}, rng) returned shape {W.shape}; "
            f"expected (fan_in, fan_out) = ({fan_in}, {fan_out})"
        )
    return np.array(W, dtype=np.float64)


class MLP:
    """A fully connected network: ``[affine -> (norm) -> activation] x (L-1) -> affine -> scores``.

    Args:
        layer_sizes: e.g. ``[64, 100, 100, 10]``: input size, hidden sizes, number of classes.
        activation: ``'relu'``, ``'tanh'`` or ``'sigmoid'``, for every hidden layer.
        init: ``init(fan_in, fan_out, rng) -> W`` of shape (fan_in, fan_out); default
            ``gaussian_init(weight_scale)``. Biases start at zero.
        norm: optional normalization layer applied after each hidden affine layer and before its
            activation, with the batch-norm interface of notebook 06: a pair
            ``(norm_forward, norm_backward)`` (or an object with ``.forward``/``.backward``) where
            ``norm_forward(x, gamma, beta, bn_param) -> (out, cache)`` and
            ``norm_backward(dout, cache) -> (dx, dgamma, dbeta)``. Adds parameters ``gamma{i}``
            (ones) and ``beta{i}`` (zeros) and a dict ``bn_params[i-1]`` per hidden layer, whose
            ``'mode'`` is set to ``'train'`` or ``'eval'`` on each forward pass (the norm layer
            keeps its running statistics in it).
        rng: ``np.random.Generator`` or int seed for the initial weights (None = seed 0).
        weight_scale: std of the default initializer (1e-2 when None); give this or ``init``.
        reg: L2 penalty ``0.5 * reg * sum(W**2)`` added to the loss for every weight matrix.

    Attributes:
        params: dict ``'W1', 'b1', ['gamma1', 'beta1'], 'W2', ...`` of float64 arrays.
        pre_activations, activations: lists, one (N, width) array per hidden layer, from the most
            recent forward pass: the input of the nonlinearity (after the norm layer, if any) and
            its output. ``affine_outputs`` holds the hidden affine outputs before the norm layer.
    """

    def __init__(self, layer_sizes, activation="relu", init=None, norm=None, rng=None, weight_scale=None, reg=0.0):
        sizes = _check_layer_sizes(layer_sizes)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        init = _check_init(init, weight_scale)
        if isinstance(reg, bool) or not isinstance(reg, numbers.Real) or not reg >= 0:
            raise ValueError(f"reg: expected a number >= 0, got {reg!r}")

        self.layer_sizes = sizes
        self.num_layers = len(sizes) - 1  # number of affine layers
        self.activation = activation
        self.init = init
        self.reg = float(reg)
        self._act_forward, self._act_backward = _ACTIVATIONS[activation]
        self.norm = norm
        self._norm = None if norm is None else _norm_pair(norm)

        self.params = self._initial_params(as_rng(rng))
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if self._norm else []
        self.affine_outputs = []
        self.pre_activations = []
        self.activations = []

    def _initial_params(self, rng):
        """``W{i}`` from ``self.init`` and ``b{i}`` zeros per layer, ``gamma{i}``/``beta{i}`` per normalized layer."""
        params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = self.layer_sizes[i - 1], self.layer_sizes[i]
            params[f"W{i}"] = _initial_weight(self.init, fan_in, fan_out, rng)
            params[f"b{i}"] = np.zeros(fan_out)
            if self._norm is not None and i < self.num_layers:
                params[f"gamma{i}"] = np.ones(fan_out)
                params[f"beta{i}"] = np.zeros(fan_out)
        return params

    def __repr__(self):
        norm = "" if self._norm is None else f", norm={getattr(self._norm[0], '__name__', 'norm')}"
        return f"MLP({self.layer_sizes}, activation={self.activation!r}{norm})"

    def forward(self, X, mode="train"):
        """Forward pass.

        Args:
            X: array of shape (N, layer_sizes[0])
            mode: ``'train'`` or ``'eval'`` (passed to the norm layer; no effect without one)

        Returns:
            scores: array of shape (N, layer_sizes[-1])
            cache: list of per-layer caches for :meth:`backward`
        Also records ``affine_outputs``, ``pre_activations`` and ``activations`` for each hidden layer.
        """
        if mode not in ("train", "eval"):
            raise ValueError(f"mode: expected 'train' or 'eval', got {mode!r}")
        X = _as_float_array("X", X, ndim=2)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X: expected shape (N, {self.layer_sizes[0]}), got {X.shape}")
        caches = []
        affine_outputs, pre_activations, activations = [], [], []
        h = X
        for i in range(1, self.num_layers):
            a, affine_cache = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            affine_outputs.append(a)
            norm_cache = None
            if self._norm is not None:
                bn_param = self.bn_params[i - 1]
                bn_param["mode"] = mode
                a, norm_cache = self._norm[0](a, self.params[f"gamma{i}"], self.params[f"beta{i}"], bn_param)
                a = np.asarray(a, dtype=np.float64)
                if a.shape != affine_outputs[-1].shape:
                    raise ValueError(
                        f"norm_forward returned shape {a.shape} at hidden layer {i}; expected {affine_outputs[-1].shape}"
                    )
            pre_activations.append(a)
            h, act_cache = self._act_forward(a)
            activations.append(h)
            caches.append((affine_cache, norm_cache, act_cache))
        scores, affine_cache = affine_forward(h, self.params[f"W{self.num_layers}"], self.params[f"b{self.num_layers}"])
        caches.append((affine_cache, None, None))
        self.affine_outputs, self.pre_activations, self.activations = affine_outputs, pre_activations, activations
        return scores, caches

    def backward(self, dscores, cache):
        """Backward pass from ``dscores`` (N, C); returns ``grads``, a dict with the keys of ``params``.

        Does not include the L2 penalty (``loss`` adds it).
        """
        grads = {}
        L = self.num_layers
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, cache[L - 1][0])
        for i in range(L - 1, 0, -1):
            affine_cache, norm_cache, act_cache = cache[i - 1]
            da = self._act_backward(dh, act_cache)
            if self._norm is not None:
                da, grads[f"gamma{i}"], grads[f"beta{i}"] = self._norm[1](da, norm_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(da, affine_cache)
        return {name: np.asarray(grads[name], dtype=np.float64) for name in self.params}

    def loss(self, X, y):
        """Mean softmax cross-entropy (+ L2 penalty) on ``(X, y)`` in train mode.

        Args:
            X: array of shape (N, layer_sizes[0]); y: int array of shape (N,)

        Returns:
            loss: float; grads: dict with the same keys and shapes as ``params``
        """
        scores, cache = self.forward(X, mode="train")
        loss, dscores = softmax_cross_entropy(scores, y)
        grads = self.backward(dscores, cache)
        if self.reg:
            for i in range(1, self.num_layers + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads

    def scores(self, X):
        """Class scores in eval mode, shape (N, C)."""
        return self.forward(X, mode="eval")[0]

    def predict(self, X):
        """Predicted classes (eval mode), int64 array of shape (N,)."""
        return np.argmax(self.scores(X), axis=1).astype(np.int64)

    def accuracy(self, X, y):
        """Fraction of ``X``'s rows classified as ``y`` (eval mode)."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(f"y: expected shape {pred.shape} (one label per row of X), got {y.shape}")
        return float(np.mean(pred == y))


# ----------------------------------------------------------------------------------------------
# Training


@dataclass(repr=False, eq=False)
class History:
    """What :func:`train` recorded.

    Attributes:
        loss_history: (num_iterations,) minibatch loss at every iteration (NaN where it diverged).
        epochs: (num_epochs_done + 1,) epoch indices 0, 1, ... of the accuracy records (0 = before training).
        train_acc_history, val_acc_history, val_loss_history: one value per entry of ``epochs``
            (the val lists are empty without validation data). Accuracies are computed in eval mode.
        stats_iterations: (R,) iterations at which layer statistics were recorded.
        activation_mean, activation_std: (R, num_hidden) statistics of each hidden layer's output.
        grad_std: (R, num_layers) std of each weight matrix's gradient ``dW{i}``.
        update_ratio: (R, num_layers) ``||W_new - W_old|| / ||W_old||`` of each weight matrix
            (inf or NaN when ``W_old`` is all zeros).
        weight_names: ``['W1', ..., 'WL']``, the columns of ``grad_std`` and ``update_ratio``.
        diverged: True if the loss, or a parameter after an update, became NaN or infinite;
            training stopped there and ``loss_history`` ends with NaN.
        diverged_at: the index of that NaN in ``loss_history``, else None.
    """

    loss_history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    train_acc_history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_acc_history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss_history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stats_iterations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    activation_mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    activation_std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    grad_std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    update_ratio: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    weight_names: list = field(default_factory=list)
    diverged: bool = False
    diverged_at: int | None = None

    @property
    def num_iterations(self):
        """Number of iterations run."""
        return len(self.loss_history)

    @property
    def final_loss(self):
        """Last recorded minibatch loss (NaN if none)."""
        return float(self.loss_history[-1]) if len(self.loss_history) else float("nan")

    def __repr__(self):
        parts = [f"epochs={max(len(self.epochs) - 1, 0)}", f"iterations={self.num_iterations}"]
        if self.diverged:
            parts.append(f"DIVERGED at iteration {self.diverged_at}")
        else:
            parts.append(f"final_loss={self.final_loss:.4g}")
        if len(self.train_acc_history):
            parts.append(f"train_acc={self.train_acc_history[-1]:.3f}")
        if len(self.val_acc_history):
            parts.append(f"val_acc={self.val_acc_history[-1]:.3f}")
        return f"History({', '.join(parts)})"


def _check_pos_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def train(
    model,
    X_train,
    y_train,
    update_rule,
    config=None,
    num_epochs=10,
    batch_size=100,
    rng=None,
    X_val=None,
    y_val=None,
    record_every=1,
    progress=False,
):
    """Train ``model`` with minibatches, updating every parameter with ``update_rule``.

    Args:
        model: an :class:`MLP` (anything with ``params``, ``loss(X, y)``, ``accuracy(X, y)`` and
            per-layer ``activations``).
        X_train: array of shape (N, D); y_train: int array of shape (N,)
        update_rule: ``rule(w, dw, config) -> (next_w, config)``, e.g. ``sgd`` or your ``adam``.
        config: hyperparameters for the rule, e.g. ``{'learning_rate': 1e-1}``. Each parameter
            gets its own deep copy, so state such as a velocity is kept per parameter.
        num_epochs: passes over the training data; batch_size: samples per step (last batch smaller).
        rng: ``np.random.Generator`` or int seed for the shuffling (None = seed 0).
        X_val, y_val: optional validation data (both or neither).
        record_every: record layer statistics every this many iterations (iteration 0 included).
        progress: show a tqdm progress bar.

    Returns:
        a :class:`History`. If the loss becomes NaN or infinite, training stops there, the NaN is
        recorded and ``history.diverged`` is True (no exception: plots still work).
        The model's parameters (``model.params``) are updated in place.
    """
    _check_rule_and_config(update_rule, config)
    num_epochs = _check_pos_int("num_epochs", num_epochs, 0)
    batch_size = _check_pos_int("batch_size", batch_size)
    record_every = _check_pos_int("record_every", record_every)
    X_train, y_train = _check_data("X_train", X_train, "y_train", y_train)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val: give both or neither")
    if X_val is not None:
        X_val, y_val = _check_data("X_val", X_val, "y_val", y_val)
    rng = as_rng(rng)

    configs = {name: copy.deepcopy(dict(config or {})) for name in model.params}
    recorder = _Recorder(model, X_train, y_train, X_val, y_val, record_every)
    iters_per_epoch = -(-len(X_train) // batch_size) if len(X_train) else 0
    bar = _progress_bar(num_epochs * iters_per_epoch) if progress else None

    diverged_at = None
    # Huge learning rates overflow on purpose; divergence is reported by history.diverged instead.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        recorder.record_epoch(0)
        try:
            for epoch in range(1, num_epochs + 1):
                batches = minibatches(X_train, y_train, batch_size, rng)
                diverged_at = _train_epoch(model, batches, update_rule, configs, recorder, bar, epoch)
                if diverged_at is not None:
                    break
                recorder.record_epoch(epoch)
        finally:
            _close_progress_bar(bar, diverged_at)
    return recorder.history(diverged_at)


def _check_rule_and_config(update_rule, config):
    if not callable(update_rule):
        raise TypeError(f"update_rule: expected a function rule(w, dw, config) -> (next_w, config), got {update_rule!r}")
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config: expected a dict of hyperparameters or None, got {type(config).__name__}")


def _check_data(x_name, X, y_name, y):
    """``X`` as a float64 (N, D) array and ``y`` as an array of shape (N,)."""
    X = _as_float_array(x_name, X, ndim=2)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"{y_name}: expected shape ({len(X)},) (one label per row of {x_name}), got {y.shape}")
    return X, y


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", leave=True)


def _close_progress_bar(bar, diverged_at):
    if bar is None:
        return
    if diverged_at is not None:
        bar.set_postfix_str(f"diverged at iteration {diverged_at}")
    bar.close()


def _train_epoch(model, batches, update_rule, configs, recorder, bar, epoch):
    """One pass over ``batches``; returns the index of the NaN in the loss history if training diverged, else None."""
    for X_batch, y_batch in batches:
        it = recorder.iteration
        loss, grads = model.loss(X_batch, y_batch)
        if not np.isfinite(loss):
            recorder.losses.append(float("nan"))
            return it
        recorder.losses.append(float(loss))
        record = recorder.before_update(grads)
        _apply_update_rule(model, update_rule, grads, configs)
        diverged_at = None
        if not all(np.isfinite(p).all() for p in model.params.values()):
            # The step itself blew up: the next loss would be NaN, so record it as such.
            recorder.losses.append(float("nan"))
            diverged_at = it + 1
        if record:
            recorder.after_update()
        recorder.iteration += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss:.4g}", refresh=False)
        if diverged_at is not None:
            return diverged_at
    return None


def _apply_update_rule(model, update_rule, grads, configs):
    """``model.params[name], configs[name] = update_rule(w, grads[name], configs[name])`` for every parameter."""
    for name in model.params:
        w = model.params[name]
        result = update_rule(w, grads[name], configs[name])
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"update_rule must return (next_w, config); got {type(result).__name__} for {name}")
        next_w, configs[name] = result
        next_w = np.asarray(next_w, dtype=np.float64)
        if next_w.shape != w.shape:
            raise ValueError(f"update_rule returned next_w of shape {next_w.shape} for {name}; expected {w.shape}")
        model.params[name] = next_w


class _Recorder:
    """What :func:`train` records while it runs, turned into a :class:`History` at the end."""

    def __init__(self, model, X_train, y_train, X_val, y_val, record_every):
        self.model = model
        self.train_data = (X_train, y_train)
        self.val_data = None if X_val is None else (X_val, y_val)
        self.record_every = record_every
        self.weight_names = sorted(
            (k for k in model.params if k.startswith("W") and k[1:].isdigit()), key=lambda k: int(k[1:])
        )
        self.iteration = 0
        self.losses, self.epochs, self.train_acc, self.val_acc, self.val_loss = [], [], [], [], []
        self.stat_its, self.act_mean, self.act_std, self.grad_std, self.upd_ratio = [], [], [], [], []
        self._old = {}

    def record_epoch(self, epoch):
        """Accuracies (and validation loss) in eval mode after ``epoch`` epochs."""
        self.epochs.append(epoch)
        self.train_acc.append(self.model.accuracy(*self.train_data))
        if self.val_data is not None:
            X_val, y_val = self.val_data
            scores = self.model.forward(X_val, mode="eval")[0]
            self.val_loss.append(softmax_cross_entropy(scores, y_val)[0])
            self.val_acc.append(float(np.mean(np.argmax(scores, axis=1) == y_val)))

    def before_update(self, grads):
        """Layer statistics of this iteration, if it is one to record; returns whether it is."""
        if self.iteration % self.record_every != 0:
            return False
        model, names = self.model, self.weight_names
        self.stat_its.append(self.iteration)
        self.act_mean.append([float(np.mean(a)) for a in model.activations])
        self.act_std.append([float(np.std(a)) for a in model.activations])
        self.grad_std.append([float(np.std(grads[k])) for k in names])
        self._old = {k: model.params[k].copy() for k in names}
        return True

    def after_update(self):
        """``||W_new - W_old|| / ||W_old||`` of every weight matrix, after :meth:`before_update`."""
        params, old = self.model.params, self._old
        self.upd_ratio.append([float(np.linalg.norm(params[k] - old[k]) / np.linalg.norm(old[k])) for k in self.weight_names])

    def history(self, diverged_at):
        n_hidden = len(getattr(self.model, "activations", []))
        n_weights = len(self.weight_names)

        def table(rows, width):
            return np.array(rows, dtype=np.float64).reshape(len(rows), width)

        return History(
            loss_history=np.array(self.losses, dtype=np.float64),
            epochs=np.array(self.epochs, dtype=np.int64),
            train_acc_history=np.array(self.train_acc, dtype=np.float64),
            val_acc_history=np.array(self.val_acc, dtype=np.float64),
            val_loss_history=np.array(self.val_loss, dtype=np.float64),
            stats_iterations=np.array(self.stat_its, dtype=np.int64),
            activation_mean=table(self.act_mean, n_hidden),
            activation_std=table(self.act_std, n_hidden),
            grad_std=table(self.grad_std, n_weights),
            update_ratio=table(self.upd_ratio, n_weights),
            weight_names=self.weight_names,
            diverged=diverged_at is not None,
            diverged_at=diverged_at,
        )


# ----------------------------------------------------------------------------------------------
# Diagnostics


def layer_gradient_norms(model, X, y):
    """The size of the loss gradient at every affine layer, at the model's current weights.

    One forward and backward pass of ``model`` (an :class:`MLP`) on ``(X, y)``, in train mode,
    without the L2 penalty.

    Returns:
        dict with two float64 arrays of shape ``(model.num_layers,)``, index ``l - 1`` for layer ``l``:
        ``'weights'``: the Frobenius norm of ``∂loss/∂W_l`` (what :meth:`MLP.loss` returns as
        ``grads['W{l}']``); ``'signal'``: the Frobenius norm of ``∂loss/∂(x W_l + b_l)``, the
        back-propagated gradient arriving at layer ``l``'s affine output (for the last layer, the
        gradient with respect to the scores).
    """
    scores, cache = model.forward(X, mode="train")
    _, dscores = softmax_cross_entropy(scores, y)
    L = model.num_layers
    signal, weights = np.empty(L), np.empty(L)
    signal[L - 1] = np.linalg.norm(dscores)
    dh, dW, _ = affine_backward(dscores, cache[L - 1][0])
    weights[L - 1] = np.linalg.norm(dW)
    for i in range(L - 1, 0, -1):
        affine_cache, norm_cache, act_cache = cache[i - 1]
        da = model._act_backward(dh, act_cache)
        if model._norm is not None:
            da = model._norm[1](da, norm_cache)[0]
        signal[i - 1] = np.linalg.norm(da)
        dh, dW, _ = affine_backward(da, affine_cache)
        weights[i - 1] = np.linalg.norm(dW)
    return {"weights": weights, "signal": signal}


# ----------------------------------------------------------------------------------------------
# The loss as a function of one flat parameter vector (02: loss landscapes)


def flat_loss_fn(model, X, y):
    """``loss_fn(theta) -> float``: the loss of ``model`` on ``(X, y)`` (as ``model.loss`` computes it, in
    train mode, with its L2 penalty) with its parameters set to the flat vector ``theta`` (laid out as
    :func:`flatten_params` lays out ``model.params``). Works on a copy: ``model`` is not changed."""
    probe = copy.deepcopy(model)
    X, y = _check_data("X", X, "y", y)
    shapes = {name: np.shape(value) for name, value in model.params.items()}
    ends = np.cumsum([int(np.prod(shape)) for shape in shapes.values()])

    def loss_fn(theta):
        theta = _as_float_array("theta", theta, ndim=1)
        if theta.shape[0] != ends[-1]:
            raise ValueError(f"theta: expected {ends[-1]} numbers (the size of the parameters), got {theta.shape[0]}")
        pieces = np.split(theta, ends[:-1])
        probe.params = {name: piece.reshape(shape) for (name, shape), piece in zip(shapes.items(), pieces)}
        loss = softmax_cross_entropy(probe.forward(X, mode="train")[0], y)[0]  # the loss of MLP.loss, no backward pass
        for i in range(1, probe.num_layers + 1) if probe.reg else ():
            loss += 0.5 * probe.reg * float(np.sum(probe.params[f"W{i}"] ** 2))
        return float(loss)

    return loss_fn


# ----------------------------------------------------------------------------------------------
# 07_training_in_practice: per-example gradients, and a step-by-step training loop with a schedule
# and a gradient transform (clipping is the learner's exercise: it is passed in, never written here)


def per_example_gradients(model, X, y):
    """The gradient of the loss of each example on its own, one flattened row per example.

    Args:
        model: an :class:`MLP` without a normalization layer (with batch norm, one example's
            gradient depends on the other examples of its batch, so it is not defined alone).
        X: array of shape (N, layer_sizes[0]); y: int array of shape (N,).

    Returns:
        array of shape (N, P), P the number of parameters: row n is the gradient of the
        cross-entropy of example n (no L2 penalty) with respect to every parameter, in the order of
        ``model.params`` (``W1`` ravelled, ``b1``, ``W2``, ...), as :func:`flatten_params` lays them out.
        The mean of the rows is the gradient of ``model.loss(X, y)`` (without its penalty).
    """
    if model._norm is not None:
        raise ValueError("per_example_gradients: a network with a normalization layer has no per-example gradient")
    scores, caches = model.forward(X, mode="train")
    N = scores.shape[0]
    _, dscores = softmax_cross_entropy(scores, y)
    da = dscores * N  # the gradient of each example's own loss (the mean divided by N)
    per_layer = {}
    L = model.num_layers
    for i in range(L, 0, -1):
        affine_cache, norm_cache, act_cache = caches[i - 1]
        if i < L:
            da = model._act_backward(dh, act_cache)
        x, W = affine_cache
        per_layer[f"W{i}"] = np.einsum("ni,nj->nij", x, da).reshape(N, -1)
        per_layer[f"b{i}"] = da
        dh = da @ W.T
    return np.concatenate([per_layer[name] for name in model.params], axis=1)


def flatten_params(params):
    """Every array of a parameter dict, ravelled and concatenated in the dict's order: shape (P,)."""
    return np.concatenate([np.ravel(v) for v in params.values()]) if params else np.zeros(0)


def unflatten_params(theta, like):
    """The inverse of :func:`flatten_params`: a dict with the keys and shapes of ``like``, values from ``theta``."""
    theta = np.asarray(theta, dtype=np.float64)
    out, start = {}, 0
    for name, value in like.items():
        size = int(np.size(value))
        out[name] = theta[start:start + size].reshape(np.shape(value)).copy()
        start += size
    if start != theta.size:
        raise ValueError(f"theta has {theta.size} entries; the parameters have {start}")
    return out


@dataclass(repr=False, eq=False)
class Run:
    """What :func:`train_steps` recorded.

    Attributes:
        loss_history: (steps run,) minibatch loss before each step (NaN where it diverged).
        grad_norms: (steps run,) global L2 norm of the minibatch gradient before any transform.
        learning_rates: (steps run,) the learning rate of each step (the schedule's, or the config's).
        val_acc, val_loss: accuracy and loss on the validation data at the end (NaN without it, or diverged).
        diverged: True if the loss or a parameter became NaN or infinite (training stopped there).
    """

    loss_history: np.ndarray
    grad_norms: np.ndarray
    learning_rates: np.ndarray
    val_acc: float = float("nan")
    val_loss: float = float("nan")
    diverged: bool = False

    def __repr__(self):
        end = "DIVERGED" if self.diverged else f"val_acc={self.val_acc:.3f}"
        return f"Run(steps={len(self.loss_history)}, {end})"


def train_steps(model, X_train, y_train, update_rule, config=None, num_steps=100, batch_size=64, rng=None,
                lr_schedule=None, grad_transform=None, X_val=None, y_val=None):
    """Train ``model`` for ``num_steps`` minibatch steps (reshuffling at every epoch).

    Args:
        model: an :class:`MLP`; its ``params`` are updated in place.
        update_rule, config: as in :func:`train` (one deep copy of ``config`` per parameter).
        num_steps: number of updates; batch_size: examples per step.
        rng: ``np.random.Generator`` or int seed of the shuffling.
        lr_schedule: optional ``lr_schedule(step) -> learning rate`` (step 0, 1, ...); its value is written
            into every parameter's ``config['learning_rate']`` before the update.
        grad_transform: optional function taking the list of gradient arrays (in the order of
            ``model.params``) and returning the list to use instead (e.g. a gradient clipping).
        X_val, y_val: optional validation data, evaluated (eval mode) once at the end.

    Returns:
        a :class:`Run`.
    """
    _check_rule_and_config(update_rule, config)
    num_steps = _check_pos_int("num_steps", num_steps, 0)
    batch_size = _check_pos_int("batch_size", batch_size)
    X_train, y_train = _check_data("X_train", X_train, "y_train", y_train)
    rng = as_rng(rng)
    configs = {name: copy.deepcopy(dict(config or {})) for name in model.params}
    losses, norms, rates = [], [], []
    diverged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        batches = iter(())
        for step in range(num_steps):
            batch = next(batches, None)
            if batch is None:
                batches = minibatches(X_train, y_train, batch_size, rng)
                batch = next(batches)
            loss, grads = model.loss(*batch)
            names = list(model.params)
            norms.append(float(np.sqrt(sum(float(np.sum(grads[k] ** 2)) for k in names))))
            if lr_schedule is not None:
                for c in configs.values():
                    c["learning_rate"] = float(lr_schedule(step))
            rates.append(float(configs[names[0]].get("learning_rate", np.nan)))
            losses.append(float(loss) if np.isfinite(loss) else float("nan"))
            if not np.isfinite(loss):
                diverged = True
                break
            if grad_transform is not None:
                grads = dict(zip(names, grad_transform([grads[k] for k in names])))
            _apply_update_rule(model, update_rule, grads, configs)
            if not all(np.isfinite(p).all() for p in model.params.values()):
                diverged = True
                break
        run = Run(np.array(losses), np.array(norms), np.array(rates), diverged=diverged)
        if X_val is not None and not diverged:
            scores = model.forward(X_val, mode="eval")[0]
            run.val_loss = softmax_cross_entropy(scores, y_val)[0]
            run.val_acc = float(np.mean(np.argmax(scores, axis=1) == np.asarray(y_val)))
    return run

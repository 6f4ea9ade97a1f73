"""Tests of nnopt_helpers.widgets, headless: build explorers, move sliders, check what was redrawn."""

import matplotlib

matplotlib.use("Agg")

import base64
import io

import ipywidgets
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from nnopt_helpers import surfaces
from nnopt_helpers.nets import sgd
from nnopt_helpers.widgets import (
    Explorer,
    basin_explorer,
    batchnorm_explorer,
    initialization_explorer,
    learning_rate_explorer,
    optimizer_explorer,
    run_rule,
)

A = np.array([[3.0, 1.0], [1.0, 2.0]])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def heavy_ball(w, dw, config=None):
    """A test-local momentum rule (not the course's exercise form): v = μv + dw; w − lr·v."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.5)
    v = config["momentum"] * config.get("v", np.zeros_like(w)) + dw
    config["v"] = v
    return w - config["learning_rate"] * v, config


def _png(explorer):
    (out,) = explorer.output.outputs
    assert out["output_type"] == "display_data"
    return base64.b64decode(out["data"]["image/png"])


# ---- run_rule ------------------------------------------------------------------------------------


def test_run_rule_matches_closed_form_gradient_descent():
    x0, lr = np.array([1.0, -2.0]), 0.1
    config = {"learning_rate": lr}
    path = run_rule(sgd, lambda x: A @ x, x0, 20, config)
    assert path.shape == (21, 2)
    M = np.eye(2) - lr * A
    expected = np.array([np.linalg.matrix_power(M, t) @ x0 for t in range(21)])
    np.testing.assert_allclose(path, expected, rtol=1e-12)
    assert config == {"learning_rate": lr}  # the caller's config is left alone
    np.testing.assert_array_equal(x0, [1.0, -2.0])


def test_run_rule_carries_state_between_steps():
    x0 = np.array([1.0, 1.0])
    path = run_rule(heavy_ball, lambda x: A @ x, x0, 5, {"learning_rate": 0.1, "momentum": 0.9})
    x, v = x0.copy(), np.zeros(2)
    for t in range(5):
        v = 0.9 * v + A @ x
        x = x - 0.1 * v
        np.testing.assert_allclose(path[t + 1], x, rtol=1e-12)


def test_run_rule_config_none_uses_rule_defaults():
    path = run_rule(sgd, lambda x: x, [1.0], 3, None)
    np.testing.assert_allclose(path[:, 0], 0.99 ** np.arange(4))


def test_run_rule_stops_at_divergence_keeping_the_shape():
    path = run_rule(sgd, lambda x: x**3, [10.0, 0.0], 50, {"learning_rate": 1.0})
    assert path.shape == (51, 2)
    bad = ~np.all(np.isfinite(path), axis=1)
    first = int(np.argmax(bad))
    assert 0 < first < 50 and bad[first:].all() and not bad[:first].any()


def test_run_rule_rejects_bad_inputs_and_rules():
    with pytest.raises(ValueError, match="1-D"):
        run_rule(sgd, lambda x: x, np.zeros((2, 2)), 3)
    with pytest.raises(TypeError, match="pair"):
        run_rule(lambda w, dw, config: w - dw, lambda x: x, [1.0], 3)


# ---- optimizer_explorer ------------------------------------------------------------------------------


def test_optimizer_explorer_redraws_when_sliders_move():
    surface = surfaces.quadratic_bowl(10.0)
    seen = []

    def recording(w, dw, config=None):
        seen.append(dict((k, v) for k, v in config.items() if k in ("learning_rate", "momentum")))
        return heavy_ball(w, dw, config)

    figures_before = plt.get_fignums()
    ex = optimizer_explorer(surface, {"sgd": sgd, "heavy ball": recording}, x0=[-1.5, 1.0], num_steps=40,
                            lr_range=(1e-3, 1.0), momentum_range=(0.0, 0.99))
    assert isinstance(ex, ipywidgets.VBox) and isinstance(ex, Explorer)
    lr, mom = ex.controls["learning_rate"], ex.controls["momentum"]
    assert isinstance(lr, ipywidgets.FloatLogSlider) and lr.base == 10 and (lr.min, lr.max) == (-3.0, 0.0)
    assert isinstance(mom, ipywidgets.FloatSlider) and mom.value == 0.9
    assert ex.renders == 1 and set(ex.paths) == {"sgd", "heavy ball"}
    assert ex.paths["sgd"].shape == (41, 2)
    first_png, first_path = _png(ex), ex.paths["sgd"].copy()
    assert Image.open(io.BytesIO(first_png)).size[0] > 300

    lr.value = 0.05
    assert ex.renders == 2
    assert seen[-1] == {"learning_rate": 0.05, "momentum": 0.9}
    np.testing.assert_allclose(ex.paths["sgd"], run_rule(sgd, surface.grad, [-1.5, 1.0], 40, {"learning_rate": 0.05}))
    assert not np.allclose(ex.paths["sgd"], first_path)
    assert _png(ex) != first_png

    mom.value = 0.5
    assert ex.renders == 3 and seen[-1]["momentum"] == 0.5
    assert "<b>sgd</b>: f = " in ex.status.value and "after 40 steps" in ex.status.value
    assert plt.get_fignums() == figures_before  # nothing leaks into pyplot's figure list


def test_optimizer_explorer_reports_stubs_errors_and_divergence():
    def stub(w, dw, config=None):
        raise NotImplementedError

    def broken(w, dw, config=None):
        return w - config["missing"] * dw, config

    ex = optimizer_explorer(surfaces.quadratic_bowl(10.0), {"sgd": sgd, "mine": stub, "oops": broken},
                            x0=[1.0, 1.0], num_steps=60, lr_range=(1e-3, 10.0))
    assert "<b>mine</b>: not implemented yet" in ex.status.value
    assert "<b>oops</b>: raised KeyError" in ex.status.value
    assert set(ex.paths) == {"sgd"}
    ex.controls["learning_rate"].value = 10.0
    assert "diverg" in ex.status.value
    assert len(ex.output.outputs) == 1


def test_optimizer_explorer_renders_once_per_slider_move():
    # How long a redraw takes is measured by bench/bench_widgets.py, not asserted here.
    rng = np.random.default_rng(0)
    ex = optimizer_explorer(surfaces.quadratic_bowl(20.0, angle=0.4), {"sgd": sgd, "heavy ball": heavy_ball},
                            x0=[-1.5, 1.2], num_steps=100)
    before = ex.renders
    for k, lr in enumerate(10 ** rng.uniform(-3, -0.5, size=7), start=1):
        ex.controls["learning_rate"].value = float(lr)
        assert ex.renders == before + k
        assert ex.last_render_seconds > 0
        assert len(ex.output.outputs) == 1  # the figure is replaced, not appended


def test_optimizer_explorer_without_momentum_slider():
    ex = optimizer_explorer(surfaces.rosenbrock(), {"sgd": sgd}, x0=[-1.0, 2.0], lr_range=(1e-4, 1e-2),
                            learning_rate=1e-3)
    assert list(ex.controls) == ["learning_rate"]
    assert ex.controls["learning_rate"].value == pytest.approx(1e-3)
    ex.redraw()
    assert ex.renders == 2


def test_bad_lr_range():
    with pytest.raises(ValueError, match="lr_range"):
        optimizer_explorer(surfaces.rosenbrock(), {"sgd": sgd}, x0=[0.0, 0.0], lr_range=(0.0, 1.0))


# ---- learning_rate_explorer --------------------------------------------------------------------------


def test_learning_rate_explorer_runs_plain_sgd():
    surface = surfaces.rosenbrock()
    ex = learning_rate_explorer(surface, x0=[-1.5, 2.5], num_steps=30, lr_range=(1e-4, 1e-2))
    assert list(ex.paths) == ["gradient descent"]
    ex.controls["learning_rate"].value = 2e-3
    assert ex.renders == 2
    np.testing.assert_allclose(ex.paths["gradient descent"],
                               run_rule(sgd, surface.grad, [-1.5, 2.5], 30, {"learning_rate": 2e-3}))
    img = Image.open(io.BytesIO(_png(ex)))
    assert img.size[0] > img.size[1]  # contour and loss panels side by side


# ---- shared by the three explorers below -------------------------------------------------------------


def _visible(artists):
    return [a for a in artists if a.get_visible()]


def _perturbed_gd(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
    """Test-local perturbed gradient descent (the notebook's convention: one (d,) draw per step)."""
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(num_steps):
        x = x - learning_rate * grad_fn(x) + noise_scale * rng.standard_normal(x.shape)
        path.append(x)
    return np.array(path)


# ---- basin_explorer (02) -------------------------------------------------------------------------------


def _index_of(surface, point):
    return int(np.argmin(np.linalg.norm(surface.minima - np.asarray(point), axis=1)))


def test_basin_explorer_names_the_minimum_each_start_reaches():
    himmelblau = surfaces.himmelblau()
    figures_before = plt.get_fignums()
    ex = basin_explorer(himmelblau, x0=[0.0, 0.0], noise=0.0)
    assert isinstance(ex, Explorer) and set(ex.controls) == {"x1", "x2", "noise"}
    a, c = _index_of(himmelblau, [3.0, 2.0]), _index_of(himmelblau, [-3.78, -3.28])
    assert ex.view.outcome["gradient descent"] == a
    assert "<b>gradient descent</b>: reaches minimum A (3.00, 2.00)" in ex.status.value
    ex.controls["x1"].value, ex.controls["x2"].value = -0.3, -0.9  # the other side of a ridge
    assert ex.view.outcome["gradient descent"] == c
    assert f"reaches minimum {'ABCD'[c]} (-3.78, -3.28)" in ex.status.value
    # ... and that is where plain gradient descent goes, computed independently
    end = run_rule(sgd, himmelblau.grad, [-0.3, -0.9], 200, {"learning_rate": 0.01})[-1]
    assert _index_of(himmelblau, end) == c and np.linalg.norm(end - himmelblau.minima[c]) < 1e-6
    assert plt.get_fignums() == figures_before


def test_basin_explorer_slider_moves_change_the_drawn_paths():
    himmelblau = surfaces.himmelblau()
    ex = basin_explorer(himmelblau, x0=[0.0, 0.0], num_steps=150, noise=0.0)
    view = ex.view
    plain_before = np.column_stack(view.plain.get_data())
    np.testing.assert_allclose(plain_before, ex.paths["gradient descent"])
    np.testing.assert_allclose(plain_before[0], [0.0, 0.0])
    renders, png = ex.renders, _png(ex)

    ex.controls["x1"].value = 1.5  # a new start: the drawn path starts there
    assert ex.renders == renders + 1 and _png(ex) != png
    plain_after = np.column_stack(view.plain.get_data())
    np.testing.assert_allclose(plain_after[0], [1.5, 0.0])
    np.testing.assert_allclose(plain_after, run_rule(sgd, himmelblau.grad, [1.5, 0.0], 150, {"learning_rate": 0.01}),
                               atol=1e-12)
    np.testing.assert_allclose(view.start.get_data(), [[1.5], [0.0]])
    np.testing.assert_allclose(np.column_stack(view.noisy.get_data()), plain_after)  # σ = 0: the same path

    ex.controls["noise"].value = 0.2  # only the noisy path moves, and it is seed 0's
    np.testing.assert_allclose(np.column_stack(view.plain.get_data()), plain_after)
    noisy = np.column_stack(view.noisy.get_data())
    expected = _perturbed_gd(himmelblau.grad, [1.5, 0.0], 0.01, 150, 0.2, np.random.default_rng(0))
    np.testing.assert_allclose(noisy, expected, atol=1e-12)
    assert not np.allclose(noisy, plain_after)
    np.testing.assert_allclose(np.column_stack(view.ends[1].get_data())[0], expected[-1])
    assert "σ = 0.2" in view.title.get_text()


def test_basin_explorer_what_the_notebook_02_cells_say():
    """The proposed cells of notebook 02: a ridge next to the maximum, noise across it, a saddle that parts paths."""
    ex = basin_explorer(surfaces.himmelblau(), x0=[-0.3, -0.9], noise=0.0, perturbed_descent=_perturbed_gd)
    A, B, C, D = range(4)
    assert ex.view.outcome["gradient descent"] == C
    ex.controls["x1"].value = -0.25
    assert ex.view.outcome["gradient descent"] == D
    ex.controls["x1"].value = -0.3
    for sigma in (0.05, 0.1, 0.15):
        ex.controls["noise"].value = sigma
        assert ex.view.outcome["perturbed"] == C
    ex.controls["noise"].value = 0.2
    assert ex.view.outcome == {"gradient descent": C, "perturbed": B}
    ex.controls["noise"].value = 0.0
    saddle = np.array([0.0866775, 2.8842547])
    for x1, minimum in ((0.2, B), (0.25, A)):
        ex.controls["x1"].value, ex.controls["x2"].value = x1, 4.5
        assert ex.view.outcome["gradient descent"] == minimum
        assert np.linalg.norm(ex.paths["gradient descent"] - saddle, axis=1).min() < 0.3  # by way of the saddle


def test_basin_explorer_noise_escapes_the_saddle_that_plain_descent_sits_on():
    strict = surfaces.strict_saddle()  # saddle at 0, minima (0, ±1); the x axis is the stable manifold
    ex = basin_explorer(strict, x0=[1.0, 0.0], num_steps=200, learning_rate=0.1, noise=0.0, noise_range=(0.0, 0.05))
    assert ex.view.outcome["gradient descent"] == -1
    assert "<b>gradient descent</b>: sits at the saddle (0.00, 0.00)" in ex.status.value
    ex.controls["noise"].value = 0.01
    assert ex.view.outcome["gradient descent"] == -1  # plain descent still sits there
    k = ex.view.outcome["perturbed"]
    assert k in (0, 1) and abs(strict.minima[k][1]) == pytest.approx(1.0)
    assert any(f"{words} minimum {'AB'[k]}" in ex.status.value for words in ("ends in the basin of", "reaches"))
    assert "the noise changed the outcome" in ex.status.value


def test_basin_explorer_draws_with_the_learners_function():
    calls = []

    def mine(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
        calls.append((learning_rate, num_steps, noise_scale, isinstance(rng, np.random.Generator)))
        return _perturbed_gd(grad_fn, x0, learning_rate, num_steps, noise_scale, rng)

    himmelblau = surfaces.himmelblau()
    ex = basin_explorer(himmelblau, x0=[0.0, 0.0], num_steps=80, noise=0.1, perturbed_descent=mine)
    ex.controls["noise"].value = 0.3
    assert calls[-1] == (0.01, 80, 0.3, True)
    np.testing.assert_allclose(np.column_stack(ex.view.noisy.get_data()),
                               _perturbed_gd(himmelblau.grad, [0.0, 0.0], 0.01, 80, 0.3, np.random.default_rng(0)))

    def stub(grad_fn, x0, learning_rate, num_steps, noise_scale, rng):
        raise NotImplementedError

    ex = basin_explorer(himmelblau, x0=[0.0, 0.0], perturbed_descent=stub)
    assert "<b>stub</b>: not implemented yet" in ex.status.value
    assert "perturbed" not in ex.paths and len(ex.view.noisy.get_xdata()) == 0
    assert len(ex.view.plain.get_xdata()) == 201  # plain descent is drawn all the same


def test_basin_explorer_static_figure(capsys):
    fig = basin_explorer(surfaces.himmelblau(), x0=[-0.3, -0.9], noise=0.2, static=True)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.number in plt.get_fignums()  # shown by the inline backend
    (ax,) = fig.axes
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == 201]
    assert len(drawn) == 2  # the plain and the noisy path
    out = capsys.readouterr().out
    assert "gradient descent: reaches minimum C (-3.78, -3.28)" in out and "<b>" not in out


def test_basin_explorer_rejects_a_3d_surface():
    with pytest.raises(ValueError, match="2-D"):
        basin_explorer(surfaces.rastrigin(dim=3), x0=[0.0, 0.0])


# ---- initialization_explorer (05) ------------------------------------------------------------------------


def _he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def test_initialization_explorer_small_init_collapses_he_keeps_the_scale():
    ex = initialization_explorer(depth=10, initializer="small normal (σ = 0.01)")
    assert isinstance(ex, Explorer)
    assert set(ex.controls) == {"initializer", "activation", "depth", "gain"}
    std = ex.data["activation_std"]
    assert len(std) == 10 and std[-1] < 1e-8 and std[-1] < 1e-6 * std[0]
    assert np.all(np.diff(np.log(std)) < 0)  # shrinks at every layer
    assert "the signal has vanished" in ex.status.value
    assert np.all(ex.data["grad_norm"] < 1e-6)  # and so do the gradients

    ex.controls["initializer"].value = "He normal"  # with ReLU: O(1) in every layer
    std = ex.data["activation_std"]
    assert np.all((std > 0.2) & (std < 5.0)) and 0.3 < std[-1] / std[0] < 3
    assert "the signal keeps its scale" in ex.status.value
    assert np.all((ex.data["grad_norm"] > 1e-3) & (ex.data["grad_norm"] < 1e2))
    np.testing.assert_allclose(ex.view.stds.get_xdata(), std)  # the markers are these numbers
    np.testing.assert_allclose(ex.view.stds.get_ydata(), np.arange(1, 11))

    ex.controls["initializer"].value = "Xavier normal"  # ReLU halves the variance: std × 1/√2 per layer
    std = ex.data["activation_std"]
    assert 0.6 < (std[-1] / std[0]) ** (1 / 9) < 0.8
    assert "the signal shrinks layer after layer" in ex.status.value


def test_initialization_explorer_tanh_saturates_with_a_large_gain():
    ex = initialization_explorer(depth=10, initializer="Xavier normal", activation="tanh")
    assert "the tanh units are saturated" not in ex.status.value
    ex.controls["gain"].value = 4.0
    assert "the tanh units are saturated" in ex.status.value
    assert np.mean(np.abs(ex.data["activations"][-1]) > 0.9) > 0.5


def test_initialization_explorer_slider_moves_change_the_drawn_data():
    ex = initialization_explorer(depth=6, initializer="He normal")
    view = ex.view
    assert len(_visible(view.ridges)) == 6 and len(_visible(view.bars)) == 6
    ridge3 = view.ridges[2].get_xy().copy()
    widths = [b.get_width() for b in view.bars[:6]]
    np.testing.assert_allclose(widths, np.maximum(ex.data["grad_norm"], 1e-16) - 1e-16)

    ex.controls["depth"].value = 9
    assert len(_visible(view.ridges)) == 9 and len(view.stds.get_xdata()) == 9
    ex.controls["gain"].value = 2.0  # He × 2: the variance grows ×4 per layer
    std = ex.data["activation_std"]
    assert std[-1] / std[0] > 2.0 ** 6 and "×" in ex.status.value
    assert not np.allclose(view.ridges[2].get_xy(), ridge3)
    assert "gain 2.00" in view.title.get_text()

    ex.controls["activation"].value = "tanh"  # the window follows the activation
    assert view.ax.get_xlim() == (-1.0, 1.0)
    ex.controls["initializer"].value = "orthogonal"
    ex.controls["gain"].value = 1.0
    assert np.all(ex.data["activation_std"] > 0.05)


def test_initialization_explorer_uses_the_learners_initializers():
    calls = []

    def recording(fan_in, fan_out, rng):
        calls.append((fan_in, fan_out))
        return _he_normal(fan_in, fan_out, rng)

    def stub(fan_in, fan_out, rng):
        raise NotImplementedError

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((50, 12)), rng.integers(0, 3, size=50)
    ex = initialization_explorer({"He (yours)": recording, "Xavier (yours)": stub}, X, y, depth=4, max_depth=5,
                                 width=20, seed=7)
    assert calls == [(12, 20)] + [(20, 20)] * 4 + [(20, 3)]  # once per layer, drawn once
    draw = np.random.default_rng(7)
    Ws = [_he_normal(a, b, draw) for a, b in calls]
    h, expected = X, []
    for W in Ws[:4]:
        h = np.maximum(h @ W, 0.0)
        expected.append(h.std())
    np.testing.assert_allclose(ex.data["activation_std"], expected, rtol=1e-10)
    ex.controls["depth"].value = 2
    assert len(calls) == 6  # cached
    ex.controls["initializer"].value = "Xavier (yours)"
    assert "<b>Xavier (yours)</b>: not implemented yet" in ex.status.value
    assert not _visible(ex.view.ridges)


def _rate(std):
    return (std[-1] / std[0]) ** (1 / (len(std) - 1))


def test_initialization_explorer_what_the_notebook_05_cells_say():
    """The proposed cells of notebook 05, with test-local initializers in place of the learner's."""
    from nnopt_helpers import data, nets

    def xavier_normal(fan_in, fan_out, rng):
        return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal((fan_in, fan_out))

    def orthogonal(fan_in, fan_out, rng, gain=1.0):
        Q, R = np.linalg.qr(rng.standard_normal((max(fan_in, fan_out), min(fan_in, fan_out))))
        Q = Q * np.sign(np.diag(R))
        return gain * (Q.T if fan_in < fan_out else Q)

    X, y, _, _ = data.load_digits_split(seed=0)
    inits = {"small": nets.gaussian_init(0.01), "Xavier": xavier_normal, "He": _he_normal, "orthogonal": orthogonal}
    ex = initialization_explorer(inits, X[:200], y[:200], depth=10, initializer="small")
    c = ex.controls
    std, grad = ex.data["activation_std"], ex.data["grad_norm"]
    assert 1 / 20 < _rate(std) < 1 / 10 and std[-1] < 1e-10 and np.all(grad < 1e-10)
    c["gain"].value = 4.0
    assert "vanished" in ex.status.value
    c["gain"].value = 1.0
    c["initializer"].value = "He"
    c["depth"].value = 20
    assert np.all((ex.data["activation_std"] > 0.3) & (ex.data["activation_std"] < 3.0))
    c["depth"].value = 10
    c["initializer"].value = "Xavier"
    assert 0.6 < _rate(ex.data["activation_std"]) < 0.8
    c["initializer"].value = "orthogonal"
    assert _rate(ex.data["activation_std"]) < 0.85
    c["gain"].value = 2 ** 0.5
    assert 0.85 < _rate(ex.data["activation_std"]) < 1.18
    c["initializer"].value = "He"
    assert 1.25 < _rate(ex.data["activation_std"]) < 1.55
    c["gain"].value = 4.0
    assert "the signal has exploded" in ex.status.value and ex.data["grad_norm"].max() > 1e3
    c["activation"].value = "tanh"
    c["initializer"].value = "Xavier"
    assert "saturated" in ex.status.value
    c["gain"].value = 1.0
    assert 0.8 < _rate(ex.data["activation_std"]) < 1.0 and "saturated" not in ex.status.value


def test_initialization_explorer_static_figure(capsys):
    fig = initialization_explorer(depth=10, initializer="small normal (σ = 0.01)", static=True)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.number in plt.get_fignums()
    assert "the signal has vanished" in capsys.readouterr().out


# ---- batchnorm_explorer (06) -------------------------------------------------------------------------------


def _batchnorm_forward(x, gamma, beta, bn_param, biased_running_var=False):
    """Test-local forward pass in the course's convention (torch.nn.BatchNorm1d)."""
    N, D = x.shape
    bn_param.setdefault("mode", "train")
    bn_param.setdefault("eps", 1e-5)
    bn_param.setdefault("momentum", 0.1)
    bn_param.setdefault("running_mean", np.zeros(D))
    bn_param.setdefault("running_var", np.ones(D))
    m, eps = bn_param["momentum"], bn_param["eps"]
    if bn_param["mode"] == "eval":
        return gamma * (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps) + beta, None
    mu, var = x.mean(axis=0), x.var(axis=0)
    running = var if biased_running_var else var * N / (N - 1)
    bn_param["running_mean"] = (1 - m) * bn_param["running_mean"] + m * mu
    bn_param["running_var"] = (1 - m) * bn_param["running_var"] + m * running
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, None


def test_batchnorm_explorer_running_mean_approaches_the_population_mean():
    ex = batchnorm_explorer(batch_size=64, momentum=0.1, num_steps=200, mean=3.0, std=2.0)
    rm = ex.data["running_mean"]
    assert rm[0] == 0.0 and len(rm) == 201
    error = np.abs(rm - 3.0)
    assert error[200] < 0.2 < 1.0 < error[5] and error[100:].max() < 0.3
    np.testing.assert_allclose(ex.view.rm.get_ydata(), rm)  # the drawn line is this estimate
    rv = ex.data["running_var"]
    assert abs(np.mean(rv[100:]) - 4.0) < 0.3  # the unbiased running variance settles at σ²


def test_batchnorm_explorer_momentum_trades_speed_for_noise():
    # The course's convention (PyTorch): momentum m weighs the NEW batch. A larger m forgets the
    # initial 0 faster, and averages fewer batches, so the estimate is noisier. (In the other
    # convention, ρ = 1 − m on the old value, it is the smaller ρ that is faster.)
    ex = batchnorm_explorer(batch_size=16, momentum=0.02, num_steps=200)
    slow = ex.data["running_mean"].copy()
    ex.controls["momentum"].value = 0.2
    fast = ex.data["running_mean"].copy()
    early = slice(1, 21)
    assert np.mean(np.abs(fast[early] - 3.0)) < 0.5 * np.mean(np.abs(slow[early] - 3.0))
    assert np.abs(fast[30] - 3.0) < 0.5 < np.abs(slow[30] - 3.0)
    assert np.std(np.diff(fast[100:])) > 3 * np.std(np.diff(slow[100:]))  # jumps m·(batch mean − running)
    np.testing.assert_allclose(ex.view.rm.get_ydata(), fast)
    assert "below 1% after 21 steps" in ex.status.value  # 0.8^21 < 0.01 < 0.8^20


def test_batchnorm_explorer_batch_size_sets_the_train_eval_gap():
    ex = batchnorm_explorer(batch_size=4, momentum=0.1)
    small = np.mean(ex.data["gap"][100:])
    level = ex.view.biased.get_ydata()
    np.testing.assert_allclose(level, [3.0, 3.0])  # (N − 1)/N σ² for N = 4
    ex.controls["batch_size"].value = 256
    large = np.mean(ex.data["gap"][100:])
    assert small > 0.5 and large < 0.1  # the numbers the notebook 06 cell quotes (about 0.6; below 0.1)
    np.testing.assert_allclose(ex.view.gap.get_ydata(), ex.data["gap"])
    np.testing.assert_allclose(ex.view.biased.get_ydata(), [4.0 * 255 / 256] * 2)
    assert "batch size N = 256" in ex.view.title.get_text()


def test_batchnorm_explorer_with_the_learners_forward_pass():
    ex_builtin = batchnorm_explorer(batch_size=8, momentum=0.1, num_steps=60)
    calls = []

    def mine(x, gamma, beta, bn_param):
        calls.append(bn_param["mode"])
        return _batchnorm_forward(x, gamma, beta, bn_param)

    ex = batchnorm_explorer(mine, batch_size=8, momentum=0.1, num_steps=60)
    assert calls.count("train") == 120 and calls.count("eval") == 60
    for key in ("running_mean", "running_var", "gap"):
        np.testing.assert_allclose(ex.data[key], ex_builtin.data[key], rtol=1e-9, atol=1e-12)

    def biased(x, gamma, beta, bn_param):  # a classic mistake: the biased variance in running_var
        return _batchnorm_forward(x, gamma, beta, bn_param, biased_running_var=True)

    ex = batchnorm_explorer(biased, batch_size=4, momentum=0.05, num_steps=400)
    assert abs(np.mean(ex.data["running_var"][200:]) - 3.0) < abs(np.mean(ex.data["running_var"][200:]) - 4.0)

    def stub(x, gamma, beta, bn_param):
        raise NotImplementedError

    ex = batchnorm_explorer(stub)
    assert "<b>stub</b>: not implemented yet" in ex.status.value
    assert len(ex.view.rm.get_xdata()) == 0


def test_batchnorm_explorer_static_figure(capsys):
    fig = batchnorm_explorer(batch_size=4, static=True)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.number in plt.get_fignums()
    assert len(fig.axes) == 3
    assert "train/eval gap" in capsys.readouterr().out

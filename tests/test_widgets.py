"""Tests of nnopt_helpers.widgets, headless: build explorers, move sliders, check what was redrawn."""

import matplotlib

matplotlib.use("Agg")

import base64
import io

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from nnopt_helpers import surfaces
from nnopt_helpers.nets import sgd
from nnopt_helpers.widgets import Explorer, learning_rate_explorer, optimizer_explorer, run_rule

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

"""Tests of nnopt_helpers.plots: every function returns a labelled Figure and copes with bad runs."""

import matplotlib

matplotlib.use("Agg")

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from hypothesis import given, settings
from hypothesis import strategies as st

from nnopt_helpers import plots, surfaces


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _Saddle:
    """A duck-typed surface, f = x² − y², that dips below zero (log contours must still work)."""

    name = "saddle"
    dim = 2
    minima = np.empty((0, 2))
    saddles = np.array([[0.0, 0.0]])
    bounds = ((-1.0, 1.0), (-1.0, 1.0))
    log_contours = True

    def value(self, x):
        x = np.asarray(x, dtype=np.float64)
        return x[..., 0] ** 2 - x[..., 1] ** 2

    def grad(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.stack([2 * x[..., 0], -2 * x[..., 1]], axis=-1)

    def grid(self, n=200):
        X, Y = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
        return X, Y, X**2 - Y**2


def _gd_path(surface, x0, lr, steps):
    x = np.array(x0, dtype=np.float64)
    path = [x.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = x - lr * surface.grad(x)
            path.append(x.copy())
    return np.array(path)


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_palette_is_okabe_ito_and_styles_are_distinct():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert set(plots.PALETTE) == okabe_ito
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in plots.PALETTE)
    assert len(set(map(str, plots.LINESTYLES))) == len(plots.LINESTYLES) >= 4
    assert len(set(plots.MARKERS)) == len(plots.MARKERS)


def test_contour_paths_draws_paths_minima_and_labels():
    s = surfaces.himmelblau()
    paths = {"from origin": _gd_path(s, [0.0, 0.0], 0.01, 80), "from (-1, 1)": _gd_path(s, [-1.0, 1.0], 0.01, 80)}
    fig = plots.plot_contour_paths(s, paths, n=60)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == s.name
    texts = _legend_texts(ax)
    for label in ("from origin", "from (-1, 1)", "start", "end", "minimum", "saddle point"):
        assert label in texts
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["from origin"].get_xydata(), paths["from origin"])
    # the two paths differ in colour and line style
    a, b = lines["from origin"], lines["from (-1, 1)"]
    assert a.get_color() != b.get_color() and a.get_linestyle() != b.get_linestyle()
    stars = lines["minimum"].get_xydata()
    np.testing.assert_allclose(stars, s.minima)
    assert ax.get_xlim() == tuple(s.bounds[0]) and ax.get_ylim() == tuple(s.bounds[1])
    assert len(fig.axes) == 2  # the colour bar


def test_log_contours_use_geometric_levels_and_linear_ones_do_not():
    fig = plots.plot_contour_paths(surfaces.rosenbrock(), n=50, levels=12)
    levels = fig.axes[0].collections[0].levels
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert fig.axes[1].get_ylabel().endswith("(log scale)")

    fig = plots.plot_contour_paths(surfaces.quadratic_bowl(10.0), n=50, levels=12)
    levels = fig.axes[0].collections[0].levels
    assert levels[0] >= 0 and not np.allclose(levels[1:] / levels[1:-1].clip(1e-300)[0], 1)
    assert np.all(np.diff(levels) > 0)


def test_log_contours_on_a_surface_below_zero():
    fig = plots.plot_contour_paths(_Saddle(), {"p": [[0.5, 0.1], [0.4, 0.3]]}, n=40)
    assert "− min f" in fig.axes[1].get_ylabel()
    assert "saddle point" in _legend_texts(fig.axes[0])
    fig.canvas.draw()


def test_diverged_paths_stop_and_say_so():
    s = surfaces.quadratic_bowl(10.0)
    huge = _gd_path(s, [1.0, 1.0], 0.5, 400)  # far above 2/λ_max: 1e240 and growing
    nan = np.array([[1.0, 1.0], [-2.0, 3.0], [5.0, -9.0], [np.inf, 1.0], [np.nan, np.nan]])
    fig = plots.plot_contour_paths(s, {"too large": huge, "nan": nan}, n=40)
    texts = _legend_texts(fig.axes[0])
    assert any(t.startswith("too large (diverged at step") for t in texts)
    assert "nan (diverged at step 3)" in texts
    lines = {l.get_label(): l for l in fig.axes[0].get_lines()}
    assert np.all(np.abs(lines["nan (diverged at step 3)"].get_xydata()) < 10)
    assert all(np.all(np.abs(l.get_xydata()) < 1e12) for l in lines.values())
    fig.canvas.draw()


def test_into_existing_axes_returns_its_figure_without_colorbar():
    fig, (ax1, ax2) = plt.subplots(1, 2)
    out = plots.plot_contour_paths(surfaces.rosenbrock(), {"a": np.zeros((3, 2))}, ax=ax2, n=30, title="mine")
    assert out is fig and len(fig.axes) == 2 and ax2.get_title() == "mine"


@pytest.mark.parametrize("bad, shape", [(np.zeros((5, 3)), r"\(5, 3\)"), (np.zeros(4), r"\(4,\)"),
                                         (np.zeros((0, 2)), r"\(0, 2\)")])
def test_wrong_path_shape_names_the_label_and_the_expected_shape(bad, shape):
    with pytest.raises(ValueError, match=rf"'momentum'.*{shape}.*\(T, 2\)"):
        plots.plot_contour_paths(surfaces.rosenbrock(), {"ok": np.zeros((2, 2)), "momentum": bad}, n=20)
    assert plt.get_fignums() == []  # validated before any figure is made


def test_contour_needs_a_2d_surface():
    with pytest.raises(ValueError, match="2-D"):
        plots.plot_contour_paths(surfaces.quadratic_bowl(10.0, dim=3))


def test_loss_curves_stop_at_divergence_and_use_log_scale():
    good = np.geomspace(1.0, 1e-4, 50)
    bad = np.array([1.0, 3.0, 20.0, 1e200, np.inf, np.nan])
    fig = plots.plot_loss_curves({"lr 0.1": good, "lr 10": bad}, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration" and "loss" in ax.get_ylabel()
    texts = _legend_texts(ax)
    assert texts == ["lr 0.1", "lr 10 (diverged at iteration 4)"]
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert len(lines["lr 10 (diverged at iteration 4)"].get_xdata()) == 4
    fig.canvas.draw()


def test_loss_curves_linear_scale_and_smoothing():
    y = np.sin(np.arange(100.0)) + np.arange(100.0)
    fig = plots.plot_loss_curves({"noisy": y}, log_y=False, smooth=10, xlabel="epoch", ylabel="accuracy")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "epoch"
    raw, smoothed = ax.get_lines()[:2]
    np.testing.assert_allclose(raw.get_ydata(), y)
    np.testing.assert_allclose(smoothed.get_ydata()[20], y[11:21].mean())
    plots.plot_loss_curves({"noisy": y}, smooth=0.9)
    with pytest.raises(ValueError, match="smooth"):
        plots.plot_loss_curves({"noisy": y}, smooth=1.5)
    with pytest.raises(ValueError, match="'two-d'.*1-D"):
        plots.plot_loss_curves({"two-d": np.zeros((3, 3))})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40), st.integers(1, 8))
def test_moving_average_matches_a_loop(ys, k):
    y = np.array(ys)
    expected = [np.mean(y[max(0, t - k + 1): t + 1]) for t in range(len(y))]
    np.testing.assert_allclose(plots._smooth(y, k), expected, rtol=1e-9, atol=1e-9)


def test_convergence_draws_theory_from_measured_start():
    e = 2.0 * 0.8 ** np.arange(30)
    fig = plots.plot_convergence({"gd": e, "momentum": 2.0 * 0.5 ** np.arange(30)}, theory_rates={"gd": 0.8})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "optimum" in ax.get_ylabel() and ax.get_title()
    theory = next(l for l in ax.get_lines() if "theory" in l.get_label())
    assert theory.get_linestyle() == "--"
    np.testing.assert_allclose(theory.get_ydata(), e)
    measured = next(l for l in ax.get_lines() if l.get_label() == "gd: measured")
    assert to_rgb(measured.get_color()) == to_rgb(theory.get_color())
    with pytest.raises(ValueError, match="adam"):
        plots.plot_convergence({"gd": e}, theory_rates={"adam": 0.5})


def test_layer_histograms_one_panel_per_layer_on_a_common_range():
    rng = np.random.default_rng(0)
    values = [rng.normal(0, s, size=(64, 20)) for s in (1.0, 0.5, 0.1)]
    fig = plots.plot_layer_histograms(values, title="tanh activations")
    assert len(fig.axes) == 3
    assert [ax.get_xlim() for ax in fig.axes] == [fig.axes[0].get_xlim()] * 3
    assert fig.axes[0].get_title().startswith("layer 1\nstd ")
    assert fig._suptitle.get_text() == "tanh activations"
    fig = plots.plot_layer_histograms(values, labels=["a", "b", "c"], xlim=(-1, 1), bins=10)
    assert fig.axes[2].get_title().startswith("c") and fig.axes[2].get_xlim() == (-1, 1)
    with pytest.raises(ValueError, match="2 labels for 3 layers"):
        plots.plot_layer_histograms(values, labels=["a", "b"])


def test_layer_stats():
    fig = plots.plot_layer_stats({"Xavier": 0.5 ** np.arange(30), "He": np.ones(30)}, ylabel="activation variance",
                                 log_y=True, title="30-layer ReLU net")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer" and ax.get_title() == "30-layer ReLU net"
    assert _legend_texts(ax) == ["Xavier", "He"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), np.arange(1, 31))
    fig = plots.plot_layer_stats({"s": [1, 2, 3]}, ylabel="std", labels=["in", "hidden", "out"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["in", "hidden", "out"]


def test_surface_3d():
    fig = plots.plot_surface_3d(surfaces.rosenbrock(), n=20)
    ax = fig.axes[0]
    assert ax.name == "3d" and "log" in ax.get_zlabel()
    fig.canvas.draw()

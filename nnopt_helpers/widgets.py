"""Interactive explorers: sliders that rerun optimizers and redraw their paths on a loss surface.

The explorers take the update rules as arguments (the learner's own ``sgd_momentum``, say), with
the course's interface ``next_w, config = rule(w, dw, config)``; they hold no rule of their own
except plain SGD from ``nnopt_helpers.nets``. ``run_rule`` is the loop they use.

Every explorer returns an :class:`Explorer` (an ``ipywidgets.VBox``): display it as the last
expression of a cell. Redraws are fast because the contour background is rendered once and only
the paths are drawn again (``Explorer.last_render_seconds`` says how fast).
"""

from __future__ import annotations

import base64
import copy
import io
import math
import time
from typing import Callable, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from PIL import Image

from . import plots

__all__ = ["run_rule", "optimizer_explorer", "learning_rate_explorer", "Explorer"]


def run_rule(rule: Callable, grad_fn: Callable, x0, num_steps: int, config=None) -> np.ndarray:
    """Run ``num_steps`` of an update rule from ``x0``, carrying its config.

    rule: ``next_w, config = rule(w, dw, config)``.
    grad_fn: gradient, array (d,) -> array (d,).
    x0: start, array of shape (d,).
    config: hyperparameters (copied first, so the caller's dict is left alone); None lets the
        rule fill in its defaults.
    Returns the path, array of shape (num_steps + 1, d) starting with x0; once an iterate is not
    finite (a diverged run) it and the remaining rows are NaN/inf.
    """
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x0 must be a 1-D array (d,), got shape {x.shape}")
    num_steps = int(num_steps)
    if num_steps < 0:
        raise ValueError(f"num_steps must be >= 0, got {num_steps}")
    config = copy.deepcopy(config)
    path = np.full((num_steps + 1, x.size), np.nan)
    path[0] = x
    for t in range(num_steps):
        with np.errstate(all="ignore"):  # a diverging run overflows; it is shown, not warned about
            out = rule(x.copy(), np.asarray(grad_fn(x), dtype=np.float64), config)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"{getattr(rule, '__name__', 'the rule')} returned {type(out).__name__}; "
                            "an update rule returns the pair (next_w, config)")
        x, config = np.asarray(out[0], dtype=np.float64).reshape(x.shape), out[1]
        path[t + 1] = x
        if not np.all(np.isfinite(x)):
            break
    return path


class _BlitFigure:
    """A figure whose static part is rendered once; each frame draws only the changing artists."""

    def __init__(self, fig: Figure):
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.background = None

    def cache_background(self, hidden=()):
        """Render everything except ``hidden`` artists and keep the pixels."""
        for a in hidden:
            a.set_visible(False)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        for a in hidden:
            a.set_visible(True)

    def png(self, artists) -> bytes:
        """PNG bytes of the background with ``artists`` drawn on top."""
        self.canvas.restore_region(self.background)
        renderer = self.canvas.get_renderer()
        for a in artists:
            if a is not None:
                a.draw(renderer)
        rgba = np.asarray(self.canvas.buffer_rgba())
        buf = io.BytesIO()
        Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _png_output(png: bytes) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"}}


class Explorer(widgets.VBox):
    """Sliders above an output area; ``redraw()`` reruns the optimizers and redraws.

    Attributes (for notebooks and tests): ``controls`` (dict name -> slider), ``output`` (the
    ``ipywidgets.Output`` holding the figure), ``status`` (an HTML line per run), ``paths`` (the
    last paths, label -> array (num_steps + 1, d)), ``renders`` (redraw count) and
    ``last_render_seconds``.
    """

    def __init__(self, controls: dict, compute: Callable, draw: Callable, **kwargs):
        self.controls = controls
        self.output = widgets.Output(layout=widgets.Layout(min_height="300px"))
        self.status = widgets.HTML()
        self.paths: dict = {}
        self.renders = 0
        self.last_render_seconds = math.nan
        self._compute, self._draw = compute, draw
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([box, self.output, self.status], **kwargs)
        for c in controls.values():
            c.observe(self._on_change, names="value")
        self.redraw()

    def _on_change(self, change):
        self.redraw()

    def redraw(self):
        """Rerun the optimizers with the current slider values and redraw the figure."""
        t0 = time.perf_counter()
        values = {name: c.value for name, c in self.controls.items()}
        self.paths, messages = self._compute(values)
        png = self._draw(self.paths)
        self.output.outputs = (_png_output(png),)
        self.status.value = "<br>".join(messages)
        self.renders += 1
        self.last_render_seconds = time.perf_counter() - t0


def _lr_slider(lr_range, value, continuous_update):
    lo, hi = (float(v) for v in lr_range)
    if not 0 < lo < hi:
        raise ValueError(f"lr_range must be (low, high) with 0 < low < high, got {lr_range}")
    lo_e, hi_e = math.log10(lo), math.log10(hi)
    value = 10 ** ((lo_e + hi_e) / 2) if value is None else float(value)
    return widgets.FloatLogSlider(value=min(max(value, lo), hi), base=10, min=lo_e, max=hi_e,
                                  step=(hi_e - lo_e) / 100, description="learning rate",
                                  readout_format=".2e", continuous_update=continuous_update,
                                  style={"description_width": "initial"},
                                  layout=widgets.Layout(width="420px"))


def _run_all(surface, rules: Mapping, x0, num_steps: int, config: dict):
    """Paths of every rule and one status line each; a rule that raises is reported, not fatal."""
    paths, messages = {}, []
    for label, rule in rules.items():
        try:
            path = run_rule(rule, surface.grad, x0, num_steps, config)
        except NotImplementedError:
            messages.append(f"<b>{label}</b>: not implemented yet")
            continue
        except Exception as exc:  # noqa: BLE001 - show the learner's error next to the plot
            messages.append(f"<b>{label}</b>: raised {type(exc).__name__}: {exc}")
            continue
        paths[label] = path
        finite = np.all(np.isfinite(path), axis=1)
        if finite.all():
            with np.errstate(all="ignore"):
                f, f0 = float(surface.value(path[-1])), float(surface.value(path[0]))
            growing = " (diverging)" if abs(f) > 1e6 * max(1.0, abs(f0)) else ""
            messages.append(f"<b>{label}</b>: f = {f:.3g} after {num_steps} steps{growing}")
        else:
            messages.append(f"<b>{label}</b>: diverged at step {int(np.argmin(finite))}")
    return paths, messages


class _ContourView:
    """Contour background drawn once; paths (and an optional second axes) redrawn per frame."""

    def __init__(self, surface, n: int, with_loss: bool = False):
        self.surface = surface
        width = 10.0 if with_loss else 5.4
        fig = Figure(figsize=(width, 4.6), dpi=90)
        # Fixed axes boxes (no layout engine: it would cost more than the whole frame).
        if with_loss:
            self.ax = fig.add_axes([0.07, 0.25, 0.42, 0.67])
            self.loss_ax = fig.add_axes([0.60, 0.25, 0.37, 0.67])
        else:
            self.ax = fig.add_axes([0.13, 0.25, 0.8, 0.67])
            self.loss_ax = None
        self.marks = plots._draw_surface(self.ax, surface, grid=surface.grid(n))
        self.ax.set_title(getattr(surface, "name", "surface"))
        self.blit = _BlitFigure(fig)
        hidden = [self.loss_ax] if self.loss_ax is not None else []
        self.blit.cache_background(hidden=hidden + self.marks)
        self.artists: list = []

    def draw(self, paths: Mapping) -> bytes:
        for a in self.artists:
            a.remove()
        checked = {k: plots._as_path(k, p) for k, p in paths.items()}
        self.artists, handles = plots._draw_paths(self.ax, checked, self.surface.bounds)
        legend = plots._path_legend(self.ax, handles + self.marks)
        frame = self.artists + self.marks + [legend]  # minima stay on top of the paths
        if self.loss_ax is not None:
            self.loss_ax.cla()
            with np.errstate(all="ignore"):
                curves = {k: self.surface.value(p) for k, p in paths.items()}
            plots.plot_loss_curves(curves, ax=self.loss_ax, ylabel="f(x)", title="loss along the path")
            self.loss_ax.yaxis.set_minor_locator(NullLocator())  # unlabelled minor ticks halve the frame time
            frame.append(self.loss_ax)
        return self.blit.png(frame)


def optimizer_explorer(surface, rules: Mapping[str, Callable], x0, num_steps=100, lr_range=(1e-4, 1.0),
                       momentum_range=None, *, learning_rate=None, momentum=0.9, n=120,
                       continuous_update=False) -> Explorer:
    """Sliders for the learning rate (log scale) and optionally momentum; every rule's path redrawn.

    surface: a 2-D surface (``nnopt_helpers.surfaces``).
    rules: dict label -> update rule ``next_w, config = rule(w, dw, config)``; each run starts
        from ``config = {"learning_rate": lr}`` (plus ``"momentum"`` when there is a momentum
        slider), so the rule fills in its other defaults.
    x0: start, array (2,). num_steps: steps per run.
    lr_range: (low, high) of the learning-rate slider; momentum_range: (low, high) or None.
    n: contour grid resolution (computed once).
    Returns the Explorer widget.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    controls = {"learning_rate": _lr_slider(lr_range, learning_rate, continuous_update)}
    if momentum_range is not None:
        lo, hi = (float(v) for v in momentum_range)
        controls["momentum"] = widgets.FloatSlider(
            value=min(max(momentum, lo), hi), min=lo, max=hi, step=(hi - lo) / 100, description="momentum",
            readout_format=".3f", continuous_update=continuous_update, layout=widgets.Layout(width="420px"))
    view = _ContourView(surface, n)

    def compute(values):
        return _run_all(surface, rules, x0, num_steps, dict(values))

    return Explorer(controls, compute, view.draw)


def learning_rate_explorer(surface, x0, num_steps=50, lr_range=(1e-4, 1.0), *, learning_rate=None, n=120,
                           continuous_update=False) -> Explorer:
    """Plain gradient descent (``nnopt_helpers.nets.sgd``) with a log-scale learning-rate slider.

    Left: the path on the contour plot; right: f(x_t) along the path (log scale), so a too-small
    rate (slow), a good one and a too-large one (oscillating, diverging) can be told apart.
    Returns the Explorer widget.
    """
    from .nets import sgd  # lazily: the explorer module imports without the networks

    x0 = np.asarray(x0, dtype=np.float64)
    controls = {"learning_rate": _lr_slider(lr_range, learning_rate, continuous_update)}
    view = _ContourView(surface, n, with_loss=True)

    def compute(values):
        return _run_all(surface, {"gradient descent": sgd}, x0, num_steps, dict(values))

    return Explorer(controls, compute, view.draw)

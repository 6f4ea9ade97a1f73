"""Interactive explorers: sliders that rerun optimizers and redraw their paths on a loss surface.

The explorers take the update rules as arguments (the learner's own ``sgd_momentum``, say), with
the course's interface ``next_w, config = rule(w, dw, config)``; they hold no rule of their own
except plain SGD from ``nnopt_helpers.nets``. ``run_rule`` is the loop they use.

Every explorer returns an :class:`Explorer` (an ``ipywidgets.VBox``): display it as the last
expression of a cell. Redraws are fast because the contour background is rendered once and only
the paths are drawn again (``Explorer.last_render_seconds`` says how fast).

One explorer per notebook topic:

- ``learning_rate_explorer`` (01), ``optimizer_explorer`` (03, 04): the learning rate (and
  momentum) against optimizer paths on a surface;
- ``basin_explorer`` (02): the start and the noise against where plain and perturbed gradient
  descent end (which minimum, which basin, or a saddle);
- ``initialization_explorer`` (05): depth, initializer, gain and activation against per-layer
  activation histograms and gradient norms of a deep MLP on one batch;
- ``batchnorm_explorer`` (06): batch size and momentum against batch norm's running statistics
  and the gap between its train-mode and eval-mode outputs;
- ``minibatch_explorer`` (07): batch size and learning rate against the noisy path of minibatch
  SGD next to full-batch gradient descent on a least-squares problem.

The last four also take ``static=True``: they then draw their first settings into a plain
matplotlib figure (and print their text lines), which a notebook shows as an image where widgets
cannot run (GitHub, nbviewer, an exported HTML file).
"""

from __future__ import annotations

import base64
import copy
import io
import math
import re
import time
from typing import Callable, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import NullLocator
from PIL import Image
from threadpoolctl import threadpool_limits

from . import plots

__all__ = ["run_rule", "optimizer_explorer", "learning_rate_explorer", "basin_explorer", "initialization_explorer",
           "batchnorm_explorer", "minibatch_explorer", "Explorer"]


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
    last paths, label -> array (num_steps + 1, d); for the explorers that draw no paths, what
    they last computed, label -> array; ``data`` is the same dict), ``view`` (the object that
    draws the figure, whose artists the tests read; None for the path explorers), ``renders``
    (redraw count) and ``last_render_seconds``.
    """

    def __init__(self, controls: dict, compute: Callable, draw: Callable, view=None, **kwargs):
        self.controls = controls
        self.output = widgets.Output(layout=widgets.Layout(min_height="300px"))
        self.status = widgets.HTML()
        self.paths: dict = {}
        self.view = view
        self.renders = 0
        self.last_render_seconds = math.nan
        self._compute, self._draw = compute, draw
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([box, self.output, self.status], **kwargs)
        for c in controls.values():
            c.observe(self._on_change, names="value")
        self.redraw()

    @property
    def data(self) -> dict:
        """What the last redraw computed (the same dict as ``paths``)."""
        return self.paths

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
        self.marks = plots.draw_surface(self.ax, surface, grid=surface.grid(n))
        self.ax.set_title(getattr(surface, "name", "surface"))
        self.blit = _BlitFigure(fig)
        hidden = [self.loss_ax] if self.loss_ax is not None else []
        self.blit.cache_background(hidden=hidden + self.marks)
        self.artists: list = []

    def draw(self, paths: Mapping) -> bytes:
        for a in self.artists:
            a.remove()
        checked = {k: plots.as_path(k, p) for k, p in paths.items()}
        self.artists, handles = plots.draw_paths(self.ax, checked, self.surface.bounds)
        legend = plots.path_legend(self.ax, handles + self.marks)
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


# ---- Explorers that draw more than paths: the machinery they share -------------------------------
#
# Each of them builds its figure once (axes, limits, labels, everything that does not move) and
# creates its moving artists once; a slider move only changes those artists' data (``set_data``,
# ``set_xy``, ``set_width``, ``set_text``) and blits them over the cached background. With
# ``static=True`` the same drawing code draws one frame into a pyplot figure instead, which a
# notebook shows as a plain image: the fallback for readers without a kernel (GitHub, nbviewer,
# an exported HTML file), where the sliders cannot work.
#
# What they compute with is either the learner's function, passed in as an argument (as
# ``optimizer_explorer`` takes the learner's update rules), or a built-in computation written
# inline for the figure. The built-ins are deliberately not functions with an exercise's interface
# (this package holds no answer to an exercise; it is importable where the grader runs).


def _new_figure(figsize, static: bool) -> Figure:
    """A pyplot figure (shown by the notebook's inline backend) when static, else a private one."""
    if static:
        import matplotlib.pyplot as plt  # lazily: the interactive explorers never touch pyplot

        return plt.figure(figsize=figsize)
    return Figure(figsize=figsize, dpi=90)


class _FrameView:
    """A figure whose ``frame`` artists change per redraw; the rest is drawn once (and cached)."""

    def __init__(self, fig: Figure, static: bool):
        self.fig = fig
        self.static = static
        self.frame: list = []
        self.blit = None if static else _BlitFigure(fig)

    def cache(self):
        """Render the background (everything but the frame artists) once; again after an axes change."""
        if self.blit is not None:
            self.blit.cache_background(hidden=self.frame)

    def update(self, data: dict):  # pragma: no cover - every view defines it
        raise NotImplementedError

    def draw(self, data: dict) -> bytes:
        self.update(data)
        return self.blit.png(self.frame)


def _title(fig, y: float):
    """A figure-level title that a frame can change (an axes title moves when it is drawn alone)."""
    return fig.text(0.5, y, "", ha="center", va="center", fontsize="large")


def _plain_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _finish(controls: dict, compute: Callable, view: _FrameView, static: bool):
    """The Explorer, or (static) the figure of the current slider values with the status lines printed."""
    if not static:
        return Explorer(controls, compute, view.draw, view=view)
    data, messages = compute({name: c.value for name, c in controls.items()})
    view.update(data)
    for m in messages:
        print(_plain_text(m))
    return view.fig


def _float_slider(description, value, lo, hi, continuous_update, steps=200, fmt=".2f"):
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise ValueError(f"{description}: the range must have low < high, got ({lo}, {hi})")
    return widgets.FloatSlider(value=min(max(float(value), lo), hi), min=lo, max=hi, step=(hi - lo) / steps,
                               description=description, readout_format=fmt, continuous_update=continuous_update,
                               style={"description_width": "initial"}, layout=widgets.Layout(width="330px"))


def _learner_error(name: str, exc: Exception) -> str:
    if isinstance(exc, NotImplementedError):
        return f"<b>{name}</b>: not implemented yet"
    return f"<b>{name}</b>: raised {type(exc).__name__}: {exc}"


# ---- 02 · local optima: where does (noisy) gradient descent end? ---------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _basin_labels(surface, learning_rate: float, num_steps: int, n: int, tol: float) -> np.ndarray:
    """Index of the minimum that gradient descent reaches from each point of an n×n grid (-1: none).

    Rows follow x2 (``origin='lower'``), columns x1, as ``surface.grid`` lays them out.
    """
    (x0, x1), (y0, y1) = surface.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    P = np.stack([X, Y], axis=-1)
    with np.errstate(all="ignore"):
        for _ in range(num_steps):
            P = P - learning_rate * surface.grad(P)
        dist = np.linalg.norm(P[:, :, None, :] - surface.minima[None, None], axis=-1)
        found = np.nan_to_num(dist, nan=np.inf).min(axis=-1) <= tol
    return np.where(found, np.nan_to_num(dist, nan=np.inf).argmin(axis=-1), -1)


def _kicked_descent(grad, x0, learning_rate, kicks) -> np.ndarray:
    """x_{t+1} = x_t − η ∇f(x_t) + kicks[t]: the path (len(kicks) + 1, d); kicks (T, d) given in full."""
    path = np.empty((len(kicks) + 1, len(x0)))
    path[0] = x = np.asarray(x0, dtype=np.float64)
    with np.errstate(all="ignore"):  # a diverging run is shown, not warned about
        for t, kick in enumerate(kicks):
            x = x - learning_rate * grad(x) + kick
            path[t + 1] = x
    return path


class _BasinView(_FrameView):
    """Contours, basins (faint colours), lettered minima; the two paths and a title move."""

    def __init__(self, surface, labels, n: int, static: bool):
        super().__init__(_new_figure((6.2, 5.9), static), static)
        self.surface = surface
        ax = self.ax = self.fig.add_axes([0.12, 0.27, 0.8, 0.64])
        marks = plots.draw_surface(ax, surface, grid=surface.grid(n))
        minima = np.asarray(surface.minima, dtype=np.float64).reshape(-1, 2)
        (x0, x1), (y0, y1) = surface.bounds
        if labels is not None and len(minima):
            colours = ListedColormap(["0.85"] + [plots.PALETTE[k % len(plots.PALETTE)] for k in range(len(minima))])
            ax.imshow(labels, origin="lower", extent=[x0, x1, y0, y1], cmap=colours, vmin=-1.5,
                      vmax=len(minima) - 0.5, alpha=0.3, zorder=1, interpolation="nearest", aspect=ax.get_aspect())
        for k, m in enumerate(minima[: len(_LETTERS)]):
            ax.annotate(_LETTERS[k], m, xytext=(7, 5), textcoords="offset points", fontweight="bold", zorder=6)
        style = {"linewidth": 1.8, "markersize": 3.5, "zorder": 3}
        (self.plain,) = ax.plot([], [], color=plots.PALETTE[0], linestyle="-", marker="o", label="gradient descent",
                                **style)
        (self.noisy,) = ax.plot([], [], color=plots.PALETTE[1], linestyle="--", marker="s", alpha=0.85,
                                label="perturbed (noise σ, fixed seed)", **style)
        (self.start,) = ax.plot([], [], marker="o", markersize=9, markerfacecolor="white", markeredgecolor="black",
                                markeredgewidth=2, linestyle="none", zorder=4, label="start")
        self.ends = [ax.plot([], [], marker="s", markersize=8, color=c, markeredgecolor="black", linestyle="none",
                             zorder=4)[0] for c in plots.PALETTE[:2]]
        plots.path_legend(ax, [self.plain, self.noisy, self.start] + marks)
        self.title = _title(self.fig, 0.955)
        span = max(x1 - x0, y1 - y0)
        self._clip = (min(x0, y0) - 10 * span, max(x1, y1) + 10 * span)  # far-off points confuse the renderer
        self.frame = [self.plain, self.noisy, self.start, *self.ends, *marks, self.title]
        self.cache()

    def update(self, data):
        every = 1
        for line, end, key in ((self.plain, self.ends[0], "gradient descent"), (self.noisy, self.ends[1], "perturbed")):
            p = data.get(key)
            if p is None:
                line.set_data([], [])
                end.set_data([], [])
                continue
            p = np.clip(p, *self._clip)
            every = max(1, len(p) // 25)
            line.set_data(p[:, 0], p[:, 1])
            line.set_markevery(every)
            last = p[np.all(np.isfinite(p), axis=1)][-1:]
            end.set_data(last[:, 0], last[:, 1])
        start = data.get("start", np.full(2, np.nan))
        self.start.set_data([start[0]], [start[1]])
        self.title.set_text(data.get("title", ""))


def _basin_of(labels, surface, point) -> int:
    """The basin (minimum index, -1 for none) of the grid cell holding ``point``; -1 outside the window."""
    if labels is None or not np.all(np.isfinite(point)):
        return -1
    (x0, x1), (y0, y1) = surface.bounds
    n = labels.shape[0]
    j, i = round((point[0] - x0) / (x1 - x0) * (n - 1)), round((point[1] - y0) / (y1 - y0) * (n - 1))
    return int(labels[i, j]) if 0 <= i < n and 0 <= j < n else -1


def _name_minimum(surface, k: int) -> str:
    m = surface.minima[k]
    return f"minimum {_LETTERS[k] if k < len(_LETTERS) else k} ({m[0]:.2f}, {m[1]:.2f})"


def _where_it_ends(surface, labels, path, tol: float) -> tuple[int, str]:
    """(index of the minimum reached or whose basin holds the end, -1 for none; the words for it)."""
    end = path[-1]
    if not np.all(np.isfinite(end)):
        return -1, "diverged"
    if len(surface.minima):
        dist = np.linalg.norm(surface.minima - end, axis=1)
        k = int(np.argmin(dist))
        if dist[k] <= tol:
            return k, f"reaches {_name_minimum(surface, k)}"
    if len(surface.saddles):
        dist = np.linalg.norm(surface.saddles - end, axis=1)
        j = int(np.argmin(dist))
        if dist[j] <= 10 * tol:
            s = surface.saddles[j]
            return -1, f"sits at the saddle ({s[0]:.2f}, {s[1]:.2f}), where the gradient is almost 0"
    k = _basin_of(labels, surface, end)
    if k >= 0:
        return k, f"ends in the basin of {_name_minimum(surface, k)}"
    return -1, "ends outside every basin (left the window, or has not converged)"


def basin_explorer(surface, x0, num_steps=200, noise_range=(0.0, 0.5), *, learning_rate=0.01, noise=0.1, seed=0,
                   perturbed_descent=None, n=120, basin_n=100, basin_steps=600, show_basins=True, tol=1e-2,
                   continuous_update=False, static=False):
    """Sliders for the start (x1, x2) and the noise σ: where gradient descent, plain and noisy, ends.

    surface: a 2-D surface with known ``minima`` (and ``saddles``), e.g. ``surfaces.himmelblau()``.
    x0: the initial start, array (2,). num_steps: steps per run, with step size ``learning_rate``.
    noise_range: (low, high) of the noise slider; ``noise`` its initial value. The noisy path is
        x_{t+1} = x_t − η∇f(x_t) + σ ξ_t with ξ_t ~ N(0, I) from ``np.random.default_rng(seed)``,
        the same draws for every σ (so a slider move changes only the size of the kicks).
    perturbed_descent: the learner's ``perturbed_gradient_descent(grad_fn, x0, learning_rate,
        num_steps, noise_scale, rng)``, which then draws the noisy path; None uses a built-in loop.
    show_basins: colour each point of the window by the minimum that plain gradient descent
        reaches from it (``basin_steps`` steps on a ``basin_n``² grid, computed once); the text
        line under the plot names the minimum (lettered A, B, ...) or basin each path ends in.
    static: return a plain matplotlib Figure of the initial settings (and print the text lines)
        instead of the widget, for readers without a kernel.
    Returns the Explorer widget (``paths``: ``'gradient descent'`` and ``'perturbed'``, arrays
    (num_steps + 1, 2); ``view.outcome``: label -> index into ``surface.minima`` or -1), or the
    Figure when static.
    """
    if getattr(surface, "dim", 2) != 2:
        raise ValueError(f"basin_explorer needs a 2-D surface; {surface.name!r} has dim={surface.dim}")
    x0 = np.asarray(x0, dtype=np.float64)
    num_steps = int(num_steps)
    (xlo, xhi), (ylo, yhi) = surface.bounds
    controls = {
        "x1": _float_slider("start x₁", x0[0], xlo, xhi, continuous_update),
        "x2": _float_slider("start x₂", x0[1], ylo, yhi, continuous_update),
        "noise": _float_slider("noise σ", noise, *noise_range, continuous_update, steps=100, fmt=".3f"),
    }
    labels = None
    if len(surface.minima):
        labels = _basin_labels(surface, learning_rate, basin_steps, basin_n, max(tol, 0.05))
    view = _BasinView(surface, labels if show_basins else None, n, static)
    view.outcome = {}
    xi = np.random.default_rng(seed).standard_normal((num_steps, 2))

    def compute(values):
        start = np.array([values["x1"], values["x2"]])
        sigma = float(values["noise"])
        data = {"start": start, "gradient descent": _kicked_descent(surface.grad, start, learning_rate,
                                                                    np.zeros((num_steps, 2)))}
        messages = []
        noisy_label = f"perturbed, σ = {sigma:.3g} (seed {seed})"
        if perturbed_descent is None:
            data["perturbed"] = _kicked_descent(surface.grad, start, learning_rate, sigma * xi)
        else:
            try:
                with np.errstate(all="ignore"):
                    out = perturbed_descent(surface.grad, start.copy(), learning_rate, num_steps, sigma,
                                            np.random.default_rng(seed))
                data["perturbed"] = plots.as_path("perturbed_descent's result", out)
            except Exception as exc:  # noqa: BLE001 - show the learner's error next to the plot
                messages.append(_learner_error(getattr(perturbed_descent, "__name__", "perturbed_descent"), exc))
        view.outcome = {}
        for key, label in (("gradient descent", "gradient descent"), ("perturbed", noisy_label)):
            if key in data:
                k, words = _where_it_ends(surface, labels, data[key], tol)
                view.outcome[key] = k
                with np.errstate(all="ignore"):
                    f = float(surface.value(data[key][-1]))
                messages.append(f"<b>{label}</b>: {words} (f = {f:.3g} after {num_steps} steps)")
        plain, noisy = view.outcome.get("gradient descent"), view.outcome.get("perturbed")
        if noisy is not None and noisy != plain and sigma > 0:
            messages.append("the noise changed the outcome: same start, another place")
        data["title"] = (f"{surface.name}: start ({start[0]:.2f}, {start[1]:.2f}), η = {learning_rate:g}, "
                         f"σ = {sigma:.3g}")
        return data, messages

    return _finish(controls, compute, view, static)


# ---- 05 · initialization: activations and gradients across depth ---------------------------------

#: The built-in initializers, as (kind, std(fan_in, fan_out)): scales applied to fixed standard
#: normal draws (``'normal'``) or an orthonormal factor of them (``'orthogonal'``, gain 1).
_BUILTIN_INITS = {
    "small normal (σ = 0.01)": ("normal", lambda fan_in, fan_out: 0.01),
    "Xavier normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    "He normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
    "orthogonal": ("orthogonal", None),
}

#: The histogram window per activation (values outside land in the end bins).
_ACTIVATION_RANGE = {"relu": (0.0, 3.0), "tanh": (-1.0, 1.0)}


def _orthonormal_factor(Z: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of Z (or of Zᵀ, transposed back): orthonormal columns or rows.

    No sign correction: the spectrum (all singular values 1) is what the figure needs; a uniformly
    random orthogonal matrix needs more (notebook 05, exercise 4).
    """
    if Z.shape[0] >= Z.shape[1]:
        return np.linalg.qr(Z)[0]
    return np.linalg.qr(Z.T)[0].T


class _LayerWeights:
    """Weights per initializer for up to ``max_depth`` hidden layers (and the output layer), drawn once.

    ``get(label)`` -> (list of hidden W, W_out), drawn in order from ``np.random.default_rng(seed)``
    with the learner's ``init(fan_in, fan_out, rng)``, or built from shared standard normal draws.
    """

    def __init__(self, initializers, shapes, seed):
        self.initializers, self.shapes, self.seed = initializers, shapes, seed
        self._cache: dict = {}
        self._normal = None

    def get(self, label):
        if label not in self._cache:
            try:
                self._cache[label] = (self._draw(label), None)
            except Exception as exc:  # noqa: BLE001 - shown next to the plot
                self._cache[label] = (None, exc)
        return self._cache[label]

    def _draw(self, label):
        if self.initializers is None:
            kind, std = _BUILTIN_INITS[label]
            if self._normal is None:
                rng = np.random.default_rng(self.seed)
                self._normal = [rng.standard_normal(s) for s in self.shapes]
            if kind == "orthogonal":
                return [_orthonormal_factor(Z) for Z in self._normal]
            return [std(*Z.shape) * Z for Z in self._normal]
        init, rng, out = self.initializers[label], np.random.default_rng(self.seed), []
        for fan_in, fan_out in self.shapes:
            W = np.asarray(init(fan_in, fan_out, rng), dtype=np.float64)
            if W.shape != (fan_in, fan_out):
                raise ValueError(f"returned shape {W.shape} for fan_in={fan_in}, fan_out={fan_out}; "
                                 f"expected ({fan_in}, {fan_out})")
            out.append(W)
        return out


class _LayerView(_FrameView):
    """Left: one histogram of activations per hidden layer (a ridgeline, layer 1 at the bottom);
    right: one bar per layer, the norm of the loss gradient with respect to its weights (log scale)."""

    def __init__(self, max_depth: int, activation: str, static: bool, bins: int = 40, grad_range=(1e-16, 1e2)):
        super().__init__(_new_figure((9.8, 5.1), static), static)
        self.max_depth, self.bins, self.grad_range = max_depth, bins, grad_range
        fig = self.fig
        ax = self.ax = fig.add_axes([0.07, 0.16, 0.52, 0.74])
        gax = self.gax = fig.add_axes([0.66, 0.16, 0.31, 0.74])
        rows = np.arange(1, max_depth + 1)
        ticks = rows if max_depth <= 12 else rows[rows % 2 == 1]
        for a in (ax, gax):
            a.set_ylim(0.45, max_depth + 0.65)
            a.set_yticks(ticks)
            a.grid(True, axis="x", alpha=0.3)
        ax.set_ylabel("hidden layer l")
        ax.set_title("activations $h_l$ (each histogram scaled to its peak)", fontsize="medium")
        gax.set_xscale("log")
        gax.set_xlim(*grad_range)
        gax.set_title("gradient norm and activation std (log scale)", fontsize="medium")
        gax.tick_params(labelleft=False)
        self.ridges = [ax.add_patch(Polygon(np.zeros((2, 2)), closed=True, facecolor=plots.PALETTE[0], alpha=0.55,
                                            edgecolor=plots.PALETTE[0], linewidth=1)) for _ in rows]
        self.bars = list(gax.barh(rows, np.zeros(max_depth), left=grad_range[0], height=0.6, color=plots.PALETTE[1],
                                  alpha=0.8, label=r"$\|\partial L / \partial W_l\|$"))
        (self.stds,) = gax.plot([], [], marker="D", markersize=6, color="black", linestyle="none",
                                label="std of $h_l$")
        (self.below,) = gax.plot([], [], marker="<", markersize=8, color="black", linestyle="none", clip_on=False,
                                 label=f"below {grad_range[0]:.0e}")
        gax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize="small", frameon=False)
        self.title = _title(fig, 0.96)
        self.frame = [*self.ridges, *self.bars, self.stds, self.below, self.title]
        self.activation = None
        self.set_activation(activation)

    def set_activation(self, activation: str):
        if activation == self.activation:
            return
        self.activation = activation
        lo, hi = _ACTIVATION_RANGE[activation]
        self.edges = np.linspace(lo, hi, self.bins + 1)
        self.ax.set_xlim(lo, hi)
        self.ax.set_xlabel(f"activation value ({activation}; values beyond the window are counted in its end bins)")
        self.cache()

    def _ridge(self, values, row):
        """Step outline of the histogram of ``values`` on ``row`` (ReLU's exact zeros left out)."""
        v = values.ravel()
        if self.activation == "relu":
            v = v[v != 0.0]
        v = v[np.isfinite(v)]
        lo, hi = self.edges[0], self.edges[-1]  # equal bins and a range: NumPy's fast path, no sort
        counts = np.histogram(np.clip(v, lo, hi), bins=self.bins, range=(lo, hi))[0].astype(np.float64)
        height = counts / counts.max() * 0.8 if counts.max() > 0 else counts
        x = np.repeat(self.edges, 2)
        y = np.concatenate([[0.0], np.repeat(height, 2), [0.0]])
        return np.column_stack([x, row - 0.3 + y])

    def update(self, data):
        acts, gnorm, std = data.get("activations", []), data.get("grad_norm", []), data.get("activation_std", [])
        self.set_activation(data.get("activation", self.activation))
        lo, hi = self.grad_range
        for r in range(self.max_depth):
            shown = r < len(acts)
            self.ridges[r].set_visible(shown)
            self.bars[r].set_visible(shown)
            if shown:
                self.ridges[r].set_xy(self._ridge(acts[r], r + 1))
                g = float(gnorm[r]) if np.isfinite(gnorm[r]) else hi
                self.bars[r].set_width(min(max(g, lo), hi) - lo)
        rows = np.arange(1, len(acts) + 1)
        values = np.concatenate([np.asarray(gnorm, dtype=np.float64), np.asarray(std, dtype=np.float64)])
        with np.errstate(invalid="ignore"):
            std_shown = np.clip(np.asarray(std, dtype=np.float64), lo, hi)
            below = np.concatenate([rows, rows])[values < lo]
        self.stds.set_data(std_shown, rows)
        self.below.set_data(np.full(len(below), lo), below)
        self.title.set_text(data.get("title", ""))


def _verdict(activation: str, acts, std) -> str:
    """What the activation scale does across the layers, in words."""
    first, last = std[0], std[-1]
    if not np.isfinite(last) or last > 1e3 * max(first, 1.0):
        return "the signal has exploded"
    if last < 1e-3 * first:
        return "the signal has vanished"
    if activation == "tanh" and np.mean(np.abs(acts[-1]) > 0.9) > 0.5:
        return "the tanh units are saturated (|h| > 0.9 for most of them)"
    rate = (last / first) ** (1 / (len(std) - 1)) if len(std) > 1 and first > 0 else 1.0
    if rate < 0.85:
        return "the signal shrinks layer after layer"
    if rate > 1.18:
        return "the signal grows layer after layer"
    return "the signal keeps its scale"


def initialization_explorer(initializers=None, X=None, y=None, *, depth=10, max_depth=20, width=100, gain=1.0,
                            gain_range=(0.25, 4.0), activation="relu", initializer=None, seed=0,
                            continuous_update=False, static=False):
    """Sliders for the depth, the initializer, the gain and the activation of a deep MLP on one batch.

    Redraws, per hidden layer, the histogram of its activations and the norm of the loss gradient
    with respect to its weights (``nets.MLP``, softmax cross-entropy on ``(X, y)``, at initialization).

    initializers: dict label -> ``init(fan_in, fan_out, rng)`` (the learner's ``xavier_normal``,
        ``he_normal``, ``orthogonal``, ``nets.gaussian_init(0.01)``, ...). Each is called once per
        layer, in order, with ``np.random.default_rng(seed)``, and its weights are kept. None: built-in
        small normal (σ = 0.01), Xavier normal, He normal and orthogonal weights.
    X, y: the batch, arrays (N, d) and (N,) of int labels; default 200 standard normal rows of
        dimension 64 with random labels in 0..9 (from ``seed``).
    depth: initial number of hidden layers (1..max_depth), each ``width`` units wide.
    gain: initial factor multiplying every weight matrix; ``gain_range`` (low, high) its log slider.
    activation: ``'relu'`` or ``'tanh'`` (a toggle). initializer: the label selected first.
    static: return a plain matplotlib Figure of these settings (and print the text lines) instead
        of the widget, for readers without a kernel.
    Returns the Explorer widget (``data``: ``'activation_std'`` and ``'grad_norm'``, arrays (depth,),
    and ``'activations'``, one (N, width) array per hidden layer), or the Figure when static.
    """
    from . import nets  # lazily, as learning_rate_explorer

    if X is None:
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((200, 64)), rng.integers(0, 10, size=200)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    num_classes = int(y.max()) + 1
    labels = list(_BUILTIN_INITS if initializers is None else initializers)
    if not labels:
        raise ValueError("initializers is empty; give a dict label -> init(fan_in, fan_out, rng), or None")
    shapes = [(X.shape[1], width)] + [(width, width)] * (max_depth - 1) + [(width, num_classes)]
    weights = _LayerWeights(initializers, shapes, seed)
    controls = {
        "initializer": widgets.Dropdown(options=labels, value=initializer if initializer in labels else labels[0],
                                        description="initializer", style={"description_width": "initial"}),
        "activation": widgets.ToggleButtons(options=list(_ACTIVATION_RANGE), value=activation,
                                            style={"button_width": "60px"}),
        "depth": widgets.IntSlider(value=min(max(int(depth), 1), max_depth), min=1, max=max_depth,
                                   description="hidden layers", continuous_update=continuous_update,
                                   style={"description_width": "initial"}),
        "gain": _gain_slider(gain, gain_range, continuous_update),
    }
    view = _LayerView(max_depth, activation, static)

    def compute(values):
        # Small matrices: one BLAS thread is several times faster than threads competing for 2 cores.
        with threadpool_limits(limits=1):
            return _layer_stats(values)

    def _layer_stats(values):
        label, act, L, g = values["initializer"], values["activation"], values["depth"], float(values["gain"])
        drawn, error = weights.get(label)
        if error is not None:
            return {"activation": act}, [_learner_error(label, error)]
        chosen = [g * W for W in drawn[:L]] + [g * drawn[-1]]
        model = nets.MLP([X.shape[1]] + [width] * L + [num_classes], activation=act,
                         init=lambda fan_in, fan_out, rng: chosen.pop(0))
        with np.errstate(all="ignore"):
            loss, grads = model.loss(X, y)
            acts = model.activations
            std = np.array([a.std() for a in acts])
            gnorm = np.array([math.sqrt(np.sum(grads[f"W{i}"] ** 2)) for i in range(1, L + 1)])
        data = {"activations": acts, "activation_std": std, "grad_norm": gnorm, "activation": act, "loss": loss,
                "title": f"{label} × gain {g:.2f}, {act}, {L} hidden layers of {width}, a batch of {len(X)}"}
        rate = (std[-1] / std[0]) ** (1 / (L - 1)) if L > 1 and std[0] > 0 else 1.0
        messages = [
            f"<b>activation std</b>: {std[0]:.2g} in layer 1, {std[-1]:.2g} in layer {L} "
            f"(×{rate:.3g} per layer): {_verdict(act, acts, std)}",
            f"<b>gradient norm</b> ‖∂L/∂W_l‖: {gnorm[0]:.2g} in layer 1, {gnorm[-1]:.2g} in layer {L}; "
            f"loss at initialization {loss:.3g} (ln {num_classes} = {math.log(num_classes):.3g} is a uniform guess)",
        ]
        return data, messages

    return _finish(controls, compute, view, static)


def _gain_slider(value, gain_range, continuous_update):
    lo, hi = (float(v) for v in gain_range)
    if not 0 < lo < hi:
        raise ValueError(f"gain_range must be (low, high) with 0 < low < high, got {gain_range}")
    lo_e, hi_e = math.log2(lo), math.log2(hi)
    return widgets.FloatLogSlider(value=min(max(float(value), lo), hi), base=2, min=lo_e, max=hi_e,
                                  step=(hi_e - lo_e) / 80, description="gain", readout_format=".3f",
                                  continuous_update=continuous_update, style={"description_width": "initial"})


# ---- 06 · batch norm: running statistics against the population, and the train/eval gap ---------

_BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)


def _running_averages(values: np.ndarray, momentum: float, start: float) -> np.ndarray:
    """r_0 = start, r_{t+1} = (1 − m) r_t + m values[t]; returns (len(values) + 1,)."""
    out = np.empty(len(values) + 1)
    out[0] = r = start
    for t, v in enumerate(values):
        r = (1.0 - momentum) * r + momentum * v
        out[t + 1] = r
    return out


def _builtin_batchnorm_run(x, z, momentum, eps):
    """Running statistics after each training batch x[t] (PyTorch's convention: biased variance to
    normalize, unbiased in the running average, momentum on the new batch), and the RMS difference
    between train-mode and eval-mode outputs on the held-out batch z[t]."""
    batch_mean, batch_var = x.mean(axis=1), x.var(axis=1, ddof=1)
    rm = _running_averages(batch_mean, momentum, 0.0)
    rv = _running_averages(batch_var, momentum, 1.0)
    train = (z - z.mean(axis=1, keepdims=True)) / np.sqrt(z.var(axis=1, keepdims=True) + eps)
    evaluated = (z - rm[1:, None]) / np.sqrt(rv[1:, None] + eps)
    gap = np.sqrt(np.mean((train - evaluated) ** 2, axis=1))
    return {"running_mean": rm, "running_var": rv, "batch_mean": batch_mean, "batch_var": batch_var, "gap": gap}


def _learner_batchnorm_run(forward, x, z, momentum, eps):
    """The same with the learner's ``batchnorm_forward(x, gamma, beta, bn_param)`` on one feature."""
    ones, zeros = np.ones(1), np.zeros(1)
    state = {"mode": "train", "momentum": momentum, "eps": eps}
    T = len(x)
    rm, rv, gap = np.empty(T + 1), np.empty(T + 1), np.empty(T)
    rm[0], rv[0] = 0.0, 1.0
    for t in range(T):
        forward(x[t][:, None].copy(), ones, zeros, state)
        rm[t + 1], rv[t + 1] = float(np.ravel(state["running_mean"])[0]), float(np.ravel(state["running_var"])[0])
        stats = {"eps": eps, "momentum": momentum, "running_mean": np.array([rm[t + 1]]),
                 "running_var": np.array([rv[t + 1]])}
        train = np.ravel(forward(z[t][:, None].copy(), ones, zeros, {"mode": "train", **stats})[0])
        evaluated = np.ravel(forward(z[t][:, None].copy(), ones, zeros, {"mode": "eval", **stats})[0])
        gap[t] = math.sqrt(float(np.mean((train - evaluated) ** 2)))
    return {"running_mean": rm, "running_var": rv, "batch_mean": x.mean(axis=1), "batch_var": x.var(axis=1, ddof=1),
            "gap": gap}


class _BatchNormView(_FrameView):
    """Three panels over the training steps: running mean, running variance (against the population's,
    dashed), and the train/eval output gap (log scale)."""

    def __init__(self, num_steps: int, mean: float, std: float, static: bool, gap_range=(1e-2, 10.0)):
        super().__init__(_new_figure((12.0, 4.3), static), static)
        fig, var = self.fig, std**2
        width, gapw = 0.245, 0.06
        axes = [fig.add_axes([0.055 + k * (width + gapw), 0.25, width, 0.6]) for k in range(3)]
        self.axes = axes
        steps = np.arange(num_steps + 1)
        light = {"marker": ".", "markersize": 3, "linestyle": "none", "color": "0.55", "alpha": 0.6}
        (self.bm,) = axes[0].plot([], [], label="batch mean", **light)
        (self.rm,) = axes[0].plot([], [], color=plots.PALETTE[0], linewidth=2, label="running_mean")
        axes[0].axhline(mean, color="black", linestyle="--", linewidth=1.2, label=f"population mean {mean:g}")
        axes[0].set_ylim(min(0.0, mean) - 1.5 * std, max(0.0, mean) + 1.5 * std)
        axes[0].set_title("running mean", fontsize="medium")
        (self.bv,) = axes[1].plot([], [], label="batch variance (unbiased)", **light)
        (self.rv,) = axes[1].plot([], [], color=plots.PALETTE[1], linewidth=2, label="running_var")
        axes[1].axhline(var, color="black", linestyle="--", linewidth=1.2, label=f"population variance {var:g}")
        (self.biased,) = axes[1].plot([], [], color="0.4", linestyle=":", linewidth=1.5,
                                      label="biased level (N − 1)/N · σ²")
        axes[1].set_ylim(0.0, 2.5 * max(var, 1.0))
        axes[1].set_title("running variance", fontsize="medium")
        (self.gap,) = axes[2].plot([], [], color=plots.PALETTE[2], linewidth=1.2, label="RMS(train − eval output)")
        axes[2].set_yscale("log")
        axes[2].set_ylim(*gap_range)
        axes[2].set_title("train/eval output gap, held-out batches", fontsize="medium")
        for ax in axes:
            ax.set_xlim(0, num_steps)
            ax.set_xlabel("training step")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize="x-small", frameon=False, ncol=2)
        self.steps = steps
        self.title = _title(fig, 0.955)
        self.frame = [self.bm, self.rm, self.bv, self.rv, self.biased, self.gap, self.title]
        self.cache()

    def update(self, data):
        for line, key, offset in ((self.bm, "batch_mean", 1), (self.rm, "running_mean", 0), (self.bv, "batch_var", 1),
                                  (self.rv, "running_var", 0), (self.gap, "gap", 1)):
            y = data.get(key)
            if y is None:
                line.set_data([], [])
            else:
                line.set_data(self.steps[offset: offset + len(y)], y)
        level = data.get("biased_level")
        self.biased.set_data([], []) if level is None else self.biased.set_data(self.steps[[0, -1]], [level, level])
        self.title.set_text(data.get("title", ""))


def batchnorm_explorer(batchnorm_forward=None, *, batch_size=16, momentum=0.1, num_steps=200, mean=3.0, std=2.0,
                       momentum_range=(1e-3, 1.0), eps=1e-5, seed=0, continuous_update=False, static=False):
    """Sliders for the batch size and the momentum of batch norm's running statistics.

    One feature, drawn from a population N(mean, std²), goes through ``num_steps`` training-mode
    calls, one fresh batch of ``batch_size`` samples each. Redraws the running mean and variance
    after every step against the population's (and the batch statistics they average), and the
    train/eval gap: on a fresh held-out batch at every step, the RMS difference between the
    train-mode output (normalized with that batch's own statistics) and the eval-mode output
    (normalized with the running statistics).

    batchnorm_forward: the learner's ``batchnorm_forward(x, gamma, beta, bn_param)`` (course
        convention: ``momentum`` weighs the new batch, the unbiased variance enters
        ``running_var``); None uses a built-in computation of the same statistics.
    momentum_range: (low, high) of the log-scale momentum slider. seed: the batches' random draws
        (the same for every momentum, so a slider move changes only the averaging).
    static: return a plain matplotlib Figure of these settings (and print the text lines) instead
        of the widget, for readers without a kernel.
    Returns the Explorer widget (``data``: ``'running_mean'``, ``'running_var'`` (num_steps + 1,),
    from the initial 0 and 1; ``'batch_mean'``, ``'batch_var'``, ``'gap'`` (num_steps,)), or the
    Figure when static.
    """
    num_steps = int(num_steps)
    lo, hi = (float(v) for v in momentum_range)
    if not 0 < lo < hi <= 1:
        raise ValueError(f"momentum_range must be (low, high) with 0 < low < high <= 1, got {momentum_range}")
    sizes = sorted(set(_BATCH_SIZES) | {int(batch_size)})
    controls = {
        "batch_size": widgets.SelectionSlider(options=sizes, value=int(batch_size), description="batch size N",
                                              continuous_update=continuous_update,
                                              style={"description_width": "initial"}),
        "momentum": widgets.FloatLogSlider(value=min(max(float(momentum), lo), hi), base=10, min=math.log10(lo),
                                           max=math.log10(hi), step=(math.log10(hi) - math.log10(lo)) / 100,
                                           description="momentum", readout_format=".3g",
                                           continuous_update=continuous_update,
                                           style={"description_width": "initial"}),
    }
    view = _BatchNormView(num_steps, mean, std, static)
    draws: dict = {}

    def batches(n):
        """(training batches, held-out batches), each (num_steps, n), the same for every momentum."""
        if n not in draws:
            rng = np.random.default_rng([seed, n])
            draws[n] = tuple(mean + std * rng.standard_normal((num_steps, n)) for _ in range(2))
        return draws[n]

    def compute(values):
        n, m = int(values["batch_size"]), float(values["momentum"])
        x, z = batches(n)
        name = getattr(batchnorm_forward, "__name__", "batchnorm_forward")
        try:
            with np.errstate(all="ignore"):
                if batchnorm_forward is None:
                    data = _builtin_batchnorm_run(x, z, m, eps)
                else:
                    data = _learner_batchnorm_run(batchnorm_forward, x, z, m, eps)
        except Exception as exc:  # noqa: BLE001 - shown next to the plot
            return {"title": f"batch size {n}, momentum {m:.3g}"}, [_learner_error(name, exc)]
        rm, rv, gap = data["running_mean"], data["running_var"], data["gap"]
        data["biased_level"] = (n - 1) / n * std**2
        data["title"] = f"batch size N = {n}, momentum m = {m:.3g}: running = (1 − m)·running + m·batch statistic"
        tail = slice(num_steps // 2 + 1, None)
        expected = mean * (1.0 - (1.0 - m) ** np.arange(num_steps + 1))  # E[running_mean_t], from 0
        forget = 1 if m >= 1 else math.ceil(math.log(0.01) / math.log1p(-m))  # (1 − m)^t < 1%
        messages = [
            f"<b>after {num_steps} steps</b>: running_mean {rm[-1]:.3g} (population {mean:g}), running_var "
            f"{rv[-1]:.3g} (population {std**2:g}; the biased batch variance would settle at "
            f"{data['biased_level']:.3g})",
            f"<b>speed</b>: the initial running_mean (0) still weighs (1 − m)^t; below 1% after "
            f"{forget} step{'s' if forget != 1 else ''}. <b>noise</b>: over the last {num_steps - num_steps // 2} "
            f"steps the running mean is off its expected value by ±{np.sqrt(np.mean((rm - expected)[tail] ** 2)):.2g} "
            f"(RMS), a single batch mean by ±{np.std(data['batch_mean'][num_steps // 2:]):.2g}",
            f"<b>train/eval gap</b> over the last {num_steps - num_steps // 2} steps: "
            f"{np.mean(gap[num_steps // 2:]):.3g} "
            "on average (it shrinks with the batch size, not with more steps)",
        ]
        return data, messages

    return _finish(controls, compute, view, static)


# ---- 07 · training in practice: minibatch SGD as a noisy estimate of the gradient ----------------

_MINIBATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _least_squares_problem(n: int, seed: int):
    """(X (n, 2), y (n,), w_star (2,)): a 2-D linear regression with correlated features and noisy targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)) @ np.array([[1.0, 0.0], [0.6, 0.5]])
    w_true = np.array([1.5, -1.0])
    y = X @ w_true + 0.5 * rng.standard_normal(n)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y, w_star


def _least_squares_paths(X, y, w0, batch_size: int, learning_rate: float, num_steps: int, seed: int):
    """(minibatch SGD path, full-batch GD path), each (num_steps + 1, 2), for ½·mean((Xw − y)²).

    Minibatches are drawn without replacement within each pass, reshuffled every pass; the draws
    depend on ``seed`` and ``batch_size`` only (not on the learning rate).
    """
    rng = np.random.default_rng([seed, batch_size])
    n = len(X)
    paths = np.full((2, num_steps + 1, 2), np.nan)
    paths[:, 0] = w0
    w_sgd, w_gd = np.array(w0, dtype=np.float64), np.array(w0, dtype=np.float64)
    order, start = rng.permutation(n), 0
    with np.errstate(all="ignore"):
        for t in range(num_steps):
            if start + batch_size > n:
                order, start = rng.permutation(n), 0
            idx = order[start:start + batch_size]
            start += batch_size
            Xb = X[idx]
            w_sgd = w_sgd - learning_rate * Xb.T @ (Xb @ w_sgd - y[idx]) / len(idx)
            w_gd = w_gd - learning_rate * X.T @ (X @ w_gd - y) / n
            paths[0, t + 1], paths[1, t + 1] = w_sgd, w_gd
    return paths[0], paths[1]


class _MinibatchView(_FrameView):
    """Left: contours of the least-squares loss with the minibatch SGD and full-batch paths; right:
    the loss along both paths (log scale)."""

    def __init__(self, X, y, w_star, num_steps: int, static: bool, half_width: float = 3.0):
        super().__init__(_new_figure((10.5, 4.6), static), static)
        fig = self.fig
        ax = fig.add_axes([0.06, 0.24, 0.4, 0.64])
        lax = fig.add_axes([0.57, 0.24, 0.4, 0.64])
        g = np.linspace(-half_width, half_width, 90)
        W1, W2 = np.meshgrid(w_star[0] + g, w_star[1] + g)
        W = np.stack([W1.ravel(), W2.ravel()], axis=1)
        loss = 0.5 * np.mean((W @ X.T - y) ** 2, axis=1).reshape(W1.shape)
        ax.contour(W1, W2, loss, levels=np.quantile(loss, np.linspace(0.02, 0.9, 12)), cmap="viridis", linewidths=0.8)
        ax.plot(*w_star, marker="*", markersize=13, color="black", linestyle="none", label="minimum")
        ax.set(xlim=(w_star[0] - half_width, w_star[0] + half_width), ylim=(w_star[1] - half_width,
               w_star[1] + half_width), xlabel="$w_1$", ylabel="$w_2$")
        (self.sgd,) = ax.plot([], [], color=plots.PALETTE[0], linewidth=1.2, marker=".", markersize=3,
                              label="minibatch SGD")
        (self.gd,) = ax.plot([], [], color=plots.PALETTE[1], linestyle="--", linewidth=1.5, label="full-batch GD")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small", frameon=False)
        (self.sgd_loss,) = lax.plot([], [], color=plots.PALETTE[0], linewidth=1.2, label="minibatch SGD")
        (self.gd_loss,) = lax.plot([], [], color=plots.PALETTE[1], linestyle="--", linewidth=1.5, label="full-batch GD")
        self.floor = lax.axhline(np.nan, color="black", linewidth=1, linestyle=":", label="minimum")
        lax.set(xlim=(0, num_steps), yscale="log", ylim=(1e-1, 1e2), xlabel="step", ylabel="training loss")
        lax.yaxis.set_minor_locator(NullLocator())
        lax.grid(True, alpha=0.3)
        lax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small", frameon=False)
        self.title = _title(fig, 0.95)
        self.frame = [self.sgd, self.gd, self.sgd_loss, self.gd_loss, self.floor, self.title]
        self.cache()

    def update(self, data):
        for line, key in ((self.sgd, "sgd"), (self.gd, "gd")):
            path = data.get(key)
            line.set_data(([], []) if path is None else (path[:, 0], path[:, 1]))
        for line, key in ((self.sgd_loss, "sgd_loss"), (self.gd_loss, "gd_loss")):
            values = data.get(key)
            line.set_data(([], []) if values is None else (np.arange(len(values)), values))
        floor = data.get("min_loss", np.nan)
        self.floor.set_ydata([floor, floor])
        self.title.set_text(data.get("title", ""))


def _noise_scale_line(gradient_noise_scale, G) -> str:
    """The learner's noise scale of the per-example gradients ``G`` at the start, in words."""
    if gradient_noise_scale is None:
        return ""
    name = getattr(gradient_noise_scale, "__name__", "gradient_noise_scale")
    try:
        value = float(gradient_noise_scale(G.copy()))
    except Exception as exc:  # noqa: BLE001 - shown next to the plot
        return _learner_error(name, exc)
    return (f"<b>your {name}</b> at the start, from all {len(G)} per-example gradients: "
            f"B_simple ≈ {value:.3g}: batches much smaller than this are mostly noise, much larger ones "
            "mostly repeat the same direction")


def minibatch_explorer(gradient_noise_scale=None, *, batch_size=4, learning_rate=0.3, num_steps=200, n=256,
                       lr_range=(1e-3, 2.0), seed=0, continuous_update=False, static=False):
    """Sliders for the batch size and the learning rate of minibatch SGD on a 2-D least-squares problem.

    The loss is ``½·mean((X w − y)²)`` over ``n`` examples with two correlated features and noisy
    targets. Redraws the minibatch SGD path (``num_steps`` steps, batches drawn without replacement
    and reshuffled every pass) next to full-batch gradient descent with the same learning rate, and
    the training loss along both.

    gradient_noise_scale: the learner's ``gradient_noise_scale(per_example_grads)`` (notebook 07),
        shown on the per-example gradients at the start; None shows nothing. A stub or an error is
        reported next to the plot, the paths are drawn anyway.
    seed: the data and the batches' draws (the same for every learning rate).
    static: return a plain matplotlib Figure of these settings (and print the text lines) instead of
        the widget, for readers without a kernel.
    Returns the Explorer widget (``data``: ``'sgd'``, ``'gd'`` paths (num_steps + 1, 2), ``'sgd_loss'``,
    ``'gd_loss'`` (num_steps + 1,)), or the Figure when static.
    """
    num_steps, n = int(num_steps), int(n)
    lo, hi = (float(v) for v in lr_range)
    if not 0 < lo < hi:
        raise ValueError(f"lr_range must be (low, high) with 0 < low < high, got {lr_range}")
    X, y, w_star = _least_squares_problem(n, seed)
    w0 = w_star + np.array([-2.2, 2.0])
    min_loss = 0.5 * float(np.mean((X @ w_star - y) ** 2))
    per_example = X * (X @ w0 - y)[:, None]  # each example's gradient at the start
    noise_line = _noise_scale_line(gradient_noise_scale, per_example)
    sizes = sorted({s for s in _MINIBATCH_SIZES if s <= n} | {int(batch_size)})
    controls = {
        "batch_size": widgets.SelectionSlider(options=sizes, value=int(batch_size), description="batch size B",
                                              continuous_update=continuous_update,
                                              style={"description_width": "initial"}),
        "learning_rate": _lr_slider((lo, hi), learning_rate, continuous_update),
    }
    view = _MinibatchView(X, y, w_star, num_steps, static)

    def loss_along(path):
        with np.errstate(all="ignore"):
            return 0.5 * np.mean((path @ X.T - y) ** 2, axis=1)

    def compute(values):
        b, lr = int(values["batch_size"]), float(values["learning_rate"])
        sgd_path, gd_path = _least_squares_paths(X, y, w0, b, lr, num_steps, seed)
        data = {"sgd": sgd_path, "gd": gd_path, "sgd_loss": loss_along(sgd_path), "gd_loss": loss_along(gd_path),
                "min_loss": min_loss, "title": f"batch size B = {b}, learning rate η = {lr:.3g}"}
        tail = data["sgd_loss"][num_steps // 2:]
        diverged = not np.all(np.isfinite(tail)) or np.mean(tail) > 10 * data["sgd_loss"][0]
        messages = [
            "<b>minibatch SGD</b>: diverged, the loss grows without bound (try a smaller learning rate)" if diverged
            else f"<b>minibatch SGD</b>: over the last {len(tail)} steps the loss is {np.mean(tail):.3g} on average, "
            f"{np.mean(tail) - min_loss:.2g} above the minimum ({min_loss:.3g}); <b>full-batch GD</b> ends at "
            f"{data['gd_loss'][-1]:.3g}",
            "the noise of a minibatch gradient falls like 1/B: halve η or double B for a similar effect on the "
            "jitter near the minimum",
        ]
        if noise_line:
            messages.append(noise_line)
        return data, messages

    return _finish(controls, compute, view, static)

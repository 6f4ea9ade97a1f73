"""Figures for the course: contour plots with optimizer paths, loss curves, convergence, layer stats.

Every function takes its data as arguments and returns the matplotlib ``Figure`` it drew on
(pass ``ax=`` to draw into an existing axes; the figure is then ``ax.figure``). Colours come from
the Okabe–Ito palette (``PALETTE``, safe for the common colour-vision deficiencies) and every
series also gets its own line style (``LINESTYLES``) and marker (``MARKERS``) so that figures
stay readable in grey-scale print.

Diverged runs are expected: NaN or infinite values end a curve or path where they first appear,
and the legend says so.

In a notebook with the inline backend, write ``fig = plot_...(...)`` (or end the line with
``;``) so that the figure is shown once.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, LogNorm, PowerNorm
from matplotlib.ticker import LogFormatterSciNotation
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

__all__ = [
    "PALETTE",
    "LINESTYLES",
    "MARKERS",
    "plot_contour_paths",
    "plot_loss_curves",
    "plot_convergence",
    "plot_layer_histograms",
    "plot_layer_stats",
    "plot_surface_3d",
]

#: Okabe–Ito colours, ordered so that the first ones contrast well on white and on each other.
PALETTE = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: weak on white)
]
#: One line style per series, so lines differ without colour too.
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
#: One marker per series.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<"]

# Light neutral background for contour plots: coloured paths stay the most visible thing.
_BACKGROUND = LinearSegmentedColormap.from_list("nnopt_background", ["#9a9a9a", "#ffffff"])

# A path that runs this many bounding boxes away from the plot has diverged for all purposes
# (and coordinates that large make the renderer misbehave).
_FAR = 1e6


def _style(i: int) -> dict:
    """Colour, line style and marker of the i-th series."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


def _new_axes(ax, figsize=(6.0, 4.5)):
    """Return (fig, ax): a new figure when ``ax`` is None, else ``ax``'s figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax, True
    return ax.figure, ax, False


def _finite_prefix(values: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Cut an array (T, ...) at its first row with a non-finite entry.

    Returns (prefix, index of the first bad row or None).
    """
    rows = values.reshape(len(values), -1)
    bad = ~np.all(np.isfinite(rows), axis=1)
    if not bad.any():
        return values, None
    first = int(np.argmax(bad))
    return values[:first], first


def _as_curve(label, y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"curve {label!r} has shape {y.shape}; expected a 1-D array (one value per step)")
    return y


def as_path(label, path) -> np.ndarray:
    """``path`` as a float64 (T, 2) array, or a ValueError that names the path by ``label``."""
    try:
        p = np.asarray(path, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"path {label!r} is not an array of numbers; expected shape (T, 2)") from exc
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 1:
        raise ValueError(
            f"path {label!r} has shape {p.shape}; expected shape (T, 2): one row (x1, x2) per iterate"
        )
    return p


def _contour_levels(Z: np.ndarray, levels, log: bool):
    """Levels and norm for the contour plot of Z (finite entries only)."""
    finite = Z[np.isfinite(Z)]
    zmin, zmax = float(finite.min()), float(finite.max())
    if not np.isscalar(levels):
        levels = np.asarray(levels, dtype=np.float64)
        norm = LogNorm(levels.min(), levels.max()) if log and levels.min() > 0 else None
        return levels, norm, 0.0
    n = int(levels)
    if zmax <= zmin:  # a flat surface: one level is all there is
        return n, None, 0.0
    if not log:
        # Quadratically spaced levels: the contours of a quadratic bowl come out evenly spaced.
        # PowerNorm(1/2) then gives every band an evenly spaced shade.
        return zmin + (zmax - zmin) * np.linspace(0.0, 1.0, n) ** 2, PowerNorm(0.5, zmin, zmax), 0.0
    # Log spacing needs positive values: shift a surface that dips below zero (labelled in the
    # colour bar); when the grid touches a minimum of exactly 0, start at the smallest positive value.
    offset = -zmin if zmin < 0 else 0.0
    shifted = finite + offset
    positive = shifted[shifted > 0]
    lo = max(float(positive.min()) if positive.size else 0.0, (zmax + offset) * 1e-9)
    levels = np.geomspace(lo, zmax + offset, n)
    return levels, LogNorm(levels[0], levels[-1]), offset


def _spread_ticks(norm, most: int = 10) -> np.ndarray:
    """Round tick values for a colour bar drawn through ``norm``, at least 1/``most`` of the bar
    apart: linear ticks on a √-spaced bar crowd its top ("100" printed over "120")."""
    candidates = plt.MaxNLocator(12, steps=[1, 2, 5, 10]).tick_values(norm.vmin, norm.vmax)
    candidates = candidates[(candidates >= norm.vmin) & (candidates <= norm.vmax)]
    kept = []
    for value in candidates[::-1]:  # from the top, where they crowd
        if not kept or float(norm(kept[-1])) - float(norm(value)) >= 1.0 / most:
            kept.append(value)
    return np.sort(np.asarray(kept, dtype=np.float64))


def plot_contour_paths(surface, paths=None, ax=None, n=200, levels=30, title=None, show_minima=True,
                       grid=None, colorbar=None):
    """Contour plot of a 2-D ``surface`` with optimizer paths drawn on it.

    surface: object with ``name``, ``dim == 2``, ``bounds``, ``log_contours``, ``minima`` (k, 2),
        ``saddles`` (s, 2) and ``grid(n) -> (X, Y, Z)`` (see ``nnopt_helpers.surfaces``).
    paths: dict label -> array (T, 2) of iterates x_0 ... x_{T-1}; the start is marked with a
        circle, the end with a square; a path that becomes NaN/inf (or runs far off the plot) is
        drawn up to that point and labelled "diverged".
    levels: number of contour levels (log-spaced when ``surface.log_contours``) or the levels.
    grid: a precomputed ``surface.grid(n)`` (the widgets pass one so redraws are fast).
    colorbar: draw a colour bar; default only when this function creates the figure.
    Returns the Figure.
    """
    checked = {label: as_path(label, p) for label, p in (paths or {}).items()}
    fig, ax, created = _new_axes(ax, figsize=(6.0, 5.0))
    marks = draw_surface(ax, surface, grid=grid, n=n, levels=levels, show_minima=show_minima,
                          colorbar=colorbar if colorbar is not None else created)
    _, handles = draw_paths(ax, checked, surface.bounds)
    ax.set_title(title if title is not None else getattr(surface, "name", "surface"))
    legend = path_legend(ax, handles + marks)
    if created and legend is not None:  # room for the legend rows, so the axes keep their size
        rows = -(-len(handles + marks) // _legend_columns(handles + marks))
        fig.set_size_inches(6.0, 4.4 + 0.22 * rows)
    return fig


def draw_surface(ax, surface, grid=None, n=200, levels=30, show_minima=True, colorbar=False) -> list:
    """Contours, limits, labels, minima and saddles of a 2-D surface; returns legend handles."""
    if getattr(surface, "dim", 2) != 2:
        raise ValueError(f"a contour plot needs a 2-D surface; {surface.name!r} has dim={surface.dim}")
    X, Y, Z = grid if grid is not None else surface.grid(n)
    Z = np.asarray(Z, dtype=np.float64)
    log = bool(getattr(surface, "log_contours", False))
    lv, norm, offset = _contour_levels(Z, levels, log)
    Zp = np.ma.masked_invalid(Z + offset)
    if isinstance(norm, LogNorm):  # values at or below 0 would be masked (blank): show them as the lowest band
        Zp = np.ma.maximum(Zp, norm.vmin / 2)
    filled = ax.contourf(X, Y, Zp, levels=lv, norm=norm, cmap=_BACKGROUND, extend="both")
    ax.contour(X, Y, Zp, levels=lv, norm=norm, colors="0.3", linewidths=0.5, alpha=0.5)
    if colorbar:
        cb = ax.figure.colorbar(filled, ax=ax, shrink=0.8, aspect=30, pad=0.02)
        cb.set_label("f(x)" + (" − min f" if offset else "") + (" (log scale)" if log else ""))
        if isinstance(norm, LogNorm):  # ticks at whole decades, not at the (arbitrary) contour levels
            lo, hi = np.log10(norm.vmin), np.log10(norm.vmax)
            cb.set_ticks(10.0 ** np.arange(np.ceil(lo), np.floor(hi) + 1))
            cb.formatter = LogFormatterSciNotation()
        elif isinstance(norm, PowerNorm):  # the bar is in √ space: round ticks spread evenly there
            cb.set_ticks(_spread_ticks(norm))
        else:
            cb.locator = plt.MaxNLocator(6)
        cb.update_ticks()
    handles = []
    if show_minima:
        minima = np.asarray(getattr(surface, "minima", np.empty((0, 2))), dtype=np.float64).reshape(-1, 2)
        saddles = np.asarray(getattr(surface, "saddles", np.empty((0, 2))), dtype=np.float64).reshape(-1, 2)
        if len(minima):
            handles.append(ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*", markersize=15,
                                   color="#F0E442", markeredgecolor="black", label="minimum", zorder=5)[0])
        if len(saddles):
            handles.append(ax.plot(saddles[:, 0], saddles[:, 1], linestyle="none", marker="X", markersize=10,
                                   color="white", markeredgecolor="black", label="saddle point", zorder=5)[0])
    (xmin, xmax), (ymin, ymax) = surface.bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    if 1 / 3 <= (ymax - ymin) / (xmax - xmin) <= 3:
        ax.set_aspect("equal")  # true shape: an ill-conditioned bowl really is that thin
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return handles


def draw_paths(ax, paths: Mapping[str, np.ndarray], bounds) -> tuple[list, list]:
    """Draw checked (T, 2) paths; returns (all artists drawn, legend handles)."""
    (xmin, xmax), (ymin, ymax) = bounds
    span = max(xmax - xmin, ymax - ymin)
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    artists, handles = [], []
    for i, (label, p) in enumerate(paths.items()):
        st = _style(i)
        with np.errstate(invalid="ignore"):
            far = np.abs(p - centre).max(axis=1) > _FAR * span
        bad_from = None
        if far.any():
            bad_from = int(np.argmax(far))
            p = p[:bad_from]
        p, nonfinite = _finite_prefix(p)
        if nonfinite is not None:
            bad_from = nonfinite if bad_from is None else min(bad_from, nonfinite)
        text = label if bad_from is None else f"{label} (diverged at step {bad_from})"
        if len(p) == 0:
            handles.append(Line2D([], [], color=st["color"], linestyle=st["linestyle"], label=text))
            continue
        every = max(1, len(p) // 25)
        (line,) = ax.plot(p[:, 0], p[:, 1], color=st["color"], linestyle=st["linestyle"], linewidth=1.8,
                          marker=st["marker"], markersize=3.5, markevery=every, label=text, zorder=3)
        start = ax.plot(*p[0], marker="o", markersize=9, markerfacecolor="white", markeredgecolor=st["color"],
                        markeredgewidth=2, linestyle="none", zorder=4)[0]
        end = ax.plot(*p[-1], marker="s", markersize=8, color=st["color"], markeredgecolor="black",
                      linestyle="none", zorder=4)[0]
        artists += [line, start, end]
        handles.append(line)
    if paths:
        handles.append(Line2D([], [], marker="o", markersize=8, markerfacecolor="white",
                              markeredgecolor="black", linestyle="none", label="start"))
        handles.append(Line2D([], [], marker="s", markersize=7, color="0.5", markeredgecolor="black",
                              linestyle="none", label="end"))
    return artists, handles


def _legend_columns(handles, width_chars=72) -> int:
    """As many columns (at most 3) as fit the longest label in about ``width_chars`` characters."""
    longest = max(len(h.get_label()) for h in handles)
    return max(1, min(3, len(handles), width_chars // (longest + 6)))


def path_legend(ax, handles):
    """Legend below the axes: inside, it would hide parts of the paths."""
    if not handles:
        return None
    # a fixed distance in points below the axes (clear of the tick labels and the x label), not a
    # fraction of the axes' height: a short axes (the six-hump camel's) put the legend over "x1"
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-_LEGEND_DROP_PT, units="points")
    return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
                     fontsize="small", ncol=_legend_columns(handles), frameon=False)


_LEGEND_DROP_PT = 38.0  # tick (3.5) + pad (3.5) + tick label (10) + label pad (4) + "$x_1$" (~14) + a gap


def _smooth(y: np.ndarray, smooth) -> np.ndarray:
    """Trailing moving average (int window) or exponential moving average (0 < weight < 1)."""
    if isinstance(smooth, (int, np.integer)) and smooth >= 1:
        c = np.cumsum(np.insert(y, 0, 0.0))
        k = np.minimum(np.arange(1, len(y) + 1), int(smooth))
        return (c[1:] - c[np.arange(1, len(y) + 1) - k]) / k
    if isinstance(smooth, float) and 0.0 < smooth < 1.0:
        out = np.empty_like(y)
        acc = y[0] if len(y) else 0.0
        for t, v in enumerate(y):
            acc = smooth * acc + (1 - smooth) * v
            out[t] = acc
        return out
    raise ValueError(f"smooth must be an int window >= 1 or a float weight in (0, 1), got {smooth!r}")


def plot_loss_curves(curves, ax=None, log_y=True, xlabel="iteration", ylabel="loss", title=None, smooth=None):
    """Loss (or any quantity) per step for several runs.

    curves: dict label -> 1-D array; a curve ends at its first NaN/inf (marked with an x and
        "diverged at ..." in the legend).
    smooth: None, an int window (trailing moving average) or a float in (0, 1) (exponential
        moving average with that weight on the past); the raw curve stays visible, faint.
    Returns the Figure.
    """
    fig, ax, _ = _new_axes(ax)
    for i, (label, y) in enumerate(curves.items()):
        y = _as_curve(label, y)
        st = _style(i)
        y, bad = _finite_prefix(y)
        text = label if bad is None else f"{label} (diverged at {xlabel} {bad})"
        x = np.arange(len(y))
        every = max(1, len(y) // 15)
        if smooth is not None and len(y):
            ax.plot(x, y, color=st["color"], alpha=0.25, linewidth=1)
            y = _smooth(y, smooth)
        ax.plot(x, y, color=st["color"], linestyle=st["linestyle"], marker=st["marker"], markersize=4,
                markevery=every, linewidth=1.8, label=text)
        if bad is not None and len(y):
            ax.plot(x[-1], y[-1], marker="x", markersize=10, markeredgewidth=2.5, color=st["color"],
                    linestyle="none")
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (log scale)" if log_y else ""))
    ax.set_title(title if title is not None else f"{ylabel} per {xlabel}")
    ax.grid(True, which="major", alpha=0.3)
    if curves:
        ax.legend(fontsize="small")
    return fig


def plot_convergence(errors, theory_rates=None, ax=None, title=None):
    """Measured distance to the optimum per step against theoretical linear rates.

    errors: dict label -> 1-D array e_t = ||x_t - x*|| for t = 0 .. T-1 (drawn solid, log y).
    theory_rates: dict label -> rate r; drawn dashed in the same colour as e_0 * r**t, where e_0
        is the first value of ``errors[label]`` (every label must be one of ``errors``).
    Returns the Figure.
    """
    theory_rates = dict(theory_rates or {})
    unknown = [k for k in theory_rates if k not in errors]
    if unknown:
        raise ValueError(f"theory_rates has labels {unknown} that are not in errors {list(errors)}; "
                         "each theoretical line starts from the measured e_0 of the same label")
    fig, ax, _ = _new_axes(ax)
    positive = []
    for i, (label, e) in enumerate(errors.items()):
        e = _as_curve(label, e)
        st = _style(i)
        e, bad = _finite_prefix(e)
        t = np.arange(len(e))
        positive.append(e[e > 0])
        text = label if bad is None else f"{label} (diverged at step {bad})"
        ax.plot(t, e, color=st["color"], linestyle="-", marker=st["marker"], markersize=4,
                markevery=max(1, len(e) // 15), linewidth=1.8, label=f"{text}: measured")
        if label in theory_rates and len(e):
            r = float(theory_rates[label])
            with np.errstate(over="ignore", under="ignore"):
                ax.plot(t, e[0] * r ** t, color=st["color"], linestyle="--", linewidth=1.5,
                        label=f"{label}: theory, rate {r:.3g}")
    ax.set_yscale("log", nonpositive="mask")
    pos = np.concatenate(positive) if positive else np.empty(0)
    if pos.size:  # keep the measured curves in view; a fast theoretical rate may dive far below
        lo, hi = pos.min(), pos.max()
        ax.set_ylim(max(lo / 10, 1e-300), hi * 10)
    ax.set_xlabel("iteration t")
    ax.set_ylabel(r"distance to optimum $\|x_t - x^*\|$ (log scale)")
    ax.set_title(title if title is not None else "convergence: measured vs theory")
    ax.grid(True, which="major", alpha=0.3)
    if errors:
        ax.legend(fontsize="small")
    return fig


def plot_layer_histograms(values, labels=None, bins=50, title=None, xlim=None):
    """One histogram per layer, side by side (activations or gradients across depth).

    values: list of arrays, one per layer (any shape; flattened).
    labels: one name per layer (default "layer 1", "layer 2", ...).
    xlim: (lo, hi) common range; default the range of all finite values, so layers compare.
    Returns the Figure.
    """
    values = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    if not values:
        raise ValueError("values is empty; expected one array per layer")
    labels = list(labels) if labels is not None else [f"layer {i + 1}" for i in range(len(values))]
    if len(labels) != len(values):
        raise ValueError(f"got {len(labels)} labels for {len(values)} layers")
    finite = [v[np.isfinite(v)] for v in values]
    if xlim is None:
        allv = np.concatenate(finite)
        xlim = (float(allv.min()), float(allv.max())) if allv.size else (-1.0, 1.0)
        if xlim[0] == xlim[1]:
            xlim = (xlim[0] - 0.5, xlim[1] + 0.5)
    n = len(values)
    fig, axes = plt.subplots(1, n, figsize=(min(1.9 * n + 0.6, 18.0), 2.8), squeeze=False, layout="constrained")
    for i, (ax, v, label) in enumerate(zip(axes[0], finite, labels)):
        ax.hist(v, bins=bins, range=xlim, color=PALETTE[0], edgecolor=PALETTE[0], alpha=0.8)
        std = float(v.std()) if v.size else float("nan")
        ax.set_title(f"{label}\nstd {std:.2g}", fontsize="small")
        ax.set_xlim(*xlim)
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
        if i == 0:
            ax.set_ylabel("count")
    fig.supxlabel("value", fontsize="small")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_layer_stats(stats, ylabel, labels=None, title=None, log_y=False):
    """A per-layer statistic (e.g. activation variance) across depth, one line per setting.

    stats: dict label -> 1-D array with one value per layer.
    labels: names of the layers for the x ticks (default 1, 2, ...).
    Returns the Figure.
    """
    fig, ax, _ = _new_axes(None)
    depth = 0
    for i, (label, s) in enumerate(stats.items()):
        s = _as_curve(label, s)
        depth = max(depth, len(s))
        st = _style(i)
        ax.plot(np.arange(1, len(s) + 1), s, color=st["color"], linestyle=st["linestyle"],
                marker=st["marker"], markersize=5, linewidth=1.8, label=label)
    if labels is not None:
        labels = list(labels)
        if len(labels) != depth:
            raise ValueError(f"got {len(labels)} layer labels for {depth} layers")
        ax.set_xticks(np.arange(1, depth + 1), labels, rotation=45 if depth > 10 else 0)
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel + (" (log scale)" if log_y else ""))
    ax.set_title(title if title is not None else f"{ylabel} across layers")
    ax.grid(True, which="major", alpha=0.3)
    if stats:
        ax.legend(fontsize="small")
    return fig


def plot_surface_3d(surface, ax=None, n=80):
    """3-D view of a 2-D surface (log10 of f − min f when ``surface.log_contours``). Returns the Figure."""
    if ax is None:
        fig = plt.figure(figsize=(6.0, 4.8), layout="constrained")
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    X, Y, Z = surface.grid(n)
    Z = np.asarray(Z, dtype=np.float64)
    zlabel = "f(x)"
    if getattr(surface, "log_contours", False):
        finite = Z[np.isfinite(Z)]
        shift = finite.min() - 1e-6 * max(finite.max() - finite.min(), 1e-12)
        Z = np.log10(Z - shift)
        zlabel = r"$\log_{10}$(f(x) − min f)"
    ax.plot_surface(X, Y, np.ma.masked_invalid(Z), cmap="cividis", linewidth=0, antialiased=True, alpha=0.9)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel(zlabel)
    ax.set_title(getattr(surface, "name", "surface"))
    return fig

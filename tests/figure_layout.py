"""Overlapping text in a drawn figure: tick labels over each other (a colour bar printing "100"
over "120"), a legend over a title or an axis label, a suptitle over a subplot's title.

Used two ways: ``problems(fig)`` on a figure in this process, and ``install()`` in a notebook's
kernel (``tests/test_notebooks.py`` runs it in a first, injected cell), which checks every figure
the kernel renders, as the inline backend and the explorers render them, and keeps what it finds in
``FOUND`` for a last injected cell to print.
"""

from __future__ import annotations

import numpy as np

FOUND: list[str] = []
TOLERANCE_PX = 1.0  # overlaps smaller than this in both directions are antialiasing, not collisions


def _shown(text) -> bool:
    return bool(text.get_visible() and text.get_text().strip())


def _tick_labels(axis) -> list:
    """The tick labels the axis draws: ticks inside the view interval, either side, major and minor."""
    scale = axis.get_transform()  # compare in the scale's space (a log axis's 1e-19 is outside 1e-16)
    lo, hi = sorted(np.asarray(scale.transform(np.asarray(axis.get_view_interval(), dtype=float))).ravel())
    span = (hi - lo) or 1.0
    labels = []
    for ticks, locs in ((axis.get_major_ticks(), axis.get_majorticklocs()),
                        (axis.get_minor_ticks(), axis.get_minorticklocs())):
        for tick, loc in zip(ticks, locs):
            with np.errstate(all="ignore"):
                at = float(np.asarray(scale.transform(np.array([float(loc)]))).ravel()[0])
            if np.isfinite(at) and lo - 1e-9 * span <= at <= hi + 1e-9 * span:
                labels += [t for t in (tick.label1, tick.label2) if _shown(t)]
    return labels


def _items(fig) -> list[tuple[str, object]]:
    """Every piece of text around the plots (not inside them), named for a message."""
    items = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        name = f"axes {i}" + (f" ({ax.get_label()})" if ax.get_label() and not ax.get_label().startswith("<") else "")
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            items += [(f"{name} {which} tick label {t.get_text()!r}", t) for t in _tick_labels(axis)]
            if _shown(axis.label):
                items.append((f"{name} {which}-axis label {axis.label.get_text()!r}", axis.label))
        for t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            if t is not None and _shown(t):
                items.append((f"{name} title {t.get_text()!r}", t))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            items.append((f"{name} legend", legend))
    extra = [t for t in (getattr(fig, "_suptitle", None), getattr(fig, "_supxlabel", None),
                         getattr(fig, "_supylabel", None)) if t is not None and t not in fig.texts]
    for t in list(fig.texts) + extra:  # a suptitle is in fig.texts too (matplotlib ≥ 3.x)
        if _shown(t):
            items.append((f"figure text {t.get_text()!r}", t))
    items += [("figure legend", lg) for lg in fig.legends if lg.get_visible()]
    return items


def problems(fig) -> list[str]:
    """Pairs of texts (or a legend and a text) whose boxes overlap by more than a pixel each way."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    items = _items(fig)
    if len(items) < 2:
        return []
    boxes = np.array([artist.get_window_extent(renderer).extents for _, artist in items])  # x0 y0 x1 y1
    w = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    h = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    hits = np.argwhere(np.triu((w > TOLERANCE_PX) & (h > TOLERANCE_PX), k=1))
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    where = f"figure {title!r}" if title else "figure"
    return [f"{where}: {items[i][0]} overlaps {items[j][0]}" for i, j in hits]


def install() -> None:
    """Check every figure this process renders (inline backend, savefig, explorers' redraws)."""
    from matplotlib.backend_bases import FigureCanvasBase

    original = FigureCanvasBase.print_figure
    if getattr(original, "_layout_checked", False):
        return

    running = {"cell": ""}
    try:
        from IPython import get_ipython

        get_ipython().events.register(
            "pre_run_cell", lambda info: running.update(cell=(info.raw_cell.strip().splitlines() or [""])[0][:60]))
    except (ImportError, AttributeError):  # not in IPython: no cell to name
        pass

    def where() -> str:
        return f"in the cell starting {running['cell']!r}: " if running["cell"] else ""

    def print_figure(self, *args, **kwargs):
        try:
            FOUND.extend(where() + p for p in problems(self.figure) if where() + p not in FOUND)
        except Exception as exc:  # a checker bug must show, not hide the figure
            FOUND.append(f"the layout check failed: {type(exc).__name__}: {exc}")
        return original(self, *args, **kwargs)

    print_figure._layout_checked = True
    FigureCanvasBase.print_figure = print_figure

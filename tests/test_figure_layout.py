"""The overlap check the notebook tests run on every rendered figure (``tests/figure_layout.py``)
finds what it is for, and passes a figure that is laid out well."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figure_layout import problems  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_a_laid_out_figure_with_a_colour_bar_and_legend_passes():
    fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    filled = ax.contourf(*np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 20)), np.random.rand(20, 20) * 120)
    fig.colorbar(filled, ax=ax, label="f(x)")
    ax.plot([0, 1], [0, 1], label="a path")
    ax.legend(loc="upper left")
    ax.set(title="a title", xlabel="x", ylabel="y")
    assert problems(fig) == []


def test_crowded_colour_bar_ticks_are_found():
    fig, ax = plt.subplots(figsize=(4, 2), layout="constrained")
    filled = ax.contourf(np.random.rand(10, 10) * 120, levels=np.linspace(0, 120, 61))
    cb = fig.colorbar(filled, ax=ax)
    cb.set_ticks(np.linspace(0, 120, 61))
    found = problems(fig)
    assert found and all("tick label" in p for p in found), found


def test_a_legend_over_a_title_and_a_suptitle_over_titles_are_found():
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    for ax in axes:
        ax.plot([0, 1], label="a long legend entry that reaches the title")
        ax.set_title("a title")
    axes[0].legend(loc="lower left", bbox_to_anchor=(0.0, 0.97))
    fig.suptitle("a suptitle", y=0.93)
    found = problems(fig)
    assert any("legend overlaps" in p and "title" in p for p in found), found
    assert any("figure text 'a suptitle'" in p for p in found), found


@pytest.mark.parametrize("kappa", [10, 50])
def test_the_contour_colour_bar_keeps_its_labels_apart(kappa):
    """03's first figure once printed "100" over "120": linear ticks on a colour bar drawn in √ space."""
    from nnopt_helpers import plots, surfaces

    fig = plots.plot_contour_paths(surfaces.quadratic_bowl(condition_number=kappa))
    assert problems(fig) == []
    assert len(fig.axes[-1].get_yticks()) >= 4  # still enough ticks to read the bar

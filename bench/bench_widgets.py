"""How long the explorers take to redraw after a slider move (what a learner waits for).

    python bench/bench_widgets.py [--moves 30]

Each explorer gets ``--moves`` slider moves (values drawn from a fixed generator); the time of a
move is ``Explorer.last_render_seconds``: recomputing, updating the artists, rendering and PNG
encoding, everything between the slider's new value and the new image. The machine's load
average (1 min) is recorded with the results: on a shared machine it explains a slow run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, summarize  # noqa: E402


def heavy_ball(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def _moves(explorer, settings, moves: int) -> list[float]:
    """Move one control per setting (name, value) until ``moves`` moves redrew; their redraw times.

    A value equal to the control's current one is no move (no redraw) and is skipped.
    """
    samples = []
    for name, value in settings:
        control = explorer.controls[name]
        if control.value == value:
            continue
        before = explorer.renders
        control.value = value
        assert explorer.renders == before + 1, "every move must redraw once"
        samples.append(explorer.last_render_seconds)
        if len(samples) == moves:
            return samples
    raise RuntimeError(f"only {len(samples)} of {moves} moves")


def bench_optimizer_explorer(rng, moves):
    from nnopt_helpers import surfaces
    from nnopt_helpers.nets import sgd
    from nnopt_helpers.widgets import optimizer_explorer

    ex = optimizer_explorer(surfaces.quadratic_bowl(20.0, angle=0.4), {"sgd": sgd, "heavy ball": heavy_ball},
                            x0=[-1.5, 1.2], num_steps=100)
    return _moves(ex, (("learning_rate", float(lr)) for lr in 10 ** rng.uniform(-3, -0.5, size=10 * moves)), moves)


def bench_basin_explorer(rng, moves):
    from nnopt_helpers import surfaces
    from nnopt_helpers.widgets import basin_explorer

    ex = basin_explorer(surfaces.himmelblau(), x0=[0.0, 0.0], num_steps=200, noise=0.1)

    def settings():  # the start's two sliders and the noise slider in turn
        for k in range(10 * moves):
            name = ("x1", "x2", "noise")[k % 3]
            value = rng.uniform(0.0, 0.5) if name == "noise" else rng.uniform(-4.5, 4.5)
            yield name, float(ex.controls[name].step * round(value / ex.controls[name].step))

    return _moves(ex, settings(), moves)


def bench_initialization_explorer(rng, moves):
    from nnopt_helpers import data
    from nnopt_helpers.widgets import initialization_explorer

    X, y, _, _ = data.load_digits_split(seed=0)
    ex = initialization_explorer(X=X[:200], y=y[:200], depth=10)
    labels = list(ex.controls["initializer"].options)
    for label in labels:  # draw every initializer's weights once (cached afterwards), not timed
        ex.controls["initializer"].value = label

    def settings():  # depth, gain and the initializer in turn
        for k in range(10 * moves):
            if k % 3 == 0:
                yield "depth", int(rng.integers(1, 21))
            elif k % 3 == 1:
                yield "gain", float(2 ** rng.uniform(-2, 2))
            else:
                yield "initializer", labels[k % len(labels)]

    return _moves(ex, settings(), moves)


def bench_batchnorm_explorer(rng, moves):
    from nnopt_helpers.widgets import batchnorm_explorer

    ex = batchnorm_explorer(batch_size=16, momentum=0.1, num_steps=200)
    sizes = list(ex.controls["batch_size"].options)

    def settings():  # batch size and momentum in turn
        for k in range(10 * moves):
            if k % 2 == 0:
                yield "batch_size", sizes[k // 2 % len(sizes)]
            else:
                yield "momentum", float(10 ** rng.uniform(-3, 0))

    return _moves(ex, settings(), moves)


def bench_minibatch_explorer(rng, moves):
    from autograder.references.training import noise_scale
    from nnopt_helpers.widgets import minibatch_explorer

    ex = minibatch_explorer(noise_scale, batch_size=4, learning_rate=0.3)
    sizes = list(ex.controls["batch_size"].options)

    def settings():  # batch size and learning rate in turn
        for k in range(10 * moves):
            if k % 2 == 0:
                yield "batch_size", sizes[k // 2 % len(sizes)]
            else:
                yield "learning_rate", float(10 ** rng.uniform(-3, 0))

    return _moves(ex, settings(), moves)


BENCHMARKS = {
    "optimizer_explorer": ("learning-rate slider (notebooks 01, 03, 04: 2 optimizers, 100 steps, contour plot)",
                           bench_optimizer_explorer),
    "basin_explorer": ("start x1, start x2 and noise sliders in turn (notebook 02: Himmelblau, plain and noisy "
                       "gradient descent, 200 steps, basins)", bench_basin_explorer),
    "initialization_explorer": ("depth (1-20), gain and initializer in turn (notebook 05: MLP of width 100 on "
                                "200 digits, forward and backward, histograms and gradient bars)",
                                bench_initialization_explorer),
    "batchnorm_explorer": ("batch size and momentum in turn (notebook 06: 200 training steps, running "
                           "statistics and train/eval gap)", bench_batchnorm_explorer),
    "minibatch_explorer": ("batch size and learning rate in turn (notebook 07: 60 steps of minibatch SGD and of "
                           "full-batch GD on a 2-D least-squares problem, paths and loss curves)",
                           bench_minibatch_explorer),
}


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", "--runs", dest="moves", type=int, default=30)
    args = parser.parse_args()
    results, what = {}, {}
    for name, (description, bench) in BENCHMARKS.items():
        samples = bench(np.random.default_rng(0), args.moves)
        results[name] = {**summarize(samples), "load_average_1min": round(os.getloadavg()[0], 2)}
        what[name] = description
    save("widgets", {"what": "redraw time after a slider move, per explorer (Explorer.last_render_seconds)",
                     "moves": what, "results": results})


if __name__ == "__main__":
    main()

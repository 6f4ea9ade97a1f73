"""How long the optimizer explorer takes to redraw after a slider move (what a learner waits for).

    python bench/bench_widgets.py [--moves 30]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from nnopt_helpers import surfaces
    from nnopt_helpers.nets import sgd
    from nnopt_helpers.widgets import optimizer_explorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", "--runs", dest="moves", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ex = optimizer_explorer(surfaces.quadratic_bowl(20.0, angle=0.4), {"sgd": sgd, "heavy ball": heavy_ball},
                            x0=[-1.5, 1.2], num_steps=100)
    samples = []
    for lr in 10 ** rng.uniform(-3, -0.5, size=args.moves):
        ex.controls["learning_rate"].value = float(lr)
        samples.append(ex.last_render_seconds)
    save("widgets", {"what": "optimizer_explorer redraw after a learning-rate slider move "
                             "(2 optimizers, 100 steps, contour plot)", "results": {"redraw": summarize(samples)}})


if __name__ == "__main__":
    main()

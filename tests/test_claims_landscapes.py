"""02_local_optima, section 6 (loss landscapes): every conclusion the notebook draws is an asserted experiment.

The experiment is rerun with the notebook's code path (``nnopt_helpers`` and the learner functions
``linear_interpolation_losses`` and ``filter_normalized_direction`` from the solution cells, as the
verifier runs them), at the notebook's settings and in robustness variants (other seeds for the
restarts and the directions, three times the training, all 1,347 training digits). The text's
claims and the numbers it quotes are the ones asserted here:

* from the initialization to a solution the loss falls all the way on [0, 1], and keeps falling
  past α = 1 (to α = 1.25), where the weights are larger and the network more confident (a higher
  mean probability for the class it predicts);
* the two restarts reach about the same training loss; between them the loss rises to a barrier in
  the middle (0.4 ≤ α ≤ 0.6) at least five times the larger end's loss ("about nine times" at the
  notebook's settings), below half the loss at initialization;
* A renumbered computes the same loss as A, and the segment between them has a barrier too;
* on the filter-normalized plane the grid's lowest point is A, the loss rises steadily from the
  centre along both axes and both diagonals, and the edge is more than five times higher than the
  centre ("more than ten times" at the notebook's settings).

The last test runs the section's code cells with untouched stubs: they print a note instead of failing.
"""

from __future__ import annotations

import contextlib
import io
import math

import nbformat
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from assignment_harness import ROOT, quiet_numpy, solution_namespace
from nnopt_helpers import data, nets

HIDDEN = 32


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def _landscape(seeds=(0, 1), n_train=500, num_epochs=30, direction_seed=0) -> dict:
    """The notebook's experiment (section 6) with these settings; the measured quantities."""
    with threadpool_limits(limits=1):  # as the notebook's cell does
        return _measure(seeds, n_train, num_epochs, direction_seed)


def _measure(seeds, n_train, num_epochs, direction_seed) -> dict:
    ns = solution_namespace("02_local_optima")
    interpolate, direction = ns["linear_interpolation_losses"], ns["filter_normalized_direction"]
    X, y, _, _ = data.load_digits_split()
    X, y = X[:n_train], y[:n_train]
    models, starts = [], []
    for seed in seeds:
        model = nets.MLP([64, HIDDEN, 10], rng=seed, init=nets.gaussian_init(math.sqrt(2 / 64)))
        starts.append(_flat(model.params.values()))
        nets.train(model, X, y, nets.sgd, {"learning_rate": 0.1}, num_epochs=num_epochs, batch_size=50, rng=seed,
                   record_every=10**6)
        models.append(model)
    loss_fn = nets.flat_loss_fn(models[0], X, y)
    theta_a, theta_b = (_flat(m.params.values()) for m in models)
    perm = np.random.default_rng(0).permutation(HIDDEN)
    renumbered = dict(models[0].params)
    renumbered.update(W1=renumbered["W1"][:, perm], b1=renumbered["b1"][perm], W2=renumbered["W2"][perm, :])
    theta_renumbered = _flat(renumbered.values())
    alphas = np.round(np.linspace(-0.25, 1.25, 31), 10)
    rng = np.random.default_rng(direction_seed)
    weights = list(models[0].params.values())
    delta, eta = _flat(direction(weights, rng)), _flat(direction(weights, rng))
    grid = np.linspace(-1.0, 1.0, 21)
    return {
        "alphas": alphas, "losses": [m.loss(X, y)[0] for m in models],
        "accuracies": [m.accuracy(X, y) for m in models],
        "init_to_A": interpolate(loss_fn, starts[0], theta_a, alphas),
        "init_to_B": interpolate(nets.flat_loss_fn(models[1], X, y), starts[1], theta_b, alphas),
        "A_to_B": interpolate(loss_fn, theta_a, theta_b, alphas),
        "A_to_renumbered": interpolate(loss_fn, theta_a, theta_renumbered, alphas),
        "renumbered_loss": loss_fn(theta_renumbered), "A_loss": loss_fn(theta_a),
        "norms": [float(np.linalg.norm(theta_a + t * (theta_a - starts[0]))) for t in (0.0, 0.25)],
        "confidence": [_confidence(models[0], theta_a + t * (theta_a - starts[0]), X) for t in (0.0, 0.25)],
        "Z": np.array([[loss_fn(theta_a + u * delta + v * eta) for u in grid] for v in grid]),
    }


def _confidence(model, theta, X) -> float:
    """The mean probability the network with parameters ``theta`` gives the class it predicts."""
    probe = nets.MLP(model.layer_sizes)
    ends = np.cumsum([v.size for v in model.params.values()])
    probe.params = {k: piece.reshape(v.shape) for (k, v), piece in zip(model.params.items(), np.split(theta, ends[:-1]))}
    scores = probe.scores(X)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    return float(np.mean(p.max(axis=1) / p.sum(axis=1)))


def _at(r, curve, alpha):
    return float(r[curve][r["alphas"] == alpha][0])


def _check_segments(r):
    """The claims every setting must satisfy; returns the A → B barrier ratio."""
    alphas, inside = r["alphas"], (r["alphas"] >= 0) & (r["alphas"] <= 1)
    assert max(r["losses"]) / min(r["losses"]) < 1.5, r["losses"]  # about the same training loss
    for curve in ("init_to_A", "init_to_B"):
        assert np.all(np.diff(r[curve][inside]) < 0), curve  # falls all the way on [0, 1]
        assert np.all(np.diff(r[curve][alphas >= 1]) < 0), curve  # and keeps falling past 1
    assert r["norms"][1] > r["norms"][0] and r["confidence"][1] > r["confidence"][0]  # larger, more confident
    ab = r["A_to_B"]
    ends = max(_at(r, "A_to_B", 0.0), _at(r, "A_to_B", 1.0))
    ratio = ab[inside].max() / ends
    assert ratio >= 5, ratio
    assert 0.4 <= alphas[inside][np.argmax(ab[inside])] <= 0.6
    assert ab[inside].max() < 0.5 * _at(r, "init_to_A", 0.0)  # far below the loss at initialization
    assert r["renumbered_loss"] == pytest.approx(r["A_loss"], rel=1e-12, abs=1e-12)  # the same function
    assert r["A_to_renumbered"][inside].max() >= 5 * r["A_loss"]  # and still a barrier
    return ratio


def _check_plane(r):
    """A is the lowest grid point, the loss rises along the axes and diagonals; returns edge / centre."""
    Z, c = r["Z"], 10
    assert np.argmin(Z) == c * Z.shape[1] + c
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                ray = [Z[c + k * di, c + k * dj] for k in range(c + 1)]
                assert np.all(np.diff(ray) > 0), (di, dj)
    edge = np.concatenate([Z[0], Z[-1], Z[:, 0], Z[:, -1]])
    assert edge.min() > 5 * Z[c, c]
    return edge.min() / Z[c, c]


def test_landscape_at_the_notebook_settings():
    """Section 6 as the notebook runs it: the conclusions, "about nine times" the ends' loss for the
    barrier between the restarts, and an edge of the plane "more than ten times" A's loss."""
    with quiet_numpy():
        r = _landscape()
    assert min(r["accuracies"]) >= 0.99
    assert 7 <= _check_segments(r) <= 11
    assert _check_plane(r) > 10


@pytest.mark.parametrize(("seeds", "direction_seed"), [((2, 3), 1), ((4, 5), 2), ((8, 9), 5)])
def test_landscape_other_seeds(seeds, direction_seed):
    """Robustness: other restarts and other directions."""
    with quiet_numpy():
        r = _landscape(seeds=seeds, direction_seed=direction_seed)
    _check_segments(r)
    _check_plane(r)


@pytest.mark.parametrize(("n_train", "num_epochs"), [(500, 90), (1347, 30)], ids=["3x-training", "all-digits"])
def test_landscape_longer_training_and_more_data(n_train, num_epochs):
    """Robustness: three times the training, or every training digit."""
    with quiet_numpy():
        r = _landscape(n_train=n_train, num_epochs=num_epochs, direction_seed=3)
    _check_segments(r)
    _check_plane(r)


def test_landscape_section_runs_with_untouched_stubs():
    """The section's code cells print a note (no error) while exercises 6 and 7 still raise NotImplementedError."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = nbformat.read(ROOT / "solutions" / "02_local_optima" / "02_local_optima.ipynb", as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "md_landscapes")
    end = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## 7."))
    code = [c.source for c in cells[start:end] if c.cell_type == "code" and not c.metadata.get("nbgrader")]
    assert len(code) == 4  # the set-up, the prediction, the segments and the plane
    from threadpoolctl import threadpool_info

    before = [p["num_threads"] for p in threadpool_info()]

    def stub(*args, **kwargs):
        raise NotImplementedError

    from nnopt_helpers import plots

    namespace = {"np": np, "math": math, "plt": plt, "data": data, "nets": nets, "plots": plots,
                 "linear_interpolation_losses": stub, "filter_normalized_direction": stub}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), quiet_numpy():
        for source in code:
            exec(compile(source, "<section 6>", "exec"), namespace)
    plt.close("all")
    namespace["blas_threads"].restore_original_limits()  # the notebook's cell limits BLAS for the whole kernel
    assert [p["num_threads"] for p in threadpool_info()] == before
    printed = out.getvalue()
    assert "linear_interpolation_losses is not implemented yet" in printed
    assert "filter_normalized_direction is not implemented yet" in printed

"""Every conclusion notebook 07 draws is an asserted experiment.

Each test runs the notebook's own experiment cells (taken from the source notebook, so the code path
is the notebook's) with the solution functions, as the verifier defines them, at the notebook's
settings, and asserts what the text says, numbers included; a robustness variant reruns the same
functions with other seeds or a longer budget and asserts the direction the text states (those are
marked ``slow``). The recipe's and the schedules' earlier pieces (notebooks 04–06) are read by
``nnopt_helpers.pieces`` from ``solutions/``, i.e. the solution notebooks of 04–06, which
``tests/test_assignments.py`` holds equal to the grader's references; the references themselves
are per-element loops, far too slow to train an 8-layer network with.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

import assignment_harness as h

matplotlib.use("Agg")

AID = "07_training_in_practice"
HERE = h.ROOT / "solutions" / AID


def _cell(marker: str) -> str:
    """The source of the notebook's code cell that contains ``marker`` (exactly one)."""
    found = [c.source for c in h.source_notebook(AID).cells if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, (marker, len(found))
    return found[0]


@pytest.fixture(scope="module")
def base():
    """The notebook's import cell run after the solution cells (the learner's functions)."""
    ns = h.solution_namespace(AID)
    with h.quiet_numpy():
        exec(_cell("blas_threads = threadpool_limits"), ns)
    return ns


def _run(base, *markers, chdir=None, monkeypatch=None) -> dict:
    ns = dict(base)
    if chdir is not None:
        monkeypatch.chdir(chdir)
    with h.quiet_numpy():
        for marker in markers:
            exec(_cell(marker), ns)
    import matplotlib.pyplot as plt

    plt.close("all")
    return ns


# ---------------------------------------------------------------------------------------------
# 1 · The noise scale grows during training


def test_noise_scale_starts_near_45_and_grows_twentyfold(base):
    """'starts around 40–50 and grows about twentyfold in 200 steps (to roughly 800–1300)'."""
    scales = _run(base, "def noise_scale_during_training")["scales"]
    assert scales.shape == (3, 5)
    assert np.all((scales[:, 0] > 35) & (scales[:, 0] < 55))
    assert np.all((scales[:, -1] > 800) & (scales[:, -1] < 1300))
    assert np.all((scales[:, -1] / scales[:, 0] > 20) & (scales[:, -1] / scales[:, 0] < 35))  # "20- to 35-fold"


@pytest.mark.slow
def test_noise_scale_grows_for_other_seeds(base):
    """Robustness: seeds 3–7, the noise scale at step 200 is more than 5 times that at step 0, and it grows
    from step 25 to step 200."""
    ns = _run(base, "def noise_scale_during_training")
    for seed in range(3, 8):
        scales = ns["noise_scale_during_training"](seed)
        assert scales[-1] > 5 * scales[0] and scales[-1] > scales[1], (seed, scales)


# ---------------------------------------------------------------------------------------------
# 1 · The linear scaling rule holds up to B = 256 and breaks at 512, warm-up or not


def test_linear_scaling_holds_to_256_and_breaks_at_512(base):
    """'From B = 8 to B = 256 the training loss ... is the same to within 5%'; 'At B = 512 the loss blows up,
    and the warm-up does not rescue it'."""
    scaling = _run(base, "def train_with_batch_size")["scaling"]
    plain = {b: scaling[b][0] for b in scaling}
    small = [plain[b] for b in (8, 32, 128, 256)]
    assert max(small) / min(small) < 1.05
    assert plain[512] > 10 * plain[8] and scaling[512][1] > 10 * plain[8]


@pytest.mark.slow
def test_linear_scaling_over_five_seeds(base):
    """'over five seeds, the constant rate fails in at least four and the warm-up in at least three';
    B = 8 … 256 within 15% of each other for every seed."""
    ns = _run(base, "def train_with_batch_size")
    fails_plain = fails_warm = 0
    for seed in range(5):
        losses = {b: ns["train_with_batch_size"](b, 0.05 * b / 8, seed=seed)[0] for b in (8, 32, 128, 256, 512)}
        small = [losses[b] for b in (8, 32, 128, 256)]
        assert max(small) / min(small) < 1.15, (seed, losses)
        warm = ns["train_with_batch_size"](512, 3.2, warmup_fraction=0.25, seed=seed)[0]
        fails_plain += not losses[512] < 3 * losses[8]
        fails_warm += not warm < 3 * losses[8]
    assert fails_plain >= 4 and fails_warm >= 3, (fails_plain, fails_warm)


# ---------------------------------------------------------------------------------------------
# 2 · The cliff


def _cliff_numbers(ns, seeds):
    plain = np.array([ns["noisy_descent"](s)[:, 0].max() - 2.0 for s in seeds])
    clipped_paths = [ns["noisy_descent"](s, 1.0) for s in seeds]
    clipped = np.array([p[:, 0].max() - 2.0 for p in clipped_paths])
    final = np.array([np.linalg.norm(p[-1] - [2.0, 0.0]) for p in clipped_paths])
    return plain, clipped, final


def test_cliff_throws_plain_sgd_and_clipping_stops_it(base):
    """'in 8 of the 20 runs it is sent more than 5 units past the minimum, up to about 48 units in the run
    drawn'; 'no clipped run overshoots the minimum by more than 0.35, and every one of them ends within 0.5'."""
    ns = _run(base, "def cliff_loss")
    assert int(np.sum(np.array(ns["overshoot"]["plain SGD"]) > 5)) == 8
    plain, clipped, final = _cliff_numbers(ns, range(20))
    assert np.sum(plain > 5) == 8 and plain[9] == pytest.approx(47.9, abs=0.1) and plain.max() == plain[9]
    assert clipped.max() <= 0.35 and np.all(final < 0.5)
    # 'on the cliff face the gradient reaches about 100, while on the slopes within 4 units of it (|y| <= 1.5) it
    # stays below 2' (so there clipping at 1 shortens a step by less than a factor of 2)
    xs, ys = np.meshgrid(np.linspace(-4, 4, 801), np.linspace(-1.5, 1.5, 31))
    grads = np.array([np.linalg.norm(ns["cliff_grad"](np.array([x, y]))) for x, y in zip(xs.ravel(), ys.ravel())])
    off_face = np.abs(xs.ravel()) > 0.3
    assert grads.max() == pytest.approx(100, rel=0.05) and grads[off_face].max() < 2


@pytest.mark.slow
def test_cliff_over_200_seeds(base):
    """Robustness: over 200 other seeds plain SGD is thrown more than 5 units in 20–60% of the runs; clipped
    runs never overshoot by more than 0.5 and at least 95% end within 0.5 of the minimum."""
    ns = _run(base, "def cliff_loss")
    plain, clipped, final = _cliff_numbers(ns, range(20, 220))
    assert 0.2 <= np.mean(plain > 5) <= 0.6
    assert clipped.max() <= 0.5 and np.mean(final < 0.5) >= 0.95


# ---------------------------------------------------------------------------------------------
# 3 · The range test and the schedules


def test_range_test_on_the_mlp(base):
    """'barely moves below 0.01, falls fastest around 0.4, keeps falling up to about 6.5 ... ends the test
    after 47 of the 60 rates'; 'one tenth of it, about 0.65; the steepest drop, at about 0.42, is within a
    factor of 2'."""
    ns = _run(base, "lr_range_test(probe_loss")
    lrs, losses = ns["lrs"], ns["losses"]
    assert len(lrs) == 47
    assert lrs[int(np.argmin(losses))] == pytest.approx(6.51, rel=0.01)
    assert ns["suggested"] == pytest.approx(0.651, rel=0.01) and lrs[ns["steepest"]] == pytest.approx(0.424, rel=0.01)
    assert np.all(losses[lrs <= 0.01] > 0.98 * losses[0])
    assert 0.5 <= ns["suggested"] / lrs[ns["steepest"]] <= 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_range_test_heuristics_agree_for_other_networks(base, seed):
    """Robustness: other initial weights; the two suggestions stay within a factor of 2 and the test stops early."""
    source = _cell("lr_range_test(probe_loss").replace('activation="relu", rng=0', f'activation="relu", rng={seed}')
    ns = dict(base)
    with h.quiet_numpy():
        exec(source.split("fig, ax = plt.subplots")[0], ns)
    assert len(ns["lrs"]) < 60 and 0.5 <= ns["suggested"] / ns["lrs"][ns["steepest"]] <= 2


def test_schedules_at_the_suggested_rate_and_above(base, monkeypatch):
    """'At the suggested rate, the constant rate ... has the lowest training loss and ties for the best test
    accuracy (about 0.976)'; 'at 2.5 times the suggestion the constant rate blows up (a training loss in the
    hundreds of thousands), step decay recovers only partly, and exponential decay trains best (about 0.976
    again)'; 'With your cosine schedule ... also get through the higher rate'."""
    ns = _run(base, "lr_range_test(probe_loss", "def schedules(", chdir=HERE, monkeypatch=monkeypatch)
    assert "cosine_learning_rate" in ns["found"]
    res, peak = ns["schedule_results"], ns["suggested"]
    names = list(ns["schedules"](1.0, 10))
    low = {n: res[peak, n] for n in names}
    high = {n: res[2.5 * peak, n] for n in names}
    constant, step, expo, cosine = names
    assert low[constant][0] == min(v[0] for v in low.values())
    best = max(v[1] for v in low.values())
    assert low[constant][1] == best and best == pytest.approx(0.976, abs=0.003)
    assert 1e5 < high[constant][0] < 1e6
    assert high[expo][0] == min(v[0] for v in high.values() if not math.isnan(v[0]) and v is not high[cosine]) \
        and high[expo][1] == pytest.approx(0.976, abs=0.003)
    assert high[expo][1] > high[step][1] > high[constant][1] and high[step][0] > 10 * high[expo][0]
    assert high[cosine][1] > 0.9 and high[cosine][0] < 0.1


@pytest.mark.slow
def test_schedules_over_other_seeds(base, monkeypatch):
    """Robustness: networks and shuffles of seeds 1–4, at the same two peaks: the constant rate has the lowest
    training loss at the suggested peak; at 2.5 times it, its training loss is more than 10 times the
    exponential decay's, and the exponential decay and the cosine reach a better test accuracy than it."""
    ns = _run(base, "lr_range_test(probe_loss", "def schedules(", chdir=HERE, monkeypatch=monkeypatch)
    nets = ns["nets"]
    for seed in range(1, 5):
        for peak in (ns["suggested"], 2.5 * ns["suggested"]):
            out = {}
            for name, schedule in ns["schedules"](peak, ns["total"]).items():
                model = nets.MLP([64, 64, 10], activation="relu", rng=seed, weight_scale=0.1)
                run = nets.train_steps(model, ns["X_train"], ns["y_train"], nets.sgd, {}, num_steps=ns["total"],
                                       batch_size=32, rng=seed + 1, lr_schedule=schedule, X_val=ns["X_test"],
                                       y_val=ns["y_test"])
                loss = math.inf if run.diverged else model.loss(ns["X_train"], ns["y_train"])[0]
                out[name] = (loss, run.val_acc if not run.diverged else 0.0)
            constant, _, expo, cosine = list(out)
            if peak == ns["suggested"]:
                assert out[constant][0] == min(v[0] for v in out.values()), (seed, out)
            else:
                assert out[constant][0] > 10 * out[expo][0], (seed, out)
                assert out[expo][1] > out[constant][1] and out[cosine][1] > out[constant][1], (seed, out)


# ---------------------------------------------------------------------------------------------
# 4 · The recipe


def _recipe(ns, seed, num_steps=300):
    rows = {}
    clip = ns["usable_clip"]()
    for label, settings in ns["recipe_steps"](ns["found"], clip):
        assert not isinstance(settings, str), (label, settings)
        rows[label.split(" (")[0].split(",")[0]] = ns["train_recipe_step"](settings, ns["found"], clip, seed=seed,
                                                                            num_steps=num_steps)
    return rows


@pytest.fixture(scope="module")
def recipe_ns(base):
    ns = dict(base)
    import os

    old = os.getcwd()
    os.chdir(HERE)
    try:
        with h.quiet_numpy():
            exec(_cell("lr_range_test(probe_loss"), ns)  # the suggested rate, which the schedules' cell uses
            exec(_cell("def schedules("), ns)  # loads the pieces, then compares the schedules
            exec(_cell("def recipe_steps("), ns)
    finally:
        os.chdir(old)
    return ns


def test_recipe_at_the_notebooks_settings(recipe_ns):
    """Seed 0: 'stays at chance, test loss ln 10'; He 'about 0.95'; batch norm 'about 0.51' with the largest
    gradient norm 'from about 11 to about 2·10⁴'; clipping 'about 0.95 again'; Adam and the schedule 'add about
    0.02 together (0.971), and halve the test loss of He initialization alone (0.12 against 0.28)'."""
    rows = _recipe(recipe_ns, 0)
    plain, he, bn, clip, adam, cosine = rows.values()
    assert plain[0] < 0.15 and plain[1] == pytest.approx(math.log(10), abs=0.01)
    assert he[0] == pytest.approx(0.95, abs=0.01) and he[2] == pytest.approx(11, rel=0.1)
    assert bn[0] == pytest.approx(0.51, abs=0.02) and bn[2] == pytest.approx(2e4, rel=0.2)
    assert 8 <= bn[2] / he[2] and bn[2] / he[2] > 1000  # the seed with the largest factor ('over 1000')
    assert clip[0] == pytest.approx(0.95, abs=0.01)
    assert cosine[0] == pytest.approx(0.971, abs=0.003) and cosine[0] - clip[0] == pytest.approx(0.02, abs=0.01)
    assert cosine[1] == pytest.approx(0.12, abs=0.01) and he[1] == pytest.approx(0.28, abs=0.01)
    assert cosine[1] < he[1] / 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 8))
def test_recipe_over_other_seeds(recipe_ns, seed):
    """'three things held in all eight seeds we checked: the plain network stays at chance; adding batch norm to
    plain SGD lowers the test accuracy while its largest gradient grows (by a factor between about 8 and over
    1000); and the full recipe ends with a better test accuracy and a lower test loss than He initialization
    alone' (seed 1: 'batch norm costs only 0.01')."""
    rows = _recipe(recipe_ns, seed)
    plain, he, bn, clip, adam, cosine = rows.values()
    assert plain[0] < 0.15 and bn[0] < he[0] and bn[2] > 5 * he[2]
    assert cosine[0] > he[0] and cosine[1] < he[1]
    if seed == 1:
        assert he[0] - bn[0] == pytest.approx(0.01, abs=0.006)


@pytest.mark.slow
def test_recipe_with_a_longer_budget(recipe_ns):
    """Robustness: 600 steps instead of 300 (seed 0): the same three things hold."""
    rows = _recipe(recipe_ns, 0, num_steps=600)
    plain, he, bn, clip, adam, cosine = rows.values()
    assert plain[0] < 0.15 and bn[0] < he[0] and bn[2] > 5 * he[2]
    assert cosine[0] > he[0] and cosine[1] < he[1]


def test_recipe_skips_what_is_missing(base, tmp_path, monkeypatch):
    """Without the earlier notebooks next to it (the grading sandbox), every step but the plain one and the
    clipping is skipped, with the reason, and the cell still runs."""
    (tmp_path / AID).mkdir()
    ns = _run(base, "lr_range_test(probe_loss", "def schedules(", "def recipe_steps(", chdir=tmp_path / AID,
              monkeypatch=monkeypatch)
    assert ns["found"] == {} and len(ns["missing"]) == 5
    steps = ns["recipe_steps"]({}, ns["usable_clip"]())
    assert [isinstance(s, str) for _, s in steps] == [False, True, True, False, True, True]
    assert all("not available" in s for _, s in steps if isinstance(s, str))


# ---------------------------------------------------------------------------------------------
# 5 · The explorer's "things to try"


def _explore(batch_size, learning_rate, seed=0):
    from nnopt_helpers import widgets

    ex = widgets.minibatch_explorer(None, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    d = ex.data
    tail = d["sgd_loss"][len(d["sgd_loss"]) // 2 - 1:]  # the steps of the second half, as the status line says
    minimum = float(np.min(d["gd_loss"]))
    return ex, float(np.mean(tail)) - minimum, d


def test_explorer_jitter_shrinks_with_the_batch_and_with_the_rate():
    """'over the second half of the run the loss stays about 0.08 above the minimum ... about 0.03 at B = 2, about
    0.01 at B = 4'; 'B = 1, η = 0.15: the excess comes out about as small as at B = 2, but ... a higher loss after
    20 steps'."""
    ex1, e1, d1 = _explore(1, 0.3)
    _, e2, d2 = _explore(2, 0.3)
    _, e4, _ = _explore(4, 0.3)
    _, e_half, d_half = _explore(1, 0.15)
    assert e1 == pytest.approx(0.08, abs=0.01) and e2 == pytest.approx(0.03, abs=0.007) and e4 == pytest.approx(0.01, abs=0.004)
    assert e_half < 1.2 * e2 and d_half["sgd_loss"][20] > d1["sgd_loss"][20]
    assert "above the minimum" in ex1.status.value


@pytest.mark.parametrize("seed", [1, 2])
def test_explorer_jitter_for_other_data(seed):
    """Robustness: other data and batches: the excess falls from B = 1 to 4 to 16 to 64, and halving η at B = 1
    does about as well as doubling B (within 20%), more slowly."""
    excess = [_explore(b, 0.3, seed)[1] for b in (1, 4, 16, 64)]
    assert excess == sorted(excess, reverse=True), excess
    _, e2, _ = _explore(2, 0.3, seed)
    _, e_half, d_half = _explore(1, 0.15, seed)
    _, _, d1 = _explore(1, 0.3, seed)
    assert e_half < 1.2 * e2 and d_half["sgd_loss"][20] > d1["sgd_loss"][20]


def test_explorer_full_batch_above_two_over_lambda_max_diverges_like_gd():
    """'The whole data set as the batch (B = 256) and a rate above 2/λmax ≈ 1.35: minibatch SGD and full-batch GD
    are the same run, and both diverge'; just below it both converge."""
    from nnopt_helpers import widgets

    X, _, _ = widgets._least_squares_problem(256, 0)
    limit = 2 / np.linalg.eigvalsh(X.T @ X / 256)[-1]
    assert limit == pytest.approx(1.35, abs=0.01)
    for lr, diverges in ((1.05 * limit, True), (0.95 * limit, False)):
        _, _, d = _explore(256, lr)
        np.testing.assert_allclose(d["sgd"], d["gd"], rtol=1e-9, atol=1e-9)
        assert bool(d["sgd_loss"][-1] > d["sgd_loss"][0]) == diverges

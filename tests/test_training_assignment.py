"""07_training_in_practice: the cases cover what the hidden tests promise, the references agree with
their definitions (McCandlish et al.'s unbiased estimators, ``torch.nn.utils.clip_grad_norm_``'s
scaling, fastai's range test), the notebook's claims about the estimators hold, the ``function_inf``
driver and the ``flat_arrays`` view behave, the visible checks name the classic mistakes, and the
sandboxed verifier gives the solution full marks (the range test through the oracle process).

The checks every assignment shares (the solution passes, every mutant fails, the expected data is
up to date, ...) are in ``tests/test_assignments.py``, with this assignment's special cases in
``assignment_harness.SPECS["07_training_in_practice"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment_harness as harness
from autograder.assignments.training import ASSIGNMENT, clip_cases, noise_cases, range_cases
from autograder.drivers import DRIVERS, INPUTS, surface_from_spec
from autograder.mutants import training as mutants
from autograder.references import training as ref
from nnopt_helpers import checks, nets
from nnopt_helpers.checks import CheckFailed, load_expected

AID = "07_training_in_practice"


@pytest.fixture(scope="module")
def solutions() -> dict:
    return harness.solution_functions(AID)


# ---------------------------------------------------------------------------------------------
# The cases cover what the hidden tests promise


def test_noise_cases_cover_sizes_and_the_edge_cases():
    cases = noise_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    shapes = [c["args"][0].shape for c in cases]
    assert any(b == 2 for b, _ in shapes) and any(p == 1 for _, p in shapes)
    assert any(b < p for b, p in shapes) and any(b > p for b, p in shapes)
    results = [ref.noise_scale_case(c)["result"] for c in cases]
    assert results.count("inf") >= 2 and 0.0 in results
    assert all(r == "inf" or (isinstance(r, float) and r >= 0) for r in results)


def test_clip_cases_cover_clipped_unchanged_tiny_zero_and_keyword():
    cases = clip_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    totals, coefs = [], []
    for c in cases:
        grads = c["args"][0]
        max_norm = c["args"][1] if len(c["args"]) > 1 else c["kwargs"]["max_norm"]
        total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
        totals.append(total)
        coefs.append(min(1.0, max_norm / (total + 1e-6)))
    assert min(coefs) < 0.5 and 1.0 in coefs
    assert any(0 < t < 1e-3 and c < 1 for t, c in zip(totals, coefs))  # the 1e-6 matters
    # a total below max_norm and yet clipped, by the 1e-6 alone
    assert any(c < 1 and t < (cs["args"][1] if len(cs["args"]) > 1 else cs["kwargs"]["max_norm"])
               for t, c, cs in zip(totals, coefs, cases))
    assert 0.0 in totals and any("max_norm" in c["kwargs"] for c in cases)
    assert any(g.shape == () for c in cases for g in c["args"][0])


def test_range_cases_stop_early_and_run_to_the_end_on_non_negative_losses():
    cases = range_cases(np.random.default_rng(ASSIGNMENT.kernel_seed))
    lengths = []
    for c in cases:
        surface = surface_from_spec(c["surface"])
        assert float(surface.value(c["args"][2])) >= 0
        lrs, _ = ref.range_test_case(c)["result"]
        lengths.append((len(lrs), c["args"][5]))
    assert any(n < total for n, total in lengths) and any(n == total for n, total in lengths)
    assert any(total == 2 for _, total in lengths)
    assert any("diverge_factor" in c["kwargs"] for c in cases)


# ---------------------------------------------------------------------------------------------
# The references agree with their definitions


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_noise_scale_reference_is_the_centred_form(B, P, seed):
    """McCandlish et al.'s two-batch-size estimators (B_small = 1, B_big = B) equal the centred forms of the
    notebook: the sample variance (ddof=1) and |mean|² minus the estimated trace over B."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal(P) + rng.standard_normal((B, P)) * rng.uniform(0.1, 3.0)
    trace = float(np.sum(np.var(G, axis=0, ddof=1)))
    mean = G.mean(axis=0)
    g2 = float(mean @ mean) - trace / B
    expected = trace / g2 if g2 > 0 else math.inf
    assert ref.noise_scale(G) == pytest.approx(expected, rel=1e-9) or (expected == ref.noise_scale(G) == math.inf)


def test_noise_scale_estimators_are_unbiased_and_the_plug_in_is_not():
    """The notebook's reason for the bias correction, by simulation: over many batches of B = 4 gradients
    with a known mean G and covariance Σ, the corrected |G|² and the ddof=1 trace average to the truth
    (within 4 standard errors), the plug-in |ḡ|² to |G|² + tr(Σ)/B."""
    rng = np.random.default_rng(0)
    B, P, reps = 4, 3, 40_000
    G = np.array([1.0, -0.5, 0.25])
    scales = np.array([1.0, 2.0, 0.5])
    batches = G + scales * rng.standard_normal((reps, B, P))
    mean = batches.mean(axis=1)
    trace = np.sum(np.var(batches, axis=1, ddof=1), axis=1)
    plug_in = np.sum(mean**2, axis=1)
    corrected = plug_in - trace / B
    true_g2, true_trace = float(G @ G), float(np.sum(scales**2))

    def close(values, target):
        return abs(values.mean() - target) < 4 * values.std() / math.sqrt(reps)

    assert close(trace, true_trace) and close(corrected, true_g2)
    assert close(plug_in, true_g2 + true_trace / B) and not close(plug_in, true_g2)


def test_the_plug_in_estimate_cannot_see_noise_scales_above_the_batch_size():
    """The notebook's claim: with the plain |ḡ|² the estimate targets tr(Σ)/(|G|² + tr(Σ)/B), which is below B
    whatever the truth. Batches of B = 8 from a problem whose true B_simple is 200: the plug-in estimates sit
    around 8 (the ratio of their averaged parts, what they estimate, below 8), the corrected parts around 200."""
    rng = np.random.default_rng(1)
    B, P, reps = 8, 5, 4000
    G = np.full(P, 0.1)  # |G|² = 0.05
    sigma = math.sqrt(200 * float(G @ G) / P)  # tr(Σ) = 10: B_simple = 200
    batches = G + sigma * rng.standard_normal((reps, B, P))
    plug_in = np.array([mutants.gns_plug_in_g2(g) for g in batches])
    corrected = np.array([ref.noise_scale(g) for g in batches])
    assert np.median(plug_in) < 1.5 * B
    trace = np.mean([np.sum(np.var(g, axis=0, ddof=1)) for g in batches])
    assert trace / np.mean([g.mean(axis=0) @ g.mean(axis=0) for g in batches]) < B
    # the corrected parts target the truth: their averaged ratio is near 200 (one batch's ratio is very noisy)
    g2 = np.mean([g.mean(axis=0) @ g.mean(axis=0) - np.sum(np.var(g, axis=0, ddof=1)) / B for g in batches])
    assert trace / g2 == pytest.approx(200, rel=0.25)
    assert np.sum(np.isinf(corrected)) > 0  # and a single batch often cannot tell (its |Ĝ|² estimate <= 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=4),
       st.floats(1e-6, 1e3), st.floats(1e-3, 1e3), st.integers(0, 2**31 - 1))
def test_clip_reference_is_pytorchs_scaling(shapes, scale, max_norm, seed):
    """torch/nn/utils/clip_grad.py: total_norm over all gradients together; clip_coef = max_norm / (total_norm
    + 1e-6), clamped at 1; every gradient times clip_coef_clamped. Written here from the whole vector."""
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal((a, b) if a else (b,)) for a, b in shapes]
    flat = np.concatenate([g.ravel() for g in grads])
    total = float(np.linalg.norm(flat))
    clipped, got_total = ref.clip_by_global_norm(grads, max_norm)
    assert got_total == pytest.approx(total, rel=1e-12)
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(c, g * coef, rtol=1e-12)
    assert np.linalg.norm(np.concatenate([c.ravel() for c in clipped])) <= max_norm * (1 + 1e-12) or coef == 1.0


def test_range_reference_rates_losses_and_stop(solutions):
    """Rates from lr_min to lr_max with a constant ratio, the first loss at theta0, the stop kept, theta0 intact."""
    bowl = surface_from_spec({"name": "quadratic_bowl", "kwargs": {"condition_number": 10.0}})
    theta0 = np.array([1.0, -1.0])
    lrs, losses = ref.range_test(bowl.value, bowl.grad, theta0, 1e-3, 1.0, 12, diverge_factor=1e9)
    np.testing.assert_allclose(lrs, np.geomspace(1e-3, 1.0, 12), rtol=1e-12)
    assert losses[0] == bowl.value(theta0)
    lrs, losses = ref.range_test(bowl.value, bowl.grad, theta0, 1e-3, 10.0, 30)
    assert len(lrs) < 30 and losses[-1] > 4 * losses[:-1].min() and np.all(losses[:-1] <= 4 * np.minimum.accumulate(losses[:-1]))
    mine = solutions["lr_range_test"](bowl.value, bowl.grad, theta0.copy(), 1e-3, 10.0, 30)
    np.testing.assert_allclose(mine[0], lrs, rtol=1e-12)
    np.testing.assert_allclose(mine[1], losses, rtol=1e-12)
    # a non-finite loss ends the test and is kept
    lrs, losses = ref.range_test(lambda x: math.inf if x[0] > 1 else 1.0, lambda x: -np.ones(1), np.zeros(1), 1.0,
                                 10.0, 5)
    assert len(losses) == 3 and losses[-1] == math.inf  # x = 0, 1 (not > 1), then 1 + 10**0.25 > 1


# ---------------------------------------------------------------------------------------------
# The driver and the view of this assignment


def test_function_inf_driver_labels_non_finite_results_only():
    assert INPUTS["function_inf"] == ("args", "kwargs")
    run = DRIVERS["function_inf"]
    assert run(lambda G: math.inf, {"args": [np.ones((2, 2))]})["result"] == "inf"
    assert run(lambda G: -math.inf, {"args": [np.ones((2, 2))]})["result"] == "-inf"
    assert run(lambda G: float("nan"), {"args": [np.ones((2, 2))]})["result"] == "nan"
    assert run(lambda G: np.float64(np.inf), {"args": [np.ones((2, 2))]})["result"] == "inf"
    assert run(lambda G: 2.5, {"args": [np.ones((2, 2))]})["result"] == 2.5
    out = run(lambda G: G.fill(0.0), {"args": [np.ones((2, 2))]})
    assert out["mutated"] == ["argument 1"]
    assert "error" in run(lambda G: 1 / 0, {"args": [np.ones(1)]})


def test_flat_arrays_view_explains_the_returned_list():
    entry = load_expected(AID)["clip_grad_norm"]
    grads = entry["case"]["args"][0]

    def view(result):
        raw = {"result": result, "mutated": []}
        return checks.flat_arrays_view(raw, entry["case"], ["clipped", "total_norm"], "clip_grad_norm")

    out = view([[g.copy() for g in grads], 1.0])
    assert out["clipped"].shape == (sum(g.size for g in grads),) and out["total_norm"] == 1.0
    with pytest.raises(CheckFailed, match="list of 3 arrays"):
        view([[g for g in grads[:2]], 1.0])
    with pytest.raises(CheckFailed, match="shape of input 0"):
        view([[grads[0].ravel(), *grads[1:]], 1.0])
    with pytest.raises(CheckFailed, match="float64"):
        view([[g.astype(np.float32) for g in grads], 1.0])
    with pytest.raises(CheckFailed, match="should return 2 values"):
        view(grads)


def test_expected_data_names_the_classic_mistakes():
    names = {check: {m["name"] for m in entry.get("mistakes", [])} for check, entry in load_expected(AID).items()}
    assert {"ddof_0", "plug_in_g2", "norm_not_squared", "wrong_axis", "sum_of_covariance"} <= names["gradient_noise_scale"]
    assert "no_inf" in names["gradient_noise_scale_no_signal"]
    assert {"per_array_norm", "eps_missing", "norm_after_clipping", "clip_by_value"} <= names["clip_grad_norm"]
    assert "no_cap" in names["clip_grad_norm_small"]
    assert {"linear_spacing", "endpoint_off_by_one", "loss_after_step", "no_early_stop",
            "compares_with_first"} <= names["lr_range_test"]
    assert "ignores_diverge_factor" in names["lr_range_test_factor"]


def test_per_example_gradients_average_to_the_batch_gradient():
    X, y, _, _ = nets_data()
    model = nets.MLP([64, 16, 10], activation="tanh", rng=3, weight_scale=0.3)
    G = nets.per_example_gradients(model, X[:40], y[:40])
    _, grads = model.loss(X[:40], y[:40])
    assert G.shape == (40, sum(v.size for v in model.params.values()))
    np.testing.assert_allclose(G.mean(axis=0), nets.flatten_params(grads), rtol=1e-10, atol=1e-14)
    one = nets.per_example_gradients(model, X[5:6], y[5:6])[0]
    np.testing.assert_allclose(G[5], one, rtol=1e-10, atol=1e-14)
    theta = nets.flatten_params(model.params)
    back = nets.unflatten_params(theta, model.params)
    assert all(np.array_equal(back[k], model.params[k]) for k in model.params)


def nets_data():
    from nnopt_helpers import data

    return data.load_digits_split()


# ---------------------------------------------------------------------------------------------
# The verifier (sandboxed, out of the kernel; the range test's surfaces in the oracle process)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return harness.sandbox_or_skip(tmp_path_factory.mktemp("training-verifier") / "lib")


def test_verifier_gives_the_solution_full_marks_and_stubs_zero(sandbox, tmp_path):
    from autograder.sandbox import Limits
    from autograder.verifier import verify

    cells = [c.source for c in harness.solution_cells(AID)]
    v = verify(ASSIGNMENT, cells, sandbox, tmp_path / "a", Limits(wall_seconds=60), seed=4242)
    assert {name: e.score for name, e in v.exercises.items()} == {"gradient_noise_scale": 3.5, "clip_grad_norm": 2.5,
                                                                 "lr_range_test": 4.0,
                                                                 "predicted_exp_decay_mean_lr": 1.0}
    stubs = [src.split("### BEGIN SOLUTION")[0].rstrip(" ") + "    raise NotImplementedError()\n" for src in cells]
    v = verify(ASSIGNMENT, stubs, sandbox, tmp_path / "b", Limits(wall_seconds=60), seed=4242)
    assert v.score == 0 and {e.outcome for e in v.exercises.values()} == {"not-implemented"}
    # one known mistake costs exactly its exercise
    wrong = [cells[0].replace("/ (B - 1)", "/ B")] + cells[1:]
    assert wrong != cells
    v = verify(ASSIGNMENT, wrong, sandbox, tmp_path / "c", Limits(wall_seconds=60), seed=4242)
    assert v.exercises["gradient_noise_scale"].score == 0 and v.score == 7.5


# ---------------------------------------------------------------------------------------------
# The explorer of notebook 07


def test_minibatch_explorer_redraws_reports_stubs_and_draws_statically(capsys, solutions):
    from nnopt_helpers import widgets

    ex = widgets.minibatch_explorer(solutions["gradient_noise_scale"])
    assert list(ex.controls) == ["batch_size", "learning_rate"] and ex.renders == 1
    before = ex.data["sgd"].copy()
    ex.controls["batch_size"].value = ex.controls["batch_size"].options[0]  # the first slider to its lowest value
    assert ex.renders == 2 and not np.array_equal(before, ex.data["sgd"])
    assert ex.data["sgd"].shape == (201, 2) and ex.data["gd_loss"].shape == (201,)
    assert "your gradient_noise_scale" in ex.status.value and "B_simple ≈" in ex.status.value

    def gradient_noise_scale(G):
        raise NotImplementedError

    ex = widgets.minibatch_explorer(gradient_noise_scale)
    assert "not implemented yet" in ex.status.value and np.all(np.isfinite(ex.data["sgd"]))
    ex.controls["learning_rate"].value = 2.0  # diverges: reported, still drawn
    assert "diverged" in ex.status.value
    fig = widgets.minibatch_explorer(solutions["gradient_noise_scale"], static=True)
    import matplotlib.pyplot as plt

    assert len(fig.axes) == 2 and "minibatch SGD" in capsys.readouterr().out
    plt.close(fig)
    with pytest.raises(ValueError, match="lr_range"):
        widgets.minibatch_explorer(lr_range=(1.0, 0.1))


# ---------------------------------------------------------------------------------------------
# The derived number


def test_predicted_exp_decay_mean_lr_is_the_mean_of_the_notebooks_schedule():
    """(1 − 0.01)/ln 100: the notebook's exponential decay over its 215 steps averages within 3% of it, and
    every known mistake is further away."""
    target = ASSIGNMENT.exercise("predicted_exp_decay_mean_lr").reference({})["result"]
    total = 5 * 43  # 5 epochs of batches of 32 over 1347 training digits
    measured = np.mean([0.01 ** (s / total) for s in range(total)])
    assert abs(measured / target - 1) < 0.03
    for value, _ in mutants.MUTANTS["predicted_exp_decay_mean_lr"].values():
        assert abs(value / target - 1) > 0.3

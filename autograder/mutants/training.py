"""Known mistakes in the 07_training_in_practice exercises, each as a working function.

Every function here is *wrong on purpose*. The correct contracts (``docs/conventions.md``) are

    gradient_noise_scale(G):  tr(Σ̂)/|Ĝ|², tr(Σ̂) with ddof = 1 over the rows (examples), |Ĝ|² the
                              bias-corrected |mean row|² − tr(Σ̂)/B; np.inf when |Ĝ|² <= 0
    clip_grad_norm(grads, max_norm):  total = global L2 norm over every array; every array times
                              min(1, max_norm/(total + 1e-6)); new arrays; returns (clipped, total)
    lr_range_test(...):       geometric rates from lr_min to lr_max inclusive; loss recorded before
                              each step; stop after recording a non-finite loss or one above
                              diverge_factor × the best so far
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MUTANTS"]


# ---------------------------------------------------------------------------------------------
# gradient_noise_scale


def _parts(G, ddof=1):
    G = np.asarray(G, dtype=np.float64)
    B = G.shape[0]
    mean = G.mean(axis=0)
    trace = float(np.sum((G - mean) ** 2)) / (B - ddof)
    return B, mean, trace


def _ratio(trace, g2):
    return float(trace / g2) if g2 > 0 else math.inf


def gns_ddof_0(per_example_grads):
    B, mean, trace = _parts(per_example_grads, ddof=0)  # the biased variance (divided by B)
    return _ratio(trace, float(mean @ mean) - trace / B)


def gns_plug_in_g2(per_example_grads):
    B, mean, trace = _parts(per_example_grads)
    return _ratio(trace, float(mean @ mean))  # |mean|² is biased upwards by tr(Σ)/B


def gns_norm_not_squared(per_example_grads):
    B, mean, trace = _parts(per_example_grads)
    g2 = float(mean @ mean) - trace / B
    return float(trace / math.sqrt(g2)) if g2 > 0 else math.inf


def gns_wrong_axis(per_example_grads):
    G = np.asarray(per_example_grads, dtype=np.float64)
    B = G.shape[0]
    mean = G.mean(axis=0)
    trace = float(np.trace(np.cov(G)))  # np.cov treats rows as variables: a variance over the parameters
    return _ratio(trace, float(mean @ mean) - trace / B)


def gns_sum_of_covariance(per_example_grads):
    G = np.asarray(per_example_grads, dtype=np.float64)
    B = G.shape[0]
    mean = G.mean(axis=0)
    total = float(np.sum(np.cov(G, rowvar=False)))  # every entry of Σ, not its trace
    return _ratio(total, float(mean @ mean) - total / B)


def gns_second_moment(per_example_grads):
    G = np.asarray(per_example_grads, dtype=np.float64)
    B = G.shape[0]
    mean = G.mean(axis=0)
    trace = float(np.mean(np.sum(G * G, axis=1)))  # E|g|², not centred on the mean
    return _ratio(trace, float(mean @ mean) - trace / B)


def gns_inverted(per_example_grads):
    B, mean, trace = _parts(per_example_grads)
    g2 = float(mean @ mean) - trace / B
    return float(g2 / trace) if g2 > 0 else math.inf


def gns_no_inf(per_example_grads):
    B, mean, trace = _parts(per_example_grads)
    return float(trace / (float(mean @ mean) - trace / B))  # a negative "noise scale" when the signal estimate is <= 0


# ---------------------------------------------------------------------------------------------
# clip_grad_norm


def _total(grads):
    return math.sqrt(sum(float(np.sum(np.asarray(g, dtype=np.float64) ** 2)) for g in grads))


def clip_per_array(grads, max_norm):
    out = []
    for g in grads:
        norm = float(np.linalg.norm(g))
        out.append(g * min(1.0, max_norm / (norm + 1e-6)))  # each array clipped by its own norm
    return out, _total(grads)


def clip_no_cap(grads, max_norm):
    total = _total(grads)
    coef = max_norm / (total + 1e-6)  # small gradients are scaled UP to max_norm
    return [g * coef for g in grads], total


def clip_eps_missing(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / total)
    return [g * coef for g in grads], total


def clip_eps_outside(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / total + 1e-6)
    return [g * coef for g in grads], total


def clip_in_place(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= coef  # the caller's gradients change
    return list(grads), total


def clip_norm_after(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / (total + 1e-6))
    clipped = [g * coef for g in grads]
    return clipped, _total(clipped)


def clip_squared_norm(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / (total + 1e-6))
    return [g * coef for g in grads], total ** 2


def clip_by_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads], _total(grads)


# ---------------------------------------------------------------------------------------------
# lr_range_test


def _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0, *, rates=None,
                after=False, stop=True, keep_last=True, reference="best", copy=True):
    theta = np.array(theta0, dtype=np.float64) if copy else theta0
    if rates is None:
        rates = lr_min * (lr_max / lr_min) ** (np.arange(num_steps) / (num_steps - 1))
    lrs, losses = [], []
    for k in range(num_steps):
        lr = float(rates[k])
        if not after:
            loss = float(loss_fn(theta))
        step = lr * grad_fn(theta)
        if copy:
            theta = theta - step
        else:
            theta -= step
        if after:
            loss = float(loss_fn(theta))
        lrs.append(lr)
        losses.append(loss)
        best = losses[0] if reference == "first" else min(losses)
        if stop and (not math.isfinite(loss) or loss > diverge_factor * best):
            if not keep_last:
                lrs, losses = lrs[:-1], losses[:-1]
            break
    return np.array(lrs, dtype=np.float64), np.array(losses, dtype=np.float64)


def lr_linear(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor,
                       rates=np.linspace(lr_min, lr_max, num_steps))


def lr_endpoint_off_by_one(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor,
                       rates=lr_min * (lr_max / lr_min) ** (np.arange(num_steps) / num_steps))


def lr_loss_after_step(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor, after=True)


def lr_no_early_stop(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor, stop=False)


def lr_drops_diverging_point(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor, keep_last=False)


def lr_compares_with_first(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor, reference="first")


def lr_ignores_diverge_factor(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, 4.0)


def lr_theta0_in_place(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    return _range_test(loss_fn, grad_fn, theta0, lr_min, lr_max, num_steps, diverge_factor, copy=False)


MUTANTS = {
    "gradient_noise_scale": {
        "ddof_0": (gns_ddof_0, "the trace of the covariance is divided by B (ddof=0); the contract's "
                   "unbiased estimate divides the summed squared deviations by B − 1"),
        "plug_in_g2": (gns_plug_in_g2, "|G|² is the plain squared norm of the mean gradient; that "
                       "overestimates |G|² by tr(Σ)/B, so subtract tr(Σ̂)/B (the bias correction)"),
        "norm_not_squared": (gns_norm_not_squared, "the denominator is |G|, not |G|²: the noise scale "
                             "divides by the SQUARED norm of the gradient"),
        "wrong_axis": (gns_wrong_axis, "the covariance is taken over the wrong axis (np.cov treats rows as "
                       "variables): the examples are the rows, the parameters the columns"),
        "sum_of_covariance": (gns_sum_of_covariance, "every entry of the covariance matrix is summed; the "
                              "noise scale uses its trace (the sum of the diagonal, the per-parameter variances)"),
        "second_moment": (gns_second_moment, "the per-example gradients are not centred: use the spread "
                          "around the mean gradient, not the mean of |g_i|²"),
        "inverted": (gns_inverted, "the ratio is upside down: tr(Σ) over |G|², noise over signal"),
        "no_inf": (gns_no_inf, "a signal estimate |Ĝ|² <= 0 gives a negative or undefined ratio; the "
                   "contract returns np.inf then"),
    },
    "clip_grad_norm": {
        "per_array_norm": (clip_per_array, "each array is clipped by its own norm; clip_grad_norm_ uses ONE "
                           "global norm over all arrays together, so every array gets the same factor"),
        "no_cap": (clip_no_cap, "the factor max_norm/(total_norm + 1e-6) is not capped at 1, so small "
                   "gradients are scaled up; clipping only ever shrinks"),
        "eps_missing": (clip_eps_missing, "the factor is max_norm/total_norm; PyTorch divides by "
                        "total_norm + 1e-6"),
        "eps_outside": (clip_eps_outside, "1e-6 is added to the factor; PyTorch adds it to the norm in "
                        "the denominator: max_norm/(total_norm + 1e-6)"),
        "in_place": (clip_in_place, "the input arrays are scaled in place (g *= ...); return new arrays"),
        "norm_after_clipping": (clip_norm_after, "the returned norm is the one after clipping; return the "
                                "total norm BEFORE clipping, as clip_grad_norm_ does"),
        "squared_norm": (clip_squared_norm, "the returned total norm is squared: take the square root of "
                         "the sum of squares"),
        "clip_by_value": (clip_by_value, "each entry is clipped to [−max_norm, max_norm] (that is "
                          "clip_grad_value_); clip_grad_norm_ rescales whole arrays by one factor"),
    },
    "lr_range_test": {
        "linear_spacing": (lr_linear, "the learning rates grow linearly; the range test spaces them "
                           "geometrically (a constant ratio from one step to the next)"),
        "endpoint_off_by_one": (lr_endpoint_off_by_one, "the exponent is k/num_steps, so the last rate "
                                "falls short of lr_max; with k/(num_steps − 1) the rates run from lr_min to "
                                "lr_max inclusive"),
        "loss_after_step": (lr_loss_after_step, "the loss is recorded after the step; record it before "
                            "each step, at the parameters the step starts from"),
        "no_early_stop": (lr_no_early_stop, "the test does not stop when the loss diverges (non-finite, "
                          "or above diverge_factor × the best loss so far)"),
        "drops_diverging_point": (lr_drops_diverging_point, "the diverging point is dropped; keep the "
                                  "loss that triggered the stop as the last entry"),
        "compares_with_first": (lr_compares_with_first, "the stop compares with the first loss; compare "
                                "with the best (lowest) loss so far"),
        "ignores_diverge_factor": (lr_ignores_diverge_factor, "the factor 4 is hard-coded; use the "
                                   "diverge_factor argument"),
        "theta0_in_place": (lr_theta0_in_place, "theta0 is updated in place (theta -= ...); start from a "
                            "copy"),
    },
}

MUTANTS["predicted_exp_decay_mean_lr"] = {
    "rate_at_the_midpoint": (
        0.1,
        "this is the rate halfway through, 0.01^0.5 = 0.1 (the geometric mean of the two ends); the average of "
        "an exponential is its integral, ∫0^1 0.01^t dt = (1 − 0.01)/ln 100"),
    "log10_not_ln": (
        (1 - 0.01) / 2,
        "log10(100) = 2 was used; the integral of e^{−ct} needs the natural logarithm: (1 − 0.01)/ln 100"),
    "ln_10_not_ln_100": (
        (1 - 0.01) / 2.302585092994046,
        "ln 10 was used; the rate falls by a factor of 100 over the run, so c = ln 100: (1 − 0.01)/ln 100"),
    "final_rate": (
        0.01,
        "this is the rate at the end of the run; the question asks for its average over the whole run, "
        "∫0^1 0.01^t dt = (1 − 0.01)/ln 100"),
}

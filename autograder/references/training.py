"""Independent references of 07_training_in_practice (grader side only).

* :func:`noise_scale`: McCandlish, Kaplan, Amodei et al. (2018)'s simple noise scale
  ``B_simple = tr(Σ) / |G|²`` estimated from per-example gradients with their unbiased estimators
  (per-example gradients are their small batch, B_small = 1, and the whole batch their big one);
* :func:`clip_by_global_norm`: ``torch.nn.utils.clip_grad_norm_`` (``torch/nn/utils/clip_grad.py``:
  the total norm over every array, ``clip_coef = max_norm / (total_norm + 1e-6)`` clamped at 1);
* :func:`range_test`: Smith (2017)'s learning-rate range test with geometric rates and a
  fastai-style early stop.

Written from the definitions, not from the notebook's solution; the tests check that both agree.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["noise_scale", "clip_by_global_norm", "range_test", "REFERENCES", "label"]


def label(value):
    """A non-finite float as the text the ``function_inf`` driver reports ('inf', '-inf', 'nan')."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def noise_scale(per_example_grads) -> float:
    G = np.asarray(per_example_grads, dtype=np.float64)
    B = G.shape[0]
    small = float(np.mean(np.einsum("ij,ij->i", G, G)))  # E|g_i|², per-example squared norms (B_small = 1)
    mean = G.mean(axis=0)
    big = float(mean @ mean)  # |mean gradient|² (B_big = B)
    # McCandlish et al.'s unbiased estimators from two batch sizes, B_small = 1 and B_big = B
    g2 = (B * big - small) / (B - 1)
    trace = (small - big) / (1.0 - 1.0 / B)
    return float(trace / g2) if g2 > 0 else math.inf


def noise_scale_case(case) -> dict:
    """Driver output (``function_inf``) of a correct ``gradient_noise_scale``."""
    return {"result": label(noise_scale(case["args"][0])), "mutated": []}


def clip_by_global_norm(grads, max_norm):
    arrays = [np.asarray(g, dtype=np.float64) for g in grads]
    squares = [float(np.sum(a * a)) for a in arrays]
    total = math.sqrt(math.fsum(squares))
    coef = min(1.0, float(max_norm) / (total + 1e-6))
    return [a * coef for a in arrays], total


def clip_case(case) -> dict:
    """Driver output (``function``) of a correct ``clip_grad_norm``."""
    args = list(case["args"]) + [case.get("kwargs", {})[k] for k in ("max_norm",) if k in case.get("kwargs", {})]
    clipped, total = clip_by_global_norm(*args)
    return {"result": [clipped, total], "mutated": []}


def range_test(value, grad, theta0, lr_min, lr_max, num_steps, diverge_factor=4.0):
    theta = np.array(theta0, dtype=np.float64)
    ratio = float(lr_max) / float(lr_min)
    lrs, losses = [], []
    for k in range(int(num_steps)):
        lr = float(lr_min) * ratio ** (k / (int(num_steps) - 1))
        loss = float(value(theta))
        lrs.append(lr)
        losses.append(loss)
        if not math.isfinite(loss) or loss > float(diverge_factor) * min(losses):
            break
        theta = theta - lr * np.asarray(grad(theta), dtype=np.float64)
    return np.array(lrs, dtype=np.float64), np.array(losses, dtype=np.float64)


def range_test_case(case) -> dict:
    """Driver output (``surface_function``) of a correct ``lr_range_test``."""
    from autograder.drivers import surface_from_spec

    surface = surface_from_spec(case["surface"])
    _, _, theta0, lr_min, lr_max, num_steps = case["args"]
    with np.errstate(all="ignore"):
        lrs, losses = range_test(lambda x: float(surface.value(x)), surface.grad, theta0, lr_min, lr_max, num_steps,
                                 **case.get("kwargs", {}))
    return {"result": [lrs, losses], "mutated": []}


REFERENCES = {
    "gradient_noise_scale": noise_scale_case,
    "clip_grad_norm": clip_case,
    "lr_range_test": range_test_case,
}

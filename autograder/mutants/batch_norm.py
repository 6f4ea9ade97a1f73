"""Known mistakes in the 06_batch_norm exercises, each as a working function.

Every function in ``MUTANTS`` is *wrong on purpose*. The correct conventions (exactly
``torch.nn.BatchNorm1d``) are, per feature, in train mode

    x̂ = (x − μ)/√(σ² + eps) with the biased batch variance σ²;  out = γ·x̂ + β
    running_mean ← (1 − momentum)·running_mean + momentum·μ
    running_var  ← (1 − momentum)·running_var + momentum·σ²·N/(N − 1)

and in eval mode the running statistics replace μ and σ². Defaults (``setdefault``): mode
'train', eps 1e-5, momentum 0.1, running_mean zeros, running_var ones.

The layer-norm mistakes (``layernorm_forward``, ``layernorm_backward``) are at the end: layer norm
normalizes each sample (row) over its D features with the biased variance, keeps no state and
ignores the mode.

The backward mutants read the cache of :func:`batchnorm_forward` (or :func:`layernorm_forward`)
below (a correct forward pass):
the graders find the forward pass a backward pass belongs to by its name in the backward's
module, as they find the learner's in the notebook.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MUTANTS", "batchnorm_forward", "layernorm_forward"]


def _defaults(x, bn_param, momentum=0.1, eps=1e-5):
    D = x.shape[1]
    bn_param.setdefault("mode", "train")
    bn_param.setdefault("eps", eps)
    bn_param.setdefault("momentum", momentum)
    bn_param.setdefault("running_mean", np.zeros(D))
    bn_param.setdefault("running_var", np.ones(D))
    return bn_param


def _eval(x, gamma, beta, bn_param):
    xhat = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + bn_param["eps"])
    return gamma * xhat + beta, None


def _cache(x, xhat, mu, var, gamma, eps):
    return {"x": x, "xhat": xhat, "mu": mu, "var": var, "gamma": gamma, "eps": eps}


def _update(bn_param, mu, running_var_sample, old_weight=None):
    m = bn_param["momentum"]
    keep = 1 - m if old_weight is None else old_weight
    bn_param["running_mean"] = keep * bn_param["running_mean"] + (1 - keep) * mu
    bn_param["running_var"] = keep * bn_param["running_var"] + (1 - keep) * running_var_sample


def batchnorm_forward(x, gamma, beta, bn_param):
    """A correct forward pass whose cache the backward mutants read."""
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1))
    return gamma * xhat + beta, _cache(x, xhat, mu, var, gamma, bn_param["eps"])


# ---------------------------------------------------------------------------------------------
# batchnorm_forward


def fwd_running_var_biased(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var)  # the cs231n form: biased variance into the running average
    return gamma * xhat + beta, None


def fwd_normalizes_with_unbiased(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    mu, var = x.mean(axis=0), x.var(axis=0, ddof=1)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var)
    return gamma * xhat + beta, None


def fwd_momentum_on_old_value(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1), old_weight=bn_param["momentum"])
    return gamma * xhat + beta, None


def fwd_eval_uses_batch_stats(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    if bn_param["mode"] == "train":
        _update(bn_param, mu, var * N / (N - 1))
    return gamma * xhat + beta, None


def fwd_eval_updates_running_stats(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    if bn_param["mode"] == "eval":
        out = _eval(x, gamma, beta, bn_param)
        _update(bn_param, mu, var * N / (N - 1))
        return out
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1))
    return gamma * xhat + beta, None


def fwd_running_stats_not_stored(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    m = bn_param["momentum"]
    running_mean = (1 - m) * bn_param["running_mean"] + m * mu  # computed, never stored back  # noqa: F841
    running_var = (1 - m) * bn_param["running_var"] + m * var * N / (N - 1)  # noqa: F841
    return gamma * xhat + beta, None


def fwd_eps_outside_sqrt(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        xhat = (x - bn_param["running_mean"]) / (np.sqrt(bn_param["running_var"]) + bn_param["eps"])
        return gamma * xhat + beta, None
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / (np.sqrt(var) + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1))
    return gamma * xhat + beta, None


def fwd_normalizes_rows(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)  # layer norm, not batch norm
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, x.mean(axis=0), x.var(axis=0) * x.shape[0] / (x.shape[0] - 1))
    return gamma * xhat + beta, None


def fwd_gamma_beta_swapped(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, beta, gamma, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1))
    return beta * xhat + gamma, None


def fwd_default_momentum_09(x, gamma, beta, bn_param):
    _defaults(x, bn_param, momentum=0.9)  # cs231n's default value in PyTorch's formula
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    _update(bn_param, mu, var * N / (N - 1))
    return gamma * xhat + beta, None


def fwd_no_defaults(x, gamma, beta, bn_param):
    mode, eps, momentum = bn_param["mode"], bn_param["eps"], bn_param["momentum"]
    if mode == "eval":
        xhat = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps)
        return gamma * xhat + beta, None
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    bn_param["running_mean"] = (1 - momentum) * bn_param["running_mean"] + momentum * mu
    bn_param["running_var"] = (1 - momentum) * bn_param["running_var"] + momentum * var * N / (N - 1)
    return gamma * xhat + beta, None


def fwd_defaults_not_stored(x, gamma, beta, bn_param):
    # bn_param.get(...) with defaults: the output is right, but bn_param never gets the keys.
    mode, eps, momentum = bn_param.get("mode", "train"), bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    D = x.shape[1]
    run_mean = bn_param.get("running_mean", np.zeros(D))
    run_var = bn_param.get("running_var", np.ones(D))
    if mode == "eval":
        return gamma * (x - run_mean) / np.sqrt(run_var + eps) + beta, None
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    bn_param["running_mean"] = (1 - momentum) * run_mean + momentum * mu
    bn_param["running_var"] = (1 - momentum) * run_var + momentum * var * N / (N - 1)
    return gamma * xhat + beta, None


def fwd_mutates_x(x, gamma, beta, bn_param):
    _defaults(x, bn_param)
    if bn_param["mode"] == "eval":
        return _eval(x, gamma, beta, bn_param)
    N = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    _update(bn_param, mu, var * N / (N - 1))
    x -= mu  # centres the caller's array in place
    x /= np.sqrt(var + bn_param["eps"])
    return gamma * x + beta, None


# ---------------------------------------------------------------------------------------------
# batchnorm_backward and batchnorm_backward_alt (they read the cache of batchnorm_forward above)


def _unpack(cache):
    return cache["x"], cache["xhat"], cache["mu"], cache["var"], cache["gamma"], cache["eps"]


def bwd_no_variance_path(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    istd = 1 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dx = istd * (dxhat - dxhat.mean(axis=0))  # σ treated as a constant
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_no_mean_path(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    istd = 1 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dx = istd * (dxhat - xhat * (dxhat * xhat).mean(axis=0))  # μ treated as a constant
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_only_direct_path(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    return dout * gamma / np.sqrt(var + eps), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_dmean_missing_variance_path(dout, cache):
    # Graph with var = mean(x²) − μ²: then var depends on μ (∂var/∂μ = −2μ), and that path is dropped.
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    istd = 1 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * (x - mu), axis=0) * -0.5 * istd**3
    dmu = -np.sum(dxhat * istd, axis=0)  # missing + dvar · (−2μ)
    dx = dxhat * istd + dvar * 2 * x / N + dmu / N
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_sums_over_features(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(axis=1), dout.sum(axis=1)


def bwd_dgamma_dbeta_summed_over_all(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    D = x.shape[1]
    return dx, np.full(D, (dout * xhat).sum()), np.full(D, dout.sum())


def bwd_dgamma_with_x(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * x).sum(axis=0), dout.sum(axis=0)


def bwd_dbeta_mean(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).mean(axis=0), dout.mean(axis=0)


def bwd_forgets_gamma(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout  # ∂out/∂x̂ = γ is missing
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_std_without_eps(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    xhat0 = (x - mu) / np.sqrt(var)
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat0 * (dxhat * xhat0).sum(axis=0)) / (N * np.sqrt(var))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_dvar_sign_flipped(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    istd = 1 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * (x - mu), axis=0) * 0.5 * istd**3  # should be −½(σ² + eps)^(−3/2)
    dxc = dxhat * istd + dvar * 2 * (x - mu) / N
    dx = dxc - dxc.mean(axis=0)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_closed_form_missing_n(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dxhat = dout * gamma
    dx = (dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_unbiased_variance(dout, cache):
    # 1/(N − 1) where the forward pass divided by N.
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    istd = 1 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * (x - mu), axis=0) * -0.5 * istd**3
    dxc = dxhat * istd + dvar * 2 * (x - mu) / (N - 1)
    dx = dxc - dxc.mean(axis=0)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bwd_mutates_dout(dout, cache):
    x, xhat, mu, var, gamma, eps = _unpack(cache)
    N = x.shape[0]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dout *= gamma  # the caller's upstream gradient is overwritten
    dx = (N * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, dgamma, dbeta


_BACKWARD = {
    "no_variance_path": (
        bwd_no_variance_path,
        "dx misses the path through the variance: σ is treated as a constant, "
        "dx = γ/σ·(dout − mean(dout)). σ² depends on every x_i too: add the term "
        "−γ/σ·x̂·mean(dout·x̂)"),
    "no_mean_path": (
        bwd_no_mean_path,
        "dx misses the path through the mean: μ is treated as a constant. μ depends on every x_i, "
        "which subtracts mean(dout·γ)/σ from every row (the columns of dx then sum to zero)"),
    "only_direct_path": (
        bwd_only_direct_path,
        "dx = γ/σ·dout: only the direct path x → x̂ is there; the paths through the batch mean "
        "and the batch variance are missing"),
    "dmean_missing_variance_path": (
        bwd_dmean_missing_variance_path,
        "the gradient of the mean misses its path through the variance: with var = mean(x²) − μ², "
        "∂var/∂μ = −2μ is not zero, so dμ needs the term dvar·(−2μ) (with var = mean((x − μ)²) "
        "that term is zero because Σ(x − μ) = 0)"),
    "sums_over_features": (
        bwd_sums_over_features,
        "dgamma and dbeta are summed over the wrong axis: sum over the batch (axis=0), which "
        "gives one value per feature, shape (D,)"),
    "dgamma_dbeta_summed_over_all": (
        bwd_dgamma_dbeta_summed_over_all,
        "dgamma and dbeta are summed over all entries: sum over the batch only (axis=0), one "
        "value per feature"),
    "dgamma_with_x": (
        bwd_dgamma_with_x,
        "dgamma uses x instead of the normalized x̂: out = γ·x̂ + β, so dgamma = Σ_i dout·x̂"),
    "dbeta_mean": (
        bwd_dbeta_mean,
        "dgamma and dbeta are averaged over the batch: they are sums (Σ_i), not means"),
    "forgets_gamma": (
        bwd_forgets_gamma,
        "dx forgets γ: the upstream gradient of x̂ is dout·γ"),
    "std_without_eps": (
        bwd_std_without_eps,
        "the backward pass uses √σ² without eps; the forward pass divided by √(σ² + eps)"),
    "dvar_sign_flipped": (
        bwd_dvar_sign_flipped,
        "the gradient of the variance has the wrong sign: ∂(σ² + eps)^(−1/2)/∂σ² = −½(σ² + eps)^(−3/2)"),
    "closed_form_missing_n": (
        bwd_closed_form_missing_n,
        "the first term of the closed form lacks its factor N: dx = γ/(N·σ)·(N·dout − Σdout − x̂·Σ(dout·x̂))"),
    "unbiased_variance": (
        bwd_unbiased_variance,
        "the backward pass divides by N − 1 in ∂σ²/∂x; the forward pass normalizes with the biased "
        "variance (divided by N)"),
    "mutates_dout": (
        bwd_mutates_dout,
        "dout is changed in place (dout *= ...): compute new arrays"),
}

MUTANTS = {
    "batchnorm_forward": {
        "running_var_biased": (
            fwd_running_var_biased,
            "running_var is updated with the biased batch variance (divided by N). Like "
            "torch.nn.BatchNorm1d, normalize with the biased variance but update running_var with "
            "the unbiased one, σ²·N/(N − 1)"),
        "normalizes_with_unbiased": (
            fwd_normalizes_with_unbiased,
            "the batch is normalized with the unbiased variance (divided by N − 1); normalize with "
            "the biased one (divided by N) and use the unbiased one only for running_var"),
        "momentum_on_old_value": (
            fwd_momentum_on_old_value,
            "momentum weighs the old running value (running = momentum·running + (1 − momentum)·batch, "
            "the cs231n form); here, as in PyTorch, momentum is the weight of the NEW batch "
            "statistic: running = (1 − momentum)·running + momentum·batch"),
        "eval_uses_batch_stats": (
            fwd_eval_uses_batch_stats,
            "eval mode normalizes with the batch's own statistics; it must use running_mean and "
            "running_var (and leave them unchanged)"),
        "eval_updates_running_stats": (
            fwd_eval_updates_running_stats,
            "eval mode updates the running statistics; in eval mode they are only read"),
        "running_stats_not_stored": (
            fwd_running_stats_not_stored,
            "the new running statistics are not stored back into bn_param['running_mean'] and "
            "bn_param['running_var']"),
        "eps_outside_sqrt": (
            fwd_eps_outside_sqrt,
            "eps is added outside the square root: divide by √(σ² + eps)"),
        "normalizes_rows": (
            fwd_normalizes_rows,
            "each sample (row) is normalized over its features (axis=1; that is layer norm); batch "
            "norm normalizes each feature (column) over the batch, axis=0"),
        "gamma_beta_swapped": (
            fwd_gamma_beta_swapped,
            "gamma and beta are swapped: out = gamma·x̂ + beta"),
        "default_momentum_0.9": (
            fwd_default_momentum_09,
            "the default momentum is 0.9; here (as in PyTorch) it is 0.1, the weight of the new batch"),
        "no_defaults": (
            fwd_no_defaults,
            "defaults are not filled in: with missing keys the function fails; use "
            "bn_param.setdefault for mode, eps, momentum, running_mean and running_var"),
        "defaults_not_stored": (
            fwd_defaults_not_stored,
            "the defaults are read with bn_param.get but not stored: use bn_param.setdefault so that "
            "bn_param holds mode, eps and momentum afterwards"),
        "mutates_x": (
            fwd_mutates_x,
            "x is changed in place (x -= ...): compute new arrays"),
    },
    "batchnorm_backward": dict(_BACKWARD),
    "batchnorm_backward_alt": dict(_BACKWARD),
}


# ---------------------------------------------------------------------------------------------
# layernorm_forward and layernorm_backward: per sample (row), over its D features, biased
# variance, eps = ln_param.get("eps", 1e-5), no state, the same in train and eval mode.


def _ln_eps(ln_param):
    return ln_param.get("eps", 1e-5)


def _ln_cache(x, xhat, std, gamma):
    return {"x": x, "xhat": xhat, "std": std, "gamma": gamma}


def layernorm_forward(x, gamma, beta, ln_param):
    """A correct forward pass whose cache the layer-norm backward mutants read."""
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + _ln_eps(ln_param))
    xhat = (x - mu) / std
    return gamma * xhat + beta, _ln_cache(x, xhat, std, gamma)


def ln_fwd_normalizes_columns(x, gamma, beta, ln_param):
    mu, var = x.mean(axis=0), x.var(axis=0)  # batch norm's axis: each feature over the batch
    xhat = (x - mu) / np.sqrt(var + _ln_eps(ln_param))
    return gamma * xhat + beta, None


def ln_fwd_unbiased_variance(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, ddof=1, keepdims=True)  # divided by D − 1
    return gamma * (x - mu) / np.sqrt(var + _ln_eps(ln_param)) + beta, None


def ln_fwd_eps_outside_sqrt(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True)) + _ln_eps(ln_param)
    return gamma * (x - mu) / std + beta, None


def ln_fwd_divides_by_variance(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    return gamma * (x - mu) / (x.var(axis=1, keepdims=True) + _ln_eps(ln_param)) + beta, None


def ln_fwd_ignores_eps(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5) + beta, None  # ln_param["eps"] unread


def ln_fwd_no_keepdims(x, gamma, beta, ln_param):
    mu, var = x.mean(axis=1), x.var(axis=1)  # shape (N,): broadcast along the features, not the rows
    return gamma * (x - mu) / np.sqrt(var + _ln_eps(ln_param)) + beta, None


def ln_fwd_eval_like_batchnorm(x, gamma, beta, ln_param):
    if ln_param.get("mode") == "eval":  # batch norm's eval branch, with its default running statistics
        D = x.shape[1]
        xhat = (x - ln_param.get("running_mean", np.zeros(D))) / np.sqrt(ln_param.get("running_var", np.ones(D))
                                                                            + _ln_eps(ln_param))
        return gamma * xhat + beta, None
    return layernorm_forward(x, gamma, beta, ln_param)


def ln_fwd_gamma_beta_swapped(x, gamma, beta, ln_param):
    out, _ = layernorm_forward(x, beta, gamma, ln_param)
    return out, None


def ln_fwd_mutates_x(x, gamma, beta, ln_param):
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + _ln_eps(ln_param))
    x -= mu  # centres the caller's array in place
    x /= std
    return gamma * x + beta, None


def _ln_unpack(cache):
    return cache["xhat"], cache["std"], cache["gamma"]


def _ln_dx(dxhat, xhat, std):
    """The correct closed form, given the upstream gradient of x̂."""
    D = dxhat.shape[1]
    return (D * dxhat - dxhat.sum(axis=1, keepdims=True) - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (D * std)


def ln_bwd_sums_over_features(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    return _ln_dx(dout * gamma, xhat, std), (dout * xhat).sum(axis=1), dout.sum(axis=1)


def ln_bwd_not_summed(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    return _ln_dx(dout * gamma, xhat, std), dout * xhat, dout.copy()


def ln_bwd_no_mean_path(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    dxhat = dout * gamma
    D = dout.shape[1]
    return (D * dxhat - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (D * std), (dout * xhat).sum(axis=0), \
        dout.sum(axis=0)


def ln_bwd_no_variance_path(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    dxhat = dout * gamma
    return (dxhat - dxhat.mean(axis=1, keepdims=True)) / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_bwd_batchnorm_formula(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    dxhat = dout * gamma
    N = dout.shape[0]  # batch norm's closed form: sums over the batch, divided by N
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_bwd_forgets_gamma(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    return _ln_dx(dout, xhat, std), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_bwd_gamma_outside(dout, cache):
    # γ multiplied after the feature sums: γ_k·(D·g_k − Σ_j g_j − x̂_k Σ_j g_j x̂_j) instead of γ inside the sums
    xhat, std, gamma = _ln_unpack(cache)
    return gamma * _ln_dx(dout, xhat, std), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_bwd_dgamma_with_x(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    x = xhat * std  # the centred input
    return _ln_dx(dout * gamma, xhat, std), (dout * x).sum(axis=0), dout.sum(axis=0)


def ln_bwd_mutates_dout(dout, cache):
    xhat, std, gamma = _ln_unpack(cache)
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dout *= gamma  # the caller's upstream gradient is overwritten
    return _ln_dx(dout, xhat, std), dgamma, dbeta


MUTANTS["layernorm_forward"] = {
    "normalizes_columns": (
        ln_fwd_normalizes_columns,
        "each feature (column) is normalized over the batch (axis=0; that is batch norm); layer norm "
        "normalizes each sample (row) over its D features, axis=1"),
    "unbiased_variance": (
        ln_fwd_unbiased_variance,
        "the variance is the unbiased one (divided by D − 1); layer norm, like "
        "torch.nn.functional.layer_norm, divides by D"),
    "eps_outside_sqrt": (
        ln_fwd_eps_outside_sqrt,
        "eps is added outside the square root: divide by √(σ² + eps)"),
    "divides_by_variance": (
        ln_fwd_divides_by_variance,
        "x − μ is divided by the variance σ² + eps instead of the standard deviation √(σ² + eps)"),
    "ignores_eps": (
        ln_fwd_ignores_eps,
        "ln_param['eps'] is ignored: use ln_param.get('eps', 1e-5), so that a given eps is used"),
    "no_keepdims": (
        ln_fwd_no_keepdims,
        "the row statistics have shape (N,) and broadcast along the features: x − mu subtracts "
        "row i's mean from column i. Keep them as a column, shape (N, 1) "
        "(x.mean(axis=1, keepdims=True))"),
    "eval_like_batchnorm": (
        ln_fwd_eval_like_batchnorm,
        "eval mode does something else than train mode (running statistics, as in batch norm); "
        "layer norm has no running statistics and computes the same thing in both modes"),
    "gamma_beta_swapped": (
        ln_fwd_gamma_beta_swapped,
        "gamma and beta are swapped: out = gamma·x̂ + beta"),
    "mutates_x": (
        ln_fwd_mutates_x,
        "x is changed in place (x -= ...): compute new arrays"),
}

MUTANTS["layernorm_backward"] = {
    "sums_over_features": (
        ln_bwd_sums_over_features,
        "dgamma and dbeta are summed over the features (axis=1); gamma and beta are shared by every "
        "sample, so sum over the batch (axis=0), one value per feature, shape (D,)"),
    "not_summed": (
        ln_bwd_not_summed,
        "dgamma and dbeta are not summed: every sample contributes to the same gamma and beta, so "
        "sum dout·x̂ and dout over the batch (axis=0), shape (D,)"),
    "no_mean_path": (
        ln_bwd_no_mean_path,
        "dx misses the path through the row mean: subtract each row's mean of dout·γ (over its "
        "features) before dividing by σ"),
    "no_variance_path": (
        ln_bwd_no_variance_path,
        "dx misses the path through the row variance: σ is treated as a constant; add the term "
        "−x̂·mean(dout·γ·x̂) (means over each row's features)"),
    "batchnorm_formula": (
        ln_bwd_batchnorm_formula,
        "dx uses batch norm's closed form, with sums over the batch (axis=0) and N; in layer norm "
        "the statistics are per row, so the sums in dx run over the features (axis=1) and the count is D"),
    "forgets_gamma": (
        ln_bwd_forgets_gamma,
        "dx forgets γ: the upstream gradient of x̂ is dout·γ"),
    "gamma_outside": (
        ln_bwd_gamma_outside,
        "γ multiplies dx after the sums over the features; in layer norm γ differs from feature to "
        "feature, so it belongs inside them: the gradient of x̂ is dout·γ, then sum that over each row"),
    "dgamma_with_x": (
        ln_bwd_dgamma_with_x,
        "dgamma uses the centred input instead of the normalized x̂: out = γ·x̂ + β, so dgamma = Σ_i dout·x̂"),
    "mutates_dout": (
        ln_bwd_mutates_dout,
        "dout is changed in place (dout *= ...): compute new arrays"),
}

MUTANTS["predicted_running_mean_std"] = {
    "variance_not_std": (
        0.05 / (2 - 0.05) * 4 / 16,
        "this is the variance m/(2−m)·σ²/N of the running mean; the question asks for its standard deviation, "
        "the square root"),
    "plain_mean_of_1_over_m_batches": (
        (0.05 * 4 / 16) ** 0.5,
        "this treats the running mean as a plain mean of the last 1/m = 20 batches (variance m·σ²/N); its weights "
        "m(1−m)^k are unequal, and their squares sum to m²/(1−(1−m)²) = m/(2−m): Var = m/(2−m)·σ²/N"),
    "population_not_batch_mean": (
        (0.05 / (2 - 0.05) * 4) ** 0.5,
        "σ² is used where the variance of a batch mean belongs; a mean of N = 16 samples has variance σ²/N = 4/16"),
    "weight_on_the_old_value": (
        (0.95 / (2 - 0.95) * 4 / 16) ** 0.5,
        "m was used as the weight of the old value (the cs231n/Keras convention); in PyTorch's convention m = 0.05 "
        "weighs the new batch: Var = m/(2−m)·σ²/N with m = 0.05"),
    "one_weighted_batch": (
        0.05 * 2 / 16 ** 0.5,
        "only one batch mean, weighted by m, is counted; the running mean sums all past batch means with weights "
        "m(1−m)^k, whose variances add: Var = Σ m²(1−m)^{2k}·σ²/N = m/(2−m)·σ²/N"),
    "std_used_as_variance": (
        (0.05 / (2 - 0.05) * 2 / 16) ** 0.5,
        "the standard deviation 2 was used as the variance; the population variance is 4, so a batch mean has "
        "variance 4/16"),
}

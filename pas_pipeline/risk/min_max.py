r"""Min–max (mean–variance) allocation: the seed's ``argmax wᵀμ − γ(1+δ)wᵀΣw``.

.. math::

    w^* = \arg\max_w\; w^\top\mu - \gamma(1+\delta)\, w^\top\Sigma w
    \quad\text{s.t.}\quad \textstyle\sum_i w_i = 1,\; l \le w \le u

``μ`` and ``Σ`` must be in the same units (annual expected returns with an
annualised covariance); ``γ`` is the risk aversion and ``δ ≥ 0`` the correlation
regime term (:func:`pas_pipeline.risk.correlation_regime`). This is
PyPortfolioOpt's ``max_quadratic_utility`` with ``risk_aversion = 2γ(1+δ)``
(PyPortfolioOpt maximises ``wᵀμ − ½·A·wᵀΣw``).

It is solved *exactly* as ``min ½wᵀΣw − μᵀw / (2γ(1+δ))`` (the same minimiser) by an
active-set method (:mod:`pas_pipeline.risk._box_qp`): the bound sets are found
by primal–dual active-set iterations, then the weights come from one linear
solve on the free assets, and the KKT conditions are verified. With ``γ(1+δ) = 0``
the problem is linear and solved greedily (fill the highest-``μ`` assets up to
their upper bounds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pas_pipeline.risk._arrays import (
    Matrix,
    Vector,
    as_covariance,
    as_vector,
    column_labels,
    describe,
    wrap_vector,
)
from pas_pipeline.risk._box_qp import solve_box_qp
from pas_pipeline.risk._psd import psd_factor

Bound = float | Vector

#: Slack allowed when checking ``Σl ≤ 1 ≤ Σu``.
FEASIBILITY_TOL = 1e-12


def _bound(value: Bound, name: str, labels: pd.Index | None, n: int) -> np.ndarray:
    """A bound as an ``n``-vector; ±inf allowed, NaN not."""
    if np.ndim(value) == 0:
        values = np.full(n, float(value))  # type: ignore[arg-type]
    else:
        if isinstance(value, pd.Series) and labels is not None:
            value = value.reindex(labels)
        values = np.asarray(value, dtype=float).reshape(-1)
        if values.shape[0] != n:
            raise ValueError(f"{name} has {values.shape[0]} entries, expected {n}")
    if np.isnan(values).any():
        raise ValueError(
            f"{name} has NaN (or missing tickers) at: {describe(np.isnan(values), labels)}"
        )
    return values


def _feasible_box(lower: np.ndarray, upper: np.ndarray, labels: pd.Index | None) -> None:
    crossed = lower > upper
    if crossed.any():
        raise ValueError(f"lower > upper for: {describe(crossed, labels)}")
    if (lower == np.inf).any() or (upper == -np.inf).any():
        raise ValueError("lower bounds cannot be +inf and upper bounds cannot be -inf")
    if lower.sum() > 1.0 + FEASIBILITY_TOL:
        raise ValueError(f"infeasible bounds: sum of lower bounds {lower.sum():.6g} > 1")
    if upper.sum() < 1.0 - FEASIBILITY_TOL:
        raise ValueError(f"infeasible bounds: sum of upper bounds {upper.sum():.6g} < 1")


def _linear(mu: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Exact maximiser of ``μᵀw`` on the box ∩ budget: fill the best assets first."""
    if np.isinf(lower).any():
        raise ValueError("gamma * (1 + delta) = 0 with an unbounded lower bound: unbounded problem")
    w = lower.copy()
    remaining = 1.0 - w.sum()
    for i in np.argsort(-mu, kind="stable"):
        step = min(upper[i] - w[i], remaining)
        w[i] += step
        remaining -= step
        if remaining <= 0:
            break
    return w


def min_max_weights(
    mu: Vector,
    cov: Matrix,
    gamma: float,
    delta: float = 0.0,
    lower: Bound = 0.0,
    upper: Bound = 1.0,
) -> Vector:
    """Weights maximising ``wᵀμ − γ(1+δ)wᵀΣw`` with ``Σw = 1`` and ``lower ≤ w ≤ upper``.

    Parameters
    ----------
    mu
        Expected returns (``n``; annual if ``cov`` is annualised). A Series is
        aligned on ``cov``'s tickers.
    cov
        Covariance ``Σ`` (``n × n``, symmetric PSD).
    gamma
        Risk aversion ``γ ≥ 0``.
    delta
        Regime term ``δ`` (``1 + δ > 0``; ``δ ≥ 0`` from :func:`correlation_regime`).
    lower, upper
        Bounds: scalars or ``n``-vectors (Series aligned on the tickers); ``±inf``
        allowed (e.g. ``lower=-np.inf`` for unconstrained shorting when ``Σ`` is
        positive definite). Default long-only ``0 ≤ w ≤ 1``.

    Returns
    -------
    ``w`` (``n``) with ``Σw = 1`` and ``lower ≤ w ≤ upper`` (to ~1e-12): a Series
    labelled by ticker when ``cov`` or ``mu`` is labelled, else an array. Never NaN.

    Degenerate inputs
    -----------------
    A singular PSD ``Σ`` (e.g. ``n > T`` sample covariance, a constant asset) is
    regularised to ``Σ + εI`` with ``ε = max(0, −λ_min) + 1e-10·λ_max`` (the
    objective changes by at most ``γ(1+δ)·ε·‖w‖²``) and the linear systems are
    solved in bordered KKT form, which stays well conditioned for e.g. a
    zero-variance (cash-like) asset; with a ``-inf`` lower bound that problem can be
    unbounded, so it raises instead. ``l_i = u_i`` pins an asset.

    Raises
    ------
    ValueError
        For NaN/inf in ``mu``, a non-PSD or non-symmetric ``Σ``, NaN bounds,
        ``lower > upper``, infeasible bounds (``Σlower > 1`` or ``Σupper < 1``),
        ``γ < 0`` or ``1 + δ ≤ 0``, or an unbounded linear problem.
    """
    sigma, labels = as_covariance(cov)
    labels = labels if labels is not None else column_labels(mu)
    n = sigma.shape[0]
    returns = as_vector(mu, "mu", labels, size=n)
    if not (np.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be finite and ≥ 0, got {gamma}")
    if not (np.isfinite(delta) and 1.0 + delta > 0):
        raise ValueError(f"delta must be finite with 1 + delta > 0, got {delta}")
    lo = _bound(lower, "lower", labels, n)
    hi = _bound(upper, "upper", labels, n)
    _feasible_box(lo, hi, labels)
    if abs(lo.sum() - 1.0) <= FEASIBILITY_TOL:  # the box ∩ budget is the single point l
        return wrap_vector(lo.copy(), labels)
    if abs(hi.sum() - 1.0) <= FEASIBILITY_TOL:
        return wrap_vector(hi.copy(), labels)
    aversion = 2.0 * gamma * (1.0 + delta)
    factor, ridge = psd_factor(sigma)
    if ridge and np.isneginf(lo).any():
        raise ValueError(
            "cov is singular and some lower bounds are -inf: the problem can be unbounded; "
            "use finite bounds or a shrinkage covariance (ledoit_wolf_covariance)"
        )
    if aversion == 0:
        return wrap_vector(_linear(returns, lo, hi), labels)
    if ridge:
        sigma = sigma + ridge * np.eye(n)
    # argmin ½wᵀ(AΣ)w − μᵀw = argmin ½wᵀΣw − (μ/A)ᵀw: no scaled copy of Σ is needed
    weights = solve_box_qp(sigma, returns / aversion, lo, hi, None if ridge else factor)
    return wrap_vector(weights, labels)

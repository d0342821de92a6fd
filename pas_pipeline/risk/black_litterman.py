r"""Black–Litterman: market-implied prior and the posterior given views.

Units: use an **annualised** covariance (e.g. :func:`ledoit_wolf_covariance`) and
annual expected returns / view returns (decimals); the posterior is then annual too.

Prior (reverse optimisation): ``π = δ Σ w_mkt + r_f``.

Posterior with ``k`` views ``P μ = Q + ε``, ``ε ~ N(0, Ω)``:

.. math::

    \mu_{BL} &= \big((\tau\Sigma)^{-1} + P^\top\Omega^{-1}P\big)^{-1}
               \big((\tau\Sigma)^{-1}\pi + P^\top\Omega^{-1}Q\big)
             = \pi + \tau\Sigma P^\top A^{-1}(Q - P\pi) \\
    \Sigma_{BL} &= \Sigma + \big((\tau\Sigma)^{-1} + P^\top\Omega^{-1}P\big)^{-1}
             = \Sigma + \tau\Sigma - \tau\Sigma P^\top A^{-1} P\tau\Sigma,
    \qquad A = P\tau\Sigma P^\top + \Omega

The right-hand forms (Woodbury identity) are what is computed: only the small
``k × k`` matrix ``A`` is factorised (Cholesky), no ``n × n`` inverse is formed,
and they stay valid when ``Σ`` is singular or ``Ω`` has zero entries (certain
views). They equal PyPortfolioOpt's ``BlackLittermanModel.bl_returns()`` /
``bl_cov()``. Default ``Ω = diag(τ P Σ Pᵀ)`` (He & Litterman 1999, PyPortfolioOpt's
``omega="default"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from pas_pipeline.risk._arrays import (
    Matrix,
    Vector,
    as_covariance,
    as_matrix,
    as_vector,
    wrap_matrix,
    wrap_vector,
)
from pas_pipeline.risk._psd import psd_factor


@dataclass(frozen=True)
class BlackLittermanResult:
    """Posterior expected returns ``mean`` (``n``) and covariance ``covariance`` (``n × n``).

    Series / DataFrame labelled by ticker when ``cov`` was a DataFrame, else arrays.
    """

    mean: Vector
    covariance: Matrix


def market_implied_returns(
    cov: Matrix, market_weights: Vector, risk_aversion: float, risk_free: float = 0.0
) -> Vector:
    """Equilibrium (market-implied) expected returns ``π = δ Σ w + r_f``.

    Parameters
    ----------
    cov
        Annualised covariance ``Σ`` (``n × n``).
    market_weights
        Market weights ``w`` (``n``; a Series is aligned on ``cov``'s tickers). They
        are normalised to sum to one, so market capitalisations may be passed
        directly (as in PyPortfolioOpt's ``market_implied_prior_returns``).
    risk_aversion
        ``δ``, the market's risk aversion (excess return per unit of variance, e.g.
        ``(E[r_m] − r_f) / σ_m²``, typically 2–3).
    risk_free
        Annual risk-free rate added to every asset.

    Returns
    -------
    ``π`` (``n``), annual; a Series when ``cov`` is a DataFrame.
    """
    sigma, labels = as_covariance(cov)
    weights = as_vector(market_weights, "market_weights", labels, size=sigma.shape[0])
    total = weights.sum()
    if not total > 0:
        raise ValueError("market_weights must have a positive sum")
    return wrap_vector(risk_aversion * sigma @ (weights / total) + risk_free, labels)


def _views(p: Matrix | Vector, labels: pd.Index | None, n: int) -> np.ndarray:
    """The ``k × n`` pick matrix; a DataFrame's columns are aligned on the tickers."""
    if isinstance(p, pd.DataFrame) and labels is not None:
        unknown = p.columns.difference(labels)
        if len(unknown):
            raise ValueError(f"P refers to tickers not in cov: {list(unknown)[:20]}")
        p = p.reindex(columns=labels, fill_value=0.0)
    pick = as_matrix(p, "P").T if np.ndim(p) == 1 else as_matrix(p, "P")
    if pick.shape[1] != n or not np.isfinite(pick).all():
        raise ValueError(f"P must be a finite k × {n} matrix, got shape {pick.shape}")
    return pick


def black_litterman(
    cov: Matrix,
    pi: Vector,
    P: Matrix | Vector,
    Q: Vector,
    omega: Matrix | Vector | None = None,
    tau: float = 0.05,
) -> BlackLittermanResult:
    """Black–Litterman posterior mean and covariance (formulas in the module docstring).

    Parameters
    ----------
    cov
        Prior covariance ``Σ`` (``n × n``), annualised, symmetric PSD.
    pi
        Prior (equilibrium) returns ``π`` (``n``), e.g. :func:`market_implied_returns`.
    P
        Pick matrix (``k × n``; a 1-D array is one view). A DataFrame's columns are
        tickers and are aligned on ``cov`` (missing tickers get 0).
    Q
        View returns (``k``). A Series is aligned on ``P``'s index when ``P`` is a
        DataFrame.
    omega
        View uncertainty ``Ω`` (``k × k`` PSD, or ``k`` variances for a diagonal
        ``Ω``); default ``diag(τ P Σ Pᵀ)``. Zero variances (certain views) are allowed.
    tau
        ``τ > 0``, the scaling of the prior uncertainty ``τΣ``.

    Raises
    ------
    ValueError
        For mis-shaped, non-finite, asymmetric or non-PSD inputs, ``τ ≤ 0``, or a
        singular ``A = PτΣPᵀ + Ω`` (e.g. duplicated views with zero uncertainty).
    """
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be positive and finite, got {tau}")
    sigma, labels = as_covariance(cov)
    psd_factor(sigma)  # raises for a non-PSD covariance
    n = sigma.shape[0]
    prior = as_vector(pi, "pi", labels, size=n)
    pick = _views(P, labels, n)
    k = pick.shape[0]
    view_labels = P.index if isinstance(P, pd.DataFrame) else None
    views = as_vector(Q, "Q", view_labels, size=k)
    tau_sigma_pt = tau * sigma @ pick.T  # τ Σ Pᵀ, n × k
    a = pick @ tau_sigma_pt
    if omega is None:
        a.flat[:: k + 1] *= 2.0  # Ω = diag(τ P Σ Pᵀ) doubles the diagonal of A
    elif np.ndim(omega) == 1:
        a.flat[:: k + 1] += as_vector(omega, "omega", view_labels, size=k)
    else:
        uncertainty, _ = as_covariance(omega, "omega")
        if uncertainty.shape != (k, k):
            raise ValueError(f"omega must be {k} × {k}, got {uncertainty.shape}")
        a += uncertainty
    try:
        factor = linalg.cho_factor(a, check_finite=False)
    except linalg.LinAlgError:
        raise ValueError(
            "P τΣ Pᵀ + Ω is singular: views are redundant or contradictory with zero "
            "uncertainty; give them a positive omega"
        ) from None
    mean = prior + tau_sigma_pt @ linalg.cho_solve(factor, views - pick @ prior)
    half = linalg.solve_triangular(factor[0], tau_sigma_pt.T, trans="T", check_finite=False)
    posterior = sigma * (1.0 + tau) - half.T @ half
    return BlackLittermanResult(wrap_vector(mean, labels), wrap_matrix(posterior, labels))

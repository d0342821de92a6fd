r"""Correlation regime: how correlated the market is now versus its recent past.

Method (``returns`` is ``T × n`` daily returns, ``w = window``, ``H = history``):

1. For each of the last ``H`` trading days ``d`` compute the *average pairwise
   correlation* ``ρ_d`` of the ``w`` daily returns ending on ``d``: the mean of
   the ``k(k-1)`` off-diagonal entries of the Pearson correlation matrix of the
   ``k`` columns that are not constant inside that window. It is computed in
   ``O(wn)`` per window from the standardised returns ``z`` via
   ``ρ = (‖Σ_i z_i‖² − k) / (k(k − 1))``.
2. The current level is ``ρ_now = ρ_T`` (the window ending on the last row).
3. ``percentile = 100 · #{d : ρ_d ≤ ρ_now} / H`` (weak percentile rank of the
   current level in the reference distribution, which includes today, so it lies
   in ``(0, 100]``).
4. ``label`` is ``'calm'`` if ``percentile < calm_percentile`` (25),
   ``'stressed'`` if ``percentile > stressed_percentile`` (75), else ``'normal'``.
5. ``δ`` is the relative excess of the *diversified variance* over its median.
   With ``k`` unit-variance assets at average correlation ``ρ``, the equally
   weighted portfolio has variance ``v(ρ) = (1 + (k − 1)ρ) / k``, so

   .. math::

       \delta = \max\Big(0, \frac{v(\rho_{now})}{v(\tilde\rho)} - 1\Big)
              = \max\Big(0, \frac{\rho_{now} - \tilde\rho}{1/(k-1) + \tilde\rho}\Big)

   with ``ρ̃ = median_d ρ_d`` and ``k`` the assets in the current window (the
   denominator is floored at ``1e-12``). ``δ = 0`` whenever correlation is at or
   below its median and grows as diversification disappears; e.g. ``k = 50``,
   ``ρ̃ = 0.30``, ``ρ_now = 0.45`` gives ``δ ≈ 0.47``. It is the volatility-regime
   term of the min–max objective ``wᵀμ − γ(1 + δ) wᵀΣw``: risk aversion rises by
   the factor by which an equally weighted book's variance has risen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pas_pipeline.risk._arrays import Matrix, as_matrix, column_labels, describe

RegimeLabel = Literal["calm", "normal", "stressed"]


@dataclass(frozen=True)
class CorrelationRegime:
    """Result of :func:`correlation_regime` (see the module docstring for definitions).

    Attributes
    ----------
    average_correlation
        ``ρ_now``, average pairwise correlation over the last ``window`` days, in ``[-1, 1]``.
    percentile
        Weak percentile rank of ``ρ_now`` among the last ``history`` rolling values, ``(0, 100]``.
    label
        ``'calm'``, ``'normal'`` or ``'stressed'``.
    delta
        ``δ ≥ 0``, the regime multiplier term in ``γ(1 + δ)``.
    """

    average_correlation: float
    percentile: float
    label: RegimeLabel
    delta: float


def _average_correlation(window: np.ndarray) -> tuple[float, int]:
    """Average off-diagonal correlation of a ``(w, n)`` block and the number of assets used."""
    varying = np.ptp(window, axis=0) > 0  # constant columns have no correlation
    k = int(varying.sum())
    if k < 2:
        raise ValueError("fewer than 2 non-constant columns in a rolling window")
    xc = window[:, varying] - window[:, varying].mean(axis=0)
    z = xc / np.sqrt(np.einsum("ti,ti->i", xc, xc))  # unit-norm columns: corr = zᵀz
    total = float(np.sum(z.sum(axis=1) ** 2))  # 1ᵀ C 1
    return (total - k) / (k * (k - 1)), k


def correlation_regime(
    returns: Matrix,
    window: int = 63,
    history: int = 252,
    calm_percentile: float = 25.0,
    stressed_percentile: float = 75.0,
) -> CorrelationRegime:
    """Classify the current correlation regime of daily ``returns`` (``T × n``).

    Needs ``n ≥ 2`` columns and ``T ≥ window + history − 1`` rows (the oldest
    reference window ends ``history − 1`` days before the last row). The method,
    percentile, labels and ``δ`` are defined in the module docstring.

    Raises
    ------
    ValueError
        If a column contains NaN or infinite values (named; drop them first), if
        there is not enough history, if ``window < 3``, or if a window has fewer
        than two non-constant columns.
    """
    x = as_matrix(returns, "returns")
    t, n = x.shape
    if window < 3 or history < 1:
        raise ValueError("window must be ≥ 3 and history ≥ 1")
    if not 0.0 <= calm_percentile <= stressed_percentile <= 100.0:
        raise ValueError("need 0 ≤ calm_percentile ≤ stressed_percentile ≤ 100")
    if n < 2:
        raise ValueError("correlation needs at least 2 columns")
    if t < window + history - 1:
        raise ValueError(
            f"need at least window + history - 1 = {window + history - 1} rows, got {t}"
        )
    bad = ~np.isfinite(x).all(axis=0)
    if bad.any():
        raise ValueError(
            f"returns contain NaN or infinite values in columns: "
            f"{describe(bad, column_labels(returns))}; drop them first"
        )
    rolling = [_average_correlation(x[end - window : end]) for end in range(t - history + 1, t + 1)]
    levels = np.array([level for level, _ in rolling])
    now, k = rolling[-1]
    median = float(np.median(levels))
    percentile = 100.0 * float(np.mean(levels <= now))
    label: RegimeLabel = "normal"
    if percentile < calm_percentile:
        label = "calm"
    elif percentile > stressed_percentile:
        label = "stressed"
    delta = max(0.0, (now - median) / max(1.0 / (k - 1) + median, 1e-12))
    return CorrelationRegime(float(now), percentile, label, float(delta))

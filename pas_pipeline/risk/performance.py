"""Annualised risk-adjusted performance ratios: Sharpe and Sortino.

Both take *daily* returns (decimals, ``0.01`` = +1 %) and a *per-period*
risk-free rate, and annualise with ``sqrt(periods_per_year)``. NaN observations
are ignored column by column (a ticker that listed later simply has a shorter
sample). A column whose ratio is undefined raises :class:`ValueError` naming
it; NaN is never returned.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pas_pipeline.risk._arrays import Returns, Vector, as_columns, describe, per_column


def _excess(returns: Returns, risk_free: float) -> tuple[np.ndarray, pd.Index | None, bool]:
    values, labels, one_d = as_columns(returns)
    if not np.isfinite(risk_free):
        raise ValueError("risk_free must be a finite per-period rate")
    if np.isinf(values).any():
        raise ValueError("returns contain infinite values")
    return values - risk_free, labels, one_d


def _nan_std(values: np.ndarray, what: str, labels: pd.Index | None) -> np.ndarray:
    """Column standard deviations (ddof=1) ignoring NaN; raise where undefined or zero."""
    count = np.count_nonzero(~np.isnan(values), axis=0)
    few = count < 2
    if few.any():
        raise ValueError(f"fewer than 2 {what} in columns: {describe(few, labels)}")
    std = np.nanstd(values, axis=0, ddof=1)
    flat = ~(std > 0)
    if flat.any():
        raise ValueError(f"zero dispersion of {what} in columns: {describe(flat, labels)}")
    return std


def sharpe_ratio(
    returns: Returns, risk_free: float = 0.0, periods_per_year: int = 252
) -> float | Vector:
    r"""Annualised Sharpe ratio of daily returns.

    .. math:: S = \frac{\operatorname{mean}(r_t - r_f)}{\operatorname{std}(r_t - r_f)}
              \sqrt{P}

    with the sample standard deviation (``ddof=1``) and ``P = periods_per_year``.

    Parameters
    ----------
    returns
        Daily simple returns: a Series / 1-D array (one asset) or a DataFrame /
        2-D array of shape ``(T, n)`` (one ratio per column).
    risk_free
        Risk-free rate *per period* (daily), e.g. ``1.04 ** (1 / 252) - 1`` for
        4 % a year.
    periods_per_year
        Annualisation factor, 252 trading days by default.

    Returns
    -------
    float for 1-D input; a Series indexed by ticker (or a 1-D array) for 2-D input.

    Raises
    ------
    ValueError
        For a column with fewer than two observations or zero standard deviation
        (the ratio is undefined), naming the columns.
    """
    excess, labels, one_d = _excess(returns, risk_free)
    std = _nan_std(excess, "observations", labels)
    ratio = np.nanmean(excess, axis=0) / std * np.sqrt(periods_per_year)
    return per_column(ratio, labels, one_d)


def sortino_ratio(
    returns: Returns, risk_free: float = 0.0, periods_per_year: int = 252
) -> float | Vector:
    r"""Annualised Sortino ratio of daily returns, as defined by the seed system.

    .. math:: S^- = \frac{\operatorname{mean}(x_t)}{\operatorname{std}(x_t \mid x_t < 0)}
              \sqrt{P}, \qquad x_t = r_t - r_f

    The denominator is the sample standard deviation (``ddof=1``, around their
    own mean) of the *negative excess returns only*. This is **not** the
    target-downside-deviation variant
    ``sqrt(mean(min(x_t, 0)^2))`` over all ``T`` observations (Sortino & Price
    1994, used by e.g. empyrical); the two differ in both the sample (losing days
    vs all days) and the centring (the losses' mean vs zero).

    Parameters and return shapes are as for :func:`sharpe_ratio`.

    Raises
    ------
    ValueError
        For a column with fewer than two negative excess returns or whose
        negative excess returns are all equal (the ratio is undefined).
    """
    excess, labels, one_d = _excess(returns, risk_free)
    downside = np.where(excess < 0, excess, np.nan)
    std = _nan_std(downside, "negative excess returns", labels)
    ratio = np.nanmean(excess, axis=0) / std * np.sqrt(periods_per_year)
    return per_column(ratio, labels, one_d)

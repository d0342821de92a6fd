"""Daily simple returns from adjusted close prices."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

Prices = TypeVar("Prices", pd.DataFrame, pd.Series, np.ndarray)


def daily_returns(prices: Prices) -> Prices:
    """Simple daily returns ``r_t = p_t / p_{t-1} - 1`` of a wide price frame.

    Parameters
    ----------
    prices
        Adjusted close prices, shape ``(T, n)``: one row per trading day in
        chronological order, one column per ticker. A Series is treated as one
        ticker; a numpy array is accepted and a numpy array is returned.

    Returns
    -------
    DataFrame of shape ``(T - 1, n)`` (daily, not annualised, as decimals:
    ``0.01`` is +1 %) with the same columns and the index of ``prices`` minus its
    first row. A ticker's return is NaN wherever either of the two prices is
    missing; missing prices are never forward-filled.

    Raises
    ------
    ValueError
        If a price is zero, negative or infinite, or if a pandas index is not
        strictly increasing (unsorted or duplicated dates would silently produce
        wrong returns).
    """
    is_pandas = isinstance(prices, pd.DataFrame | pd.Series)
    if is_pandas and not (prices.index.is_monotonic_increasing and prices.index.is_unique):
        raise ValueError("prices index must be strictly increasing (sort and de-duplicate dates)")
    values = np.asarray(prices.to_numpy(dtype=float) if is_pandas else prices, dtype=float)
    present = values[~np.isnan(values)]
    if (present <= 0).any() or np.isinf(present).any():
        raise ValueError("prices must be positive and finite (NaN marks a missing price)")
    rets = values[1:] / values[:-1] - 1.0
    if not is_pandas:
        return rets
    if isinstance(prices, pd.Series):
        return pd.Series(rets, index=prices.index[1:], name=prices.name)
    return pd.DataFrame(rets, index=prices.index[1:], columns=prices.columns)

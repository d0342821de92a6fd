"""Conversions between the tidy frames stored in the warehouse and the wide matrices the
risk models take."""

from __future__ import annotations

import pandas as pd


def tidy_returns(prices: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Daily simple returns of ``adj_close`` per ticker for sessions in ``[start, end]``.

    ``prices`` must include the session before ``start`` so the first return can be formed.
    Returns columns ``date``, ``ticker``, ``ret`` (a fraction, daily, not annualised).
    """
    wide = prices.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    rets = wide / wide.shift(1) - 1.0
    rets = rets[(rets.index >= start) & (rets.index <= end)]
    frame = rets.stack().rename("ret").reset_index()
    return frame[["date", "ticker", "ret"]].sort_values(["date", "ticker"]).reset_index(drop=True)


def covariance_long(cov: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """A square covariance frame as rows ``date``, ``ticker``, ``other``, ``value``."""
    if cov.empty:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "ticker": pd.Series(dtype=str),
                "other": pd.Series(dtype=str),
                "value": pd.Series(dtype=float),
            }
        )
    frame = cov.rename_axis(index="ticker", columns="other").stack().rename("value").reset_index()
    frame.insert(0, "date", as_of)
    return frame


def covariance_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Inverse of :func:`covariance_long` for one date."""
    if frame.empty:
        return pd.DataFrame(dtype=float)
    wide = frame.pivot(index="ticker", columns="other", values="value")
    return wide.loc[wide.index, wide.index]


def wide_returns(returns: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Dates x ``names`` daily returns from the long ``returns`` frame (missing = NaN)."""
    frame = returns[returns["ticker"].isin(names)]
    return frame.pivot(index="date", columns="ticker", values="ret").reindex(columns=names)

"""Helpers that turn the tidy ``prices`` frame into the wide panels signals work on."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def adjusted_close_panel(
    prices: pd.DataFrame, as_of: pd.Timestamp, tickers: Iterable[str] | None = None
) -> pd.DataFrame:
    """Wide frame (sessions x tickers) of adjusted closes known on ``as_of`` (rows <= as_of)."""
    frame = prices[prices["date"] <= as_of]
    if tickers is not None:
        frame = frame[frame["ticker"].isin(list(tickers))]
    return frame.pivot(index="date", columns="ticker", values="adj_close").sort_index()

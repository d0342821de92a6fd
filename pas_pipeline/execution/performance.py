r"""Realised performance of the account from daily position snapshots (no Dagster).

Definitions (USD, shares, dates; one row per date present in the inputs, and "previous"
means the previous date present, so a missing day makes one period span two days):

* **value** of the account on date :math:`t`: :math:`V_t = \sum_s mv_{s,t} + cash_t`
  (without ``cash``: the invested value :math:`\sum_s mv_{s,t}`);
* **symbol P&L**: :math:`q_{s,t-1}\,(p_{s,t} - p_{s,t-1})`, the shares carried from the
  previous date times the price change. Trades are assumed to happen at the snapshot price
  (true for the simulated broker, which fills at the close the snapshot is marked at);
* **P&L** of the account: with ``cash``, :math:`V_t - V_{t-1} - F_t` (``flows``
  :math:`F_t` = external deposits, withdrawals negative); it then also contains what symbol
  P&L cannot see (fills away from the snapshot price, fees, dividends). Without ``cash``:
  the sum of the symbol P&L;
* **sleeve** :math:`k`: owns the share :math:`w_{k,s} / \sum_j w_{j,s}` of symbol :math:`s`
  according to the sleeve book in force (the latest rebalance dated on or before the date).
  Its value on :math:`t` is :math:`\sum_s share_{k,s,t}\, mv_{s,t}` (no cash), its P&L on
  :math:`t` is :math:`\sum_s share_{k,s,t-1}` × symbol P&L. A held symbol without a book
  entry belongs to the sleeve ``"unattributed"``. Without fees or flows, and with trades at
  the snapshot price, the sleeves' P&L adds up to the total's;
* **return** :math:`r_t = pnl_t / value_{t-1}`; NaN on the first date and where the previous
  value is 0 (nothing held);
* **cumulative return** :math:`\prod (1 + r) - 1` (NaN returns count as 0), 0 on the first
  date; **drawdown** :math:`1 - W_t / \max_{u \le t} W_u` with :math:`W = 1 +` cumulative
  return: a positive number, 0 at a new high;
* **Sharpe / Sortino**: :func:`pas_pipeline.risk.sharpe_ratio` /
  :func:`~pas_pipeline.risk.sortino_ratio` of the non-NaN daily returns (annualised);
  ``None`` when undefined (fewer than 2 returns, or fewer than 2 losing days for Sortino,
  or no dispersion).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pas_pipeline.risk import sharpe_ratio, sortino_ratio

TOTAL = "total"
UNATTRIBUTED = "unattributed"
DAILY_COLUMNS = ("date", "sleeve", "value", "pnl", "return", "cumulative_return", "drawdown")
_REBALANCE_DATE = re.compile(r"^rb-(\d{4}-\d{2}-\d{2})-")


@dataclass(frozen=True, eq=False)
class RealisedPerformance:
    """``daily``: tidy frame with :data:`DAILY_COLUMNS`, one row per (sleeve, date), the
    sleeve ``"total"`` first. ``summary``: sleeve → ``sharpe``, ``sortino`` (floats or
    None), ``max_drawdown``, ``current_drawdown``, ``cumulative_return`` and ``days`` (the
    number of daily returns)."""

    daily: pd.DataFrame
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    def sleeve(self, name: str) -> pd.DataFrame:
        """The rows of one sleeve, indexed by date."""
        rows = self.daily[self.daily["sleeve"] == name]
        return rows.drop(columns="sleeve").set_index("date")


def _dates(values: Any, what: str) -> pd.DatetimeIndex:
    """Dates as naive midnight timestamps (a tz-aware moment is taken in UTC)."""
    stamps = pd.to_datetime(pd.Index(values), utc=True)
    if stamps.isna().any():
        raise ValueError(f"{what} has missing dates")
    return pd.DatetimeIndex(stamps.tz_convert(None).normalize())


def _finite(values: pd.Series | pd.DataFrame, what: str) -> None:
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite numbers")


def _series_by_date(values: pd.Series | None, what: str) -> pd.Series | None:
    if values is None:
        return None
    out = pd.Series(values.to_numpy(dtype=float), index=_dates(values.index, what))
    if out.index.has_duplicates:
        raise ValueError(f"{what} repeats a date")
    _finite(out, what)
    return out


def _holdings(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Wide (date × symbol) qty, market value (0 when not held) and price (NaN)."""
    missing = {"as_of", "symbol", "qty", "market_value"} - set(snapshots.columns)
    if missing:
        raise ValueError(f"snapshots lack columns {sorted(missing)}")
    rows = pd.DataFrame(
        {
            "date": _dates(snapshots["as_of"], "snapshots"),
            "symbol": snapshots["symbol"].astype(str).to_numpy(),
            "qty": snapshots["qty"].to_numpy(dtype=float),
            "market_value": snapshots["market_value"].to_numpy(dtype=float),
        }
    )
    _finite(rows[["qty", "market_value"]], "snapshot qty and market_value")
    price = (
        snapshots["price"].to_numpy(dtype=float)
        if "price" in snapshots.columns
        else np.full(len(rows), np.nan)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = rows["market_value"].to_numpy() / rows["qty"].to_numpy()
    rows["price"] = np.where(np.isnan(price), implied, price)
    rows = rows[rows["qty"] != 0]
    duplicated = rows.duplicated(["date", "symbol"])
    if duplicated.any():
        first = rows[duplicated].iloc[0]
        raise ValueError(f"snapshots repeat {first['symbol']} on {first['date'].date()}")
    if not np.isfinite(rows["price"].to_numpy()).all():
        raise ValueError("snapshot prices must be finite")
    if rows.empty:
        empty = pd.DataFrame(index=pd.DatetimeIndex([]), columns=pd.Index([]), dtype=float)
        return empty, empty.copy(), empty.copy()
    wide = rows.pivot(index="date", columns="symbol")
    return (
        wide["qty"].fillna(0.0),
        wide["market_value"].fillna(0.0),
        wide["price"],
    )


def _books(sleeves: pd.DataFrame) -> dict[pd.Timestamp, pd.DataFrame]:
    """Effective date → book (sleeve × symbol weights) from the attribution frame."""
    missing = {"sleeve", "symbol", "weight"} - set(sleeves.columns)
    if missing:
        raise ValueError(f"sleeves lack columns {sorted(missing)}")
    if "as_of" in sleeves.columns:
        dates = _dates(sleeves["as_of"], "sleeves")
    elif "rebalance_id" in sleeves.columns:
        parsed = sleeves["rebalance_id"].astype(str).str.extract(_REBALANCE_DATE)[0]
        if parsed.isna().any():
            raise ValueError("sleeves: rebalance_id must look like rb-YYYY-MM-DD-…")
        dates = _dates(parsed, "sleeves")
    else:
        raise ValueError("sleeves need an as_of or a rebalance_id column")
    frame = pd.DataFrame(
        {
            "date": dates,
            "rebalance_id": sleeves.get("rebalance_id", pd.Series("", index=sleeves.index))
            .astype(str)
            .to_numpy(),
            "sleeve": sleeves["sleeve"].astype(str).to_numpy(),
            "symbol": sleeves["symbol"].astype(str).to_numpy(),
            "weight": sleeves["weight"].to_numpy(dtype=float),
        }
    )
    _finite(frame["weight"], "sleeve weights")
    if (frame["weight"] < 0).any():
        raise ValueError("sleeve weights must be >= 0")
    if (frame["sleeve"].isin([TOTAL, UNATTRIBUTED])).any():
        raise ValueError(f"a sleeve must not be called {TOTAL!r} or {UNATTRIBUTED!r}")
    several = frame.groupby("date")["rebalance_id"].nunique()
    if (several > 1).any():
        day = several[several > 1].index[0].date()
        raise ValueError(f"sleeves: several rebalances on {day}; keep the one that traded last")
    if frame.duplicated(["date", "sleeve", "symbol"]).any():
        raise ValueError("sleeves repeat a (date, sleeve, symbol)")
    return {
        day: book.pivot(index="sleeve", columns="symbol", values="weight").fillna(0.0)
        for day, book in frame.groupby("date")
    }


def _shares(
    books: Mapping[pd.Timestamp, pd.DataFrame], dates: pd.DatetimeIndex, symbols: pd.Index
) -> dict[str, pd.DataFrame]:
    """Sleeve → (date × symbol) share of each symbol owned by the sleeve on that date."""
    names = sorted({name for book in books.values() for name in book.index})
    shares = {name: pd.DataFrame(0.0, index=dates, columns=symbols) for name in names}
    shares[UNATTRIBUTED] = pd.DataFrame(1.0, index=dates, columns=symbols)
    effective = sorted(books)
    for day in dates:
        known = [d for d in effective if d <= day]
        if not known:
            continue
        book = books[known[-1]].reindex(columns=symbols, fill_value=0.0)
        totals = book.sum(axis=0)
        owned = totals > 0
        for name in book.index:
            shares[name].loc[day, owned] = (book.loc[name, owned] / totals[owned]).to_numpy()
        shares[UNATTRIBUTED].loc[day, owned] = 0.0
    return shares


def _path(value: pd.Series, pnl: pd.Series) -> pd.DataFrame:
    """Returns, cumulative return and drawdown of one value/P&L path (see module doc)."""
    previous = value.shift(1)
    returns = (pnl / previous).where(previous != 0)
    returns.iloc[0] = np.nan
    wealth = (1.0 + returns.fillna(0.0)).cumprod()
    return pd.DataFrame(
        {
            "value": value,
            "pnl": pnl,
            "return": returns,
            "cumulative_return": wealth - 1.0,
            "drawdown": 1.0 - wealth / wealth.cummax(),
        }
    )


def _ratio(func: Any, returns: pd.Series, risk_free: float, periods: int) -> float | None:
    try:
        return float(func(returns, risk_free=risk_free, periods_per_year=periods))
    except ValueError:
        return None


def _summary(path: pd.DataFrame, risk_free: float, periods: int) -> dict[str, Any]:
    returns = path["return"].dropna()
    return {
        "sharpe": _ratio(sharpe_ratio, returns, risk_free, periods),
        "sortino": _ratio(sortino_ratio, returns, risk_free, periods),
        "max_drawdown": float(path["drawdown"].max()),
        "current_drawdown": float(path["drawdown"].iloc[-1]),
        "cumulative_return": float(path["cumulative_return"].iloc[-1]),
        "days": len(returns),
    }


def realised_performance(
    snapshots: pd.DataFrame,
    cash: pd.Series | None = None,
    sleeves: pd.DataFrame | None = None,
    *,
    prices: pd.DataFrame | None = None,
    flows: pd.Series | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
) -> RealisedPerformance:
    """Daily value, P&L, returns, drawdown, Sharpe and Sortino, in total and per sleeve.

    Inputs (definitions in the module docstring):

    ``snapshots``
        End-of-day positions, one row per (``as_of``, ``symbol``) held: ``qty`` (shares),
        ``market_value`` (USD) and optionally ``price`` (USD per share; NaN or absent means
        market_value / qty). ``as_of`` is a date or a timestamp (tz-aware ones are taken in
        UTC, e.g. the ledger's ``position_snapshots.as_of`` = date 00:00 UTC). The prices
        must be the day's marks (closes); a date without rows holds nothing.
    ``cash``
        Cash (USD) at the end of each date, indexed by date; every snapshot date needs
        one. A date with cash but no snapshot rows holds only cash. ``None``: value is the
        invested value and P&L the sum of the symbol P&L.
    ``sleeves``
        Sleeve books: ``sleeve``, ``symbol``, ``weight`` (≥ 0) and the date the book takes
        effect, as an ``as_of`` column or read from a ``rebalance_id`` column
        (``rb-YYYY-MM-DD-…``, e.g. ``Ledger.sleeve_books_for`` plus the rebalance id). One
        rebalance per date. ``None``: only the total.
    ``prices``
        Closes (USD, date × symbol) for a symbol carried into a date on which it is no
        longer in the snapshot (sold that day); needed for symbol P&L (sleeves, or no
        cash). A missing one raises ValueError naming the symbol and date.
    ``flows``
        External deposits (+) / withdrawals (−) in USD on each date, already in ``cash``
        (requires ``cash``); they are not P&L.
    ``risk_free``, ``periods_per_year``
        Passed to the Sharpe and Sortino ratios (per-period rate, annualisation).
    """
    qty, market_value, price = _holdings(snapshots)
    cash_by_date = _series_by_date(cash, "cash")
    flows_by_date = _series_by_date(flows, "flows")
    if flows_by_date is not None and cash_by_date is None:
        raise ValueError("flows need cash: without cash there is no account value to adjust")
    dates = qty.index
    if cash_by_date is not None:
        lacking = dates.difference(cash_by_date.index)
        if len(lacking):
            raise ValueError(f"cash has no value on snapshot date {lacking[0].date()}")
        dates = dates.union(cash_by_date.index)
    dates = pd.DatetimeIndex(dates.sort_values(), name="date")
    if len(dates) == 0:
        raise ValueError("no snapshots and no cash: nothing to measure")
    symbols = qty.columns
    qty = qty.reindex(dates, fill_value=0.0)
    market_value = market_value.reindex(dates, fill_value=0.0)
    price = price.reindex(dates)
    if prices is not None:
        closes = prices.copy()
        closes.index = _dates(closes.index, "prices")
        closes.columns = closes.columns.astype(str)
        price = price.fillna(closes.reindex(index=dates, columns=symbols))

    carried = qty.shift(1).fillna(0.0)
    symbol_pnl = (carried * (price - price.shift(1))).where(carried != 0, 0.0)
    symbol_pnl.iloc[0] = np.nan
    needs_symbol_pnl = sleeves is not None or cash_by_date is None
    if needs_symbol_pnl:
        gaps = symbol_pnl.iloc[1:].isna()
        if gaps.any().any():
            day, symbol = gaps.stack().loc[lambda s: s].index[0]
            raise ValueError(
                f"no price for {symbol} on {day.date()} (held the day before): pass it in prices"
            )

    invested = market_value.sum(axis=1)
    if cash_by_date is not None:
        value = invested + cash_by_date.reindex(dates)
        external = 0.0 if flows_by_date is None else flows_by_date.reindex(dates, fill_value=0.0)
        pnl = value.diff() - external
    else:
        value = invested
        pnl = symbol_pnl.sum(axis=1, min_count=1)
    pnl.iloc[0] = np.nan
    paths = {TOTAL: _path(value, pnl)}

    if sleeves is not None:
        shares = _shares(_books(sleeves), dates, symbols)
        for name, share in shares.items():
            sleeve_value = (share * market_value).sum(axis=1)
            sleeve_pnl = (share.shift(1) * symbol_pnl).sum(axis=1)
            sleeve_pnl.iloc[0] = np.nan
            if name == UNATTRIBUTED and not (sleeve_value.any() or sleeve_pnl.iloc[1:].any()):
                continue
            paths[name] = _path(sleeve_value, sleeve_pnl)

    daily = pd.concat(
        [
            path.assign(sleeve=name).rename_axis("date").reset_index()
            for name, path in paths.items()
        ],
        ignore_index=True,
    )[list(DAILY_COLUMNS)]
    summary = {name: _summary(path, risk_free, periods_per_year) for name, path in paths.items()}
    if not all(math.isfinite(v) for v in daily["value"]):
        raise ValueError("account value is not finite")
    return RealisedPerformance(daily, summary)

"""Price-momentum signals: leveraged sector rotation and volatility-scaled stock momentum.

Both functions have the signal signature ``fn(data, as_of, spec) -> Sleeve`` and read only
``data["prices"]`` (tidy: ``date, ticker, adj_close, ...``, already cut to the rows known on
``as_of``), turned into a sessions x tickers panel by
:func:`~pas_pipeline.strategies.prices.adjusted_close_panel`. Parameters come from
``spec.params`` with the module constants below as defaults; ``spec.top_n`` is the number of
slots.

Shared conventions:

- A *session* is a row of the panel of the tickers a rule looks at (a date on which at least
  one of them has a close). "The last ``n`` sessions" ends with the latest row on or before
  ``as_of``.
- Returns are simple decimal returns (``0.10`` is +10 %); daily returns are
  ``P_t / P_{t-1} - 1``. Annualised volatility is the sample standard deviation
  (``ddof=1``) of daily returns times ``sqrt(252)``, also a decimal (``0.60`` is 60 %).
- A ticker needs every close of a rule's window: a missing, non-positive or non-finite close
  anywhere in it skips the ticker (nothing is forward-filled).
- Ranking, slots and weights follow :func:`~pas_pipeline.strategies.ranking.top_n_sleeve`
  with equal weighting: only scores ``> 0`` qualify, highest first, ties by ticker
  ascending; each of the ``top_n`` slots owns ``1/top_n`` of the sleeve and unfilled slots
  are cash, with a note saying why.
- Missing or empty prices or too short a history give an all-cash sleeve with a note, never
  an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pas_pipeline.sources.universe import sector_etfs
from pas_pipeline.strategies.prices import adjusted_close_panel
from pas_pipeline.strategies.ranking import top_n_sleeve
from pas_pipeline.strategies.sector_momentum import momentum_scores
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

PERIODS_PER_YEAR = 252
"""Trading sessions per year, the annualisation factor of volatilities."""

# --- leveraged_sector_momentum defaults ---------------------------------------------------
LEVERAGED_MOMENTUM_SESSIONS = 126
"""Sessions of the total-return score (about six months)."""
LEVERAGED_VOLATILITY_SESSIONS = 63
"""Daily returns in the volatility guard (about three months)."""
LEVERAGED_MAX_VOLATILITY = 0.60
"""Highest annualised volatility (decimal) a leveraged ETF may have to be held."""
LEVERAGED_MARKET_FILTER = True
"""Go to cash when the SPDR sector average momentum is negative."""

# --- volatility_scaled_momentum defaults --------------------------------------------------
VOL_SCALED_MOMENTUM_SESSIONS = 252
"""Sessions back to the start of the momentum window (``P_{t-252}``, about 12 months)."""
VOL_SCALED_SKIP_SESSIONS = 21
"""Most recent sessions left out of the momentum return (``P_{t-21}``, about one month)."""
VOL_SCALED_VOLATILITY_SESSIONS = 252
"""Daily returns in the volatility denominator (about 12 months)."""


def _prices(data: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """``data["prices"]``, or None when it is absent or has no rows."""
    frame = data.get("prices")
    if frame is None or len(frame) == 0:
        return None
    return frame


def _valid_columns(window: pd.DataFrame) -> np.ndarray:
    """Boolean per column: every close of ``window`` is present, finite and positive."""
    values = window.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return (np.isfinite(values) & (values > 0)).all(axis=0)


def annualised_volatility(closes: pd.DataFrame, sessions: int) -> pd.Series:
    """Annualised volatility of the last ``sessions`` daily returns of a wide close panel.

    Uses the last ``sessions + 1`` rows of ``closes`` (sessions x tickers), the daily simple
    returns ``P_t / P_{t-1} - 1`` between them, and returns ``std(ddof=1) * sqrt(252)`` per
    ticker as a decimal (``0.25`` is 25 % a year). A ticker with a missing, non-positive or
    non-finite close in those rows, or a panel shorter than ``sessions + 1`` rows, gets NaN.
    """
    if sessions < 2:
        raise ValueError(f"volatility needs at least 2 returns, got sessions={sessions}")
    window = closes.iloc[-(sessions + 1) :]
    result = pd.Series(np.nan, index=closes.columns, dtype=float)
    if len(window) < sessions + 1:
        return result
    values = window.to_numpy(dtype=float)
    valid = _valid_columns(window)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = values[1:] / values[:-1] - 1.0
        vol = returns.std(axis=0, ddof=1) * np.sqrt(PERIODS_PER_YEAR)
    result[:] = np.where(valid, vol, np.nan)
    return result


def _percent(value: float) -> str:
    return f"{value:.1%}"


def leveraged_sector_momentum(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Leveraged Sector Momentum: the strongest 2x sector ETFs, with a volatility guard.

    Rule, on the rebalance date ``D`` with adjusted closes up to and including ``D``:

    1. **Candidates** are the ProShares Ultra (2x daily) sector ETFs, the rows of
       :func:`~pas_pipeline.sources.universe.sector_etfs` with ``leverage == 2``.
    2. **Score** = total return over the last ``momentum_sessions`` (default 126) sessions,
       ``P_D / P_{D-126} - 1`` (decimal), computed by
       :func:`~pas_pipeline.strategies.sector_momentum.momentum_scores`. ETFs without all
       127 closes are skipped.
    3. **Market filter** (``market_filter``, default True): the equal-weight average of the
       same 126-session return over the SPDR sector ETFs (``leverage == 1``) that have a
       full history. If it is negative (``< 0``) the whole sleeve is cash; if no SPDR has a
       full history the filter cannot be checked and the sleeve is cash as well.
    4. **Volatility guard**: an ETF whose annualised volatility of its last
       ``volatility_sessions`` (default 63) daily returns, ``std(ddof=1) * sqrt(252)``,
       exceeds ``max_volatility`` (default 0.60, i.e. 60 % a year) is skipped, and the next
       ETF in the ranking may take its slot. An ETF at exactly the cap is kept.
    5. **Selection and weights**: the ``spec.top_n`` (3) highest remaining scores that are
       ``> 0`` (ties by ticker), ``1/top_n`` each (equal slots); empty slots are cash.

    Every cash reason is in the note: missing prices, no full history, the market filter
    (with the average it saw), ETFs skipped by the volatility guard (with their volatility)
    and unfilled slots.
    """
    as_of = pd.Timestamp(as_of)
    params = spec.params
    momentum = int(params.get("momentum_sessions", LEVERAGED_MOMENTUM_SESSIONS))
    vol_sessions = int(params.get("volatility_sessions", LEVERAGED_VOLATILITY_SESSIONS))
    max_vol = float(params.get("max_volatility", LEVERAGED_MAX_VOLATILITY))
    market_filter = bool(params.get("market_filter", LEVERAGED_MARKET_FILTER))

    prices = _prices(data)
    if prices is None:
        return Sleeve.empty(as_of, "no prices")
    etfs = sector_etfs()
    leveraged = etfs.loc[etfs["leverage"] == 2, "ticker"].tolist()
    spdrs = etfs.loc[etfs["leverage"] == 1, "ticker"].tolist()

    if market_filter:
        spdr_scores = momentum_scores(adjusted_close_panel(prices, as_of, spdrs), momentum)
        spdr_scores = spdr_scores[np.isfinite(spdr_scores)]
        if spdr_scores.empty:
            return Sleeve.empty(
                as_of,
                f"market filter: no SPDR sector ETF has a full {momentum}-session history; "
                "all cash",
            )
        market = float(spdr_scores.mean())
        if market < 0:
            return Sleeve.empty(
                as_of,
                f"market filter: the SPDR sector ETFs' average {momentum}-session return is "
                f"{_percent(market)} (< 0); all cash",
            )

    closes = adjusted_close_panel(prices, as_of, leveraged)
    scores = momentum_scores(closes, momentum)
    if scores.empty:
        return Sleeve.empty(as_of, f"no leveraged sector ETF has a full {momentum}-session history")
    vol = annualised_volatility(closes[scores.index], vol_sessions)
    too_volatile = ~(vol <= max_vol)  # NaN volatility (bad closes) is skipped too
    skipped = vol[too_volatile & (scores > 0)].sort_index()
    kept = scores[~too_volatile]

    guard = ""
    if len(skipped):
        listed = ", ".join(
            f"{t} ({_percent(v) if np.isfinite(v) else 'n/a'})" for t, v in skipped.items()
        )
        guard = f"; skipped for volatility above {_percent(max_vol)}: {listed}"
    guard = guard.replace("{", "{{").replace("}", "}}")
    return top_n_sleeve(
        kept,
        as_of,
        spec.top_n,
        weighting="equal",
        note_when_short="only {k} of {top_n} slots filled by leveraged sector ETFs with "
        "positive momentum; the rest is cash" + guard,
        note_when_empty="no leveraged sector ETF has positive momentum; all cash" + guard,
    )


def volatility_scaled_scores(
    closes: pd.DataFrame,
    momentum_sessions: int = VOL_SCALED_MOMENTUM_SESSIONS,
    skip_sessions: int = VOL_SCALED_SKIP_SESSIONS,
    volatility_sessions: int = VOL_SCALED_VOLATILITY_SESSIONS,
) -> pd.Series:
    """Volatility-scaled 12-1 momentum per ticker of a wide close panel (sessions x tickers).

    With ``t`` the last row, ``L = momentum_sessions``, ``S = skip_sessions`` and
    ``V = volatility_sessions``::

        score = (P_{t-S} / P_{t-L} - 1) / (std(last V daily returns, ddof=1) * sqrt(252))

    i.e. the return from ``L`` sessions ago to ``S`` sessions ago (the most recent month is
    left out, because one-month returns tend to reverse) per unit of annualised volatility.
    The score is unitless (return divided by annualised volatility).

    Only tickers with all of the last ``max(L, V) + 1`` closes present, finite and positive
    and a non-zero volatility get a score; the panel must have that many rows, otherwise the
    result is empty. NaN is never returned; the order is the panel's column order.
    """
    if not 0 <= skip_sessions < momentum_sessions:
        raise ValueError(
            f"need 0 <= skip_sessions < momentum_sessions, got {skip_sessions}, {momentum_sessions}"
        )
    history = max(momentum_sessions, volatility_sessions) + 1
    window = closes.iloc[-history:]
    if len(window) < history:
        return pd.Series(dtype=float)
    valid = _valid_columns(window)
    window = window.loc[:, valid]
    values = window.to_numpy(dtype=float)
    recent = values[-1 - skip_sessions]
    start = values[-1 - momentum_sessions]
    vol = annualised_volatility(window, volatility_sessions).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (recent / start - 1.0) / vol
    scores = pd.Series(score, index=window.columns, dtype=float)
    return scores[(vol > 0) & np.isfinite(scores.to_numpy())]


def volatility_scaled_momentum(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Volatility-Scaled Momentum: stocks with the best 12-1 return per unit of risk.

    Rule, on the rebalance date ``D`` with adjusted closes up to and including ``D``:

    1. **Candidates** are every ticker of the prices panel except the sector ETFs (both the
       SPDRs, ``leverage == 1``, and the 2x ProShares Ultra funds, ``leverage == 2``). A
       session is a date on which at least one candidate has a close.
    2. **Score** (:func:`volatility_scaled_scores`) =
       ``(P_{D-21} / P_{D-252} - 1) / (std(last 252 daily returns, ddof=1) * sqrt(252))``:
       the 12-month return *skipping the most recent month* (``skip_sessions``, default 21,
       left out because of short-term reversal) divided by annualised volatility. Params:
       ``momentum_sessions`` (252), ``skip_sessions`` (21), ``volatility_sessions`` (252).
    3. A ticker needs its full 253-session history (``max(252, 252) + 1`` closes, all
       present and positive); shorter histories, and zero volatility, are skipped.
    4. **Selection and weights**: the ``spec.top_n`` (50) highest scores ``> 0`` (ties by
       ticker), ``1/top_n`` each; empty slots are cash, with a note.
    """
    as_of = pd.Timestamp(as_of)
    params = spec.params
    momentum = int(params.get("momentum_sessions", VOL_SCALED_MOMENTUM_SESSIONS))
    skip = int(params.get("skip_sessions", VOL_SCALED_SKIP_SESSIONS))
    vol_sessions = int(params.get("volatility_sessions", VOL_SCALED_VOLATILITY_SESSIONS))
    history = max(momentum, vol_sessions) + 1

    prices = _prices(data)
    if prices is None:
        return Sleeve.empty(as_of, "no prices")
    stocks = prices[~prices["ticker"].isin(sector_etfs()["ticker"])]
    closes = adjusted_close_panel(stocks, as_of)
    scores = volatility_scaled_scores(closes, momentum, skip, vol_sessions)
    if scores.empty:
        return Sleeve.empty(as_of, f"no stock has a full {history}-session price history")
    return top_n_sleeve(
        scores,
        as_of,
        spec.top_n,
        weighting="equal",
        note_when_short="only {k} of {top_n} stocks have positive volatility-scaled "
        "momentum; the rest is cash",
        note_when_empty="no stock has positive volatility-scaled momentum; all cash",
    )

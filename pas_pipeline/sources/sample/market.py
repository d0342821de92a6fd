"""A deterministic synthetic market behind sample mode: sector ETFs and the sample universe.

Daily *total* returns come from a factor model, for every XNYS session from 2018-01-02 to
the calendar's last session::

    market_t   = mu_m + s_m * v_t * e_t
    sector_kt  = d_kt + s_k * v_t * e_kt                     d_kt: AR(1) drift (momentum)
    spdr_kt    = b_k * market_t + sector_kt + s_tiny * v_t * e
    stock_it   = b_i * market_t + g_i * sector_k(i)t + s_i * v_t * e_it
    levered_t  = L * underlying_t - cost / 252

``e`` are Student-t draws (df = 4) scaled to unit variance and clipped at +-10; ``v_t`` is a
persistent volatility regime normalised to unit mean square, so annual vols land where the
parameters put them (stocks 20-60 %, SPDR sector funds 15-30 %). ``d_kt`` persists for
months, so sector momentum is a (weak) real signal rather than pure noise.

Prices: ``close_t = (close_{t-1} - div_t) * (1 + r_t)``, i.e. ``close = start *
cumprod((1 + r) * (1 - q))`` where ``q`` is the dividend yield paid on an ex-date (ETFs pay
quarterly; stocks pay none) and is 0 otherwise. ``adj_close`` is the yfinance-style
backward adjustment (multiply by ``1 - div / previous close`` for every later ex-date), so
``adj_close`` returns equal ``r`` exactly. Open, high, low and volume are drawn per symbol
on demand from a symbol-specific random stream, so they cost no memory and any date range
gives the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from pas_pipeline.calendar import exchange_calendar, trading_days
from pas_pipeline.sources.universe import SECTORS, sample_universe, sector_etfs

START = dt.date(2018, 1, 2)
TRADING_DAYS_PER_YEAR = 252
STUDENT_T_DF = 4.0
NOISE_CLIP = 10.0
"""Standardised shocks are clipped at +-10 sd, which keeps daily returns far from -100 %."""

MARKET_DRIFT = 0.07  # annual arithmetic drift of the market factor
MARKET_VOL = 0.16  # annual
SECTOR_DRIFT_VOL = 0.12  # stationary sd of the annualised sector drift
SECTOR_DRIFT_MEMORY_DAYS = 126.0  # e-folding time of the sector drift
VOL_REGIME_SD = 0.35  # sd of log volatility
VOL_REGIME_MEMORY_DAYS = 60.0
ETF_TRACKING_VOL = 0.005  # annual "tiny noise" of a sector fund around its factor
LEVERED_COST = 0.0095  # annual expense of a leveraged fund, charged daily
STOCK_TURNOVER = 0.006  # daily dollar volume as a share of market cap
STOCK_VOL_BOUNDS = (0.22, 0.52)  # annual target vol of a stock
MIN_IDIOSYNCRATIC_VOL = 0.12  # annual
FUND_YIELD = (0.007, 0.035)  # annual dividend yield range of a SPDR sector fund
LEVERED_YIELD = (0.001, 0.008)  # annual dividend yield range of a leveraged fund
PER_DAY = 1.0 / np.sqrt(TRADING_DAYS_PER_YEAR)  # annual vol -> daily vol

SECTOR_PARAMS: dict[str, tuple[float, float]] = {
    "Communication Services": (1.05, 0.14),
    "Consumer Discretionary": (1.10, 0.12),
    "Consumer Staples": (0.70, 0.12),
    "Energy": (0.90, 0.24),
    "Financials": (1.05, 0.13),
    "Health Care": (0.85, 0.11),
    "Industrials": (1.00, 0.10),
    "Information Technology": (1.15, 0.14),
    "Materials": (1.00, 0.12),
    "Real Estate": (0.85, 0.15),
    "Utilities": (0.55, 0.15),
}
"""Per sector: (market beta of its sector fund, annual vol of the sector factor)."""


@dataclass(frozen=True)
class SymbolBars:
    """Daily bars of one symbol: parallel arrays, one element per session.

    ``sessions`` are ``datetime64[D]`` session dates; prices in USD (float64); ``volume`` in
    shares (int64); ``dividends`` is the cash dividend per share going ex on that session
    (0.0 when none).
    """

    symbol: str
    sessions: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray
    dividends: np.ndarray

    def __len__(self) -> int:
        return len(self.sessions)

    def slice(self, positions: slice) -> SymbolBars:
        """The bars at ``positions`` (views into these arrays)."""
        return SymbolBars(
            symbol=self.symbol,
            sessions=self.sessions[positions],
            open=self.open[positions],
            high=self.high[positions],
            low=self.low[positions],
            close=self.close[positions],
            adj_close=self.adj_close[positions],
            volume=self.volume[positions],
            dividends=self.dividends[positions],
        )


@dataclass(frozen=True, eq=False)
class SampleMarket:
    """The generated panel. Arrays are stored symbol-major (row = symbol, column = session).

    ``instruments`` has one row per symbol, in ``symbols`` order, with ``symbol, name,
    kind ("ETF" | "EQUITY"), sector, leverage, underlying, market_cap`` (USD, NaN for ETFs).
    ``session_opens``/``session_closes`` are epoch seconds (int64) of each session's open
    (09:30 New York) and close.
    """

    seed: int
    symbols: tuple[str, ...]
    sessions: pd.DatetimeIndex
    session_opens: np.ndarray
    session_closes: np.ndarray
    instruments: pd.DataFrame
    symbol_returns: np.ndarray  # (n_symbols, n_sessions) daily total returns
    symbol_closes: np.ndarray  # (n_symbols, n_sessions) unadjusted closes
    dividend_yield: np.ndarray  # (n_symbols,) paid on each ex-date
    ex_dividend: np.ndarray  # (n_sessions,) bool
    daily_vol: np.ndarray  # (n_symbols,) model daily vol, for intraday ranges
    dollar_volume: np.ndarray  # (n_symbols,) typical daily dollar volume
    _position: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_position", {name: i for i, name in enumerate(self.symbols)})

    @property
    def returns(self) -> np.ndarray:
        """Daily total returns, shape (n_sessions, n_symbols) (a view, do not modify)."""
        return self.symbol_returns.T

    @property
    def close(self) -> np.ndarray:
        """Unadjusted closes, shape (n_sessions, n_symbols) (a view, do not modify)."""
        return self.symbol_closes.T

    def index_of(self, symbol: str) -> int:
        """Row of ``symbol``; raises ``KeyError`` for an unknown symbol."""
        return self._position[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._position

    def returns_frame(self, symbols: list[str] | None = None) -> pd.DataFrame:
        """Daily total returns as a (sessions x symbols) frame."""
        names = list(self.symbols) if symbols is None else symbols
        rows = [self.index_of(name) for name in names]
        return pd.DataFrame(self.symbol_returns[rows].T, index=self.sessions, columns=names)

    def session_slice(self, start: dt.date | None = None, end: dt.date | None = None) -> slice:
        """Positions of the sessions in ``[start, end]`` (both inclusive; None = open end)."""
        lo = 0 if start is None else int(self.sessions.searchsorted(pd.Timestamp(start)))
        hi = (
            len(self.sessions)
            if end is None
            else int(self.sessions.searchsorted(pd.Timestamp(end), side="right"))
        )
        return slice(lo, max(lo, hi))

    def bars(
        self, symbol: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> SymbolBars:
        """Bars of ``symbol`` for the sessions in ``[start, end]`` (both inclusive)."""
        return self.bars_slice(symbol, self.session_slice(start, end))

    def bars_slice(self, symbol: str, positions: slice) -> SymbolBars:
        """Bars of ``symbol`` for the sessions at ``positions`` (a slice of ``sessions``).

        The intraday draws come from a stream seeded by (seed, symbol row) and always cover
        the whole history, so a bar does not depend on the range it was asked with.
        """
        row = self.index_of(symbol)
        p = positions
        z = np.random.default_rng([self.seed, 0x0B5, row]).standard_normal((4, len(self.sessions)))
        z = z[:, p]
        r = self.symbol_returns[row, p]
        close = self.symbol_closes[row, p]
        q_all = self.dividend_yield[row] * self.ex_dividend
        q = q_all[p]
        base = close / (1.0 + r)  # previous close less the dividend going ex today
        sigma = self.daily_vol[row]
        open_ = base * np.exp(0.3 * sigma * z[0])
        high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(z[1]))
        low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(z[2]))
        shares = self.dollar_volume[row] / close * np.exp(0.35 * z[3] + 0.3 * np.abs(r) / sigma)
        # yfinance adjustment: every ex-date multiplies all earlier closes by (1 - q).
        later = np.cumprod((1.0 - q_all)[::-1])[::-1]
        adj_factor = np.append(later[1:], 1.0)[p]
        return SymbolBars(
            symbol=symbol,
            sessions=self.sessions.values[p].astype("datetime64[D]"),
            open=open_,
            high=high,
            low=low,
            close=close,
            adj_close=close * adj_factor,
            volume=np.maximum(np.rint(shares), 100).astype(np.int64),
            dividends=q * base / (1.0 - q),  # q * previous close
        )

    def history(self, symbol: str) -> SymbolBars:
        """Bars of ``symbol`` for every session (generated on demand, not cached)."""
        return self.bars_slice(symbol, slice(None))


def _unit_t(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance and clipped at +-``NOISE_CLIP``."""
    draws = rng.standard_t(STUDENT_T_DF, size=shape)
    draws *= np.sqrt((STUDENT_T_DF - 2.0) / STUDENT_T_DF)
    return np.clip(draws, -NOISE_CLIP, NOISE_CLIP, out=draws)


def _persistent_paths(
    rng: np.random.Generator, n_sessions: int, n_sectors: int
) -> tuple[np.ndarray, np.ndarray]:
    """The volatility regime ``v`` (n_sessions,) and sector drifts (n_sessions, n_sectors).

    Both are stationary AR(1) processes; ``v = exp(h)`` is normalised to unit mean square.
    """
    phi_h = np.exp(-1.0 / VOL_REGIME_MEMORY_DAYS)
    phi_d = np.exp(-1.0 / SECTOR_DRIFT_MEMORY_DAYS)
    drift_sd = SECTOR_DRIFT_VOL / TRADING_DAYS_PER_YEAR
    shocks = rng.standard_normal((n_sessions, n_sectors + 1))
    shocks[:, 0] *= VOL_REGIME_SD * np.sqrt(1.0 - phi_h**2)
    shocks[:, 1:] *= drift_sd * np.sqrt(1.0 - phi_d**2)
    phi = np.concatenate([[phi_h], np.full(n_sectors, phi_d)])
    state = rng.standard_normal(n_sectors + 1) * np.concatenate(
        [[VOL_REGIME_SD], np.full(n_sectors, drift_sd)]
    )
    paths = np.empty_like(shocks)
    for t in range(n_sessions):
        state = phi * state + shocks[t]
        paths[t] = state
    regime = np.exp(paths[:, 0])
    regime /= np.sqrt(np.mean(regime**2))
    return regime, paths[:, 1:]


def _quarterly_ex_dates(sessions: pd.DatetimeIndex) -> np.ndarray:
    """True on the first session on or after the 20th of March, June, September, December."""
    quarter_month = sessions.month.isin([3, 6, 9, 12]) & (sessions.day >= 20)
    key = sessions.year * 100 + sessions.month
    first = ~pd.Series(key).where(quarter_month).duplicated().to_numpy()
    return np.asarray(quarter_month) & first


def _epoch_seconds(stamps: pd.Series) -> np.ndarray:
    """Epoch seconds (int64) of tz-aware timestamps."""
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def _instruments(size: int, seed: int) -> pd.DataFrame:
    etfs = sector_etfs()
    spdr = etfs["leverage"] == 1
    etf_names = np.where(
        spdr,
        "The " + etfs["sector"] + " Select Sector SPDR Fund",
        "ProShares Ultra " + etfs["sector"],
    )
    etf_rows = pd.DataFrame(
        {
            "symbol": etfs["ticker"],
            "name": etf_names,
            "kind": "ETF",
            "sector": etfs["sector"],
            "leverage": etfs["leverage"],
            "underlying": etfs["underlying"],
            "market_cap": np.nan,
        }
    )
    stocks = sample_universe(size, seed)
    stock_rows = pd.DataFrame(
        {
            "symbol": stocks["ticker"],
            "name": stocks["name"],
            "kind": "EQUITY",
            "sector": stocks["sector"],
            "leverage": 1.0,
            "underlying": stocks["ticker"],
            "market_cap": stocks["market_cap"],
        }
    )
    return pd.concat([etf_rows, stock_rows], ignore_index=True)


@dataclass(frozen=True)
class _Factors:
    """Common daily series: volatility regime, market factor, sector factors (by SECTORS)."""

    regime: np.ndarray  # (n_sessions,)
    market: np.ndarray  # (n_sessions,)
    sector: np.ndarray  # (n_sessions, n_sectors)


def _factors(rng: np.random.Generator, n_sessions: int) -> _Factors:
    regime, drift = _persistent_paths(rng, n_sessions, len(SECTORS))
    market = MARKET_DRIFT / TRADING_DAYS_PER_YEAR + (
        MARKET_VOL * PER_DAY * regime * _unit_t(rng, (n_sessions,))
    )
    sector_vol = np.array([SECTOR_PARAMS[s][1] for s in SECTORS]) * PER_DAY
    sector = drift + sector_vol * regime[:, None] * _unit_t(rng, (n_sessions, len(SECTORS)))
    return _Factors(regime, market, sector)


def _fund_returns(
    rng: np.random.Generator, factors: _Factors, sectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (n_funds, n_sessions) and daily vols of SPDR funds tracking ``sectors`` (indices)."""
    beta = np.array([SECTOR_PARAMS[SECTORS[k]][0] for k in sectors])
    sector_vol = np.array([SECTOR_PARAMS[SECTORS[k]][1] for k in sectors])
    shape = (len(sectors), len(factors.market))
    returns = (
        beta[:, None] * factors.market
        + factors.sector[:, sectors].T
        + ETF_TRACKING_VOL * PER_DAY * factors.regime * _unit_t(rng, shape)
    )
    return returns, np.hypot(beta * MARKET_VOL, sector_vol) * PER_DAY


def _stock_returns(
    rng: np.random.Generator,
    factors: _Factors,
    sectors: np.ndarray,
    market_caps: np.ndarray,
    out: np.ndarray,
    out_rows: np.ndarray,
) -> np.ndarray:
    """Write stock returns into rows ``out_rows`` of ``out``; return their model daily vols.

    Target annual vol falls with size (mega caps near the low bound); beta scatters around
    the sector fund's beta, the sector loading around 1; idiosyncratic vol makes up the rest.
    """
    n = len(sectors)
    low, high = STOCK_VOL_BOUNDS
    size_effect = 0.32 - 0.045 * np.log(market_caps / 1e10)
    target = np.clip(size_effect + rng.uniform(-0.06, 0.06, n), low, high)
    beta = np.array([SECTOR_PARAMS[SECTORS[k]][0] for k in sectors])
    beta *= np.exp(rng.normal(0.0, 0.2, n))
    gamma = rng.uniform(0.7, 1.3, n)
    sector_vol = np.array([SECTOR_PARAMS[SECTORS[k]][1] for k in sectors])
    systematic = (beta * MARKET_VOL) ** 2 + (gamma * sector_vol) ** 2  # annual variance
    idio = np.sqrt(np.maximum(target**2 - systematic, MIN_IDIOSYNCRATIC_VOL**2)) * PER_DAY
    block = 256  # bounds the temporaries
    for lo in range(0, n, block):
        rows = slice(lo, min(lo + block, n))
        chunk = _unit_t(rng, (rows.stop - lo, len(factors.market)))
        chunk *= idio[rows, None] * factors.regime
        chunk += beta[rows, None] * factors.market
        chunk += gamma[rows, None] * factors.sector[:, sectors[rows]].T
        out[out_rows[rows]] = chunk
    return np.sqrt(systematic * PER_DAY**2 + idio**2)


def _returns(
    rng: np.random.Generator, instruments: pd.DataFrame, n_sessions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Daily total returns (n_symbols, n_sessions) and model daily vols of every instrument."""
    factors = _factors(rng, n_sessions)
    sector_of = instruments["sector"].map({name: k for k, name in enumerate(SECTORS)})
    sectors = sector_of.to_numpy()
    kind = instruments["kind"].to_numpy()
    leverage = instruments["leverage"].to_numpy()
    returns = np.empty((len(instruments), n_sessions))
    daily_vol = np.empty(len(instruments))

    funds = np.flatnonzero((kind == "ETF") & (leverage == 1))
    returns[funds], daily_vol[funds] = _fund_returns(rng, factors, sectors[funds])

    position = {symbol: i for i, symbol in enumerate(instruments["symbol"])}
    for row in np.flatnonzero((kind == "ETF") & (leverage != 1)):
        under = position[instruments.at[row, "underlying"]]
        returns[row] = leverage[row] * returns[under] - LEVERED_COST / TRADING_DAYS_PER_YEAR
        daily_vol[row] = leverage[row] * daily_vol[under]

    stocks = np.flatnonzero(kind == "EQUITY")
    caps = instruments["market_cap"].to_numpy()[stocks]
    daily_vol[stocks] = _stock_returns(rng, factors, sectors[stocks], caps, returns, stocks)
    return returns, daily_vol


def _closes(
    returns: np.ndarray, start_price: np.ndarray, dividend_yield: np.ndarray, ex: np.ndarray
) -> np.ndarray:
    """``start * cumprod((1 + r) * (1 - q))`` per symbol, ``q`` paid on the ex-dates ``ex``."""
    closes = returns + 1.0
    for row in np.flatnonzero(dividend_yield):
        closes[row, ex] *= 1.0 - dividend_yield[row]
    np.cumprod(closes, axis=1, out=closes)
    closes *= start_price[:, None]
    return closes


def _build(size: int, seed: int) -> SampleMarket:
    instruments = _instruments(size, seed)
    sessions = pd.DatetimeIndex(trading_days(START, exchange_calendar().last_session.date()))
    n_symbols = len(instruments)
    rng = np.random.default_rng([seed, 0x3A7])
    returns, daily_vol = _returns(rng, instruments, len(sessions))

    is_etf = (instruments["kind"] == "ETF").to_numpy()
    levered = is_etf & (instruments["leverage"] != 1).to_numpy()
    annual_yield = np.where(levered, rng.uniform(*LEVERED_YIELD, n_symbols), 0.0)
    annual_yield = np.where(is_etf & ~levered, rng.uniform(*FUND_YIELD, n_symbols), annual_yield)
    dividend_yield = annual_yield / 4.0
    ex_dividend = _quarterly_ex_dates(sessions)
    start_price = np.exp(rng.uniform(np.log(10.0), np.log(500.0), n_symbols))
    dollar_volume = np.where(
        is_etf,
        np.exp(rng.uniform(np.log(5e7), np.log(3e9), n_symbols)),
        STOCK_TURNOVER * np.nan_to_num(instruments["market_cap"].to_numpy()),
    )
    cal = exchange_calendar()
    return SampleMarket(
        seed=seed,
        symbols=tuple(instruments["symbol"]),
        sessions=sessions,
        session_opens=_epoch_seconds(cal.opens.loc[sessions]),
        session_closes=_epoch_seconds(cal.closes.loc[sessions]),
        instruments=instruments,
        symbol_returns=returns,
        symbol_closes=_closes(returns, start_price, dividend_yield, ex_dividend),
        dividend_yield=dividend_yield,
        ex_dividend=ex_dividend,
        daily_vol=daily_vol,
        dollar_volume=dollar_volume,
    )


@cache
def sample_market(size: int = 1500, seed: int = 7) -> SampleMarket:
    """The synthetic market for ``sample_universe(size, seed)`` plus the sector ETFs (cached).

    Symbols: the 22 sector ETFs first (``sector_etfs()`` order), then the universe's stocks.
    """
    return _build(int(size), int(seed))

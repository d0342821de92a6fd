"""The synthetic market behind sample mode."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import exchange_calendar, trading_days
from pas_pipeline.sources.sample.market import (
    LEVERED_COST,
    SampleMarket,
    sample_market,
)
from pas_pipeline.sources.universe import SECTORS, sector_etfs

N_ETFS = 22


@pytest.fixture(scope="module")
def market() -> SampleMarket:
    return sample_market()


def annual_vol(returns: np.ndarray) -> np.ndarray:
    return returns.std(axis=0) * np.sqrt(252)


def test_covers_every_xnys_session_from_2018_to_the_calendars_end(market: SampleMarket) -> None:
    last = exchange_calendar().last_session.date()
    expected = trading_days(dt.date(2018, 1, 2), last)
    assert [d.date() for d in market.sessions] == expected
    assert pd.Timestamp("2024-07-04") not in market.sessions  # Independence Day


def test_panel_is_float64_sessions_by_symbols(market: SampleMarket) -> None:
    assert len(market.symbols) == N_ETFS + 1500
    assert market.symbols[:N_ETFS] == tuple(sector_etfs()["ticker"])
    assert market.returns.shape == (len(market.sessions), len(market.symbols))
    assert market.returns.dtype == np.float64
    assert market.close.dtype == np.float64
    assert np.isfinite(market.close).all()
    assert (market.close > 0).all()


def test_panel_fits_well_under_200_mb(market: SampleMarket) -> None:
    stored = market.symbol_returns.nbytes + market.symbol_closes.nbytes
    assert stored < 100e6


def test_same_size_and_seed_give_the_same_market() -> None:
    again = sample_market.__wrapped__(120, 7)
    cached = sample_market(120, 7)
    assert cached is sample_market(120, 7)
    np.testing.assert_array_equal(again.symbol_closes, cached.symbol_closes)
    np.testing.assert_array_equal(again.history("AAPL").volume, cached.history("AAPL").volume)


def test_another_seed_gives_another_market() -> None:
    assert not np.array_equal(
        sample_market(120, 7).symbol_returns, sample_market(120, 8).symbol_returns
    )


def test_bars_are_ohlc_consistent_with_positive_integer_volume(market: SampleMarket) -> None:
    for symbol in market.symbols[:: max(1, len(market.symbols) // 200)]:
        bars = market.history(symbol)
        assert (bars.low <= np.minimum(bars.open, bars.close)).all()
        assert (np.maximum(bars.open, bars.close) <= bars.high).all()
        assert (bars.low > 0).all()
        assert bars.volume.dtype == np.int64
        assert (bars.volume > 0).all()


def test_start_prices_lie_between_10_and_500(market: SampleMarket) -> None:
    start = market.close[0] / (1.0 + market.returns[0])
    assert start.min() >= 10.0
    assert start.max() <= 500.0


def test_close_compounds_the_returns_for_a_stock(market: SampleMarket) -> None:
    column = market.index_of("AAPL")
    close, returns = market.close[:, column], market.returns[:, column]
    np.testing.assert_allclose(close[1:] / close[:-1] - 1.0, returns[1:], rtol=0, atol=1e-12)


def test_a_date_range_is_a_slice_of_the_history(market: SampleMarket) -> None:
    part = market.bars("MSFT", dt.date(2024, 7, 1), dt.date(2024, 7, 8))
    whole = market.history("MSFT")
    where = market.session_slice(dt.date(2024, 7, 1), dt.date(2024, 7, 8))
    assert part.sessions.tolist() == [dt.date(2024, 7, d) for d in (1, 2, 3, 5, 8)]
    np.testing.assert_array_equal(part.high, whole.high[where])
    np.testing.assert_array_equal(part.volume, whole.volume[where])


def test_leveraged_etf_is_twice_its_underlying_less_the_daily_cost(market: SampleMarket) -> None:
    etfs = sector_etfs()
    for row in etfs[etfs["leverage"] == 2].itertuples():
        levered = market.returns[:, market.index_of(row.ticker)]
        underlying = market.returns[:, market.index_of(row.underlying)]
        np.testing.assert_allclose(
            levered, 2.0 * underlying - LEVERED_COST / 252, rtol=0, atol=1e-12
        )


def test_annual_vols_are_realistic(market: SampleMarket) -> None:
    vols = annual_vol(market.returns)
    spdr, stocks = vols[:11], vols[N_ETFS:]
    assert spdr.min() >= 0.15
    assert spdr.max() <= 0.30
    assert stocks.min() >= 0.20
    assert stocks.max() <= 0.60


def test_stock_returns_are_fat_tailed(market: SampleMarket) -> None:
    stocks = market.returns[:, N_ETFS:]
    z = (stocks - stocks.mean(axis=0)) / stocks.std(axis=0)
    excess_kurtosis = (z**4).mean(axis=0) - 3.0
    assert np.median(excess_kurtosis) > 2.0


def test_the_market_drifts_upwards(market: SampleMarket) -> None:
    spdr_mean = market.returns[:, :11].mean() * 252
    assert 0.0 < spdr_mean < 0.25


def test_stocks_correlate_most_with_their_own_sector_etf(market: SampleMarket) -> None:
    sectors = market.instruments["sector"].to_numpy()
    corr = np.corrcoef(market.returns[:, list(range(11)) + list(range(N_ETFS, N_ETFS + 1500))].T)
    etf_sector = sectors[:11]
    stock_sector = sectors[N_ETFS:]
    stock_vs_etf = corr[11:, :11]
    for sector in SECTORS:
        in_sector = stock_sector == sector
        own = etf_sector == sector
        mean_by_etf = stock_vs_etf[in_sector].mean(axis=0)
        assert mean_by_etf[own][0] > mean_by_etf[~own].max() + 0.05, sector


def test_sector_momentum_is_a_weak_but_real_signal(market: SampleMarket) -> None:
    """126-day sector momentum ranks the next 21 days better than chance on average."""
    growth = np.cumsum(np.log1p(market.returns[:, :11]), axis=0)
    ics = []
    for t in range(126, len(growth) - 21, 21):
        past = pd.Series(growth[t] - growth[t - 126]).rank()
        future = pd.Series(growth[t + 21] - growth[t]).rank()
        ics.append(past.corr(future))
    assert 0.0 < np.mean(ics) < 0.3


def test_etfs_pay_quarterly_dividends_and_stocks_none(market: SampleMarket) -> None:
    xlu = market.bars("XLU", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    paid = xlu.sessions[xlu.dividends > 0]
    assert [d.astype(dt.date).month for d in paid] == [3, 6, 9, 12]
    assert (market.history("AAPL").dividends == 0).all()


def test_adjusted_close_is_yfinance_backward_adjusted(market: SampleMarket) -> None:
    bars = market.history("XLE")
    ex = np.flatnonzero(bars.dividends > 0)
    last_ex = ex[-1]
    # after the last ex-date nothing is adjusted; before it every close is scaled down
    np.testing.assert_array_equal(bars.adj_close[last_ex:], bars.close[last_ex:])
    factor = 1.0 - bars.dividends[last_ex] / bars.close[last_ex - 1]
    before = slice(ex[-2], last_ex)
    np.testing.assert_allclose(bars.adj_close[before], bars.close[before] * factor, rtol=1e-12)
    # adjusted returns are the model's total returns
    adj_returns = bars.adj_close[1:] / bars.adj_close[:-1] - 1.0
    np.testing.assert_allclose(adj_returns, market.returns[1:, market.index_of("XLE")], atol=1e-12)

"""Sector Risk-Parity Momentum on a small hand-built price panel."""

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import trading_days
from pas_pipeline.risk import daily_returns, ledoit_wolf_covariance
from pas_pipeline.strategies.registry import STRATEGIES_BY_NAME
from pas_pipeline.strategies.run import known_on, sleeve_frame, sleeve_in_force
from pas_pipeline.strategies.sector_momentum import MOMENTUM_SESSIONS, RISK_SESSIONS

SPEC = STRATEGIES_BY_NAME["sector_risk_parity_momentum"]
SPDRS = ["XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY"]
SESSIONS = [pd.Timestamp(d) for d in trading_days("2023-06-01", "2024-07-05")]


def panel(total_returns: dict[str, float], seed: int = 3) -> pd.DataFrame:
    """Tidy prices whose 126-session total return per ETF is exactly ``total_returns``."""
    rng = np.random.default_rng(seed)
    rows = []
    for ticker in SPDRS:
        noise = rng.normal(0, 0.01, len(SESSIONS))
        path = 100 * np.exp(np.cumsum(noise))
        target = total_returns.get(ticker, -0.05)
        # rescale the last 127 closes so that P_D / P_{D-126} - 1 equals the target
        tail = path[-(MOMENTUM_SESSIONS + 1) :]
        drift = np.linspace(0, np.log((1 + target) * tail[0] / tail[-1]), MOMENTUM_SESSIONS + 1)
        path[-(MOMENTUM_SESSIONS + 1) :] = tail * np.exp(drift)
        rows.append(pd.DataFrame({"date": SESSIONS, "ticker": ticker, "adj_close": path}))
    return pd.concat(rows, ignore_index=True)


def test_holds_the_four_strongest_positive_sectors():
    prices = panel({"XLK": 0.30, "XLE": 0.20, "XLF": 0.10, "XLV": 0.05, "XLU": 0.01})
    sleeve = sleeve_in_force(SPEC, {"prices": prices}, SESSIONS[-1])
    assert list(sleeve.holdings["ticker"]) == ["XLK", "XLE", "XLF", "XLV"]
    assert sleeve.holdings["score"].to_numpy() == pytest.approx([0.30, 0.20, 0.10, 0.05], abs=1e-12)
    assert sleeve.holdings["weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_weights_equalise_risk_contributions_on_ledoit_wolf_covariance():
    prices = panel({"XLK": 0.30, "XLE": 0.20, "XLF": 0.10, "XLV": 0.05})
    sleeve = sleeve_in_force(SPEC, {"prices": prices}, SESSIONS[-1])
    closes = prices.pivot(index="date", columns="ticker", values="adj_close")
    chosen = list(sleeve.holdings["ticker"])
    cov = ledoit_wolf_covariance(daily_returns(closes[chosen].iloc[-(RISK_SESSIONS + 1) :]))
    w = sleeve.holdings.set_index("ticker")["weight"]
    contributions = w * (cov.loc[chosen, chosen] @ w)
    assert contributions.to_numpy() == pytest.approx(np.full(4, contributions.mean()), rel=1e-9)


def test_unfilled_slots_stay_in_cash():
    prices = panel({"XLK": 0.30, "XLE": 0.20})
    sleeve = sleeve_in_force(SPEC, {"prices": prices}, SESSIONS[-1])
    assert list(sleeve.holdings["ticker"]) == ["XLK", "XLE"]
    assert sleeve.cash_weight == pytest.approx(0.5, abs=1e-12)
    assert "only 2 of 4" in sleeve.note


def test_no_positive_momentum_means_all_cash_with_a_reason():
    sleeve = sleeve_in_force(SPEC, {"prices": panel({})}, SESSIONS[-1])
    assert sleeve.holdings.empty
    assert sleeve.cash_weight == 1.0
    assert sleeve.note == "no sector ETF has positive momentum"


def test_midweek_date_holds_what_was_decided_on_the_previous_friday():
    prices = panel({"XLK": 0.30, "XLE": 0.20, "XLF": 0.10, "XLV": 0.05})
    wednesday = pd.Timestamp("2024-07-10")
    later = pd.DataFrame(
        {"date": [pd.Timestamp("2024-07-08")] * len(SPDRS), "ticker": SPDRS, "adj_close": 1.0}
    )
    friday = sleeve_in_force(SPEC, {"prices": prices}, pd.Timestamp("2024-07-05"))
    midweek = sleeve_in_force(SPEC, {"prices": pd.concat([prices, later])}, wednesday)
    assert midweek.rebalance_date == pd.Timestamp("2024-07-05")
    pd.testing.assert_frame_equal(midweek.holdings, friday.holdings)


def test_rows_known_after_the_rebalance_date_are_invisible():
    frame = pd.DataFrame({"known_date": pd.to_datetime(["2024-07-01", "2024-07-09"]), "x": [1, 2]})
    assert known_on(frame, pd.Timestamp("2024-07-05"))["x"].tolist() == [1]


def test_stored_sleeve_carries_a_cash_row_so_weights_sum_to_one():
    prices = panel({"XLK": 0.30, "XLE": 0.20})
    sleeve = sleeve_in_force(SPEC, {"prices": prices}, SESSIONS[-1])
    frame = sleeve_frame(SPEC, sleeve, SESSIONS[-1])
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert frame.loc[frame["ticker"] == "$CASH", "weight"].item() == pytest.approx(0.5)

"""Leveraged Sector Momentum and Volatility-Scaled Momentum on hand-built price panels."""

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule, trading_days
from pas_pipeline.strategies import price_momentum
from pas_pipeline.strategies.price_momentum import (
    leveraged_sector_momentum,
    volatility_scaled_momentum,
)
from pas_pipeline.strategies.registry import StrategySpec

SPDRS = ["XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY"]
ULTRAS = ["DIG", "LTL", "ROM", "RXL", "UCC", "UGE", "UPW", "URE", "UXI", "UYG", "UYM"]
SESSIONS = [pd.Timestamp(d) for d in trading_days("2023-06-01", "2024-07-05")]
AS_OF = SESSIONS[-1]


def leveraged_spec(top_n: int = 3, **params) -> StrategySpec:
    return StrategySpec(
        name="leveraged_sector_momentum",
        title="Leveraged Sector Momentum",
        sources=("prices",),
        rule=RebalanceRule.WEEKLY_FRIDAY,
        top_n=top_n,
        lookback_sessions=131,
        signal=leveraged_sector_momentum,
        weighting="equal",
        params=params,
    )


def vol_scaled_spec(top_n: int = 3, **params) -> StrategySpec:
    return StrategySpec(
        name="volatility_scaled_momentum",
        title="Volatility-Scaled Momentum",
        sources=("prices",),
        rule=RebalanceRule.WEEKLY_FRIDAY,
        top_n=top_n,
        lookback_sessions=257,
        signal=volatility_scaled_momentum,
        weighting="equal",
        params=params,
    )


def steady(target: float, n: int = len(SESSIONS)) -> np.ndarray:
    """``n`` closes growing at a constant daily rate, so every 126-session return is ``target``
    (and the daily volatility is zero)."""
    g = (1 + target) ** (1 / 126) - 1
    return 100 * (1 + g) ** np.arange(n)


def zigzag(target: float, up: float = 0.06, n: int = len(SESSIONS)) -> np.ndarray:
    """Closes with daily returns alternating ``+up`` and ``d``, where ``(1+up)(1+d)`` compounds
    to ``1 + target`` over 63 pairs: every 126-session return is exactly ``target``."""
    down = (1 + target) ** (1 / 63) / (1 + up) - 1
    returns = np.where(np.arange(n - 1) % 2 == 0, up, down)
    return 100 * np.concatenate([[1.0], np.cumprod(1 + returns)])


def tidy(paths: dict[str, np.ndarray], sessions: list[pd.Timestamp] = SESSIONS) -> pd.DataFrame:
    """Tidy prices; a path shorter than ``sessions`` covers the latest sessions only."""
    frames = [
        pd.DataFrame({"date": sessions[-len(p) :], "ticker": t, "adj_close": p, "volume": 1e6})
        for t, p in paths.items()
    ]
    return pd.concat(frames, ignore_index=True)


def sector_panel(ultras: dict[str, np.ndarray], spdr_returns: dict[str, float] | None = None):
    """SPDRs steady at +5 % per 126 sessions unless given; Ultras steady at -5 % unless given."""
    spdr_returns = spdr_returns or {}
    paths = {t: steady(spdr_returns.get(t, 0.05)) for t in SPDRS}
    paths |= {t: ultras.get(t, steady(-0.05)) for t in ULTRAS}
    return tidy(paths)


def holdings(sleeve) -> list[tuple[str, float]]:
    return list(zip(sleeve.holdings["ticker"], sleeve.holdings["weight"], strict=True))


# --- leveraged_sector_momentum ------------------------------------------------------------


def test_leveraged_holds_the_three_strongest_positive_ultras_in_equal_slots():
    prices = sector_panel(
        {"UYG": steady(0.30), "ROM": steady(0.40), "DIG": steady(0.20), "RXL": steady(0.10)}
    )
    sleeve = leveraged_sector_momentum({"prices": prices}, AS_OF, leveraged_spec())
    assert list(sleeve.holdings["ticker"]) == ["ROM", "UYG", "DIG"]
    assert sleeve.holdings["score"].to_numpy() == pytest.approx([0.40, 0.30, 0.20], abs=1e-12)
    assert sleeve.holdings["weight"].to_numpy() == pytest.approx([1 / 3] * 3, abs=1e-12)
    assert sleeve.cash_weight == pytest.approx(0.0, abs=1e-12)
    assert sleeve.note == ""


def test_leveraged_never_holds_spdrs_even_when_they_are_stronger():
    prices = sector_panel({"ROM": steady(0.10)}, {"XLK": 0.90, "XLE": 0.80})
    sleeve = leveraged_sector_momentum({"prices": prices}, AS_OF, leveraged_spec())
    assert holdings(sleeve) == [("ROM", pytest.approx(1 / 3, abs=1e-12))]


def test_volatility_guard_skips_a_volatile_ultra_and_the_next_one_takes_its_slot():
    # ROM zigzags +6 % / -5.155 % a day: its last 63 daily returns have an annualised
    # volatility of std(ddof=1) * sqrt(252) = 0.8924 (89.2 %), above the 0.60 cap.
    rom = zigzag(0.40)
    returns = rom[-64:][1:] / rom[-64:][:-1] - 1
    assert returns.std(ddof=1) * np.sqrt(252) == pytest.approx(0.892414, abs=1e-6)
    ultras = {"ROM": rom, "UYG": steady(0.30), "DIG": steady(0.20), "RXL": steady(0.10)}
    sleeve = leveraged_sector_momentum({"prices": sector_panel(ultras)}, AS_OF, leveraged_spec())
    assert list(sleeve.holdings["ticker"]) == ["UYG", "DIG", "RXL"]
    assert sleeve.holdings["score"].to_numpy() == pytest.approx([0.30, 0.20, 0.10], abs=1e-12)
    assert sleeve.holdings["weight"].to_numpy() == pytest.approx([1 / 3] * 3, abs=1e-12)
    # with the cap raised above 89.2 % ROM is held, first (its score 0.40 is exact too)
    loose = leveraged_sector_momentum(
        {"prices": sector_panel(ultras)}, AS_OF, leveraged_spec(max_volatility=0.90)
    )
    assert list(loose.holdings["ticker"]) == ["ROM", "UYG", "DIG"]
    assert loose.holdings["score"].iloc[0] == pytest.approx(0.40, abs=1e-12)


def test_volatility_guard_leaving_slots_empty_says_so():
    ultras = {"ROM": zigzag(0.40), "UYG": steady(0.30)}
    sleeve = leveraged_sector_momentum({"prices": sector_panel(ultras)}, AS_OF, leveraged_spec())
    assert holdings(sleeve) == [("UYG", pytest.approx(1 / 3, abs=1e-12))]
    assert sleeve.cash_weight == pytest.approx(2 / 3, abs=1e-12)
    assert sleeve.note == (
        "only 1 of 3 slots filled by leveraged sector ETFs with positive momentum; the rest "
        "is cash; skipped for volatility above 60.0%: ROM (89.2%)"
    )
    alone = leveraged_sector_momentum(
        {"prices": sector_panel({"ROM": zigzag(0.40)})}, AS_OF, leveraged_spec()
    )
    assert alone.holdings.empty
    assert alone.note == (
        "no leveraged sector ETF has positive momentum; all cash; "
        "skipped for volatility above 60.0%: ROM (89.2%)"
    )


def test_market_filter_sends_the_sleeve_to_cash_when_the_spdr_average_is_negative():
    # SPDR 126-session returns: XLK +0.30, the other ten -0.05 -> average -0.20/11 = -1.8 %
    ultras = {"ROM": steady(0.40), "UYG": steady(0.30), "DIG": steady(0.20)}
    spdrs = {t: -0.05 for t in SPDRS} | {"XLK": 0.30}
    prices = sector_panel(ultras, spdrs)
    sleeve = leveraged_sector_momentum({"prices": prices}, AS_OF, leveraged_spec())
    assert sleeve.holdings.empty
    assert sleeve.cash_weight == 1.0
    assert sleeve.note == (
        "market filter: the SPDR sector ETFs' average 126-session return is -1.8% (< 0); all cash"
    )
    unfiltered = leveraged_sector_momentum(
        {"prices": prices}, AS_OF, leveraged_spec(market_filter=False)
    )
    assert list(unfiltered.holdings["ticker"]) == ["ROM", "UYG", "DIG"]


def test_market_filter_passes_at_a_positive_average():
    # XLK +0.60 and ten at -0.05: average +0.10/11 > 0, so the sleeve invests
    ultras = {"ROM": steady(0.40)}
    prices = sector_panel(ultras, {t: -0.05 for t in SPDRS} | {"XLK": 0.60})
    sleeve = leveraged_sector_momentum({"prices": prices}, AS_OF, leveraged_spec())
    assert holdings(sleeve) == [("ROM", pytest.approx(1 / 3, abs=1e-12))]
    assert sleeve.note.startswith("only 1 of 3 slots filled")


def test_leveraged_skips_an_ultra_with_a_short_history():
    # ROM has only 126 closes (125 returns), one short of the 127 the score needs
    ultras = {"ROM": steady(0.90, n=126), "UYG": steady(0.30), "DIG": steady(0.20)}
    ultras["RXL"] = steady(0.10)
    sleeve = leveraged_sector_momentum({"prices": sector_panel(ultras)}, AS_OF, leveraged_spec())
    assert list(sleeve.holdings["ticker"]) == ["UYG", "DIG", "RXL"]
    full = dict(ultras, ROM=steady(0.90, n=127))
    sleeve = leveraged_sector_momentum({"prices": sector_panel(full)}, AS_OF, leveraged_spec())
    assert list(sleeve.holdings["ticker"]) == ["ROM", "UYG", "DIG"]


def test_leveraged_without_history_or_prices_is_cash_with_a_reason():
    short = tidy({t: steady(0.1, n=100) for t in SPDRS + ULTRAS})
    sleeve = leveraged_sector_momentum({"prices": short}, AS_OF, leveraged_spec())
    assert sleeve.holdings.empty
    assert sleeve.note == (
        "market filter: no SPDR sector ETF has a full 126-session history; all cash"
    )
    sleeve = leveraged_sector_momentum(
        {"prices": short}, AS_OF, leveraged_spec(market_filter=False)
    )
    assert sleeve.note == "no leveraged sector ETF has a full 126-session history"
    empty = leveraged_sector_momentum({"prices": short.iloc[:0]}, AS_OF, leveraged_spec())
    assert empty.holdings.empty
    assert empty.note == "no prices"


def test_leveraged_ignores_rows_after_as_of():
    ultras = {"ROM": steady(0.40), "UYG": steady(0.30), "DIG": steady(0.20)}
    prices = sector_panel(ultras)
    as_of = SESSIONS[-1]
    later = pd.DataFrame(
        {
            "date": pd.Timestamp("2024-07-08"),
            "ticker": SPDRS + ULTRAS,
            "adj_close": [1.0] * len(SPDRS) + [1000.0] * len(ULTRAS),
            "volume": 1e6,
        }
    )
    before = leveraged_sector_momentum({"prices": prices}, as_of, leveraged_spec())
    after = leveraged_sector_momentum(
        {"prices": pd.concat([prices, later], ignore_index=True)}, as_of, leveraged_spec()
    )
    pd.testing.assert_frame_equal(after.holdings, before.holdings)
    assert after.note == before.note


# --- volatility_scaled_momentum -----------------------------------------------------------

N = 260
STOCK_SESSIONS = SESSIONS[-N:]


def stock(drift: float, amplitude: float = 0.02, n: int = N, phase: int = 0) -> np.ndarray:
    """Closes with daily returns ``drift + amplitude`` and ``drift - amplitude`` alternating."""
    signs = np.where((np.arange(n - 1) + phase) % 2 == 0, 1.0, -1.0)
    return 50 * np.concatenate([[1.0], np.cumprod(1 + drift + amplitude * signs)])


def by_formula(closes: np.ndarray) -> float:
    """The documented score, computed by hand: (P[t-21] / P[t-252] - 1) / (vol * sqrt(252))."""
    t = len(closes) - 1
    momentum = closes[t - 21] / closes[t - 252] - 1
    returns = [closes[i] / closes[i - 1] - 1 for i in range(t - 251, t + 1)]
    assert len(returns) == 252
    mean = sum(returns) / 252
    std = (sum((r - mean) ** 2 for r in returns) / 251) ** 0.5
    return momentum / (std * 252**0.5)


def stock_panel() -> dict[str, np.ndarray]:
    return {
        "AAA": stock(0.002),  # strong, calm
        "BBB": stock(0.003, amplitude=0.05),  # strongest drift but very volatile
        "CCC": stock(0.001),
        "DDD": stock(0.0005),
        "EEE": stock(-0.001),  # negative momentum: never held
        "NEW": stock(0.01, n=252),  # best score but only 252 closes: skipped
        "XLK": stock(0.01),  # sector ETFs are not candidates, however strong
        "ROM": stock(0.01),
    }


def test_vol_scaled_score_equals_the_formula_for_one_ticker():
    paths = stock_panel()
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(paths, STOCK_SESSIONS)}, STOCK_SESSIONS[-1], vol_scaled_spec(top_n=10)
    )
    scores = sleeve.holdings.set_index("ticker")["score"]
    assert scores["BBB"] == pytest.approx(by_formula(paths["BBB"]), abs=1e-12)
    assert scores["AAA"] == pytest.approx(by_formula(paths["AAA"]), abs=1e-12)


def test_vol_scaled_holds_top_n_by_score_in_equal_slots_and_skips_the_rest():
    paths = stock_panel()
    expected = {t: by_formula(paths[t]) for t in ["AAA", "BBB", "CCC", "DDD", "EEE"]}
    # drift per unit of volatility ranks AAA > CCC > BBB > DDD (BBB's 5 % swings cost it)
    assert expected["AAA"] > expected["CCC"] > expected["BBB"] > expected["DDD"] > 0
    assert expected["EEE"] < 0
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(paths, STOCK_SESSIONS)}, STOCK_SESSIONS[-1], vol_scaled_spec(top_n=3)
    )
    assert list(sleeve.holdings["ticker"]) == ["AAA", "CCC", "BBB"]
    assert sleeve.holdings["score"].to_numpy() == pytest.approx(
        [expected["AAA"], expected["CCC"], expected["BBB"]], abs=1e-12
    )
    assert sleeve.holdings["weight"].to_numpy() == pytest.approx([1 / 3] * 3, abs=1e-12)
    assert sleeve.note == ""


def test_vol_scaled_unfilled_slots_are_cash_with_a_note():
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(stock_panel(), STOCK_SESSIONS)},
        STOCK_SESSIONS[-1],
        vol_scaled_spec(top_n=5),
    )
    assert list(sleeve.holdings["ticker"]) == ["AAA", "CCC", "BBB", "DDD"]
    assert sleeve.holdings["weight"].to_numpy() == pytest.approx([0.2] * 4, abs=1e-12)
    assert sleeve.cash_weight == pytest.approx(0.2, abs=1e-12)
    assert sleeve.note == (
        "only 4 of 5 stocks have positive volatility-scaled momentum; the rest is cash"
    )


def test_vol_scaled_skips_the_last_month():
    # two stocks identical up to t-21; LATE then rallies 50 % in the skipped month, which
    # changes its volatility but not its momentum return
    base = stock(0.001)
    late = base.copy()
    late[-21:] *= 1.5
    paths = {"BASE": base, "LATE": late}
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(paths, STOCK_SESSIONS)}, STOCK_SESSIONS[-1], vol_scaled_spec(top_n=2)
    )
    scores = sleeve.holdings.set_index("ticker")["score"]
    assert scores["LATE"] == pytest.approx(by_formula(late), abs=1e-12)
    assert base[-22] / base[-253] == late[-22] / late[-253]
    assert scores["LATE"] < scores["BASE"]  # same return, higher volatility


def test_vol_scaled_requires_a_full_253_session_history():
    # NEW has 252 closes; with one more it is held (and, with the biggest drift, first)
    paths = stock_panel()
    spec = vol_scaled_spec(top_n=10)
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(paths, STOCK_SESSIONS)}, STOCK_SESSIONS[-1], spec
    )
    assert "NEW" not in set(sleeve.holdings["ticker"])
    paths["NEW"] = stock(0.01, n=253)
    sleeve = volatility_scaled_momentum(
        {"prices": tidy(paths, STOCK_SESSIONS)}, STOCK_SESSIONS[-1], spec
    )
    assert sleeve.holdings["ticker"].iloc[0] == "NEW"
    assert sleeve.holdings["score"].iloc[0] == pytest.approx(by_formula(paths["NEW"]), abs=1e-12)
    # a gap inside the window also skips the ticker
    gappy = tidy(paths, STOCK_SESSIONS)
    gappy = gappy[~((gappy["ticker"] == "AAA") & (gappy["date"] == STOCK_SESSIONS[-100]))]
    sleeve = volatility_scaled_momentum({"prices": gappy}, STOCK_SESSIONS[-1], spec)
    assert "AAA" not in set(sleeve.holdings["ticker"])


def test_vol_scaled_panel_shorter_than_253_sessions_is_cash():
    short = tidy({"AAA": stock(0.002, n=252)}, STOCK_SESSIONS)
    sleeve = volatility_scaled_momentum({"prices": short}, STOCK_SESSIONS[-1], vol_scaled_spec())
    assert sleeve.holdings.empty
    assert sleeve.cash_weight == 1.0
    assert sleeve.note == "no stock has a full 253-session price history"
    missing = volatility_scaled_momentum({}, STOCK_SESSIONS[-1], vol_scaled_spec())
    assert missing.note == "no prices"


def test_vol_scaled_ignores_rows_after_as_of():
    paths = stock_panel()
    prices = tidy(paths, STOCK_SESSIONS)
    as_of = STOCK_SESSIONS[-1]
    # a week later DDD is at 100x and AAA has halved: invisible on as_of
    later = pd.DataFrame(
        {
            "date": pd.Timestamp("2024-07-08"),
            "ticker": ["AAA", "DDD"],
            "adj_close": [paths["AAA"][-1] / 2, paths["DDD"][-1] * 100],
            "volume": 1e6,
        }
    )
    spec = vol_scaled_spec(top_n=3)
    before = volatility_scaled_momentum({"prices": prices}, as_of, spec)
    after = volatility_scaled_momentum(
        {"prices": pd.concat([prices, later], ignore_index=True)}, as_of, spec
    )
    pd.testing.assert_frame_equal(after.holdings, before.holdings)
    assert list(after.holdings["ticker"]) == ["AAA", "CCC", "BBB"]


def test_vol_scaled_ranks_a_full_universe_by_the_formula():
    rng = np.random.default_rng(0)
    tickers = [f"S{i:04d}" for i in range(1500)]
    closes = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (N, len(tickers))), axis=0))
    prices = pd.DataFrame(
        {
            "date": np.repeat(STOCK_SESSIONS, len(tickers)),
            "ticker": np.tile(tickers, N),
            "adj_close": closes.ravel(),
        }
    )
    sleeve = volatility_scaled_momentum(
        {"prices": prices}, STOCK_SESSIONS[-1], vol_scaled_spec(top_n=50)
    )
    assert len(sleeve.holdings) == 50
    first = sleeve.holdings["ticker"].iloc[0]
    column = closes[:, tickers.index(first)]
    assert sleeve.holdings["score"].iloc[0] == pytest.approx(by_formula(column), abs=1e-12)


def test_module_defaults_match_the_documented_rule():
    assert price_momentum.LEVERAGED_MOMENTUM_SESSIONS == 126
    assert price_momentum.LEVERAGED_VOLATILITY_SESSIONS == 63
    assert price_momentum.LEVERAGED_MAX_VOLATILITY == 0.60
    assert price_momentum.VOL_SCALED_MOMENTUM_SESSIONS == 252
    assert price_momentum.VOL_SCALED_SKIP_SESSIONS == 21
    assert price_momentum.VOL_SCALED_VOLATILITY_SESSIONS == 252

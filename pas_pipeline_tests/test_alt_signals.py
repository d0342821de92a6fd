"""Alternative-data strategy signals on small hand-worked examples.

Every example states its answer: which tickers are held, their scores and weights. Signals
are run through ``known_on`` (as the sleeve asset does), so rows known after the rebalance
date must not change the sleeve.
"""

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.strategies import alt_signals
from pas_pipeline.strategies.ranking import top_n_sleeve, window
from pas_pipeline.strategies.registry import StrategySpec
from pas_pipeline.strategies.run import known_on, sleeve_frame, sleeve_in_force
from pas_pipeline.strategies.sleeve import Sleeve

MONDAY = pd.Timestamp("2024-06-03")  # a Monday, and the first Monday of June 2024
FIRST_OF_JULY = pd.Timestamp("2024-07-01")  # the first trading day of July 2024
D = pd.Timestamp


def make_spec(
    signal: Callable[..., Sleeve],
    top_n: int,
    sources: tuple[str, ...],
    rule: RebalanceRule = RebalanceRule.WEEKLY_MONDAY,
    **params: object,
) -> StrategySpec:
    return StrategySpec(
        name=signal.__name__,
        title=signal.__name__,
        sources=sources,
        rule=rule,
        top_n=top_n,
        lookback_sessions=30,
        signal=signal,
        weighting="test",
        params=params,
    )


def run(spec: StrategySpec, data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> Sleeve:
    """The signal on the data known on ``as_of`` (the universe has no dates and is not cut)."""
    known = {
        name: frame if name == "universe" else known_on(frame, as_of)
        for name, frame in data.items()
    }
    return spec.signal(known, as_of, spec)


def assert_holdings(sleeve: Sleeve, tickers: list[str], scores: list[float], weights) -> None:
    assert list(sleeve.holdings["ticker"]) == tickers
    np.testing.assert_allclose(sleeve.holdings["score"].to_numpy(), scores, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sleeve.holdings["weight"].to_numpy(), weights, rtol=0, atol=1e-12)


def assert_all_cash(sleeve: Sleeve, note_part: str) -> None:
    assert sleeve.holdings.empty
    assert sleeve.cash_weight == 1.0
    assert note_part in sleeve.note


def same_sleeve(a: Sleeve, b: Sleeve) -> None:
    assert a.rebalance_date == b.rebalance_date
    assert a.note == b.note
    pd.testing.assert_frame_equal(a.holdings, b.holdings)


# --- frame builders (the columns and dtypes of quiver_parsers) ---------------------------


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    frame["event_date"] = pd.to_datetime(frame["event_date"]).astype("datetime64[ns]")
    frame["known_date"] = pd.to_datetime(frame["known_date"]).astype("datetime64[ns]")
    return frame


def congress(rows: list[tuple]) -> pd.DataFrame:
    """Rows (known_date, ticker, side, amount_mid[, bioguide_id])."""
    records = []
    for row in rows:
        known, ticker, side, mid = row[:4]
        bioguide = row[4] if len(row) > 4 else "A000001"
        records.append(
            {
                "event_date": D(known) - pd.Timedelta(days=20),
                "known_date": D(known),
                "ticker": ticker,
                "politician": "Doe, Jane",
                "bioguide_id": bioguide,
                "chamber": "House",
                "party": "D",
                "transaction": {"buy": "Purchase", "sell": "Sale"}.get(side, "Exchange"),
                "side": side,
                "amount_low": mid / 2,
                "amount_high": mid * 1.5,
                "amount_mid": float(mid),
                "ticker_type": "ST",
            }
        )
    return _dates(pd.DataFrame(records))


def contracts(rows: list[tuple]) -> pd.DataFrame:
    """Rows (known_date, ticker, amount)."""
    frame = pd.DataFrame(
        [
            {
                "event_date": D(k),
                "known_date": D(k),
                "ticker": t,
                "amount": float(a),
                "agency": "DoD",
                "description": "",
            }
            for k, t, a in rows
        ]
    )
    return _dates(frame)


def insiders(rows: list[tuple]) -> pd.DataFrame:
    """Rows (known_date, ticker, transaction_code, value, is_officer, is_director)."""
    frame = pd.DataFrame(
        [
            {
                "event_date": D(k) - pd.Timedelta(days=2),
                "known_date": D(k),
                "ticker": t,
                "insider": "Someone",
                "transaction_code": code,
                "acquired_disposed": "D" if code == "S" else "A",
                "shares": value / 10.0,
                "price": 10.0,
                "value": float(value),
                "is_officer": officer,
                "is_director": director,
                "title": "CEO" if officer else None,
            }
            for k, t, code, value, officer, director in rows
        ]
    )
    return _dates(frame)


def lobbying(rows: list[tuple]) -> pd.DataFrame:
    """Rows (known_date, ticker, amount)."""
    frame = pd.DataFrame(
        [
            {
                "event_date": D(k),
                "known_date": D(k),
                "ticker": t,
                "amount": float(a),
                "client": t,
                "issue": "TAX",
                "registrant": "Firm",
            }
            for k, t, a in rows
        ]
    )
    return _dates(frame)


def apps(rows: list[tuple]) -> pd.DataFrame:
    """Rows (known_date, ticker, app, rating, review_count)."""
    frame = pd.DataFrame(
        [
            {
                "event_date": D(k),
                "known_date": D(k),
                "ticker": t,
                "app": app,
                "rating": float(r),
                "review_count": float(n),
            }
            for k, t, app, r, n in rows
        ]
    )
    return _dates(frame)


def empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0]


# --- ranking helpers ---------------------------------------------------------------------


def test_window_is_open_at_the_start_and_closed_at_the_end():
    frame = lobbying([("2024-05-03", "A", 1), ("2024-05-04", "B", 1), ("2024-06-03", "C", 1)])
    frame = pd.concat([frame, lobbying([("2024-06-04", "D", 1)])], ignore_index=True)
    assert list(window(frame, MONDAY, 30)["ticker"]) == ["C"]
    assert list(window(frame, MONDAY, 31)["ticker"]) == ["B", "C"]


def test_top_n_sleeve_equal_weights_fill_every_slot():
    scores = pd.Series({"CCC": 1.0, "AAA": 3.0, "BBB": 2.0, "DDD": 0.5})
    sleeve = top_n_sleeve(scores, MONDAY, 3)
    assert_holdings(sleeve, ["AAA", "BBB", "CCC"], [3.0, 2.0, 1.0], [1 / 3, 1 / 3, 1 / 3])
    assert sleeve.note == ""
    assert sleeve.rebalance_date == MONDAY


def test_top_n_sleeve_score_weights_and_empty_slots_in_cash():
    scores = pd.Series({"AAA": 3.0, "BBB": 1.0, "CCC": -2.0, "DDD": 0.0, "EEE": np.nan})
    full = top_n_sleeve(scores, MONDAY, 2, weighting="score")
    assert_holdings(full, ["AAA", "BBB"], [3.0, 1.0], [0.75, 0.25])
    short = top_n_sleeve(scores, MONDAY, 4, weighting="score", note_when_short="{k}/{top_n}")
    assert_holdings(short, ["AAA", "BBB"], [3.0, 1.0], [0.375, 0.125])
    assert short.cash_weight == pytest.approx(0.5, abs=1e-12)
    assert short.note == "2/4"


def test_top_n_sleeve_breaks_ties_by_ticker():
    scores = pd.Series({"ZZZ": 2.0, "MMM": 2.0, "AAA": 1.0, "BBB": 2.0})
    sleeve = top_n_sleeve(scores, MONDAY, 2)
    assert_holdings(sleeve, ["BBB", "MMM"], [2.0, 2.0], [0.5, 0.5])


def test_top_n_sleeve_min_score_and_all_cash_note():
    scores = pd.Series({"AAA": 60.0, "BBB": 50.0, "CCC": 49.9})
    sleeve = top_n_sleeve(scores, MONDAY, 2, weighting="score", min_score=50.0)
    assert_holdings(sleeve, ["AAA", "BBB"], [60.0, 50.0], [60 / 110, 50 / 110])
    cash = top_n_sleeve(scores, MONDAY, 2, min_score=100.0, note_when_empty="nothing")
    assert_all_cash(cash, "nothing")
    assert_all_cash(top_n_sleeve(pd.Series(dtype=float), MONDAY, 5), "no ticker qualifies")


def test_top_n_sleeve_rejects_bad_arguments():
    scores = pd.Series({"AAA": 1.0})
    with pytest.raises(ValueError, match="weighting"):
        top_n_sleeve(scores, MONDAY, 2, weighting="cap")
    with pytest.raises(ValueError, match="min_score"):
        top_n_sleeve(scores, MONDAY, 2, weighting="score", min_score=0.0)
    with pytest.raises(ValueError, match="top_n"):
        top_n_sleeve(scores, MONDAY, 0)


def test_cash_sleeve_is_stored_as_one_cash_row():
    spec = make_spec(alt_signals.congressional_aggregate, 20, ("congress_trades",))
    frame = sleeve_frame(spec, run(spec, {}, MONDAY), MONDAY)
    assert list(frame["ticker"]) == ["$CASH"]
    assert list(frame["weight"]) == [1.0]


# --- 1. Congressional-Trading Aggregate --------------------------------------------------

CONGRESS = congress(
    [
        ("2024-05-10", "AAA", "sell", 8_000),
        ("2024-05-20", "AAA", "buy", 8_000),
        ("2024-06-03", "AAA", "buy", 32_500),  # on as_of: inside
        ("2024-05-05", "BBB", "buy", 75_000),  # first day inside (as_of - 29)
        ("2024-05-04", "CCC", "buy", 175_000),  # as_of - 30: outside
        ("2024-05-30", "CCC", "buy", 8_000),
        ("2024-05-15", "DDD", "sell", 32_500),
        ("2024-05-15", "EEE", "other", 8_000),
    ]
)


def test_congressional_aggregate_nets_dollar_buys_over_30_days():
    # AAA: 8,000 + 32,500 - 8,000 = 32,500; BBB 75,000; CCC 8,000 (175,000 is 30 days old);
    # DDD -32,500 and EEE (an exchange) 0 are not held.
    spec = make_spec(alt_signals.congressional_aggregate, 2, ("congress_trades",))
    sleeve = run(spec, {"congress_trades": CONGRESS}, MONDAY)
    assert_holdings(sleeve, ["BBB", "AAA"], [75_000, 32_500], [0.5, 0.5])
    assert sleeve.note == ""


def test_congressional_aggregate_unfilled_slots_are_cash():
    spec = make_spec(alt_signals.congressional_aggregate, 20, ("congress_trades",))
    sleeve = run(spec, {"congress_trades": CONGRESS}, MONDAY)
    assert_holdings(sleeve, ["BBB", "AAA", "CCC"], [75_000, 32_500, 8_000], [0.05] * 3)
    assert sleeve.cash_weight == pytest.approx(0.85, abs=1e-12)
    assert sleeve.note.startswith("only 3 of 20 tickers have net congressional buying")


def test_congressional_aggregate_window_is_a_param():
    spec = make_spec(alt_signals.congressional_aggregate, 2, ("congress_trades",), window_days=31)
    sleeve = run(spec, {"congress_trades": CONGRESS}, MONDAY)
    assert_holdings(sleeve, ["CCC", "BBB"], [183_000, 75_000], [0.5, 0.5])


def test_congressional_aggregate_ties_broken_by_ticker():
    trades = congress([("2024-05-20", "ZZZ", "buy", 8_000), ("2024-05-21", "MMM", "buy", 8_000)])
    spec = make_spec(alt_signals.congressional_aggregate, 1, ("congress_trades",))
    assert_holdings(run(spec, {"congress_trades": trades}, MONDAY), ["MMM"], [8_000], [1.0])


def test_congressional_aggregate_keeps_to_the_universe():
    universe = pd.DataFrame({"ticker": ["AAA", "CCC", "DDD"], "sector": "Tech"})
    spec = make_spec(alt_signals.congressional_aggregate, 3, ("congress_trades", "universe"))
    sleeve = run(spec, {"congress_trades": CONGRESS, "universe": universe}, MONDAY)
    assert_holdings(sleeve, ["AAA", "CCC"], [32_500, 8_000], [1 / 3, 1 / 3])
    assert "1 scored tickers outside the universe" in sleeve.note


def test_congressional_aggregate_mid_week_holds_the_monday_decision():
    late = congress([("2024-06-04", "ZZZ", "buy", 5_000_000)])
    spec = make_spec(alt_signals.congressional_aggregate, 2, ("congress_trades",))
    data = {"congress_trades": pd.concat([CONGRESS, late], ignore_index=True)}
    wednesday = sleeve_in_force(spec, data, pd.Timestamp("2024-06-05"))
    assert wednesday.rebalance_date == MONDAY
    assert_holdings(wednesday, ["BBB", "AAA"], [75_000, 32_500], [0.5, 0.5])


# --- 2. Politician sleeves ---------------------------------------------------------------

PELOSI = "P000197"
POLITICIAN = congress(
    [
        ("2024-01-10", "AAA", "buy", 30_000, PELOSI),
        ("2024-03-01", "AAA", "buy", 10_000, PELOSI),
        ("2023-12-01", "BBB", "buy", 8_000, PELOSI),
        ("2024-02-01", "BBB", "sell", 8_000, PELOSI),  # BBB nets to 0
        ("2023-06-04", "CCC", "buy", 75_000, PELOSI),  # as_of - 365: outside
        ("2024-05-01", "CCC", "buy", 10_000, PELOSI),
        ("2024-04-01", "DDD", "sell", 20_000, PELOSI),
        ("2024-05-01", "EEE", "buy", 1_000_000, "X000001"),  # someone else
    ]
)


def politician_spec(top_n: int, **params: object) -> StrategySpec:
    return make_spec(
        alt_signals.politician_sleeve,
        top_n,
        ("congress_trades",),
        RebalanceRule.MONTHLY_FIRST_MONDAY,
        **{"bioguide_id": PELOSI, **params},
    )


def test_politician_sleeve_weights_by_net_amount():
    # AAA 40,000, CCC 10,000 (the 75,000 buy is 365 days old): weights 0.8 and 0.2.
    sleeve = run(politician_spec(2), {"congress_trades": POLITICIAN}, MONDAY)
    assert_holdings(sleeve, ["AAA", "CCC"], [40_000, 10_000], [0.8, 0.2])


def test_politician_sleeve_with_spare_slots_keeps_them_in_cash():
    sleeve = run(politician_spec(5), {"congress_trades": POLITICIAN}, MONDAY)
    assert_holdings(sleeve, ["AAA", "CCC"], [40_000, 10_000], [0.32, 0.08])
    assert sleeve.cash_weight == pytest.approx(0.6, abs=1e-12)
    assert "P000197 is net long only 2 tickers of 5 slots" in sleeve.note


def test_politician_sleeve_top_n_caps_the_names():
    sleeve = run(politician_spec(1), {"congress_trades": POLITICIAN}, MONDAY)
    assert_holdings(sleeve, ["AAA"], [40_000], [1.0])


def test_politician_sleeve_needs_a_bioguide_id():
    spec = make_spec(alt_signals.politician_sleeve, 5, ("congress_trades",))
    with pytest.raises(ValueError, match="bioguide_id"):
        run(spec, {"congress_trades": POLITICIAN}, MONDAY)


def test_politician_without_trades_is_all_cash():
    spec = politician_spec(5, bioguide_id="Z999999")
    sleeve = run(spec, {"congress_trades": POLITICIAN}, MONDAY)
    assert_all_cash(sleeve, "politician Z999999 disclosed no trades in the 365 days")


# --- 3. DC Insider Score -----------------------------------------------------------------

DC_CONGRESS = congress(
    [
        ("2024-01-02", "AAA", "buy", 8_000),
        ("2024-02-02", "AAA", "sell", 8_000),
        ("2024-03-02", "AAA", "other", 8_000),
        ("2024-04-02", "BBB", "buy", 8_000),
        ("2024-05-02", "CCC", "sell", 8_000),
        ("2023-06-04", "CCC", "buy", 8_000),  # as_of - 365: outside
    ]
)
DC_LOBBYING = lobbying([("2024-01-15", "AAA", 100), ("2024-04-15", "DDD", 300)])
DC_CONTRACTS = contracts(
    [
        ("2024-02-01", "BBB", 5e6),
        ("2024-02-01", "DDD", 1e6),
        ("2024-03-01", "EEE", 2e6),
        ("2024-03-01", "FFF", -1e6),  # a de-obligation: ranks 0
    ]
)
DC_DATA = {"congress_trades": DC_CONGRESS, "lobbying": DC_LOBBYING, "gov_contracts": DC_CONTRACTS}


def dc_spec(top_n: int) -> StrategySpec:
    return make_spec(alt_signals.dc_insider_score, top_n, ("dc_insider_scores",))


def dc_run(top_n: int, sources: Mapping[str, pd.DataFrame]) -> Sleeve:
    """The score asset on MONDAY (from the rows known then), then the sleeve reading it."""
    known = {name: known_on(frame, MONDAY) for name, frame in sources.items()}
    scores = alt_signals.dc_insider_scores(known, MONDAY, 365).assign(date=MONDAY)
    return run(dc_spec(top_n), {"dc_insider_scores": scores}, MONDAY)


def test_dc_insider_scores_average_three_percentile_ranks():
    # trade counts AAA 3, BBB 1, CCC 1 -> ranks 1, 0.5, 0.5 (BBB and CCC share ranks 1 and 2)
    # lobbying AAA 100, DDD 300 -> 0.5, 1; contracts DDD 1e6, EEE 2e6, BBB 5e6 -> 1/3, 2/3, 1
    # AAA = 100 (1 + 0.5 + 0) / 3 = 50, BBB = 100 (0.5 + 0 + 1) / 3 = 50 (tie: AAA first),
    # DDD = 100 (0 + 1 + 1/3) / 3 = 400/9, EEE = 100 (2/3) / 3 = 200/9, CCC = 50/3.
    scores = alt_signals.dc_insider_scores(DC_DATA, MONDAY, 365)
    assert scores["ticker"].tolist() == ["AAA", "BBB", "DDD", "EEE", "CCC"]
    np.testing.assert_allclose(
        scores["score"], [50, 50, 400 / 9, 200 / 9, 50 / 3], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(scores["lobbying_rank"], [0.5, 0, 1, 0, 0], rtol=0, atol=1e-12)
    assert set(scores["missing_sources"]) == {""}


def test_dc_insider_score_holds_the_best_scores():
    sleeve = dc_run(3, DC_DATA)
    assert_holdings(sleeve, ["AAA", "BBB", "DDD"], [50, 50, 400 / 9], [1 / 3] * 3)
    wide = dc_run(30, DC_DATA)
    assert_holdings(
        wide,
        ["AAA", "BBB", "DDD", "EEE", "CCC"],
        [50, 50, 400 / 9, 200 / 9, 50 / 3],
        [1 / 30] * 5,
    )
    assert wide.note.startswith("only 5 of 30 tickers have a positive DC insider score")


def test_dc_insider_score_uses_the_newest_scores_known_on_the_rebalance_day():
    known = {name: known_on(frame, MONDAY) for name, frame in DC_DATA.items()}
    today = alt_signals.dc_insider_scores(known, MONDAY, 365).assign(date=MONDAY)
    future = today.assign(date=MONDAY + pd.Timedelta(days=1), score=today["score"][::-1].values)
    older = today.iloc[:1].assign(date=MONDAY - pd.Timedelta(days=7))
    stacked = pd.concat([older, today, future], ignore_index=True)
    same_sleeve(run(dc_spec(3), {"dc_insider_scores": stacked}, MONDAY), dc_run(3, DC_DATA))


def test_dc_insider_scores_ignore_rows_known_after_the_day():
    later = {
        "congress_trades": congress([("2024-06-04", "ZZZ", "buy", 8_000)] * 5),
        "lobbying": lobbying([("2024-06-10", "ZZZ", 1e9)]),
        "gov_contracts": contracts([("2024-06-04", "ZZZ", 1e9)]),
    }
    with_later = {name: pd.concat([DC_DATA[name], later[name]]) for name in DC_DATA}
    pd.testing.assert_frame_equal(
        alt_signals.dc_insider_scores(with_later, MONDAY),
        alt_signals.dc_insider_scores(DC_DATA, MONDAY),
    )


def test_dc_insider_score_with_a_missing_source_says_so():
    sleeve = dc_run(2, {"congress_trades": DC_CONGRESS, "gov_contracts": DC_CONTRACTS})
    # AAA = 100/3, BBB = 100 (0.5 + 1) / 3 = 50, DDD = 100/9
    assert_holdings(sleeve, ["BBB", "AAA"], [50, 100 / 3], [0.5, 0.5])
    assert "no lobbying rows in the score's window to 2024-06-03" in sleeve.note


def test_dc_insider_score_without_any_data_is_cash():
    empty = {name: empty_like(frame) for name, frame in DC_DATA.items()}
    assert alt_signals.dc_insider_scores(empty, MONDAY).empty
    assert_all_cash(dc_run(30, empty), "no congressional trades, lobbying")


# --- 4. Government-contracts momentum ----------------------------------------------------

CONTRACTS = contracts(
    [
        ("2024-06-03", "AAA", 40e6),
        ("2024-06-30", "AAA", 30e6),  # a Sunday, still June
        ("2024-06-15", "BBB", 50e6),  # exactly the minimum: held
        ("2024-06-10", "CCC", 49e6),
        ("2024-05-31", "DDD", 200e6),  # May
        ("2024-06-01", "DDD", 10e6),
        ("2024-06-20", "EEE", 80e6),
        ("2024-06-25", "EEE", -20e6),
        ("2024-07-01", "FFF", 500e6),  # this month
    ]
)


def gov_spec(top_n: int, **params: object) -> StrategySpec:
    return make_spec(
        alt_signals.gov_contracts_momentum,
        top_n,
        ("gov_contracts",),
        RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        **params,
    )


def test_gov_contracts_momentum_holds_last_months_large_winners_by_amount():
    # June: AAA 70M, EEE 60M, BBB 50M, CCC 49M, DDD 10M -> the first three; total 180M.
    sleeve = run(gov_spec(3), {"gov_contracts": CONTRACTS}, FIRST_OF_JULY)
    assert_holdings(
        sleeve, ["AAA", "EEE", "BBB"], [70e6, 60e6, 50e6], [70 / 180, 60 / 180, 50 / 180]
    )
    wide = run(gov_spec(20), {"gov_contracts": CONTRACTS}, FIRST_OF_JULY)
    assert_holdings(
        wide,
        ["AAA", "EEE", "BBB"],
        [70e6, 60e6, 50e6],
        [70 / 180 * 3 / 20, 60 / 180 * 3 / 20, 50 / 180 * 3 / 20],
    )
    assert wide.note == (
        "only 3 of 20 tickers won >= $50,000,000 of contracts in 2024-06; the rest is cash"
    )


def test_gov_contracts_momentum_min_amount_is_a_param():
    sleeve = run(gov_spec(20, min_amount=65e6), {"gov_contracts": CONTRACTS}, FIRST_OF_JULY)
    assert_holdings(sleeve, ["AAA"], [70e6], [1 / 20])


def test_gov_contracts_momentum_mid_month_still_reads_the_previous_month():
    sleeve = run(gov_spec(20), {"gov_contracts": CONTRACTS}, pd.Timestamp("2024-06-03"))
    # May: DDD 200M only.
    assert_holdings(sleeve, ["DDD"], [200e6], [1 / 20])


def test_gov_contracts_momentum_without_large_awards_is_cash():
    small = contracts([("2024-06-10", "CCC", 49e6)])
    sleeve = run(gov_spec(20), {"gov_contracts": small}, FIRST_OF_JULY)
    assert_all_cash(sleeve, "no ticker won >= $50,000,000 of contracts in 2024-06")


# --- 5. Insider buying pulse -------------------------------------------------------------

INSIDERS = insiders(
    [
        ("2024-05-20", "AAA", "P", 100_000, True, False),
        ("2024-06-03", "AAA", "P", 50_000, False, True),
        ("2024-05-05", "BBB", "P", 200_000, True, False),
        ("2024-05-04", "BBB", "P", 999_000, True, False),  # as_of - 30: outside
        ("2024-05-25", "CCC", "P", 1_000_000, False, False),  # neither officer nor director
        ("2024-05-25", "DDD", "S", 500_000, True, False),  # a sale
        ("2024-05-25", "EEE", "A", 300_000, False, True),  # a grant
        ("2024-05-31", "FFF", "P", 150_000, False, True),  # ties with AAA
    ]
)


def insider_spec(top_n: int) -> StrategySpec:
    return make_spec(alt_signals.insider_buying_pulse, top_n, ("insider_trades",))


def test_insider_buying_pulse_sums_executive_open_market_buys():
    # BBB 200,000; AAA 150,000 and FFF 150,000 tie, AAA wins.
    sleeve = run(insider_spec(2), {"insider_trades": INSIDERS}, MONDAY)
    assert_holdings(sleeve, ["BBB", "AAA"], [200_000, 150_000], [0.5, 0.5])
    wide = run(insider_spec(25), {"insider_trades": INSIDERS}, MONDAY)
    assert_holdings(wide, ["BBB", "AAA", "FFF"], [200_000, 150_000, 150_000], [0.04] * 3)
    assert wide.note.startswith("only 3 of 25 tickers have executive buying")


def test_insider_buying_pulse_without_executive_buys_is_cash():
    sales = insiders([("2024-05-25", "DDD", "S", 500_000, True, False)])
    sleeve = run(insider_spec(25), {"insider_trades": sales}, MONDAY)
    assert_all_cash(sleeve, "no officer or director purchases (code P) filed in the 30 days")


# --- 6. Lobbying growth ------------------------------------------------------------------

LOBBYING = lobbying(
    [
        ("2024-02-15", "AAA", 100_000),
        ("2024-05-10", "AAA", 150_000),  # +50%
        ("2024-01-20", "BBB", 200_000),
        ("2024-04-20", "BBB", 100_000),
        ("2024-06-30", "BBB", 200_000),  # +50%, ties with AAA
        ("2024-03-31", "CCC", 50_000),
        ("2024-04-01", "CCC", 150_000),  # +200%
        ("2024-05-01", "DDD", 500_000),  # no base
        ("2024-01-02", "EEE", 100_000),  # -100%
        ("2024-01-02", "FFF", 100_000),
        ("2024-06-02", "FFF", 80_000),  # -20%
        ("2023-12-31", "GGG", 1_000_000),  # 2023Q4
        ("2024-02-02", "GGG", 100_000),
        ("2024-07-01", "GGG", 1_000_000),  # 2024Q3, the current quarter
    ]
)


def lobbying_spec(top_n: int, **params: object) -> StrategySpec:
    return make_spec(
        alt_signals.lobbying_growth,
        top_n,
        ("lobbying",),
        RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        **params,
    )


def test_lobbying_growth_compares_the_last_two_full_quarters():
    # 2024Q2 vs 2024Q1: CCC +2.0, AAA +0.5, BBB +0.5 (tie, AAA first); EEE, FFF, GGG fall.
    sleeve = run(lobbying_spec(2), {"lobbying": LOBBYING}, FIRST_OF_JULY)
    assert_holdings(sleeve, ["CCC", "AAA"], [2.0, 0.5], [0.5, 0.5])
    wide = run(lobbying_spec(20), {"lobbying": LOBBYING}, FIRST_OF_JULY)
    assert_holdings(wide, ["CCC", "AAA", "BBB"], [2.0, 0.5, 0.5], [0.05] * 3)
    assert wide.note == (
        "only 3 of 20 tickers grew lobbying spend from 2024Q1 to 2024Q2; the rest is cash"
    )


def test_lobbying_growth_min_base_is_a_param():
    sleeve = run(lobbying_spec(2, min_base=100_000), {"lobbying": LOBBYING}, FIRST_OF_JULY)
    assert_holdings(sleeve, ["BBB"], [0.5], [0.5])


def test_lobbying_growth_without_a_base_quarter_is_cash():
    recent = lobbying([("2024-05-01", "DDD", 500_000)])
    sleeve = run(lobbying_spec(20), {"lobbying": recent}, FIRST_OF_JULY)
    assert_all_cash(sleeve, "no ticker lobbied more than $0 in 2024Q1")


# --- 7. App reviews hype -----------------------------------------------------------------

APPS = apps(
    [
        ("2024-05-20", "AAA", "A1", 4.0, 1000),
        ("2024-05-27", "AAA", "A1", 4.0, 1100),  # base of A1
        ("2024-06-03", "AAA", "A1", 4.5, 1210),  # +10% x (1 + 0.5) = 15
        ("2024-05-25", "AAA", "A2", 3.0, 200),
        ("2024-06-01", "AAA", "A2", 2.5, 250),  # +25% x (1 - 0.5) = 12.5
        ("2024-05-26", "BBB", "B1", 4.0, 500),
        ("2024-06-02", "BBB", "B1", 4.0, 600),  # +20% x 1 = 20
        ("2024-05-30", "CCC", "C1", 4.0, 100),
        ("2024-06-03", "CCC", "C1", 4.0, 200),  # only 4 days apart
        ("2024-05-01", "DDD", "D1", 4.0, 100),
        ("2024-06-03", "DDD", "D1", 4.0, 300),  # base 33 days older: too old
        ("2024-05-10", "EEE", "E1", 4.0, 100),
        ("2024-05-20", "EEE", "E1", 4.0, 200),  # latest 14 days old: stale
        ("2024-05-27", "FFF", "F1", 4.0, 1000),
        ("2024-06-03", "FFF", "F1", 4.0, 900),  # -10
    ]
)


def app_spec(top_n: int) -> StrategySpec:
    return make_spec(alt_signals.app_hype, top_n, ("app_ratings",))


def test_app_hype_sums_week_over_week_hype_of_a_tickers_apps():
    # AAA 15 + 12.5 = 27.5, BBB 20; CCC, DDD, EEE have no valid pair; FFF is negative.
    sleeve = run(app_spec(2), {"app_ratings": APPS}, MONDAY)
    assert_holdings(sleeve, ["AAA", "BBB"], [27.5, 20.0], [0.5, 0.5])
    wide = run(app_spec(20), {"app_ratings": APPS}, MONDAY)
    assert_holdings(wide, ["AAA", "BBB"], [27.5, 20.0], [0.05, 0.05])
    assert wide.note.startswith("only 2 of 20 tickers have positive app-review hype")


def test_app_hype_ties_broken_by_ticker():
    tied = apps(
        [
            ("2024-05-27", "ZZZ", "Z", 4.0, 100),
            ("2024-06-03", "ZZZ", "Z", 4.0, 110),
            ("2024-05-27", "MMM", "M", 4.0, 100),
            ("2024-06-03", "MMM", "M", 4.0, 110),
        ]
    )
    sleeve = run(app_spec(1), {"app_ratings": tied}, MONDAY)
    assert list(sleeve.holdings["ticker"]) == ["MMM"]
    assert sleeve.holdings["weight"].to_numpy() == pytest.approx([1.0], abs=1e-12)


def test_app_hype_with_a_single_snapshot_is_cash():
    single = apps([("2024-06-03", "AAA", "A1", 4.0, 1000)])
    sleeve = run(app_spec(20), {"app_ratings": single}, MONDAY)
    assert_all_cash(sleeve, "no app has snapshots 7-14 days apart")


# --- all strategies: point in time, empty data -------------------------------------------

CASES = [
    (
        make_spec(alt_signals.congressional_aggregate, 2, ("congress_trades",)),
        {"congress_trades": CONGRESS},
        MONDAY,
        {"congress_trades": congress([("2024-06-04", "ZZZ", "buy", 5_000_000)])},
    ),
    (
        politician_spec(2),
        {"congress_trades": POLITICIAN},
        MONDAY,
        {"congress_trades": congress([("2024-06-04", "AAA", "sell", 5_000_000, PELOSI)])},
    ),
    (
        gov_spec(3),
        {"gov_contracts": CONTRACTS},
        FIRST_OF_JULY,
        {"gov_contracts": contracts([("2024-07-02", "ZZZ", 1e9)])},
    ),
    (
        insider_spec(2),
        {"insider_trades": INSIDERS},
        MONDAY,
        {"insider_trades": insiders([("2024-06-04", "ZZZ", "P", 1e9, True, True)])},
    ),
    (
        lobbying_spec(2),
        {"lobbying": LOBBYING},
        FIRST_OF_JULY,
        {"lobbying": lobbying([("2024-07-02", "AAA", 1e9)])},
    ),
    (
        app_spec(2),
        {"app_ratings": APPS},
        MONDAY,
        {"app_ratings": apps([("2024-06-04", "FFF", "F1", 5.0, 1e6)])},
    ),
]
IDS = [case[0].name for case in CASES]


@pytest.mark.parametrize(("spec", "data", "as_of", "later"), CASES, ids=IDS)
def test_rows_known_after_the_rebalance_date_are_ignored(spec, data, as_of, later):
    before = run(spec, data, as_of)
    assert not before.holdings.empty
    with_later = {
        name: pd.concat([frame, later[name]], ignore_index=True) if name in later else frame
        for name, frame in data.items()
    }
    same_sleeve(run(spec, with_later, as_of), before)
    # the signals also ignore such rows on their own, without the known_on cut
    same_sleeve(spec.signal(with_later, as_of, spec), before)


@pytest.mark.parametrize(("spec", "data", "as_of", "later"), CASES, ids=IDS)
def test_missing_or_empty_sources_give_cash_with_a_note(spec, data, as_of, later):
    del later
    assert_all_cash(run(spec, {}, as_of), " ")
    empty = {name: empty_like(frame) for name, frame in data.items()}
    sleeve = run(spec, empty, as_of)
    assert_all_cash(sleeve, " ")
    assert len(sleeve.note) > 20


@pytest.mark.parametrize(("spec", "data", "as_of", "later"), CASES, ids=IDS)
def test_data_outside_the_window_gives_cash(spec, data, as_of, later):
    del later
    far = as_of + pd.Timedelta(days=500)
    sleeve = run(spec, data, far)
    assert_all_cash(sleeve, " ")
    assert sleeve.rebalance_date == far


@pytest.mark.parametrize(("spec", "data", "as_of", "later"), CASES, ids=IDS)
def test_weights_are_valid(spec, data, as_of, later):
    del later
    sleeve = run(spec, data, as_of)
    weights = sleeve.holdings["weight"]
    assert (weights > 0).all()
    assert weights.sum() <= 1 + 1e-12
    assert len(sleeve.holdings) <= spec.top_n
    assert sleeve.holdings["ticker"].is_unique
    assert list(sleeve.holdings.columns) == ["ticker", "score", "weight"]


def test_insider_flags_stored_as_objects_with_nulls_count_as_false():
    trades = insiders(
        [
            ("2024-05-20", "AAA", "P", 100_000, True, None),
            ("2024-05-20", "BBB", "P", 900_000, None, None),
        ]
    ).astype({"is_officer": object, "is_director": object})
    sleeve = run(insider_spec(1), {"insider_trades": trades}, MONDAY)
    assert_holdings(sleeve, ["AAA"], [100_000], [1.0])

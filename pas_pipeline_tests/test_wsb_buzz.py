"""Wall Street Bets Buzz: hand-worked scores and weights, point in time, thin data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.config import DataMode
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.mentions import WSB_MENTIONS_SCHEMA, fetch_wsb_mentions
from pas_pipeline.sources.reddit import make_reddit
from pas_pipeline.sources.sample import reddit as sample_reddit
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.registry import StrategySpec
from pas_pipeline.strategies.wsb_buzz import mention_growth, wall_street_bets_buzz

AS_OF = pd.Timestamp("2024-06-10")  # a Monday
"""This week: known 06-04..06-10; last week: known 05-28..06-03."""


def spec(top_n: int = 15, **params: Any) -> StrategySpec:
    return StrategySpec(
        name="wall_street_bets_buzz",
        title="Wall Street Bets Buzz",
        sources=("wsb_mentions",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=top_n,
        lookback_sessions=15,
        signal=wall_street_bets_buzz,
        weighting="equal",
        params=params,
    )


def mentions(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(ticker, known_date, mentions) -> a wsb_mentions frame."""
    known = pd.to_datetime([r[1] for r in rows]).astype("datetime64[ns]")
    counts = pd.Series([r[2] for r in rows], dtype="int64")
    return pd.DataFrame(
        {
            "event_date": known - pd.Timedelta(days=1),
            "known_date": known,
            "ticker": [r[0] for r in rows],
            "mentions": counts,
            "authors": counts,
            "score": counts * 3,
        }
    )


LATE = ("GGG", "2024-06-11", 100)

HAND_WORKED = mentions(
    [
        ("AAA", "2024-06-05", 12),
        ("AAA", "2024-06-10", 8),  # m_t = 20
        ("AAA", "2024-06-01", 4),  # m_t-1 = 4: (20 + 1) / (4 + 1) = 4.2
        ("BBB", "2024-06-04", 10),  # 10 vs nothing: 11 / 1 = 11
        ("CCC", "2024-06-06", 9),  # 9 < min_mentions: no score
        ("DDD", "2024-06-07", 30),
        ("DDD", "2024-05-30", 30),  # 31 / 31 = 1: flat, not held
        ("EEE", "2024-06-08", 14),
        ("EEE", "2024-05-29", 2),  # 15 / 3 = 5
        ("FFF", "2024-06-03", 10),  # as_of - 7 days belongs to last week
        ("FFF", "2024-06-04", 20),  # 21 / 11
        ("GGG", "2024-06-09", 10),
        ("GGG", "2024-06-02", 9),  # 11 / 10 = 1.1
        LATE,  # known after as_of: invisible on AS_OF
        ("HHH", "2024-06-06", 50),  # 51, but not in the universe
        ("III", "2024-05-27", 100),  # as_of - 14 days: in neither week
        ("III", "2024-06-09", 10),  # 11 / 1 = 11, ties with BBB: BBB first
    ]
)
UNIVERSE = pd.DataFrame({"ticker": ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "III"]})


def test_the_hand_worked_scores() -> None:
    growth = mention_growth(HAND_WORKED, AS_OF)
    assert growth.to_dict() == pytest.approx(
        {
            "AAA": 4.2,
            "BBB": 11.0,
            "DDD": 1.0,
            "EEE": 5.0,
            "FFF": 21 / 11,
            "GGG": 1.1,
            "HHH": 51.0,
            "III": 11.0,
        }
    )


def test_the_top_names_are_held_with_equal_slots() -> None:
    data = {"wsb_mentions": HAND_WORKED, "universe": UNIVERSE}
    sleeve = wall_street_bets_buzz(data, AS_OF, spec(4))
    assert list(sleeve.holdings["ticker"]) == ["BBB", "III", "EEE", "AAA"]
    assert list(sleeve.holdings["score"]) == pytest.approx([11.0, 11.0, 5.0, 4.2])
    assert list(sleeve.holdings["weight"]) == pytest.approx([0.25] * 4)
    assert sleeve.note == "" and sleeve.rebalance_date == AS_OF


def test_a_short_list_keeps_cash_slots_and_skips_tickers_outside_the_universe() -> None:
    data = {"wsb_mentions": HAND_WORKED, "universe": UNIVERSE}
    sleeve = wall_street_bets_buzz(data, AS_OF, spec(15))
    assert list(sleeve.holdings["ticker"]) == ["BBB", "III", "EEE", "AAA", "FFF", "GGG"]
    assert list(sleeve.holdings["weight"]) == pytest.approx([1 / 15] * 6)
    assert sleeve.cash_weight == pytest.approx(9 / 15)
    assert sleeve.note.startswith("only 6 of 15 tickers have rising WallStreetBets mentions")
    assert "1 scored tickers outside the universe were skipped" in sleeve.note
    everyone = wall_street_bets_buzz({"wsb_mentions": HAND_WORKED}, AS_OF, spec(1))
    assert list(everyone.holdings["ticker"]) == ["HHH"]  # no universe: no restriction


def test_params_override_the_minimum_and_the_window() -> None:
    data = {"wsb_mentions": HAND_WORKED, "universe": UNIVERSE}
    relaxed = wall_street_bets_buzz(data, AS_OF, spec(3, min_mentions=9))
    assert list(relaxed.holdings["ticker"]) == ["BBB", "III", "CCC"]  # CCC: 10 / 1
    assert list(relaxed.holdings["score"]) == pytest.approx([11.0, 11.0, 10.0])
    one_day = mention_growth(HAND_WORKED, AS_OF, window_days=1, min_mentions=1)
    assert one_day.to_dict() == pytest.approx({"AAA": 9.0})  # 8 known on 06-10, 0 on 06-09


def test_a_row_known_after_as_of_leaves_the_sleeve_unchanged() -> None:
    data = {"wsb_mentions": HAND_WORKED, "universe": UNIVERSE}
    without_late = HAND_WORKED[HAND_WORKED["known_date"] <= AS_OF]
    with_late = wall_street_bets_buzz(data, AS_OF, spec())
    without = wall_street_bets_buzz({**data, "wsb_mentions": without_late}, AS_OF, spec())
    pd.testing.assert_frame_equal(with_late.holdings, without.holdings)
    # A day later the late row is known: GGG has 110 this week against 9 before.
    tomorrow = mention_growth(HAND_WORKED, AS_OF + pd.Timedelta(days=1))
    assert tomorrow["GGG"] == pytest.approx(111 / 10)


def test_thin_data_is_an_all_cash_sleeve_with_a_note() -> None:
    cases = [
        ({}, "no WallStreetBets mentions known on 2024-06-10"),
        ({"wsb_mentions": HAND_WORKED.iloc[0:0]}, "no WallStreetBets mentions known on"),
        (
            {"wsb_mentions": mentions([("AAA", "2024-06-09", 9), ("BBB", "2024-06-01", 50)])},
            "no ticker has >= 10 WallStreetBets mentions in the 7 days to 2024-06-10",
        ),
        (
            {"wsb_mentions": mentions([("AAA", "2024-06-09", 10), ("AAA", "2024-06-02", 10)])},
            "no ticker with >= 10 mentions has rising WallStreetBets mentions",
        ),
    ]
    for data, note in cases:
        sleeve = wall_street_bets_buzz(data, AS_OF, spec())
        assert sleeve.holdings.empty and sleeve.cash_weight == 1.0
        assert sleeve.note.startswith(note)


def test_the_sample_surge_tickers_top_the_sample_sleeve() -> None:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(300, 7, as_of=dt.date(2025, 6, 30))
    try:
        reddit = make_reddit(DataMode.SAMPLE)
        universe = sample_universe(300, 7)
        frame = fetch_wsb_mentions(
            reddit, universe["ticker"], dt.date(2025, 6, 16), dt.date(2025, 6, 30)
        )
        surging = set(sample_reddit.surge_tickers())
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)
    validate_frame(WSB_MENTIONS_SCHEMA, frame, "reddit")
    assert frame["known_date"].min() == pd.Timestamp("2025-06-16")
    assert frame["known_date"].max() == pd.Timestamp("2025-06-30")
    data = {"wsb_mentions": frame, "universe": universe}
    sleeve = wall_street_bets_buzz(data, pd.Timestamp("2025-06-30"), spec())
    assert set(sleeve.holdings["ticker"].head(len(surging))) == surging

"""Upgrade Momentum on hand-worked examples: votes, surges, weights, point in time, thin data.

Every example states its answer. Signals are run through ``known_on`` (as the sleeve asset
does), and the frame is also passed uncut to show the signal ignores rows not yet known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.config import DataMode
from pas_pipeline.sources.analyst_ratings import (
    RATING_CHANGE_COLUMNS,
    fetch_rating_changes,
    make_analyst_ratings_client,
)
from pas_pipeline.sources.sample import analyst_ratings as sample_ratings
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.registry import StrategySpec
from pas_pipeline.strategies.run import known_on
from pas_pipeline.strategies.sleeve import Sleeve
from pas_pipeline.strategies.upgrade_momentum import (
    LOOKBACK_SESSIONS,
    rating_votes,
    upgrade_momentum,
    upgrade_surges,
)

MONDAY = pd.Timestamp("2024-06-03")
# window_days=14, baseline_days=28: recent = known 2024-05-20 < day <= 2024-06-03,
# baseline = known 2024-04-22 < day <= 2024-05-20; expected per window = baseline net / 2.
EXAMPLE = [
    # AAA: recent +3 (two upgrades, an initiation at Buy); baseline +2 -> surge 3 - 1 = 2
    ("2024-05-28", "AAA", "Morgan Stanley", "up", "Equal-Weight", "Overweight"),
    ("2024-05-30", "AAA", "Goldman Sachs", "up", "Neutral", "Buy"),
    ("2024-06-03", "AAA", "JP Morgan", "init", "", "Buy"),
    ("2024-06-03", "AAA", "UBS", "main", "Buy", "Buy"),
    ("2024-05-01", "AAA", "Bank of America", "up", "Neutral", "Buy"),
    ("2024-05-10", "AAA", "Citigroup", "up", "Sell", "Neutral"),
    # BBB: recent +1; baseline -1 -> surge 1 + 0.5 = 1.5
    ("2024-05-21", "BBB", "Morgan Stanley", "up", "Underweight", "Equal-Weight"),
    ("2024-05-02", "BBB", "Goldman Sachs", "down", "Buy", "Neutral"),
    # CCC: recent +2; baseline +4 -> surge 0: not held. The row on 2024-05-20 is baseline.
    ("2024-05-22", "CCC", "Barclays", "up", "Equal-Weight", "Overweight"),
    ("2024-05-23", "CCC", "Jefferies", "up", "Hold", "Buy"),
    ("2024-05-20", "CCC", "Barclays", "up", "Underweight", "Equal-Weight"),
    ("2024-05-06", "CCC", "Mizuho", "up", "Neutral", "Buy"),
    ("2024-05-07", "CCC", "UBS", "up", "Sell", "Neutral"),
    ("2024-04-23", "CCC", "Citigroup", "up", "Neutral", "Buy"),
    # DDD: recent 0 (maintains, reiterates, initiation at Hold): not scored
    ("2024-05-28", "DDD", "Stifel", "main", "Buy", "Buy"),
    ("2024-05-29", "DDD", "Needham", "reit", "Buy", "Buy"),
    ("2024-05-30", "DDD", "Truist Securities", "init", "", "Hold"),
    # EEE: recent +1 (init at Underweight -1, two upgrades +2); no baseline -> surge 1
    ("2024-05-24", "EEE", "Wells Fargo", "init", "", "Underweight"),
    ("2024-05-27", "EEE", "Baird", "up", "Neutral", "Outperform"),
    ("2024-05-31", "EEE", "Oppenheimer", "up", "Perform", "Outperform"),
    # FFF: recent -1 although baseline -4 would make the surge +1: not scored
    ("2024-05-29", "FFF", "Wedbush", "down", "Outperform", "Neutral"),
    *[
        ("2024-05-0" + str(n), "FFF", firm, "down", "Buy", "Hold")
        for n, firm in zip(range(1, 5), ("Argus", "Baird", "Loop", "TD Cowen"), strict=True)
    ],
    # Before the baseline: ignored
    ("2024-04-22", "GGG", "Rosenblatt", "up", "Neutral", "Buy"),
]


def frame_of(rows: list[tuple[str, str, str, str, str, str]]) -> pd.DataFrame:
    """Rows of (day, ticker, firm, action, from_grade, to_grade), known on their day."""
    frame = pd.DataFrame(rows, columns=["event_date", *RATING_CHANGE_COLUMNS[2:]])
    frame["event_date"] = pd.to_datetime(frame["event_date"]).astype("datetime64[ns]")
    frame.insert(1, "known_date", frame["event_date"])
    return frame


def make_spec(top_n: int = 3, **params: object) -> StrategySpec:
    return StrategySpec(
        name="upgrade_momentum",
        title="Upgrade Momentum",
        sources=("rating_changes",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=top_n,
        lookback_sessions=LOOKBACK_SESSIONS,
        signal=upgrade_momentum,
        weighting="score",
        params=params,
    )


SPEC = make_spec(window_days=14, baseline_days=28)


def run(spec: StrategySpec, data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> Sleeve:
    known = {
        name: frame if name == "universe" else known_on(frame, as_of)
        for name, frame in data.items()
    }
    return spec.signal(known, as_of, spec)


def assert_holdings(sleeve: Sleeve, tickers: list[str], scores: list[float], weights) -> None:
    assert list(sleeve.holdings["ticker"]) == tickers
    np.testing.assert_allclose(sleeve.holdings["score"].to_numpy(), scores, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sleeve.holdings["weight"].to_numpy(), weights, rtol=0, atol=1e-12)


def test_votes_follow_the_action_and_the_grade_map() -> None:
    rows = [
        ("2024-06-03", "AAA", "A", "up", "Hold", "Buy"),
        ("2024-06-03", "AAA", "B", "down", "Buy", "Hold"),
        ("2024-06-03", "AAA", "C", "main", "Buy", "Buy"),
        ("2024-06-03", "AAA", "D", "reit", "Sell", "Sell"),
        ("2024-06-03", "AAA", "E", "init", "", "Strong-Buy"),
        ("2024-06-03", "AAA", "F", "init", "", "Market  Outperform"),
        ("2024-06-03", "AAA", "G", "init", "", "Underweight"),
        ("2024-06-03", "AAA", "H", "init", "", "Equal-Weight"),
        ("2024-06-03", "AAA", "I", "init", "", ""),
    ]
    votes = rating_votes(frame_of(rows))
    assert votes.tolist() == [1.0, -1.0, 0.0, 0.0, 1.0, 1.0, -1.0, 0.0, 0.0]


def test_the_hand_worked_example_surges() -> None:
    surges = upgrade_surges(frame_of(EXAMPLE), MONDAY, window_days=14, baseline_days=28)
    assert surges.to_dict() == {"AAA": 2.0, "BBB": 1.5, "CCC": 0.0, "EEE": 1.0}


def test_the_hand_worked_example_scores_and_weights() -> None:
    sleeve = run(SPEC, {"rating_changes": frame_of(EXAMPLE)}, MONDAY)
    # Score weighting over 3 slots, all filled: surge / (2 + 1.5 + 1).
    assert_holdings(sleeve, ["AAA", "BBB", "EEE"], [2.0, 1.5, 1.0], [4 / 9, 3 / 9, 2 / 9])
    assert sleeve.note == ""


def test_the_default_windows_are_14_and_90_days_and_unfilled_slots_are_cash() -> None:
    # recent (2024-05-20, 2024-06-03]: +2; baseline (2024-02-20, 2024-05-20]: +9 -> 9 * 14/90
    baseline = [
        (f"2024-03-{day:02d}", "AAA", f"Firm {day}", "up", "Hold", "Buy") for day in range(1, 10)
    ]
    recent = [
        ("2024-05-28", "AAA", "Firm X", "up", "Hold", "Buy"),
        ("2024-05-29", "AAA", "Firm Y", "up", "Hold", "Buy"),
        ("2024-02-20", "BBB", "Firm Z", "down", "Buy", "Hold"),  # before the baseline
        ("2024-06-01", "BBB", "Firm Z", "up", "Hold", "Buy"),
    ]
    sleeve = run(make_spec(top_n=20), {"rating_changes": frame_of(baseline + recent)}, MONDAY)
    # AAA: 2 - 1.4 = 0.6; BBB: 1 - 0 = 1. Weights: s / 1.6 * 2/20.
    assert_holdings(sleeve, ["BBB", "AAA"], [1.0, 0.6], [1.0 / 16, 0.6 / 16])
    assert sleeve.note == "only 2 of 20 tickers have a surge of analyst upgrades; the rest is cash"
    assert sleeve.cash_weight == pytest.approx(0.9)


def test_rows_known_after_as_of_are_ignored() -> None:
    later = [(f"2024-06-0{day}", "DDD", f"Late {day}", "up", "Hold", "Buy") for day in range(4, 8)]
    frame = frame_of(EXAMPLE + later)
    for sleeve in (
        run(SPEC, {"rating_changes": frame}, MONDAY),
        upgrade_momentum({"rating_changes": frame}, MONDAY, SPEC),  # uncut frame
    ):
        assert list(sleeve.holdings["ticker"]) == ["AAA", "BBB", "EEE"]
    # A week later the late upgrades count: DDD's surge is 4 with no baseline.
    assert (
        run(SPEC, {"rating_changes": frame}, MONDAY + pd.Timedelta(days=7))
        .holdings["ticker"]
        .iloc[0]
        == "DDD"
    )


def test_only_universe_tickers_are_held() -> None:
    universe = pd.DataFrame({"ticker": ["AAA", "EEE", "ZZZ"]})
    sleeve = run(SPEC, {"rating_changes": frame_of(EXAMPLE), "universe": universe}, MONDAY)
    # AAA 2, EEE 1 over 3 slots: 2/3 * 2/3 and 1/3 * 2/3.
    assert_holdings(sleeve, ["AAA", "EEE"], [2.0, 1.0], [4 / 9, 2 / 9])
    assert "1 scored tickers outside the universe were skipped" in sleeve.note


@pytest.mark.parametrize(
    ("data", "note"),
    [
        ({}, "no analyst rating changes known on 2024-06-03"),
        ({"rating_changes": frame_of([])}, "no analyst rating changes known on 2024-06-03"),
        (
            {"rating_changes": frame_of([("2024-05-10", "AAA", "A", "up", "Hold", "Buy")])},
            "no analyst rating changes in the 14 days to 2024-06-03",
        ),
        (
            {"rating_changes": frame_of([("2024-05-30", "AAA", "A", "up", "Hold", "Buy")])},
            "no analyst rating changes in the 28-day baseline before 2024-05-20: no history "
            "to measure a surge against",
        ),
        (
            {"rating_changes": frame_of([r for r in EXAMPLE if r[1] in ("DDD", "FFF")])},
            "no ticker has a surge of analyst upgrades in the 14 days to 2024-06-03",
        ),
    ],
)
def test_thin_or_missing_data_is_an_all_cash_sleeve(
    data: dict[str, pd.DataFrame], note: str
) -> None:
    sleeve = run(SPEC, data, MONDAY)
    assert sleeve.holdings.empty and sleeve.cash_weight == 1.0
    assert sleeve.note == note


def test_the_sample_burst_tickers_lead_the_sample_strategy() -> None:
    before = sample_yahoo.sample_config()
    as_of = dt.date(2025, 6, 30)  # a Monday
    sample_yahoo.configure_sample_market(300, 7, as_of=as_of)
    try:
        bursts = sample_ratings.burst_tickers()
        tickers = sorted({*sample_universe(300, 7)["ticker"][:40], *bursts})
        with make_analyst_ratings_client(DataMode.SAMPLE) as client:
            frame = fetch_rating_changes(client, tickers, dt.date(2025, 3, 1), as_of)
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)
    sleeve = run(make_spec(top_n=20), {"rating_changes": frame}, pd.Timestamp(as_of))
    held = list(sleeve.holdings["ticker"])
    assert set(bursts) <= set(held[: len(bursts) + 2])
    assert sleeve.holdings["weight"].sum() <= 1.0 + 1e-12

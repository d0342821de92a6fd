"""Biotech Binary Event Basket: the sponsor mapping and the signal (hand-worked, point in time,
FDA exclusion, universe, thin data, sample end to end)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.config import DataMode
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.biotech_sponsors import (
    biotech_sponsors,
    is_biotech_name,
    real_biotech_sponsors,
    synthetic_biotech_sponsors,
    trial_sponsors,
)
from pas_pipeline.sources.clinical_trials import (
    TRIAL_CATALYST_COLUMNS,
    TRIAL_CATALYSTS_SCHEMA,
    fetch_trial_catalysts,
    make_clinical_trials_client,
)
from pas_pipeline.sources.openfda import FDA_APPROVAL_COLUMNS, FDA_APPROVALS_SCHEMA
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.strategies.biotech_catalysts import (
    biotech_binary_event_basket,
    latest_versions,
    upcoming_catalysts,
)
from pas_pipeline.strategies.registry import StrategySpec

AS_OF = pd.Timestamp("2024-10-01")  # first trading day of October; horizon to 2024-12-30


def spec(top_n: int = 20, **params: Any) -> StrategySpec:
    return StrategySpec(
        name="biotech_binary_event_basket",
        title="Biotech Binary Event Basket",
        sources=("trial_catalysts", "fda_approvals", "universe"),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=top_n,
        lookback_sessions=260,
        signal=biotech_binary_event_basket,
        weighting="equal weight, top 20 by Phase 3 read-outs due within 90 days",
        params=params,
    )


def version(
    ticker: str, nct: int, posted: str, status: str, primary: str, kind: str = "ESTIMATED",
    phase: str = "PHASE3",
) -> dict[str, Any]:  # fmt: skip
    event = pd.Timestamp(posted)
    return {
        "nct_id": f"NCT{nct:08d}",
        "ticker": ticker,
        "sponsor": f"{ticker} Therapeutics Inc.",
        "phase": phase,
        "status": status,
        "primary_completion": pd.Timestamp(primary),
        "completion_type": kind,
        "event_date": event,
        "known_date": event + pd.Timedelta(days=1),
        "conditions": "Obesity",
        "enrollment": 500.0,
    }


def trials_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(TRIAL_CATALYST_COLUMNS))
    for column in ("primary_completion", "event_date", "known_date"):
        frame[column] = frame[column].astype("datetime64[ns]")
    validate_frame(TRIAL_CATALYSTS_SCHEMA, frame, "clinicaltrials")
    return frame


def hand_worked() -> pd.DataFrame:
    return trials_frame(
        [
            # AAA: two Phase 3 read-outs due (the 90th day included); the Phase 2 one is not.
            version("AAA", 1, "2024-06-01", "RECRUITING", "2024-11-30"),
            version("AAA", 2, "2024-06-01", "ACTIVE_NOT_RECRUITING", "2024-12-30"),
            version("AAA", 3, "2024-06-01", "RECRUITING", "2024-11-15", phase="PHASE2"),
            # BBB: one (invitation-only); a completed study does not count.
            version("BBB", 4, "2024-07-01", "ENROLLING_BY_INVITATION", "2024-10-31"),
            version("BBB", 5, "2024-07-01", "COMPLETED", "2024-11-01"),
            # CCC: none -- the 91st day, due on as_of itself, an ACTUAL date.
            version("CCC", 6, "2024-07-01", "NOT_YET_RECRUITING", "2024-12-31"),
            version("CCC", 7, "2024-07-01", "ACTIVE_NOT_RECRUITING", "2024-10-01"),
            version("CCC", 8, "2024-07-01", "ACTIVE_NOT_RECRUITING", "2024-11-20", "ACTUAL"),
            # DDD: study 9 slipped from August into December (the newer version counts, once).
            version("DDD", 9, "2024-03-01", "RECRUITING", "2024-08-31"),
            version("DDD", 9, "2024-08-20", "ACTIVE_NOT_RECRUITING", "2024-12-15"),
            version("DDD", 10, "2024-08-20", "ACTIVE_NOT_RECRUITING", "2024-11-10"),
            # EEE: terminated in a version posted the day before as_of (known on as_of).
            version("EEE", 11, "2024-05-01", "ACTIVE_NOT_RECRUITING", "2024-11-30"),
            version("EEE", 11, "2024-09-30", "TERMINATED", "2024-11-30", "ACTUAL"),
            # FFF: completed in a version posted on as_of, known only the day after.
            version("FFF", 12, "2024-07-01", "RECRUITING", "2024-11-01"),
            version("FFF", 12, "2024-10-01", "COMPLETED", "2024-10-01", "ACTUAL"),
            # GGG and HHH: one read-out each; their FDA approvals are below.
            version("GGG", 13, "2024-07-01", "RECRUITING", "2024-12-01"),
            version("HHH", 14, "2024-07-01", "ACTIVE_NOT_RECRUITING", "2024-11-05"),
        ]
    )


def approvals() -> pd.DataFrame:
    """GGG approved with 16 days to go (excluded); HHH known 30 days before as_of (kept)."""
    rows = [
        ("BLA761234", "GGG", "2024-09-14"),
        ("NDA212345", "HHH", "2024-08-31"),
    ]
    frame = pd.DataFrame(
        {
            "application_number": [r[0] for r in rows],
            "ticker": [r[1] for r in rows],
            "sponsor": ["GGG THERAP", "HHH THERAP"],
            "brand_name": ["GEEVEX", "HAITRA"],
            "submission_type": "ORIG",
            "submission_number": "1",
            "submission_status": "AP",
            "event_date": pd.to_datetime([r[2] for r in rows]).astype("datetime64[ns]"),
            "review_priority": "PRIORITY",
        }
    )
    frame["known_date"] = frame["event_date"] + pd.Timedelta(days=1)
    frame = frame[list(FDA_APPROVAL_COLUMNS)]
    validate_frame(FDA_APPROVALS_SCHEMA, frame, "openfda")
    return frame


# --- signal ----------------------------------------------------------------------------------


def test_the_hand_worked_catalysts() -> None:
    catalysts = upcoming_catalysts(hand_worked(), AS_OF)
    assert list(zip(catalysts["ticker"], catalysts["nct_id"], strict=True)) == [
        ("AAA", "NCT00000001"),
        ("AAA", "NCT00000002"),
        ("BBB", "NCT00000004"),
        ("DDD", "NCT00000009"),
        ("DDD", "NCT00000010"),
        ("FFF", "NCT00000012"),
        ("GGG", "NCT00000013"),
        ("HHH", "NCT00000014"),
    ]


def test_the_hand_worked_sleeve_excludes_a_fresh_approval() -> None:
    data = {"trial_catalysts": hand_worked(), "fda_approvals": approvals()}
    sleeve = biotech_binary_event_basket(data, AS_OF, spec(4))
    # Scores: AAA 2, DDD 2, BBB 1, FFF 1, HHH 1 (GGG 1 but approved 2024-09-14).
    assert list(sleeve.holdings["ticker"]) == ["AAA", "DDD", "BBB", "FFF"]
    assert list(sleeve.holdings["score"]) == [2.0, 2.0, 1.0, 1.0]
    assert list(sleeve.holdings["weight"]) == pytest.approx([0.25] * 4)
    assert sleeve.rebalance_date == AS_OF
    assert sleeve.note == "excluded after a recent FDA approval: GGG"


def test_without_approvals_nothing_is_excluded_and_short_sleeves_keep_cash() -> None:
    sleeve = biotech_binary_event_basket({"trial_catalysts": hand_worked()}, AS_OF, spec(10))
    assert list(sleeve.holdings["ticker"]) == ["AAA", "DDD", "BBB", "FFF", "GGG", "HHH"]
    assert sleeve.cash_weight == pytest.approx(0.4)
    assert "only 6 of 10" in sleeve.note
    kept = biotech_binary_event_basket(
        {"trial_catalysts": hand_worked(), "fda_approvals": approvals()},
        AS_OF,
        spec(10, approval_exclusion_days=0),
    )
    assert "GGG" in set(kept.holdings["ticker"])


def test_a_newer_version_known_after_as_of_changes_nothing() -> None:
    trials = hand_worked()
    late = trials["known_date"] > AS_OF
    assert list(trials.loc[late, "ticker"]) == ["FFF"]
    with_late = biotech_binary_event_basket({"trial_catalysts": trials}, AS_OF, spec())
    without = biotech_binary_event_basket({"trial_catalysts": trials[~late]}, AS_OF, spec())
    pd.testing.assert_frame_equal(with_late.holdings, without.holdings)
    # A day later the completion is known and FFF leaves the basket.
    tomorrow = biotech_binary_event_basket(
        {"trial_catalysts": trials}, AS_OF + pd.Timedelta(days=1), spec()
    )
    assert "FFF" not in set(tomorrow.holdings["ticker"])
    assert latest_versions(trials, AS_OF).set_index("nct_id").loc["NCT00000012", "status"] == (
        "RECRUITING"
    )


def test_the_horizon_and_the_universe_restrict_candidates() -> None:
    trials = hand_worked()
    near = biotech_binary_event_basket({"trial_catalysts": trials}, AS_OF, spec(horizon_days=35))
    # Due by 2024-11-05: BBB 10-31, FFF 11-01, HHH 11-05.
    assert list(near.holdings["ticker"]) == ["BBB", "FFF", "HHH"]
    universe = pd.DataFrame({"ticker": ["BBB", "DDD", "HHH"]})
    inside = biotech_binary_event_basket(
        {"trial_catalysts": trials, "universe": universe}, AS_OF, spec()
    )
    assert list(inside.holdings["ticker"]) == ["DDD", "BBB", "HHH"]


def test_missing_or_thin_data_is_an_all_cash_sleeve() -> None:
    for data in ({}, {"trial_catalysts": hand_worked().iloc[0:0]}):
        sleeve = biotech_binary_event_basket(data, AS_OF, spec())
        assert sleeve.holdings.empty and "no ClinicalTrials.gov study versions" in sleeve.note
    later = AS_OF + pd.Timedelta(days=400)  # every estimate has passed
    sleeve = biotech_binary_event_basket({"trial_catalysts": hand_worked()}, later, spec())
    assert sleeve.holdings.empty and "no Phase 3 primary completion" in sleeve.note


# --- sponsor mapping -------------------------------------------------------------------------


def test_the_real_mapping_covers_pharma_tickers_of_the_sample_companies() -> None:
    real = real_biotech_sponsors()
    assert list(real["ticker"]) == [
        "LLY",
        "JNJ",
        "ABBV",
        "MRK",
        "AMGN",
        "GILD",
        "PFE",
        "VRTX",
        "BMY",
    ]
    assert dict(zip(real["ticker"], real["sponsor_name"], strict=True))["MRK"] == (
        "Merck Sharp & Dohme LLC"
    )
    universe = sample_universe(300, 7)
    sectors = dict(zip(universe["ticker"], universe["sector"], strict=True))
    assert {sectors[t] for t in real["ticker"]} == {"Health Care"}


def test_synthetic_biotechs_extend_the_mapping_under_their_own_names() -> None:
    assert is_biotech_name("Summitline Global Therapeutics Inc.")
    assert is_biotech_name("Crescentbridge Pharmaceuticals Holdings Inc.")
    assert not is_biotech_name("Northfield Medical Corp.")
    universe = pd.DataFrame(
        {
            "ticker": ["VRTX", "NTX", "NMED", "SBIO"],
            "name": ["Vertex Pharmaceuticals", "Northfield Therapeutics Inc.",
                     "Northfield Medical Corp.", "Sunpoint Biosciences Corporation"],
            "sector": ["Health Care", "Health Care", "Health Care", "Industrials"],
        }
    )  # fmt: skip
    synthetic = synthetic_biotech_sponsors(universe)
    assert synthetic.to_dict("records") == [
        {
            "ticker": "NTX",
            "sponsor_name": "Northfield Therapeutics Inc.",
            "fda_sponsor_name": "NORTHFIELD THERAPEUTICS INC.",
        }
    ]
    mapping = biotech_sponsors(universe)
    assert list(mapping["ticker"]) == ["VRTX", "NTX"]  # real tickers outside it are dropped


# --- sample end to end -----------------------------------------------------------------------


def test_the_sample_feeds_a_non_empty_basket_of_mapped_tickers() -> None:
    as_of = dt.date(2025, 6, 30)
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(300, 7, as_of=as_of)
    try:
        mapping = trial_sponsors(biotech_sponsors(sample_universe(300, 7)))
        with make_clinical_trials_client(DataMode.SAMPLE) as client:
            trials = fetch_trial_catalysts(client, mapping, dt.date(2024, 7, 1), as_of)
    finally:
        sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)
    sleeve = biotech_binary_event_basket({"trial_catalysts": trials}, pd.Timestamp(as_of), spec(5))
    assert len(sleeve.holdings) == 5 and set(sleeve.holdings["ticker"]) <= set(mapping)
    assert sleeve.holdings["score"].iloc[0] >= 2

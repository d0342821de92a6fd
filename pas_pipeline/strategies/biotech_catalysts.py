"""Biotech Binary Event Basket: long the sponsors of late-stage trials about to read out.

Same conventions as :mod:`pas_pipeline.strategies.alt_signals`: the signal signature is
``fn(data, as_of, spec) -> Sleeve``, ``data`` holds frames already cut to rows known on
``as_of`` (the signal re-applies ``known_date <= as_of`` to be safe), and thin or missing
data gives an all-cash sleeve with a note, never an exception.

Sources: ``trial_catalysts`` (ClinicalTrials.gov study versions,
:mod:`pas_pipeline.sources.clinical_trials`), optionally ``fda_approvals`` (openFDA,
:mod:`pas_pipeline.sources.openfda`) and ``universe``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.ranking import top_n_sleeve, window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

HORIZON_DAYS = 90
APPROVAL_EXCLUSION_DAYS = 30
CATALYST_PHASE = "PHASE3"
"""The highest phase of the study: Phase 3 and Phase 2/3 studies both have ``"PHASE3"``."""
ONGOING_STATUSES = (
    "ACTIVE_NOT_RECRUITING",
    "RECRUITING",
    "ENROLLING_BY_INVITATION",
    "NOT_YET_RECRUITING",
)
LOOKBACK_SESSIONS = 260
"""Trading days (~1 year) of ``trial_catalysts`` the signal needs: US law (FDAAA 801) asks
sponsors of ongoing trials to update their record at least every 12 months, so the latest
version of every live study is posted within the window."""


def latest_versions(trials: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The newest version of each (ticker, study) known on ``as_of`` (``known_date <= as_of``;
    the latest ``event_date``, then the latest ``known_date``, wins). Sorted by
    (ticker, nct_id)."""
    known = trials[trials["known_date"] <= pd.Timestamp(as_of)]
    ordered = known.sort_values(["ticker", "nct_id", "event_date", "known_date"], kind="mergesort")
    return ordered.drop_duplicates(["ticker", "nct_id"], keep="last").reset_index(drop=True)


def upcoming_catalysts(
    trials: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int = HORIZON_DAYS,
    statuses: tuple[str, ...] = ONGOING_STATUSES,
    phase: str = CATALYST_PHASE,
) -> pd.DataFrame:
    """Latest study versions (:func:`latest_versions`) that are binary catalysts on
    ``as_of``: highest phase ``phase``, status in ``statuses`` and an ``ESTIMATED`` primary
    completion in ``(as_of, as_of + horizon_days]``."""
    as_of = pd.Timestamp(as_of)
    latest = latest_versions(trials, as_of)
    due = latest["primary_completion"]
    chosen = (
        (latest["phase"] == phase)
        & latest["status"].isin(statuses)
        & (latest["completion_type"] == "ESTIMATED")
        & (due > as_of)
        & (due <= as_of + pd.Timedelta(days=horizon_days))
    )
    return latest[chosen].reset_index(drop=True)


def recently_approved(
    approvals: pd.DataFrame | None, as_of: pd.Timestamp, days: int = APPROVAL_EXCLUSION_DAYS
) -> set[str]:
    """Tickers with an FDA approval known in ``(as_of - days, as_of]`` (none when
    ``approvals`` is missing or ``days <= 0``)."""
    if approvals is None or len(approvals) == 0 or days <= 0:
        return set()
    return set(window(approvals, pd.Timestamp(as_of), days)["ticker"])


def biotech_binary_event_basket(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Hold the companies with the most late-stage trial read-outs due soon.

    Rule on ``as_of``, on rows of ``trial_catalysts`` with ``known_date <= as_of``:

    1. Keep the newest known version of each study (a later version replaces an earlier
       one: a slipped date or a changed status counts from the day it was posted + 1).
    2. A catalyst is a study whose highest phase is Phase 3 (Phase 3 or Phase 2/3), whose
       status is ongoing (``ACTIVE_NOT_RECRUITING``, ``RECRUITING``,
       ``ENROLLING_BY_INVITATION``, ``NOT_YET_RECRUITING``) and whose primary completion is
       ``ESTIMATED`` within ``(as_of, as_of + horizon_days]`` (90 calendar days). A
       ``YYYY-MM`` estimate counts as the month's last day.
    3. Score per ticker = number of its catalysts.
    4. Tickers with an approval in ``fda_approvals`` known in the last
       ``approval_exclusion_days`` (30; 0 disables) are dropped: the binary event has just
       resolved and the price has re-rated. Without ``fda_approvals`` nothing is dropped.
    5. Only ``universe`` tickers (when given); hold the ``top_n`` (20) highest scores,
       ties by ticker, equal weight ``1/top_n``; unfilled slots are cash.

    ``spec.params`` may override ``horizon_days`` and ``approval_exclusion_days``.
    """
    as_of = pd.Timestamp(as_of)
    day = as_of.date().isoformat()
    trials = data.get("trial_catalysts")
    if trials is None or len(trials) == 0:
        return Sleeve.empty(as_of, f"no ClinicalTrials.gov study versions known on {day}")
    horizon = int(spec.params.get("horizon_days", HORIZON_DAYS))
    exclusion = int(spec.params.get("approval_exclusion_days", APPROVAL_EXCLUSION_DAYS))
    catalysts = upcoming_catalysts(trials, as_of, horizon)
    scores = catalysts.groupby("ticker").size().astype(float)
    approved = recently_approved(data.get("fda_approvals"), as_of, exclusion)
    dropped = sorted(approved & set(scores.index))
    scores = scores.drop(dropped)
    universe = data.get("universe")
    if universe is not None and "ticker" in universe.columns:
        scores = scores[scores.index.isin(set(universe["ticker"]))]
    sleeve = top_n_sleeve(
        scores,
        as_of,
        spec.top_n,
        weighting="equal",
        note_when_short="only {k} of {top_n} tickers have a Phase 3 read-out due within "
        f"{horizon} days; the rest is cash",
        note_when_empty=f"no Phase 3 primary completion is estimated within {horizon} days "
        f"of {day}",
    )
    if dropped:
        extra = f"excluded after a recent FDA approval: {', '.join(dropped)}"
        note = f"{sleeve.note}; {extra}" if sleeve.note else extra
        sleeve = dataclasses.replace(sleeve, note=note)
    return sleeve


__all__ = [
    "APPROVAL_EXCLUSION_DAYS",
    "HORIZON_DAYS",
    "LOOKBACK_SESSIONS",
    "ONGOING_STATUSES",
    "biotech_binary_event_basket",
    "latest_versions",
    "recently_approved",
    "upcoming_catalysts",
]

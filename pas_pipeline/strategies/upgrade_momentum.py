"""Upgrade Momentum: tilt toward the names whose analyst upgrades suddenly pile up.

Reads ``rating_changes`` (:mod:`pas_pipeline.sources.analyst_ratings`). Same conventions as
:mod:`pas_pipeline.strategies.alt_signals`: the signature is ``fn(data, as_of, spec) ->
Sleeve``; ``data`` holds frames already cut to the rows known on ``as_of`` (the rows are
filtered again here, so a frame with later rows cannot leak them); windows are on
``known_date`` (a rating is public the day it is issued); ``spec.params`` override the
module defaults; only tickers of ``data["universe"]`` are candidates when it is present; thin
or missing data gives an all-cash sleeve with a note, never an exception.

Vote of one rating change (:func:`rating_votes`):

======================================== =====
action                                   vote
======================================== =====
``up`` (upgrade)                         +1
``down`` (downgrade)                     -1
``init`` with a bullish ``to_grade``     +1
``init`` with a bearish ``to_grade``     -1
``init`` with any other grade            0
``main`` (maintains), ``reit`` (reit.)   0
======================================== =====

A grade is bullish or bearish when its normalised text (lower case, hyphens, underscores and
repeated spaces turned into one space) is in :data:`BULLISH_GRADES` or
:data:`BEARISH_GRADES`; every other grade (Hold, Neutral, Equal-Weight, Market Perform, ...)
is neutral.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.alt_signals import ranked_sleeve
from pas_pipeline.strategies.ranking import window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

WINDOW_DAYS = 14
BASELINE_DAYS = 90
TOP_N = 20
LOOKBACK_SESSIONS = 80
"""Trading days of ``rating_changes`` the signal needs: 104 calendar days (~72 sessions) plus
a margin."""

BULLISH_GRADES = frozenset(
    {
        "buy",
        "strong buy",
        "conviction buy",
        "long term buy",
        "speculative buy",
        "outperform",
        "market outperform",
        "sector outperform",
        "outperformer",
        "overweight",
        "positive",
        "accumulate",
        "add",
        "top pick",
    }
)
"""Grade words that count as a buy-type rating (normalised, see the module docstring)."""

BEARISH_GRADES = frozenset(
    {
        "sell",
        "strong sell",
        "underperform",
        "market underperform",
        "sector underperform",
        "underperformer",
        "underweight",
        "negative",
        "reduce",
    }
)
"""Grade words that count as a sell-type rating (normalised, see the module docstring)."""

_ACTION_VOTES = {"up": 1.0, "down": -1.0}
_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise_grade(grade: str) -> str:
    """``grade`` in lower case with runs of spaces, hyphens and underscores as one space."""
    return _SEPARATORS.sub(" ", str(grade)).strip().lower()


def rating_votes(changes: pd.DataFrame) -> pd.Series:
    """The vote (+1, -1 or 0, float) of each row of a ``rating_changes`` frame, same index."""
    votes = changes["action"].map(_ACTION_VOTES).fillna(0.0)
    inits = changes["action"] == "init"
    if inits.any():
        grades = changes.loc[inits, "to_grade"].map(normalise_grade)
        votes.loc[inits] = grades.isin(BULLISH_GRADES).astype(float) - grades.isin(
            BEARISH_GRADES
        ).astype(float)
    return votes.astype(float)


def upgrade_surges(
    rating_changes: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int = WINDOW_DAYS,
    baseline_days: int = BASELINE_DAYS,
) -> pd.Series:
    """Surge per ticker with positive recent net upgrades (see :func:`upgrade_momentum`).

    Indexed by ticker (sorted); tickers whose recent net upgrades are ``<= 0`` are left out.
    """
    as_of = pd.Timestamp(as_of)
    known = rating_changes[rating_changes["known_date"] <= as_of]
    known = known.assign(vote=rating_votes(known).to_numpy())
    recent = window(known, as_of, window_days)
    baseline = window(known, as_of - pd.Timedelta(days=window_days), baseline_days)
    recent_net = recent.groupby("ticker")["vote"].sum()
    baseline_net = baseline.groupby("ticker")["vote"].sum()
    recent_net = recent_net[recent_net > 0].sort_index()
    expected = baseline_net.reindex(recent_net.index, fill_value=0.0) * window_days / baseline_days
    return (recent_net - expected).astype(float).rename("surge")


def upgrade_momentum(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Tilt toward the names with a surge of analyst upgrades.

    Rule on ``as_of`` (a Monday), on rows of ``rating_changes`` with ``known_date <= as_of``:

    1. Votes: +1 per upgrade, -1 per downgrade, ±1 per initiation at a bullish/bearish
       grade, 0 otherwise (the table of the module docstring).
    2. Recent window: ``known_date`` in ``(as_of - window_days, as_of]``; baseline window:
       ``known_date`` in ``(as_of - window_days - baseline_days, as_of - window_days]``
       (calendar days; defaults 14 and 90).
    3. ``recent_net`` = Σ votes in the recent window; ``baseline_net`` = Σ votes in the
       baseline window (0 for a ticker without baseline rows).
    4. Surge = ``recent_net - baseline_net * window_days / baseline_days``: recent net
       upgrades minus the ticker's average net upgrades per window-length period of the
       baseline. Only tickers with ``recent_net > 0`` are scored.
    5. Hold the ``top_n`` (20) largest positive surges (ties by ticker), score-weighted:
       ``surge_i / Σ surge * k/top_n`` for ``k`` held names; unfilled slots are cash.

    Thin data (an all-cash sleeve with a note): no rating changes, none in the recent
    window, or none in the baseline window (no history to measure a surge against).
    ``spec.params`` may override ``window_days`` and ``baseline_days``.
    """
    as_of = pd.Timestamp(as_of)
    day = as_of.date().isoformat()
    window_days = int(spec.params.get("window_days", WINDOW_DAYS))
    baseline_days = int(spec.params.get("baseline_days", BASELINE_DAYS))
    frame = data.get("rating_changes")
    known = None if frame is None else frame[frame["known_date"] <= as_of]
    if known is None or known.empty:
        return Sleeve.empty(as_of, f"no analyst rating changes known on {day}")
    if window(known, as_of, window_days).empty:
        return Sleeve.empty(as_of, f"no analyst rating changes in the {window_days} days to {day}")
    baseline_end = as_of - pd.Timedelta(days=window_days)
    if window(known, baseline_end, baseline_days).empty:
        return Sleeve.empty(
            as_of,
            f"no analyst rating changes in the {baseline_days}-day baseline before "
            f"{baseline_end.date().isoformat()}: no history to measure a surge against",
        )
    surges = upgrade_surges(known, as_of, window_days, baseline_days)
    return ranked_sleeve(
        surges,
        data,
        as_of,
        spec,
        weighting="score",
        short="only {k} of {top_n} tickers have a surge of analyst upgrades; the rest is cash",
        empty=f"no ticker has a surge of analyst upgrades in the {window_days} days to {day}",
    )


__all__ = [
    "BASELINE_DAYS",
    "BEARISH_GRADES",
    "BULLISH_GRADES",
    "LOOKBACK_SESSIONS",
    "TOP_N",
    "WINDOW_DAYS",
    "normalise_grade",
    "rating_votes",
    "upgrade_momentum",
    "upgrade_surges",
]

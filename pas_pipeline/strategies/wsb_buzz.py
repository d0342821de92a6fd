"""Wall Street Bets Buzz: long the tickers whose r/wallstreetbets mentions rise fastest.

Same conventions as :mod:`pas_pipeline.strategies.alt_signals`: the signal signature is
``fn(data, as_of, spec) -> Sleeve``, windows are on ``known_date`` (a UTC day's mentions are
known the next day), and thin or missing data gives an all-cash sleeve with a note, never an
exception. Reads ``data["wsb_mentions"]`` (:mod:`pas_pipeline.sources.mentions`) and, when
present, ``data["universe"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.alt_signals import ranked_sleeve
from pas_pipeline.strategies.ranking import window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

WINDOW_DAYS = 7
MIN_MENTIONS = 10
LOOKBACK_SESSIONS = 15
"""Trading days of ``wsb_mentions`` the signal needs: 14 calendar days (~10 sessions) +
margin."""


def mention_growth(
    mentions: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int = WINDOW_DAYS,
    min_mentions: int = MIN_MENTIONS,
) -> pd.Series:
    """``(m_t + 1) / (m_{t-1} + 1)`` per ticker with ``m_t >= min_mentions``, by ticker.

    ``m_t`` = Σ ``mentions`` with ``known_date`` in ``(as_of - window_days, as_of]``;
    ``m_{t-1}`` the same over ``(as_of - 2 window_days, as_of - window_days]`` (0 without
    rows). Rows known after ``as_of`` are ignored.
    """
    as_of = pd.Timestamp(as_of)
    span = pd.Timedelta(days=window_days)
    current = window(mentions, as_of, window_days).groupby("ticker")["mentions"].sum()
    before = window(mentions, as_of - span, window_days).groupby("ticker")["mentions"].sum()
    current = current[current >= min_mentions].sort_index()
    base = before.reindex(current.index, fill_value=0)
    return (current + 1).astype(float) / (base + 1).astype(float)


def wall_street_bets_buzz(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the symbols with the fastest rise in r/wallstreetbets mentions.

    Rule on ``as_of``, on rows of ``wsb_mentions`` (documents naming the ticker per UTC day):

    1. This week ``m_t`` = Σ ``mentions`` known in ``(as_of - 7, as_of]``; last week
       ``m_{t-1}`` = Σ known in ``(as_of - 14, as_of - 7]`` (calendar days; a Monday
       rebalance sees the documents of the previous Monday..Sunday as this week).
    2. Candidates: tickers with ``m_t >= min_mentions`` (default 10), so a tiny base cannot
       make noise look like a surge.
    3. Score = ``(m_t + 1) / (m_{t-1} + 1)`` (+1 smoothing: a ticker absent last week scores
       ``m_t + 1``).
    4. Hold the ``top_n`` (15) highest scores above 1 (rising mentions only; ties by ticker),
       equal weight ``1/top_n``; unfilled slots are cash. Only ``universe`` tickers when the
       universe is given.

    ``spec.params`` may override ``window_days`` (7) and ``min_mentions`` (10).
    """
    as_of = pd.Timestamp(as_of)
    day = as_of.date().isoformat()
    days = int(spec.params.get("window_days", WINDOW_DAYS))
    minimum = int(spec.params.get("min_mentions", MIN_MENTIONS))
    frame = data.get("wsb_mentions")
    if frame is None or len(frame) == 0:
        return Sleeve.empty(as_of, f"no WallStreetBets mentions known on {day}")
    growth = mention_growth(frame, as_of, days, minimum)
    if growth.empty:
        return Sleeve.empty(
            as_of,
            f"no ticker has >= {minimum} WallStreetBets mentions in the {days} days to {day}",
        )
    return ranked_sleeve(
        growth[growth > 1.0],
        data,
        as_of,
        spec,
        weighting="equal",
        short="only {k} of {top_n} tickers have rising WallStreetBets mentions; the rest is cash",
        empty=f"no ticker with >= {minimum} mentions has rising WallStreetBets mentions "
        f"in the {days} days to {day}",
    )


__all__ = [
    "LOOKBACK_SESSIONS",
    "MIN_MENTIONS",
    "WINDOW_DAYS",
    "mention_growth",
    "wall_street_bets_buzz",
]

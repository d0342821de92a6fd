"""Attention signals: Wikipedia page views of each ticker's article (``pageviews``).

Same conventions as :mod:`pas_pipeline.strategies.alt_signals`: the signal signature is
``fn(data, as_of, spec) -> Sleeve``, ``data`` holds frames already cut to rows known on
``as_of``, windows are on ``known_date`` (a day's views are known the next day), and thin
or missing data gives an all-cash sleeve with a note, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from pas_pipeline.strategies.ranking import top_n_sleeve, window
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec

RECENT_DAYS = 7
BASELINE_DAYS = 56
MIN_BASELINE_DAYS = 28
MIN_BASELINE_VIEWS = 100.0
LOOKBACK_SESSIONS = 50
"""Trading days of ``pageviews`` the signal needs: 63 calendar days (~45 sessions) + margin."""


def attention_spikes(
    pageviews: pd.DataFrame,
    as_of: pd.Timestamp,
    recent_days: int = RECENT_DAYS,
    baseline_days: int = BASELINE_DAYS,
    min_baseline_days: int = MIN_BASELINE_DAYS,
    min_baseline_views: float = MIN_BASELINE_VIEWS,
) -> pd.Series:
    """Spike per ticker (see :func:`wikipedia_attention_surge`); tickers failing a
    requirement are left out. Indexed by ticker, sorted by ticker."""
    as_of = pd.Timestamp(as_of)
    known = pageviews[pageviews["known_date"] <= as_of]
    recent = window(known, as_of, recent_days)
    baseline = window(known, as_of - pd.Timedelta(days=recent_days), baseline_days)
    recent_mean = recent.groupby("ticker")["views"].mean()
    base = baseline.groupby("ticker")["views"].agg(["mean", "size"])
    base = base[(base["size"] >= min_baseline_days) & (base["mean"] >= min_baseline_views)]
    common = base.index.intersection(recent_mean.index).sort_values()
    return recent_mean[common].astype(float) / base.loc[common, "mean"].astype(float) - 1.0


def wikipedia_attention_surge(
    data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, spec: StrategySpec
) -> Sleeve:
    """Long the names whose Wikipedia article suddenly draws far more readers than usual.

    Rule on ``as_of``, on rows of ``pageviews`` with ``known_date <= as_of``:

    1. Recent days: ``known_date`` in ``(as_of - 7, as_of]``; baseline days: ``known_date``
       in ``(as_of - 63, as_of - 7]`` (the 56 days before). Calendar days; a filled
       zero-view day counts as a day with 0 views.
    2. Baseline requirements per ticker: at least ``min_baseline_days`` (28) baseline days
       and a baseline mean of at least ``min_baseline_views`` (100) views a day; tickers
       failing either, or without a recent day, get no score.
    3. Spike = mean views over the recent days / mean views over the baseline days − 1.
    4. Hold the ``top_n`` (10) highest positive spikes (ties by ticker), equal weight
       ``1/top_n``; unfilled slots are cash.

    ``spec.params`` may override ``recent_days``, ``baseline_days``, ``min_baseline_days``
    and ``min_baseline_views``.
    """
    as_of = pd.Timestamp(as_of)
    day = as_of.date().isoformat()
    frame = data.get("pageviews")
    if frame is None or len(frame) == 0:
        return Sleeve.empty(as_of, f"no Wikipedia page views known on {day}")
    params = spec.params
    baseline_days = int(params.get("baseline_days", BASELINE_DAYS))
    min_days = int(params.get("min_baseline_days", MIN_BASELINE_DAYS))
    min_views = float(params.get("min_baseline_views", MIN_BASELINE_VIEWS))
    spikes = attention_spikes(
        frame,
        as_of,
        recent_days=int(params.get("recent_days", RECENT_DAYS)),
        baseline_days=baseline_days,
        min_baseline_days=min_days,
        min_baseline_views=min_views,
    )
    return top_n_sleeve(
        spikes,
        as_of,
        spec.top_n,
        weighting="equal",
        note_when_short="only {k} of {top_n} tickers have a positive Wikipedia attention "
        "spike; the rest is cash",
        note_when_empty=f"no ticker has a positive Wikipedia attention spike on {day} "
        f"(baseline: >= {min_days} of {baseline_days} days, >= {min_views:g} views a day)",
    )


__all__ = ["LOOKBACK_SESSIONS", "attention_spikes", "wikipedia_attention_surge"]

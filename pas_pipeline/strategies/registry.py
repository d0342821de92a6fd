"""The strategy table: one :class:`StrategySpec` row per strategy.

Dagster sleeve assets and schedules are generated from :data:`STRATEGIES`; adding a strategy
is one row here plus one signal function (see ``docs/extending.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pas_pipeline.calendar import RebalanceRule
from pas_pipeline.strategies import (
    alt_signals,
    attention,
    biotech_catalysts,
    price_momentum,
    sector_momentum,
    trends_news,
    upgrade_momentum,
    wsb_buzz,
)
from pas_pipeline.strategies.sleeve import Sleeve

SignalFunction = Callable[[Mapping[str, pd.DataFrame], pd.Timestamp, "StrategySpec"], Sleeve]


@dataclass(frozen=True)
class StrategySpec:
    """One strategy of the table.

    ``sources`` are asset names the sleeve reads; ``lookback_sessions`` is how many trading
    days of each source before the rebalance date the signal needs; ``top_n`` is the number
    of names (or slots) the sleeve holds.
    """

    name: str
    title: str
    sources: tuple[str, ...]
    rule: RebalanceRule
    top_n: int
    lookback_sessions: int
    signal: SignalFunction
    weighting: str
    params: Mapping[str, Any] = field(default_factory=dict)


POLITICIANS: tuple[tuple[str, str, str], ...] = (
    ("pelosi", "Nancy Pelosi", "P000197"),
    ("meuser", "Dan Meuser", "M001204"),
    ("capito", "Shelley Moore Capito", "C001047"),
)
"""Politicians whose disclosed trades get a "Follow-the-Leader" sleeve each: (asset name
suffix, name, Bioguide ID). Edit this table to follow someone else."""

STRATEGIES: tuple[StrategySpec, ...] = (
    StrategySpec(
        name="sector_risk_parity_momentum",
        title="Sector Risk-Parity Momentum",
        sources=("prices",),
        rule=RebalanceRule.WEEKLY_FRIDAY,
        top_n=4,
        lookback_sessions=sector_momentum.MOMENTUM_SESSIONS + 5,
        signal=sector_momentum.sector_risk_parity_momentum,
        weighting="risk parity (Ledoit-Wolf covariance) over the chosen sector ETFs",
        params={
            "momentum_sessions": sector_momentum.MOMENTUM_SESSIONS,
            "risk_sessions": sector_momentum.RISK_SESSIONS,
        },
    ),
    StrategySpec(
        name="leveraged_sector_momentum",
        title="Leveraged Sector Momentum",
        sources=("prices",),
        rule=RebalanceRule.WEEKLY_FRIDAY,
        top_n=3,
        lookback_sessions=price_momentum.LEVERAGED_MOMENTUM_SESSIONS + 5,
        signal=price_momentum.leveraged_sector_momentum,
        weighting="equal slots (1/3 each) over the top 3 positive-momentum 2x sector ETFs",
        params={
            "momentum_sessions": price_momentum.LEVERAGED_MOMENTUM_SESSIONS,
            "volatility_sessions": price_momentum.LEVERAGED_VOLATILITY_SESSIONS,
            "max_volatility": price_momentum.LEVERAGED_MAX_VOLATILITY,
            "market_filter": price_momentum.LEVERAGED_MARKET_FILTER,
        },
    ),
    StrategySpec(
        name="volatility_scaled_momentum",
        title="Volatility-Scaled Momentum",
        sources=("prices",),
        rule=RebalanceRule.WEEKLY_FRIDAY,
        top_n=50,
        lookback_sessions=price_momentum.VOL_SCALED_MOMENTUM_SESSIONS + 5,
        signal=price_momentum.volatility_scaled_momentum,
        weighting="equal weight, top 50 by 12-1 momentum / annualised volatility",
        params={
            "momentum_sessions": price_momentum.VOL_SCALED_MOMENTUM_SESSIONS,
            "skip_sessions": price_momentum.VOL_SCALED_SKIP_SESSIONS,
            "volatility_sessions": price_momentum.VOL_SCALED_VOLATILITY_SESSIONS,
        },
    ),
    StrategySpec(
        name="congressional_aggregate",
        title="Congressional-Trading Aggregate",
        sources=("congress_trades",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=20,
        lookback_sessions=25,
        signal=alt_signals.congressional_aggregate,
        weighting="equal weight, top 20 by net congressional dollar buys (30 days)",
        params={"window_days": 30},
    ),
    StrategySpec(
        name="dc_insider_score",
        title="DC Insider Score Tilt",
        sources=("dc_insider_scores",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=30,
        lookback_sessions=1,
        signal=alt_signals.dc_insider_score,
        weighting="equal weight, top 30 by DC insider score (the dc_insider_scores asset)",
        params={"window_days": alt_signals.DC_INSIDER_WINDOW_DAYS},
    ),
    StrategySpec(
        name="gov_contracts_momentum",
        title="Government-Contracts Momentum",
        sources=("gov_contracts",),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=20,
        lookback_sessions=30,
        signal=alt_signals.gov_contracts_momentum,
        weighting="proportional to last month's contract dollars (>= $50M)",
        params={"min_amount": 50_000_000},
    ),
    StrategySpec(
        name="insider_buying_pulse",
        title="Corporate Insider Buying Pulse",
        sources=("insider_trades",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=25,
        lookback_sessions=25,
        signal=alt_signals.insider_buying_pulse,
        weighting="equal weight, top 25 by officer/director open-market buying (30 days)",
        params={"window_days": 30, "transaction_code": "P"},
    ),
    StrategySpec(
        name="wikipedia_attention_surge",
        title="Wikipedia Attention Surge",
        sources=("pageviews",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=10,
        lookback_sessions=attention.LOOKBACK_SESSIONS,
        signal=attention.wikipedia_attention_surge,
        weighting="equal weight, top 10 by 7-day vs 56-day Wikipedia page-view spike",
        params={
            "recent_days": 7,
            "baseline_days": 56,
            "min_baseline_days": 28,
            "min_baseline_views": 100,
        },
    ),
    StrategySpec(
        name="wall_street_bets_buzz",
        title="Wall Street Bets Buzz",
        sources=("wsb_mentions",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=15,
        lookback_sessions=wsb_buzz.LOOKBACK_SESSIONS,
        signal=wsb_buzz.wall_street_bets_buzz,
        weighting="equal weight, top 15 by week-over-week rise in r/wallstreetbets mentions",
        params={"window_days": wsb_buzz.WINDOW_DAYS, "min_mentions": wsb_buzz.MIN_MENTIONS},
    ),
    StrategySpec(
        name="upgrade_momentum",
        title="Upgrade Momentum",
        sources=("rating_changes",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=upgrade_momentum.TOP_N,
        lookback_sessions=upgrade_momentum.LOOKBACK_SESSIONS,
        signal=upgrade_momentum.upgrade_momentum,
        weighting="score-weighted tilt, top 20 by 14-day net-upgrade surge over the 90-day "
        "baseline",
        params={
            "window_days": upgrade_momentum.WINDOW_DAYS,
            "baseline_days": upgrade_momentum.BASELINE_DAYS,
        },
    ),
    StrategySpec(
        name="trends_news",
        title="Google Trends + News Sentiment",
        sources=("news_sentiment", "search_interest"),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=30,
        lookback_sessions=trends_news.LOOKBACK_SESSIONS,
        signal=trends_news.trends_news,
        weighting="equal weight, top 30 by rising Google search interest (30 vs 60 days) "
        "among names with positive news",
        params={
            "recent_days": trends_news.RECENT_DAYS,
            "baseline_days": trends_news.BASELINE_DAYS,
            "news_days": trends_news.NEWS_DAYS,
            "min_articles": trends_news.MIN_ARTICLES,
            "min_recent_points": trends_news.MIN_RECENT_POINTS,
            "min_baseline_points": trends_news.MIN_BASELINE_POINTS,
        },
    ),
    StrategySpec(
        name="biotech_binary_event_basket",
        title="Biotech Binary Event Basket",
        sources=("trial_catalysts", "fda_approvals"),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=20,
        lookback_sessions=biotech_catalysts.LOOKBACK_SESSIONS,
        signal=biotech_catalysts.biotech_binary_event_basket,
        weighting="equal weight, top 20 by number of Phase 3 read-outs estimated within "
        "90 days (none approved in the last 30)",
        params={
            "horizon_days": biotech_catalysts.HORIZON_DAYS,
            "approval_exclusion_days": biotech_catalysts.APPROVAL_EXCLUSION_DAYS,
        },
    ),
    StrategySpec(
        name="app_hype",
        title="App Reviews Hype Score",
        sources=("app_ratings",),
        rule=RebalanceRule.WEEKLY_MONDAY,
        top_n=20,
        lookback_sessions=20,
        signal=alt_signals.app_hype,
        weighting="equal weight, top 20 by week-over-week app-review hype",
        params={"min_gap_days": 7, "max_gap_days": 14, "max_age_days": 7},
    ),
    StrategySpec(
        name="lobbying_growth",
        title="Lobbying Growth",
        sources=("lobbying",),
        rule=RebalanceRule.MONTHLY_FIRST_TRADING_DAY,
        top_n=20,
        lookback_sessions=180,
        signal=alt_signals.lobbying_growth,
        weighting="equal weight, top 20 by quarter-over-quarter lobbying growth",
        params={"min_base": 0.0},
    ),
    *(
        StrategySpec(
            name=f"politician_sleeve_{slug}",
            title=f"Follow-the-Leader: {person}",
            sources=("congress_trades",),
            rule=RebalanceRule.MONTHLY_FIRST_MONDAY,
            top_n=10,
            lookback_sessions=260,
            signal=alt_signals.politician_sleeve,
            weighting="proportional to net disclosed dollar buys (365 days)",
            params={"bioguide_id": bioguide_id, "window_days": 365},
        )
        for slug, person, bioguide_id in POLITICIANS
    ),
)

STRATEGIES_BY_NAME: Mapping[str, StrategySpec] = {spec.name: spec for spec in STRATEGIES}

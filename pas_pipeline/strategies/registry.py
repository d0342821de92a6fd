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
from pas_pipeline.strategies import sector_momentum
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
)

STRATEGIES_BY_NAME: Mapping[str, StrategySpec] = {spec.name: spec for spec in STRATEGIES}

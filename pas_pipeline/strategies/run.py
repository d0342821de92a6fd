"""Run a strategy's signal for a date: the holdings in force on that date."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pas_pipeline.calendar import last_rebalance_day
from pas_pipeline.portfolio.combine import (
    CASH,
    SLEEVE_FRAME_COLUMNS,
    VIEW_CONFIDENCE,
    VIEW_EXCESS_RETURN,
)
from pas_pipeline.strategies.sleeve import Sleeve

if TYPE_CHECKING:
    from pas_pipeline.strategies.registry import StrategySpec


def sleeve_in_force(
    spec: StrategySpec, data: Mapping[str, pd.DataFrame], as_of: pd.Timestamp
) -> Sleeve:
    """Holdings the strategy has on ``as_of``: the signal computed on its latest rebalance day
    on or before ``as_of``, from the data known on that rebalance day."""
    rebalance_date = pd.Timestamp(last_rebalance_day(spec.rule, as_of))
    known = {name: known_on(frame, rebalance_date) for name, frame in data.items()}
    return spec.signal(known, rebalance_date, spec)


def known_on(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Rows of a source frame known on ``day``: ``known_date <= day`` where the source records
    when a row became known (alt data), else ``date <= day`` (market data)."""
    if frame.empty:
        return frame
    column = "known_date" if "known_date" in frame.columns else "date"
    return frame[frame[column] <= day]


def sleeve_frame(spec: StrategySpec, sleeve: Sleeve, as_of: pd.Timestamp) -> pd.DataFrame:
    """The stored form of a sleeve: :data:`SLEEVE_FRAME_COLUMNS`, plus a cash row.

    Each held name also carries the Black-Litterman view the sleeve implies: an annual
    ``view_excess_return`` over the name's equilibrium return (``spec.params`` key
    ``view_excess_return``, default :data:`VIEW_EXCESS_RETURN`) with ``view_confidence``
    (key ``view_confidence``, default :data:`VIEW_CONFIDENCE`); the cash row has none (NaN).
    """
    holdings = sleeve.holdings.assign(
        view_excess_return=float(spec.params.get("view_excess_return", VIEW_EXCESS_RETURN)),
        view_confidence=float(spec.params.get("view_confidence", VIEW_CONFIDENCE)),
    )
    cash = pd.DataFrame(
        {
            "ticker": [CASH],
            "score": [np.nan],
            "weight": [max(sleeve.cash_weight, 0.0)],
            "view_excess_return": [np.nan],
            "view_confidence": [np.nan],
        }
    )
    frame = pd.concat([holdings, cash], ignore_index=True) if len(holdings) else cash
    frame.insert(0, "date", as_of)
    frame.insert(1, "strategy", spec.name)
    frame.insert(2, "rebalance_date", sleeve.rebalance_date)
    return frame[SLEEVE_FRAME_COLUMNS].astype(
        {"score": float, "weight": float, "view_excess_return": float, "view_confidence": float}
    )

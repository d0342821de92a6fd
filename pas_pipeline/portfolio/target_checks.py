"""Checks every target weight vector must pass before anything can trade on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_POSITION_WEIGHT = 0.40
"""Largest weight one ticker may have in the account (fraction of equity)."""
SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TargetCheck:
    description: str
    validate: Callable[[pd.DataFrame], None]


def _first_row(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def check_finite(frame: pd.DataFrame) -> None:
    """Every weight is a finite number."""
    bad = ~np.isfinite(frame["weight"].astype(float))
    if bad.any():
        row = _first_row(bad)
        raise ValueError(
            f"field 'weight' is not finite at row {row} (ticker {frame['ticker'].iloc[row]})"
        )


def check_bounds(frame: pd.DataFrame, upper: float = MAX_POSITION_WEIGHT) -> None:
    """Every weight lies in ``[0, upper]``."""
    bad = (frame["weight"] < 0) | (frame["weight"] > upper)
    if bad.any():
        row = _first_row(bad)
        raise ValueError(
            f"field 'weight' = {frame['weight'].iloc[row]:.6f} outside [0, {upper}] at "
            f"row {row} (ticker {frame['ticker'].iloc[row]})"
        )


def check_sum(frame: pd.DataFrame) -> None:
    """Weights sum to at most 1; the remainder is cash."""
    total = float(frame["weight"].sum())
    if total > 1.0 + SUM_TOLERANCE:
        raise ValueError(f"field 'weight' sums to {total:.9f} > 1 (no leverage allowed)")


def check_unique(frame: pd.DataFrame) -> None:
    """One row per ticker."""
    dup = frame["ticker"].duplicated()
    if dup.any():
        row = _first_row(dup)
        raise ValueError(f"field 'ticker' repeats {frame['ticker'].iloc[row]} at row {row}")


TARGET_CHECKS: dict[str, TargetCheck] = {
    "weights_finite": TargetCheck("No NaN or infinite weight.", check_finite),
    "weights_within_bounds": TargetCheck(
        f"Every weight is in [0, {MAX_POSITION_WEIGHT}].", check_bounds
    ),
    "weights_sum_at_most_one": TargetCheck(
        "Weights sum to 1 or less, the rest in cash.", check_sum
    ),
    "tickers_unique": TargetCheck("One row per ticker.", check_unique),
}

"""The output of a strategy's signal: the names it holds on its rebalance date."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SLEEVE_COLUMNS = ["ticker", "score", "weight"]


@dataclass(frozen=True)
class Sleeve:
    """Holdings of one strategy decided on ``rebalance_date``.

    ``holdings`` has columns ``ticker``, ``score`` (the strategy's ranking score, larger is
    better) and ``weight`` (fraction of the sleeve's capital, ``>= 0``, summing to at most 1;
    the remainder is cash). ``note`` says why the sleeve holds less than ``top_n`` names.
    """

    rebalance_date: pd.Timestamp
    holdings: pd.DataFrame
    note: str = ""

    @property
    def cash_weight(self) -> float:
        """Fraction of the sleeve's capital left in cash."""
        return float(1.0 - self.holdings["weight"].sum())

    @classmethod
    def empty(cls, rebalance_date: pd.Timestamp, note: str) -> Sleeve:
        """A sleeve entirely in cash, with the reason."""
        frame = pd.DataFrame(
            {
                "ticker": pd.Series(dtype=str),
                "score": pd.Series(dtype=float),
                "weight": pd.Series(dtype=float),
            }
        )
        return cls(rebalance_date, frame, note)

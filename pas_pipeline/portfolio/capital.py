r"""Capital across sleeves that learns from realised performance.

Until a sleeve has a track record every sleeve gets its *prior* share (equal ex-ante risk,
:func:`pas_pipeline.portfolio.combine.equal_risk_capital`). With realised performance
(:mod:`pas_pipeline.execution.performance`: annualised Sharpe ratio and the number of daily
returns per sleeve) each sleeve's share is tilted toward the sleeves that have earned more
per unit of risk, in proportion to how much history backs the estimate:

.. math::

    \kappa_s = \min(1, n_s / N), \qquad
    \bar S = \frac{\sum_s c^0_s \kappa_s S_s}{\sum_s c^0_s \kappa_s}, \qquad
    t_s = \max\bigl(f,\ 1 + \lambda\,\kappa_s\,(\operatorname{clip}(S_s, -S_{max}, S_{max})
          - \bar S)\bigr), \qquad
    c_s = \frac{c^0_s t_s}{\sum_j c^0_j t_j}\sum_j c^0_j

with :math:`c^0` the prior share, :math:`S_s` the realised Sharpe ratio, :math:`n_s` its number
of daily returns, :math:`N` = ``full_credibility_days`` (252: a year of history counts fully),
:math:`\lambda` = ``sensitivity`` (0.5: one unit of Sharpe above the average adds half the
prior share), :math:`S_{max}` = ``max_abs_sharpe`` (3, so one lucky month cannot take over)
and :math:`f` = ``floor`` (0.25: a sleeve keeps at least a quarter of its prior share and so
can still earn its way back). A sleeve with fewer than ``min_days`` returns, or without a
defined Sharpe ratio, has :math:`\kappa_s = 0`: it keeps its prior share and does not move
the average. No history at all returns the prior unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapitalLearning:
    """Parameters of :func:`performance_tilted_capital` (see the module doc)."""

    full_credibility_days: int = 252
    min_days: int = 20
    sensitivity: float = 0.5
    max_abs_sharpe: float = 3.0
    floor: float = 0.25

    def __post_init__(self) -> None:
        if self.full_credibility_days < 1 or self.min_days < 0:
            raise ValueError("full_credibility_days must be >= 1 and min_days >= 0")
        if not (self.sensitivity >= 0 and self.max_abs_sharpe > 0 and 0 < self.floor <= 1):
            raise ValueError("need sensitivity >= 0, max_abs_sharpe > 0 and 0 < floor <= 1")


def _credible_sharpe(
    record: Mapping[str, Any] | None, learning: CapitalLearning
) -> tuple[float, float]:
    """(credibility in [0, 1], clipped Sharpe) of one sleeve's performance summary."""
    if not record:
        return 0.0, 0.0
    sharpe, days = record.get("sharpe"), int(record.get("days") or 0)
    if sharpe is None or not math.isfinite(float(sharpe)) or days < learning.min_days:
        return 0.0, 0.0
    clipped = max(-learning.max_abs_sharpe, min(learning.max_abs_sharpe, float(sharpe)))
    return min(1.0, days / learning.full_credibility_days), clipped


def performance_tilted_capital(
    prior: Mapping[str, float],
    performance: Mapping[str, Mapping[str, Any]],
    learning: CapitalLearning = CapitalLearning(),
) -> dict[str, float]:
    """Capital shares (same total as ``prior``) tilted by realised Sharpe ratios.

    ``prior``: sleeve → share (>= 0). ``performance``: sleeve → summary with ``sharpe``
    (annualised, or None) and ``days`` (number of daily returns), as in
    ``RealisedPerformance.summary``; sleeves missing from it keep their prior share.
    """
    if any(not math.isfinite(v) or v < 0 for v in prior.values()):
        raise ValueError(f"prior shares must be finite and >= 0, got {dict(prior)}")
    evidence = {name: _credible_sharpe(performance.get(name), learning) for name in prior}
    weight = sum(prior[name] * kappa for name, (kappa, _) in evidence.items())
    if weight == 0:
        return dict(prior)
    average = sum(prior[n] * kappa * sharpe for n, (kappa, sharpe) in evidence.items()) / weight
    tilted = {
        name: prior[name]
        * max(learning.floor, 1.0 + learning.sensitivity * kappa * (sharpe - average))
        for name, (kappa, sharpe) in evidence.items()
    }
    scale = sum(prior.values()) / sum(tilted.values())
    return {name: value * scale for name, value in tilted.items()}

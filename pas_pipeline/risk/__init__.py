"""Public risk API: returns, performance ratios, covariance, tail risk, regime, allocation.

Pure numpy/pandas/scipy (no Dagster), importable from notebooks::

    from pas_pipeline import risk

    rets = risk.daily_returns(prices)                 # T × n daily simple returns
    cov = risk.ledoit_wolf_covariance(rets.dropna(axis=1))  # annualised, n × n
    regime = risk.correlation_regime(rets.dropna(axis=1))
    w = risk.min_max_weights(mu, cov, gamma=2.0, delta=regime.delta, upper=0.1)

Conventions shared by every function:

* inputs are **daily** simple returns (decimals) in a ``T × n`` DataFrame or
  array (dates × tickers); annualisation uses ``periods_per_year = 252``;
* pandas in → pandas out with the ticker labels kept; numpy in → numpy out;
* losses are **positive** numbers (VaR, CVaR);
* invalid or degenerate inputs raise :class:`ValueError` with the offending
  tickers named, or follow a documented fallback; NaN is never returned.
"""

from pas_pipeline.risk.black_litterman import (
    BlackLittermanResult,
    black_litterman,
    market_implied_returns,
)
from pas_pipeline.risk.covariance import LedoitWolf, ledoit_wolf_covariance
from pas_pipeline.risk.min_max import min_max_weights
from pas_pipeline.risk.performance import sharpe_ratio, sortino_ratio
from pas_pipeline.risk.regime import CorrelationRegime, correlation_regime
from pas_pipeline.risk.returns import daily_returns
from pas_pipeline.risk.risk_parity import risk_contributions, risk_parity_weights
from pas_pipeline.risk.tail import historical_cvar, historical_var

__all__ = [
    "BlackLittermanResult",
    "CorrelationRegime",
    "LedoitWolf",
    "black_litterman",
    "correlation_regime",
    "daily_returns",
    "historical_cvar",
    "historical_var",
    "ledoit_wolf_covariance",
    "market_implied_returns",
    "min_max_weights",
    "risk_contributions",
    "risk_parity_weights",
    "sharpe_ratio",
    "sortino_ratio",
]

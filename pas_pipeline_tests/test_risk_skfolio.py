"""Risk parity and the min-max weights against skfolio on the same returns.

skfolio fits its own moments from the returns (empirical mean and covariance, ddof = 1), so
ours get exactly those. skfolio solves with an interior-point method (Clarabel): its risk
contributions agree with their target only to ~1e-6, so weights are compared to 1e-5 and
ours must be at least as good on the objective.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skfolio.measures import RiskMeasure
from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

from pas_pipeline.risk import min_max_weights, risk_contributions, risk_parity_weights
from pas_pipeline.risk._synthetic import factor_model_returns

N_ASSETS = 12


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    frame = factor_model_returns(t=500, n=N_ASSETS, seed=11)
    return pd.DataFrame(frame, columns=[f"A{i:02d}" for i in range(N_ASSETS)])


def empirical(returns: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    return returns.mean(), returns.cov(ddof=1)


def test_equal_risk_contribution_weights_match_skfolio(returns: pd.DataFrame) -> None:
    _, cov = empirical(returns)
    ours = risk_parity_weights(cov).to_numpy()
    theirs = np.asarray(
        RiskBudgeting(risk_measure=RiskMeasure.VARIANCE).fit(returns).weights_, dtype=float
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    rc = risk_contributions(ours, cov).to_numpy()
    assert np.abs(rc / rc.mean() - 1).max() <= 1e-10


def test_risk_budgets_match_skfolio(returns: pd.DataFrame) -> None:
    _, cov = empirical(returns)
    budgets = np.linspace(1.0, 3.0, N_ASSETS)
    budgets /= budgets.sum()
    ours = risk_parity_weights(cov, budgets=budgets).to_numpy()
    theirs = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE, risk_budget=budgets).fit(returns)
    np.testing.assert_allclose(ours, np.asarray(theirs.weights_, dtype=float), atol=1e-5)


@pytest.mark.parametrize(("aversion", "upper"), [(1.0, 1.0), (5.0, 0.15), (50.0, 0.3)])
def test_maximum_utility_weights_match_skfolio(
    returns: pd.DataFrame, aversion: float, upper: float
) -> None:
    """skfolio's MAXIMIZE_UTILITY with the variance is ``max w'mu - lambda w'Sigma w``: our
    objective with gamma = lambda and delta = 0."""
    mu, cov = empirical(returns)
    ours = min_max_weights(mu, cov, gamma=aversion, lower=0.0, upper=upper).to_numpy()
    model = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_measure=RiskMeasure.VARIANCE,
        risk_aversion=aversion,
        min_weights=0.0,
        max_weights=upper,
    ).fit(returns)
    theirs = np.asarray(model.weights_, dtype=float)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)

    def utility(w: np.ndarray) -> float:
        return float(w @ mu.to_numpy() - aversion * w @ cov.to_numpy() @ w)

    assert utility(ours) >= utility(theirs) - 1e-12

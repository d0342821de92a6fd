"""Black-Litterman prior and posterior against PyPortfolioOpt and the textbook formula."""

import numpy as np
import pandas as pd
import pytest
from pypfopt.black_litterman import BlackLittermanModel, market_implied_prior_returns

from pas_pipeline.risk import (
    BlackLittermanResult,
    black_litterman,
    ledoit_wolf_covariance,
    market_implied_returns,
)
from pas_pipeline.risk._synthetic import factor_model_returns

TOL = 1e-10  # required agreement with PyPortfolioOpt (absolute, values are O(0.1))
TICKERS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


def _cov() -> pd.DataFrame:
    rets = pd.DataFrame(factor_model_returns(500, 5, seed=9), columns=TICKERS)
    return ledoit_wolf_covariance(rets)


def _views() -> tuple[np.ndarray, np.ndarray]:
    pick = np.array([[1.0, -1.0, 0, 0, 0], [0, 0, 1.0, 0, 0], [0.5, 0.5, 0, -0.5, -0.5]])
    return pick, np.array([0.02, 0.10, -0.01])


def test_market_implied_returns_match_pypfopt() -> None:
    cov = _cov()
    caps = pd.Series([3.0, 2.0, 1.0, 0.5, 0.5], index=TICKERS)
    ours = market_implied_returns(cov, caps, risk_aversion=2.5, risk_free=0.02)
    ref = market_implied_prior_returns(caps, 2.5, cov, risk_free_rate=0.02)
    assert list(ours.index) == TICKERS
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
    weights = (caps / caps.sum()).to_numpy()
    np.testing.assert_allclose(  # delta * Sigma w + rf by hand
        ours, 2.5 * cov.to_numpy() @ weights + 0.02, rtol=0, atol=1e-15
    )


@pytest.mark.parametrize("omega_kind", ["default", "matrix", "diagonal"])
def test_posterior_matches_pypfopt(omega_kind: str) -> None:
    cov = _cov()
    pi = market_implied_returns(cov, np.full(5, 0.2), risk_aversion=3.0)
    pick, q = _views()
    omega = {"default": None, "matrix": np.diag([1e-3, 4e-4, 2e-3]), "diagonal": None}[omega_kind]
    ref = BlackLittermanModel(cov, pi=pi, P=pick, Q=q, omega=omega, tau=0.025)
    if omega_kind == "diagonal":
        omega = np.diag(ref.omega)  # pass the default variances as a 1-D vector
    result = black_litterman(cov, pi, pick, q, omega=omega, tau=0.025)
    assert isinstance(result, BlackLittermanResult)
    np.testing.assert_allclose(result.mean, ref.bl_returns(), rtol=0, atol=TOL)
    np.testing.assert_allclose(result.covariance, ref.bl_cov(), rtol=0, atol=TOL)
    assert list(result.mean.index) == TICKERS and list(result.covariance.columns) == TICKERS


def test_posterior_equals_seed_formula_with_inverses() -> None:
    cov = _cov().to_numpy()
    pi = np.linspace(0.03, 0.09, 5)
    pick, q = _views()
    tau, omega = 0.05, np.diag([1e-3, 2e-3, 5e-4])
    inv = np.linalg.inv
    precision = inv(tau * cov) + pick.T @ inv(omega) @ pick
    mean = inv(precision) @ (inv(tau * cov) @ pi + pick.T @ inv(omega) @ q)
    result = black_litterman(cov, pi, pick, q, omega=omega, tau=tau)
    np.testing.assert_allclose(result.mean, mean, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.covariance, cov + inv(precision), rtol=0, atol=1e-10)


def test_pick_matrix_dataframe_aligns_tickers_and_single_view() -> None:
    cov = _cov()
    pi = pd.Series(0.05, index=TICKERS)
    view = pd.DataFrame({"CCC": [1.0], "AAA": [-1.0]}, index=["C beats A"])
    result = black_litterman(cov, pi, view, pd.Series({"C beats A": 0.03}))
    dense = np.array([-1.0, 0, 1.0, 0, 0])
    expected = black_litterman(cov.to_numpy(), pi.to_numpy(), dense, [0.03])
    np.testing.assert_allclose(result.mean, expected.mean, rtol=0, atol=1e-15)
    # the view pulls C up relative to A
    assert result.mean["CCC"] - result.mean["AAA"] > 0


def test_certain_view_and_singular_prior_stay_finite() -> None:
    x = factor_model_returns(3, 5, seed=1)  # T < n: singular sample covariance
    cov = np.cov(x.T) * 252
    pick, q = _views()
    result = black_litterman(cov + 1e-4 * np.eye(5), np.zeros(5), pick[:1], q[:1], omega=[0.0])
    assert result.mean @ pick[0] == pytest.approx(q[0], abs=1e-12)  # a certain view is met exactly
    singular = black_litterman(cov, np.zeros(5), pick[1:2], q[1:2])
    assert np.isfinite(singular.mean).all() and np.isfinite(singular.covariance).all()


def test_invalid_inputs_raise() -> None:
    cov = _cov()
    pick, q = _views()
    with pytest.raises(ValueError, match="tau"):
        black_litterman(cov, np.zeros(5), pick, q, tau=0.0)
    with pytest.raises(ValueError, match="P refers to tickers"):
        black_litterman(cov, np.zeros(5), pd.DataFrame({"ZZZ": [1.0]}), [0.1])
    with pytest.raises(ValueError, match="singular"):
        black_litterman(cov, np.zeros(5), np.vstack([pick[:1], pick[:1]]), [0.1, 0.2], omega=[0, 0])
    with pytest.raises(ValueError, match="pi"):
        black_litterman(cov, [np.nan, 0, 0, 0, 0], pick, q)
    with pytest.raises(ValueError, match="positive semi-definite"):
        black_litterman([[1.0, 2.0], [2.0, 1.0]], np.zeros(2), [1.0, 0.0], [0.1])
    with pytest.raises(ValueError, match="positive sum"):
        market_implied_returns(cov, np.zeros(5), 2.0)


# He & Litterman (1999), "The Intuition Behind Black-Litterman Model Portfolios", Goldman
# Sachs: seven equity markets, correlations and volatilities of their Table 1, market-cap
# weights, delta = 2.5, tau = 0.05, one view ("Germany outperforms France and the UK, weighted
# by market cap, by 5 % a year") with Omega = tau * P Sigma P'. Published in per cent to one
# decimal: the equilibrium returns and the posterior returns of their tables.
HL_MARKETS = ["AUS", "CAN", "FRA", "GER", "JAP", "UK", "USA"]
HL_CORRELATION = np.array(
    [
        [1.000, 0.488, 0.478, 0.515, 0.439, 0.512, 0.491],
        [0.488, 1.000, 0.664, 0.655, 0.310, 0.608, 0.779],
        [0.478, 0.664, 1.000, 0.861, 0.355, 0.783, 0.668],
        [0.515, 0.655, 0.861, 1.000, 0.354, 0.777, 0.653],
        [0.439, 0.310, 0.355, 0.354, 1.000, 0.405, 0.306],
        [0.512, 0.608, 0.783, 0.777, 0.405, 1.000, 0.652],
        [0.491, 0.779, 0.668, 0.653, 0.306, 0.652, 1.000],
    ]
)
HL_VOLATILITY = np.array([16.0, 20.3, 24.8, 27.1, 21.0, 20.0, 18.7]) / 100
HL_WEIGHTS = np.array([1.6, 2.2, 5.2, 5.5, 11.6, 12.4, 61.5]) / 100
HL_EQUILIBRIUM = [3.9, 6.9, 8.4, 9.0, 4.3, 6.8, 7.6]
HL_POSTERIOR = [4.3, 7.6, 9.3, 11.0, 4.5, 7.0, 8.1]


def _he_litterman_cov() -> pd.DataFrame:
    cov = HL_CORRELATION * np.outer(HL_VOLATILITY, HL_VOLATILITY)
    return pd.DataFrame(cov, index=HL_MARKETS, columns=HL_MARKETS)


def test_he_litterman_equilibrium_returns() -> None:
    pi = market_implied_returns(_he_litterman_cov(), pd.Series(HL_WEIGHTS, HL_MARKETS), 2.5)
    assert (100 * pi).round(1).tolist() == HL_EQUILIBRIUM


def test_he_litterman_germany_versus_europe_view() -> None:
    cov = _he_litterman_cov()
    pi = market_implied_returns(cov, pd.Series(HL_WEIGHTS, HL_MARKETS), 2.5)
    pick = pd.DataFrame([[0, 0, -0.295, 1, 0, -0.705, 0]], columns=HL_MARKETS)
    posterior = black_litterman(cov, pi, pick, np.array([0.05]), tau=0.05)
    assert (100 * posterior.mean).round(1).tolist() == HL_POSTERIOR

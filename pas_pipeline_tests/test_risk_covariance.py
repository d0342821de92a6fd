"""Ledoit-Wolf covariance against scikit-learn and PyPortfolioOpt, plus degenerate inputs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import LedoitWolf as SklearnLedoitWolf

from pas_pipeline.risk import LedoitWolf, ledoit_wolf_covariance
from pas_pipeline.risk._synthetic import factor_model_returns

REL = 1e-12  # required agreement with scikit-learn, relative to the largest entry


def _assert_matches_sklearn(x: np.ndarray) -> None:
    ours = LedoitWolf().fit(x)
    ref = SklearnLedoitWolf().fit(x)
    expected = 252 * ref.covariance_
    scale = np.abs(expected).max()
    assert np.abs(ours.covariance_ - expected).max() <= REL * scale
    assert ours.shrinkage_ == pytest.approx(ref.shrinkage_, rel=REL, abs=1e-15)
    np.testing.assert_allclose(ours.location_, ref.location_, rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize(
    ("t", "n"), [(756, 50), (252, 20), (60, 120), (30, 200), (5, 3), (100, 1), (2, 4)]
)
def test_matches_sklearn_including_more_assets_than_days(t: int, n: int) -> None:
    _assert_matches_sklearn(factor_model_returns(t, n, seed=t + n))


def test_matches_sklearn_on_non_financial_scale_and_large_mean() -> None:
    rng = np.random.default_rng(7)
    _assert_matches_sklearn(rng.normal(5.0, 2.0, size=(40, 15)))


def test_matches_pypfopt_covariance_shrinkage() -> None:
    from pypfopt.risk_models import CovarianceShrinkage

    rets = pd.DataFrame(factor_model_returns(300, 12, seed=3), columns=[f"T{i}" for i in range(12)])
    expected = CovarianceShrinkage(rets, returns_data=True, frequency=252).ledoit_wolf()
    ours = ledoit_wolf_covariance(rets)
    assert np.abs((ours - expected).to_numpy()).max() <= REL * np.abs(expected.to_numpy()).max()


def test_pandas_keeps_tickers_and_estimator_shape() -> None:
    tickers = ["AAPL", "MSFT", "XOM"]
    rets = pd.DataFrame(factor_model_returns(100, 3, seed=1), columns=tickers)
    est = LedoitWolf(periods_per_year=12)
    assert est.fit(rets) is est
    assert list(est.covariance_.index) == tickers and list(est.covariance_.columns) == tickers
    assert list(est.location_.index) == tickers
    assert est.n_features_in_ == 3 and list(est.feature_names_in_) == tickers
    assert est.get_params() == {"periods_per_year": 12}
    daily = LedoitWolf(periods_per_year=1).fit(rets).covariance_
    np.testing.assert_allclose(est.covariance_, 12 * daily, rtol=1e-14)  # annualisation is linear
    assert isinstance(ledoit_wolf_covariance(rets.to_numpy()), np.ndarray)


def test_nan_column_raises_naming_it() -> None:
    rets = pd.DataFrame(factor_model_returns(50, 3, seed=2), columns=["A", "B", "C"])
    rets.iloc[4, 1] = np.nan
    with pytest.raises(ValueError, match="B"):
        ledoit_wolf_covariance(rets)
    with pytest.raises(ValueError, match="at least 2 observations"):
        ledoit_wolf_covariance(rets.iloc[:1])


def test_constant_column_is_finite_and_matches_sklearn() -> None:
    x = factor_model_returns(80, 4, seed=4)
    x[:, 2] = 0.001
    _assert_matches_sklearn(x)
    cov = ledoit_wolf_covariance(x)
    assert np.isfinite(cov).all() and cov[2, 2] > 0  # variance s * mu * 252 from the shrinkage


@settings(max_examples=15, derandomize=True, deadline=None)
@given(t=st.integers(2, 60), n=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_property_symmetric_psd_and_equal_to_sklearn(t: int, n: int, seed: int) -> None:
    x = factor_model_returns(t, n, seed=seed)
    cov = ledoit_wolf_covariance(x)
    assert np.array_equal(cov, cov.T)  # exactly symmetric (syrk + symmetric update)
    eig = np.linalg.eigvalsh(cov)
    assert eig[0] >= -1e-12 * eig[-1]  # PSD up to rounding
    _assert_matches_sklearn(x)

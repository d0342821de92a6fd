"""Historical VaR / CVaR: hand-worked values, numpy quantile, portfolios, NaN, errors."""

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.risk import historical_cvar, historical_var
from pas_pipeline.risk._synthetic import factor_model_returns

# sorted: -0.05 -0.03 -0.02 -0.01 0.00 0.01 0.01 0.02 0.03 0.04
RETURNS = [-0.05, -0.02, 0.01, 0.03, -0.01, 0.02, 0.00, -0.03, 0.04, 0.01]


def test_var_cvar_by_hand() -> None:
    r = pd.Series(RETURNS)
    # alpha 0.9: 10% quantile at position 0.9 between -0.05 and -0.03 -> -0.032; VaR = 0.032
    assert historical_var(r, alpha=0.9) == pytest.approx(0.032, abs=1e-15)
    assert historical_cvar(r, alpha=0.9) == pytest.approx(0.05, abs=1e-15)  # only -0.05 <= -0.032
    # alpha 0.8: position 1.8 -> -0.03 + 0.8 * 0.01 = -0.022; tail {-0.05, -0.03} -> CVaR 0.04
    assert historical_var(r, alpha=0.8) == pytest.approx(0.022, abs=1e-15)
    assert historical_cvar(r, alpha=0.8) == pytest.approx(0.04, abs=1e-15)


def test_matches_numpy_quantile_and_cvar_at_least_var() -> None:
    x = factor_model_returns(500, 4, seed=11)
    for alpha in (0.9, 0.95, 0.99):
        var = historical_var(x, alpha)
        np.testing.assert_allclose(var, -np.quantile(x, 1 - alpha, axis=0), rtol=0, atol=1e-16)
        cvar = historical_cvar(x, alpha)
        expected = [-x[x[:, j] <= -var[j], j].mean() for j in range(4)]
        np.testing.assert_allclose(cvar, expected, rtol=1e-14)
        assert (cvar >= var).all()


def test_portfolio_weights_and_labels() -> None:
    frame = pd.DataFrame(factor_model_returns(250, 3, seed=5), columns=["A", "B", "C"])
    weights = pd.Series({"C": 0.2, "A": 0.5, "B": 0.3})  # aligned by ticker, not position
    portfolio = frame.to_numpy() @ np.array([0.5, 0.3, 0.2])
    assert historical_var(frame, 0.95, weights=weights) == pytest.approx(
        -np.quantile(portfolio, 0.05), abs=1e-16
    )
    assert historical_cvar(frame, 0.95, weights=weights) == pytest.approx(
        -portfolio[portfolio <= np.quantile(portfolio, 0.05)].mean(), rel=1e-14
    )
    per_asset = historical_var(frame)
    assert isinstance(per_asset, pd.Series) and list(per_asset.index) == ["A", "B", "C"]


def test_nan_observations_are_dropped() -> None:
    with_nan = pd.Series([*RETURNS, np.nan])
    assert historical_var(with_nan, 0.9) == pytest.approx(0.032, abs=1e-15)
    frame = pd.DataFrame({"A": RETURNS, "B": RETURNS[::-1]})
    frame.iloc[0, 1] = np.nan  # day 0 is dropped from the portfolio sample
    expected = -np.quantile((frame.iloc[1:] @ [0.5, 0.5]).to_numpy(), 0.1)
    assert historical_var(frame, 0.9, weights=[0.5, 0.5]) == pytest.approx(expected, abs=1e-16)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1])
def test_invalid_alpha_raises(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        historical_var(RETURNS, alpha)


def test_all_nan_and_bad_weights_raise() -> None:
    with pytest.raises(ValueError, match="EMPTY"):
        historical_cvar(pd.DataFrame({"EMPTY": [np.nan, np.nan], "A": [0.1, 0.2]}))
    with pytest.raises(ValueError, match="expected 2"):
        historical_var(np.zeros((5, 2)), weights=[1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        historical_var(np.zeros((5, 2)), weights=[np.nan, 1.0])

"""Risk parity: the Maillard-Roncalli-Teiletche (2010) example, properties, degenerate inputs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import fsolve, linprog

from pas_pipeline.risk import ledoit_wolf_covariance, risk_contributions, risk_parity_weights
from pas_pipeline.risk._synthetic import factor_model_returns

RC_TOL = 1e-10  # required max |RC_i / target_i - 1|
VOLS = np.array([0.10, 0.20, 0.30, 0.40])


def _budget_error(w: np.ndarray, cov: np.ndarray, budgets: np.ndarray) -> float:
    rc = w * (cov @ w)
    return float(np.max(np.abs(rc / (budgets / budgets.sum() * rc.sum()) - 1)))


def _independent_erc(cov: np.ndarray) -> np.ndarray:
    """ERC by a different method: root of w_i (Σw)_i = 1/n (then normalise), via fsolve."""
    n = cov.shape[0]
    root = fsolve(lambda y: y * (cov @ y) - 1.0 / n, 1 / np.sqrt(np.diag(cov)) / n, xtol=1e-14)
    return root / root.sum()


def test_maillard_roncalli_teiletche_example() -> None:
    # MRT (2010) four-asset example: vols 10/20/30/40 %, rho_12 = 0.8, rho_34 = -0.5, else 0.
    # Published ERC weights: 38.4 %, 19.2 %, 24.3 %, 18.2 %. (Placing -0.5 between assets 2 and 3
    # instead gives 35.3/28.3/23.1/13.3 %, see the next test, so the published matrix is this one.)
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.8
    corr[2, 3] = corr[3, 2] = -0.5
    cov = np.outer(VOLS, VOLS) * corr
    w = risk_parity_weights(cov)
    np.testing.assert_allclose(w, [0.384, 0.192, 0.243, 0.182], atol=5e-4)  # published, 3 dp
    np.testing.assert_allclose(w, _independent_erc(cov), atol=1e-10)  # independent solver
    assert _budget_error(w, cov, np.ones(4)) <= RC_TOL


def test_matrix_with_negative_correlation_between_assets_2_and_3() -> None:
    corr = np.array([[1, 0.8, 0, 0], [0.8, 1, -0.5, 0], [0, -0.5, 1, 0], [0, 0, 0, 1]])
    cov = np.outer(VOLS, VOLS) * corr
    w = risk_parity_weights(cov)
    # independently verified with scipy fsolve (and SLSQP): 35.27 / 28.31 / 23.10 / 13.33 %
    np.testing.assert_allclose(w, _independent_erc(cov), atol=1e-10)
    np.testing.assert_allclose(w, [0.3527, 0.2831, 0.2310, 0.1333], atol=5e-5)
    assert _budget_error(w, cov, np.ones(4)) <= RC_TOL


def test_budgets_labels_and_risk_contributions() -> None:
    tickers = list("ABCDE")
    rets = pd.DataFrame(factor_model_returns(300, 5, seed=8), columns=tickers)
    cov = ledoit_wolf_covariance(rets)
    budgets = pd.Series({"E": 1.0, "D": 1.0, "C": 2.0, "B": 2.0, "A": 4.0})  # aligned by label
    w = risk_parity_weights(cov, budgets=budgets)
    assert list(w.index) == tickers
    rc = risk_contributions(w, cov)
    np.testing.assert_allclose(rc / rc.sum(), [0.4, 0.2, 0.2, 0.1, 0.1], rtol=RC_TOL)
    assert rc.sum() == pytest.approx(w @ cov @ w, rel=1e-14)


def test_one_asset_and_diagonal_closed_form() -> None:
    assert risk_parity_weights(np.array([[0.04]])) == pytest.approx([1.0], abs=1e-15)
    w = risk_parity_weights(np.diag(VOLS**2))  # uncorrelated: w_i ∝ 1/σ_i
    np.testing.assert_allclose(w, (1 / VOLS) / (1 / VOLS).sum(), rtol=1e-12)


@pytest.mark.parametrize("n", [500, 1500])
def test_large_universe_meets_tolerance(n: int) -> None:
    cov = ledoit_wolf_covariance(factor_model_returns(756, n, seed=n))
    w = risk_parity_weights(cov)
    assert _budget_error(w, cov, np.ones(n)) <= RC_TOL
    assert w.sum() == pytest.approx(1.0, abs=1e-14) and (w > 0).all()


def test_singular_covariance_with_positive_exposures() -> None:
    # rank-2 covariance, positive loadings: no long-only zero-variance portfolio, ERC exists
    loadings = np.random.default_rng(3).uniform(0.1, 1.0, size=(6, 2))
    cov = loadings @ loadings.T
    w = risk_parity_weights(cov)
    assert _budget_error(w, cov, np.ones(6)) <= RC_TOL


@pytest.mark.parametrize("seed", [0, 2, 3, 9])
def test_no_solution_is_detected_exactly_when_a_zero_variance_long_portfolio_exists(
    seed: int,
) -> None:
    # n > T sample covariances with offsetting factor exposures; an LP decides whether some
    # w >= 0, sum w = 1 has Xc w = 0 (zero variance), in which case ERC cannot exist.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 120))
    t = int(n * rng.uniform(0.35, 0.7))
    x = rng.standard_normal((t, 5)) @ rng.standard_normal((5, n)) * 0.01
    x += rng.standard_normal((t, n)) * 0.015 * rng.uniform(0.5, 2, n)
    xc = x - x.mean(axis=0)
    lp = linprog(np.zeros(n), A_eq=np.vstack([xc, np.ones((1, n))]), b_eq=np.r_[np.zeros(t), 1.0])
    cov = np.cov(x.T)
    if lp.status == 0:
        with pytest.raises(ValueError, match="no risk-parity portfolio"):
            risk_parity_weights(cov)
    else:
        assert _budget_error(risk_parity_weights(cov), cov, np.ones(n)) <= RC_TOL


@pytest.mark.parametrize(
    ("cov", "budgets", "message"),
    [
        ([[1.0, 2.0], [2.0, 1.0]], None, "positive semi-definite"),
        ([[1.0, 0.1], [0.2, 1.0]], None, "not symmetric"),
        ([[1.0, np.nan], [np.nan, 1.0]], None, "NaN"),
        ([[1.0, 0.0], [0.0, 0.0]], None, "zero variance"),
        ([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0], "budgets must be positive"),
        ([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0, 1.0], "expected 2"),
        ([[1.0, -1.0], [-1.0, 1.0]], None, "no risk-parity portfolio"),
    ],
)
def test_invalid_inputs_raise(cov, budgets, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        risk_parity_weights(np.array(cov), budgets=budgets)


@settings(max_examples=20, derandomize=True, deadline=None)
@given(
    n=st.integers(2, 30),
    seed=st.integers(0, 10_000),
    spread=st.floats(0.0, 3.0),
)
def test_property_equal_budgeted_risk(n: int, seed: int, spread: float) -> None:
    cov = ledoit_wolf_covariance(factor_model_returns(120, n, seed=seed))
    budgets = np.exp(spread * np.random.default_rng(seed).standard_normal(n))
    w = risk_parity_weights(cov, budgets=budgets)
    assert (w > 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-14)  # fully invested
    assert _budget_error(w, cov, budgets) <= RC_TOL  # risk contributions ∝ budgets


@pytest.mark.parametrize("smallest", [-1e-6, -1e-8])
def test_slightly_indefinite_covariance_is_refused_despite_the_float32_fast_path(
    smallest: float,
) -> None:
    # a 300-name factor-model correlation matrix with one eigenvalue pushed just below 0,
    # far inside float32 rounding of the unshifted matrix: the float64 verdict decides
    corr = np.corrcoef(factor_model_returns(756, 300, seed=3).T)
    eigenvalues, vectors = np.linalg.eigh(corr)
    eigenvalues[0] = smallest * eigenvalues[-1]
    indefinite = (vectors * eigenvalues) @ vectors.T
    indefinite = 0.5 * (indefinite + indefinite.T)
    with pytest.raises(ValueError, match="positive semi-definite"):
        risk_parity_weights(indefinite)

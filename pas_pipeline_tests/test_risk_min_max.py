"""Min-max allocation against cvxpy (interior point) and PyPortfolioOpt, plus edge cases."""

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from pas_pipeline.risk import ledoit_wolf_covariance, min_max_weights
from pas_pipeline.risk._box_qp import solve_box_qp
from pas_pipeline.risk._synthetic import factor_model_returns

OBJ_REL = 1e-9  # ours may not be worse than the interior-point objective by more than this
BOUND_TOL = 1e-12


def _problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = factor_model_returns(250, n, seed=seed)
    mu = x.mean(axis=0) * 252 + np.random.default_rng(seed).normal(0, 0.05, n)
    return mu, ledoit_wolf_covariance(x)


def _objective(w, mu, cov, risk) -> float:
    return float(mu @ w - risk * w @ cov @ w)


def _cvxpy(mu, cov, risk, lower, upper) -> np.ndarray:
    w = cp.Variable(mu.shape[0])
    constraints = [cp.sum(w) == 1]
    constraints += [w >= lower] if np.isfinite(lower).all() else []
    constraints += [w <= upper] if np.isfinite(upper).all() else []
    utility = mu @ w - risk * cp.quad_form(w, cp.psd_wrap(cov))
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10}
    cp.Problem(cp.Maximize(utility), constraints).solve(solver=cp.CLARABEL, **tight)
    return w.value


def _check(w, mu, cov, risk, lower, upper) -> None:
    lower = np.broadcast_to(lower, mu.shape)
    upper = np.broadcast_to(upper, mu.shape)
    assert np.isfinite(w).all()
    assert abs(w.sum() - 1) <= 1e-12  # fully invested
    assert (w >= lower - BOUND_TOL).all() and (w <= upper + BOUND_TOL).all()
    ref = _objective(_cvxpy(mu, cov, risk, lower, upper), mu, cov, risk)
    assert _objective(w, mu, cov, risk) >= ref - OBJ_REL * max(abs(ref), 1e-3)


@pytest.mark.parametrize(
    ("lower", "upper"), [(0.0, 1.0), (0.0, 0.1), (-0.1, 0.3), (-np.inf, np.inf), (0.02, 0.5)]
)
@pytest.mark.parametrize("gamma", [0.5, 3.0])
def test_matches_cvxpy(lower: float, upper: float, gamma: float) -> None:
    mu, cov = _problem(40, seed=int(gamma * 10) + int(upper * 100 if np.isfinite(upper) else 7))
    w = min_max_weights(mu, cov, gamma, delta=0.3, lower=lower, upper=upper)
    _check(w, mu, cov, gamma * 1.3, lower, upper)


def test_matches_pypfopt_max_quadratic_utility() -> None:
    from pypfopt import EfficientFrontier

    mu, cov = _problem(60, seed=5)
    gamma, delta = 1.5, 0.4
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 0.1))
    ref = np.array(list(ef.max_quadratic_utility(risk_aversion=2 * gamma * (1 + delta)).values()))
    w = min_max_weights(mu, cov, gamma, delta=delta, upper=0.1)
    risk = gamma * (1 + delta)
    assert _objective(w, mu, cov, risk) >= _objective(ref, mu, cov, risk) - OBJ_REL
    np.testing.assert_allclose(w, ref, atol=1e-5)  # pypfopt's own solver tolerance


def test_primal_fallback_agrees_with_primal_dual_path() -> None:
    mu, cov = _problem(50, seed=12)
    q = 2 * 2.0 * cov
    lower, upper = np.zeros(50), np.full(50, 0.08)
    factor = linalg.cho_factor(q)
    fast = solve_box_qp(q, mu, lower, upper, factor)
    slow = solve_box_qp(q, mu, lower, upper, factor, use_pdas=False)
    np.testing.assert_allclose(fast, slow, atol=1e-10)
    _check(fast, mu, cov, 2.0, lower, upper)


def test_vector_bounds_pinned_asset_and_labels() -> None:
    mu, cov = _problem(6, seed=2)
    tickers = [f"T{i}" for i in range(6)]
    cov_df = pd.DataFrame(cov, index=tickers, columns=tickers)
    upper = pd.Series([0.5, 0.5, 0.5, 0.5, 0.5, 0.1], index=tickers)
    lower = pd.Series([0.0, 0.0, 0.1, 0.0, 0.0, 0.1], index=tickers)  # T5 pinned at 10 %
    w = min_max_weights(pd.Series(mu, index=tickers), cov_df, 2.0, lower=lower, upper=upper)
    assert list(w.index) == tickers
    assert w["T5"] == pytest.approx(0.1, abs=1e-15) and w["T2"] >= 0.1 - BOUND_TOL
    _check(w.to_numpy(), mu, cov, 2.0, lower.to_numpy(), upper.to_numpy())
    labelled_by_mu = min_max_weights(pd.Series(mu, index=tickers), cov, 2.0)  # numpy cov
    assert list(labelled_by_mu.index) == tickers


def test_one_asset_zero_risk_aversion_and_single_feasible_point() -> None:
    assert min_max_weights([0.1], [[0.04]], 1.0) == pytest.approx([1.0], abs=1e-15)
    mu = np.array([0.05, 0.20, 0.10])
    w = min_max_weights(mu, np.eye(3) * 0.04, 0.0, upper=0.6)  # linear: best assets first
    np.testing.assert_allclose(w, [0.0, 0.6, 0.4], atol=1e-15)
    np.testing.assert_allclose(min_max_weights(mu, np.eye(3), 1.0, upper=1 / 3), 1 / 3, atol=1e-15)


def test_singular_covariance_uses_documented_ridge() -> None:
    x = factor_model_returns(10, 30, seed=4)  # n > T: singular sample covariance
    cov = np.cov(x.T) * 252
    mu = np.random.default_rng(4).normal(0.08, 0.05, 30)
    w = min_max_weights(mu, cov, 2.0, upper=0.2)
    _check(w, mu, cov, 2.0, 0.0, 0.2)
    cash = np.zeros((31, 31))  # a zero-variance (cash-like) asset added to a PD matrix
    cash[1:, 1:] = ledoit_wolf_covariance(x)
    mu_cash = np.r_[0.03, mu]
    _check(min_max_weights(mu_cash, cash, 5.0), mu_cash, cash, 5.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lower": 0.5}, "sum of lower bounds"),
        ({"upper": 0.1}, "sum of upper bounds"),
        ({"lower": 0.3, "upper": 0.2}, "lower > upper"),
        ({"mu": [np.nan, 0.1, 0.1]}, "mu has NaN"),
        ({"cov": [[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1.0]]}, "positive semi-definite"),
        ({"gamma": -1.0}, "gamma"),
        ({"delta": -1.0}, "delta"),
        ({"gamma": 0.0, "lower": -np.inf}, "unbounded"),
        ({"upper": [0.5, np.nan, 0.5]}, "upper has NaN"),
    ],
)
def test_invalid_inputs_raise(kwargs: dict, message: str) -> None:
    args = {"mu": [0.1, 0.2, 0.3], "cov": np.eye(3) * 0.04, "gamma": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        min_max_weights(**args)


@settings(max_examples=15, derandomize=True, deadline=None)
@given(
    n=st.integers(2, 25),
    seed=st.integers(0, 10_000),
    gamma=st.floats(0.1, 20.0),
    upper=st.floats(0.05, 1.0),
    lower=st.floats(-0.3, 0.0),
)
def test_property_feasible_and_optimal(n, seed, gamma, upper, lower) -> None:
    upper = max(upper, 1.0 / n + 1e-3)
    mu, cov = _problem(n, seed)
    w = min_max_weights(mu, cov, gamma, lower=lower, upper=upper)
    _check(w, mu, cov, gamma, lower, upper)

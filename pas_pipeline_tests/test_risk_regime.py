"""Correlation regime: brute-force check of the definition, labels, delta, errors."""

from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.risk import CorrelationRegime, correlation_regime


def _returns(rho_history: float, rho_recent: float, recent: int, t: int = 400, n: int = 8):
    """Equicorrelated returns whose correlation switches for the last ``recent`` days."""
    rng = np.random.default_rng(42)
    rho = np.where(np.arange(t) >= t - recent, rho_recent, rho_history)[:, None]
    common = rng.standard_normal((t, 1))
    own = rng.standard_normal((t, n))
    return pd.DataFrame(
        0.01 * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own), columns=[f"S{i}" for i in range(n)]
    )


def _brute_average(block: np.ndarray) -> float:
    corr = np.corrcoef(block.T)
    k = corr.shape[0]
    return float((corr.sum() - k) / (k * (k - 1)))


def test_matches_brute_force_definition() -> None:
    rets = _returns(0.2, 0.6, recent=30).to_numpy()
    window, history = 20, 100
    got = correlation_regime(rets, window=window, history=history)
    t = rets.shape[0]
    levels = np.array([_brute_average(rets[e - window : e]) for e in range(t - history + 1, t + 1)])
    now = levels[-1]
    median = np.median(levels)
    k = rets.shape[1]
    assert got.average_correlation == pytest.approx(now, abs=1e-12)  # tolerance: rounding
    assert got.percentile == pytest.approx(100 * np.mean(levels <= now), abs=1e-12)
    assert got.delta == pytest.approx(max(0, (now - median) / (1 / (k - 1) + median)), rel=1e-10)


def test_stressed_regime_has_positive_delta() -> None:
    regime = correlation_regime(_returns(0.1, 0.7, recent=63))
    assert regime.label == "stressed"
    assert regime.percentile == pytest.approx(100.0, abs=1e-12)  # highest correlation in history
    # equal-weight variance ratio: rho ~0.7 vs median ~0.1 with 8 assets -> delta ~ 0.6/0.24 ~ 2.5
    assert 1.0 < regime.delta < 5.0


def test_calm_regime_has_zero_delta() -> None:
    regime = correlation_regime(_returns(0.5, 0.0, recent=63))
    assert regime.label == "calm"
    assert regime.delta == 0.0
    assert isinstance(regime, CorrelationRegime)
    with pytest.raises(FrozenInstanceError):
        regime.delta = 1.0  # type: ignore[misc]


def test_constant_column_is_excluded_not_nan() -> None:
    rets = _returns(0.3, 0.3, recent=0)
    rets["FLAT"] = 0.0
    regime = correlation_regime(rets)
    assert np.isfinite(regime.average_correlation) and np.isfinite(regime.delta)
    assert regime.average_correlation == pytest.approx(
        correlation_regime(rets.drop(columns="FLAT")).average_correlation, abs=1e-12
    )


def test_errors_are_clear() -> None:
    rets = _returns(0.3, 0.3, recent=0)
    with pytest.raises(ValueError, match="at least window"):
        correlation_regime(rets.iloc[:300])
    bad = rets.copy()
    bad.iloc[5, 2] = np.nan
    with pytest.raises(ValueError, match="S2"):
        correlation_regime(bad)
    with pytest.raises(ValueError, match="2 columns"):
        correlation_regime(rets[["S0"]])

"""Seeded synthetic daily returns from a factor model (for tests and benchmarks only)."""

from __future__ import annotations

import numpy as np


def factor_model_returns(t: int, n: int, seed: int = 0, n_factors: int = 5) -> np.ndarray:
    """``(t, n)`` daily returns ``r = F Bᵀ + ε`` resembling an equity universe.

    One market factor (1.1 % daily vol, betas ~ N(1, 0.3)) plus ``n_factors − 1``
    style factors (0.4–0.6 % vol, loadings ~ N(0, 0.5)) and idiosyncratic noise
    (1–3 % daily vol), plus a small positive drift. Correlations are mostly
    positive, as in real equity data.
    """
    rng = np.random.default_rng(seed)
    factor_vol = np.concatenate([[0.011], rng.uniform(0.004, 0.006, n_factors - 1)])
    factors = rng.standard_normal((t, n_factors)) * factor_vol
    loadings = np.column_stack([rng.normal(1.0, 0.3, n), rng.normal(0.0, 0.5, (n, n_factors - 1))])
    noise = rng.standard_normal((t, n)) * rng.uniform(0.01, 0.03, n)
    return factors @ loadings.T + noise + 0.0003

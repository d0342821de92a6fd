r"""Historical (empirical) Value-at-Risk and Conditional Value-at-Risk.

Sign convention: **losses are positive**. A 95 % VaR of ``0.021`` means that on
95 % of the sample days the return was above ``-2.1 %``. Both measures are in the
units of the input returns (daily returns give daily VaR; no annualisation or
square-root-of-time scaling is applied).

.. math::

    \mathrm{VaR}_\alpha = -q_{1-\alpha}(r), \qquad
    \mathrm{CVaR}_\alpha = -\operatorname{mean}\{r_t : r_t \le -\mathrm{VaR}_\alpha\}

where ``q`` is numpy's default (``method="linear"``) sample quantile. Since
``-VaR`` is a sample quantile, at least one observation lies at or below it, so
``CVaR ≥ VaR`` always.

Inputs: a Series / 1-D array (one return series → float); a DataFrame / 2-D
array ``(T, n)`` (one value per column → Series / array); or a returns matrix
plus ``weights`` (``n``), in which case the portfolio return series
``R @ w`` is used (→ float). NaN observations are ignored: per column, or, with
``weights``, every day on which an asset with non-zero weight has no return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pas_pipeline.risk._arrays import (
    Returns,
    Vector,
    as_columns,
    as_vector,
    column_labels,
    describe,
    per_column,
)


def _sample(
    returns: Returns, alpha: float, weights: Vector | None
) -> tuple[np.ndarray, np.ndarray, pd.Index | None, bool]:
    """Validated ``(T, k)`` sample, its ``1 - alpha`` quantile per column, labels, 1-D flag."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    values, labels, one_d = as_columns(returns)
    if weights is not None:
        w = as_vector(weights, "weights", column_labels(returns), size=values.shape[1])
        used = values[:, w != 0]
        complete = ~np.isnan(used).any(axis=1)
        values, labels, one_d = (values[complete] @ w)[:, None], None, True
    if np.isinf(values).any():
        raise ValueError("returns contain infinite values")
    empty = np.isnan(values).all(axis=0)
    if empty.any():
        raise ValueError(f"no observations (all NaN) in columns: {describe(empty, labels)}")
    quantile = np.nanquantile(values, 1.0 - alpha, axis=0)
    return values, quantile, labels, one_d


def historical_var(
    returns: Returns, alpha: float = 0.95, weights: Vector | None = None
) -> float | Vector:
    """Historical VaR at confidence ``alpha``: ``-quantile_{1-alpha}(r)`` (loss positive).

    See the module docstring for inputs, shapes and NaN handling.

    Raises
    ------
    ValueError
        If ``alpha`` is not in ``(0, 1)``, a column has no observations, the
        weights do not match the columns, or returns/weights are infinite.
    """
    _, quantile, labels, one_d = _sample(returns, alpha, weights)
    return per_column(-quantile, labels, one_d)


def historical_cvar(
    returns: Returns, alpha: float = 0.95, weights: Vector | None = None
) -> float | Vector:
    """Historical CVaR (expected shortfall): ``-mean(r | r ≤ -VaR_alpha)`` (loss positive).

    See the module docstring for inputs, shapes and NaN handling; errors as for
    :func:`historical_var`.
    """
    values, quantile, labels, one_d = _sample(returns, alpha, weights)
    tail = values <= quantile  # NaN compares False, so missing days drop out
    cvar = -np.where(tail, values, 0.0).sum(axis=0) / tail.sum(axis=0)
    return per_column(cvar, labels, one_d)

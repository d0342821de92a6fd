r"""Ledoit–Wolf shrinkage covariance, annualised, computed from one Gram product.

With daily returns ``X`` (``T × n``), column means ``m`` and ``Xc = X − m``:

.. math::

    S = X_c^\top X_c / T, \qquad \mu = \operatorname{tr}(S) / n, \qquad
    \Sigma = P\,\big((1 - s)\,S + s\,\mu I\big)

where ``P = periods_per_year`` and the shrinkage ``s`` is scikit-learn's
``ledoit_wolf_shrinkage`` (``assume_centered=False``), i.e. Ledoit & Wolf (2004):

.. math::

    \delta = \frac{\lVert S\rVert_F^2 - n\mu^2}{n}, \qquad
    \beta = \frac{1}{nT}\Big(\frac{1}{T}\sum_t \lVert x_t\rVert^4 - \lVert S\rVert_F^2\Big),
    \qquad s = \min(\beta, \delta) / \delta \quad (s = 0 \text{ if } \beta = 0).

scikit-learn obtains :math:`\sum_t \lVert x_t\rVert^4` as the sum of all entries
of a second Gram product :math:`(X_c^{\circ 2})^\top X_c^{\circ 2}` (blocked,
plus a third pass for ``‖S‖²``). Here it is computed directly from the row norms
in ``O(nT)``, and ``‖S‖²_F`` in ``O(n²)`` from the one Gram matrix ``S`` that is
needed anyway, so the whole estimator costs about one ``Xcᵀ Xc`` product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pas_pipeline.risk._arrays import Matrix, Vector, as_matrix, describe


def _ledoit_wolf(x: np.ndarray, location: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """``(scale · Σ_LW, shrinkage)`` of a finite ``(T, n)`` array with column means ``location``."""
    t, n = x.shape
    xc = x - location
    gram = xc.T @ xc  # the one Gram product (numpy dispatches Xᵀ X to BLAS syrk)
    row_norms = np.einsum("ti,ti->t", xc, xc)  # ‖x_t‖², O(nT)
    trace = row_norms.sum() / t
    mu = trace / n
    frob = float(np.dot(gram.ravel(), gram.ravel())) / t**2  # ‖S‖_F², O(n²)
    beta = (float(np.dot(row_norms, row_norms)) / t - frob) / (n * t)
    delta = (frob - 2.0 * mu * trace + n * mu**2) / n
    beta = min(beta, delta)
    # One column: every shrinkage gives the same matrix; report 0 as scikit-learn does.
    shrinkage = 0.0 if beta == 0 or n == 1 else beta / delta
    gram *= (1.0 - shrinkage) * scale / t  # S scaled in a single pass
    gram.flat[:: n + 1] += shrinkage * mu * scale
    return gram, float(shrinkage)


class LedoitWolf:
    """Ledoit–Wolf shrunk covariance estimator with scikit-learn's estimator shape.

    ``LedoitWolf(periods_per_year=252).fit(returns)`` learns

    * ``covariance_`` – the **annualised** shrunk covariance
      ``periods_per_year · sklearn.covariance.LedoitWolf().fit(returns).covariance_``
      (``n × n``; a DataFrame with tickers on both axes for pandas input),
    * ``shrinkage_`` – the shrinkage intensity ``s ∈ [0, 1]``,
    * ``location_`` – the **daily** mean return of each column (``n``; a Series
      for pandas input),
    * ``n_features_in_`` and, for pandas input, ``feature_names_in_``.

    See the module docstring for the formula. ``returns`` are daily simple returns
    of shape ``(T, n)`` with ``T ≥ 2``; ``n > T`` is fine (the estimate is still
    positive definite whenever ``s > 0``). A constant column is allowed: its
    variance becomes ``s · μ · periods_per_year``.

    Raises
    ------
    ValueError
        If any column contains NaN or infinite values (the message names them;
        drop or fill those columns first), or if ``T < 2``.
    """

    def __init__(self, periods_per_year: int = 252) -> None:
        self.periods_per_year = periods_per_year

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters, as in scikit-learn."""
        return {"periods_per_year": self.periods_per_year}

    def set_params(self, **params: Any) -> LedoitWolf:
        """Set hyper-parameters, as in scikit-learn."""
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"invalid parameter {key!r} for LedoitWolf")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return f"LedoitWolf(periods_per_year={self.periods_per_year})"

    def fit(self, returns: Matrix, y: None = None) -> LedoitWolf:
        """Estimate the shrunk covariance of daily ``returns`` (``T × n``); returns ``self``."""
        labels = returns.columns if isinstance(returns, pd.DataFrame) else None
        x = as_matrix(returns, "returns")
        if x.shape[0] < 2:
            raise ValueError(f"need at least 2 observations, got {x.shape[0]}")
        location = x.mean(axis=0)
        bad = ~np.isfinite(location)
        if bad.any():
            raise ValueError(
                f"returns contain NaN or infinite values in columns: {describe(bad, labels)}; "
                "drop or fill them before estimating the covariance"
            )
        cov, shrinkage = _ledoit_wolf(x, location, float(self.periods_per_year))
        self.shrinkage_ = shrinkage
        self.n_features_in_ = x.shape[1]
        if labels is None:
            self.covariance_: Matrix = cov
            self.location_: Vector = location
        else:
            self.feature_names_in_ = np.asarray(labels, dtype=object)
            self.covariance_ = pd.DataFrame(cov, index=labels, columns=labels)
            self.location_ = pd.Series(location, index=labels)
        return self


def ledoit_wolf_covariance(returns: Matrix, periods_per_year: int = 252) -> Matrix:
    """Annualised Ledoit–Wolf covariance of daily returns (``T × n`` → ``n × n``).

    Equal to ``periods_per_year * sklearn.covariance.LedoitWolf().fit(returns).covariance_``
    (to rounding) at the cost of about one ``Xcᵀ Xc`` product. A DataFrame input
    gives a DataFrame with the tickers on both axes. See :class:`LedoitWolf` for
    the formula, degenerate inputs and errors.
    """
    return LedoitWolf(periods_per_year).fit(returns).covariance_

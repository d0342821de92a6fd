r"""Risk parity (risk budgeting) weights by Newton's method on Spinu's convex problem.

Risk contribution of asset ``i`` to the portfolio variance: ``RC_i = w_i (Σw)_i``
(they sum to ``wᵀΣw``). Risk budgeting finds the long-only, fully invested
``w`` with ``RC_i = b_i · wᵀΣw`` for budgets ``b_i > 0``, ``Σ b_i = 1``
(equal risk contribution, ERC, when ``b_i = 1/n``).

Method (Spinu 2013): the strictly convex problem

.. math:: \min_{y > 0}\; F(y) = \tfrac12 y^\top C y - \sum_i b_i \ln y_i

has the unique minimiser with ``(Cy)_i = b_i / y_i``, i.e. ``y_i (Cy)_i = b_i``:
risk contributions proportional to the budgets, so ``w = D⁻¹y / 1ᵀD⁻¹y``. It is
solved on the correlation matrix ``C = D⁻¹ΣD⁻¹`` (``D = diag(σ)``; risk
contributions are invariant to this rescaling and it makes the problem
well-scaled) by Newton's method, gradient ``Cy − b/y``, Hessian
``C + diag(b/y²)`` (positive definite), with a
backtracking line search that keeps ``y > 0`` and decreases ``F``. It starts
from ``y ∝ √b`` (the inverse-volatility portfolio for equal budgets, exact for
uncorrelated assets) scaled to minimise ``F`` along that ray, improved by cheap
damped Jacobi coordinate-descent sweeps (one ``O(n²)`` product each, in the
spirit of Griveau-Billion et al. 2013), after which Newton typically needs 1–3
steps. For ``n ≥ 200`` each Newton system is first solved by Jacobi-preconditioned
conjugate gradients (~10 ``O(n²)`` products; the sweeps then stop at budget error
1e-2), with the ``O(n³/3)`` Cholesky as the fallback and for small ``n``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from pas_pipeline.risk._arrays import (
    Matrix,
    Vector,
    as_covariance,
    as_vector,
    describe,
    wrap_vector,
)
from pas_pipeline.risk._psd import require_psd_correlation


def risk_contributions(weights: Vector, cov: Matrix) -> Vector:
    """Variance contributions ``RC_i = w_i (Σw)_i`` (``n``; they sum to ``wᵀΣw``).

    Units follow ``cov`` (annualised covariance → annual variance). A Series
    when ``cov`` is a DataFrame (``weights`` are aligned on its tickers).
    """
    sigma, labels = as_covariance(cov)
    w = as_vector(weights, "weights", labels, size=sigma.shape[0])
    return wrap_vector(w * (sigma @ w), labels)


def _budget_error(y: np.ndarray, cy: np.ndarray, b: np.ndarray) -> float:
    """``max_i |RC_i / (b_i · total risk) − 1|`` for ``Σ b = 1``."""
    rc = y * cy
    return float(np.max(np.abs(rc / (b * rc.sum()) - 1.0)))


def _no_solution() -> ValueError:
    return ValueError(
        "no risk-parity portfolio exists: a long-only portfolio has (numerically) zero "
        "variance, e.g. perfectly offsetting assets"
    )


def _on_ray(c: np.ndarray, b: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(t·y, t·Cy)`` with ``t = sqrt(Σb / yᵀCy)``, the exact minimiser of ``F`` along ``y``."""
    cy = c @ y
    variance = y @ cy
    if not variance > 0:
        raise _no_solution()
    t = np.sqrt(b.sum() / variance)
    return y * t, cy * t


def _warm_start(
    c: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    cy: np.ndarray,
    sweeps: int = 60,
    stop: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Damped Jacobi coordinate sweeps, one matrix–vector product each.

    ``ŷ_i = (−c_i + sqrt(c_i² + 4b_i)) / 2`` with ``c_i = (Cy)_i − y_i`` is the exact
    minimiser of ``F`` in coordinate ``i`` with the others fixed (``C_ii = 1``); all
    coordinates move at once, damped geometrically (``y ← sqrt(y ŷ)``) and rescaled
    onto the optimal ray. This is only a warm start (it is not guaranteed to
    converge): it stops at budget error ``stop``, after ``sweeps`` sweeps, or if the
    error blows up, and returns the best iterate for Newton to finish.
    """
    best = (y, cy, _budget_error(y, cy, b))
    for _ in range(sweeps):
        if best[2] < stop:
            break
        off_diagonal = cy - y
        target = 0.5 * (np.sqrt(off_diagonal**2 + 4.0 * b) - off_diagonal)
        y, cy = _on_ray(c, b, np.sqrt(y * target))
        error = _budget_error(y, cy, b)
        if error < best[2]:
            best = (y, cy, error)
        elif error > 100.0 * best[2]:
            break
    return best


def _rounding_floor(c: np.ndarray, y: np.ndarray, cy: np.ndarray) -> float:
    """Worst-case relative rounding error of ``(Cy)_i``: ``n·eps·(|C||y|)_i / |Cy|_i``."""
    magnitude = np.abs(c) @ y
    with np.errstate(divide="ignore", invalid="ignore"):
        amplification = np.where(magnitude > 0, magnitude / np.abs(cy), 1.0)
    return float(c.shape[0] * np.finfo(float).eps * amplification.max())


#: Below this size the Newton system is always solved by Cholesky (cheap there).
_CG_MIN_SIZE = 200
#: Conjugate-gradient iterations tried (one ``O(n²)`` product each) before Cholesky.
_CG_MAX_ITER = 40
#: Relative residual at which the CG Newton direction counts as exact.
_CG_RTOL = 1e-11


def _cg_newton_step(c: np.ndarray, damping: np.ndarray, gradient: np.ndarray) -> np.ndarray | None:
    """``-(C + diag(damping))⁻¹ gradient`` by Jacobi-preconditioned conjugate gradients.

    The Hessian ``C + diag(b/y²)`` of a (shrunk) correlation matrix has a handful of
    large factor eigenvalues and a narrow bulk, so CG reaches relative residual
    ``1e-11`` in ~10 products instead of an ``O(n³/3)`` Cholesky; None when it has not
    within ``_CG_MAX_ITER`` products (the caller then factorises).
    """
    diagonal = np.diag(c) + damping
    x = np.zeros_like(gradient)
    r = -gradient
    z = r / diagonal
    p = z.copy()
    rz = r @ z
    stop = _CG_RTOL * np.sqrt(r @ r)
    for _ in range(_CG_MAX_ITER):
        q = c @ p
        q += damping * p
        curvature = p @ q
        if not curvature > 0:
            return None
        alpha = rz / curvature
        x += alpha * p
        r -= alpha * q
        if np.sqrt(r @ r) <= stop:
            return x
        z = r / diagonal
        rz_next = r @ z
        p *= rz_next / rz
        p += z
        rz = rz_next
    return None


def _newton_step(
    c: np.ndarray, b: np.ndarray, y: np.ndarray, cy: np.ndarray, try_cg: bool
) -> tuple[np.ndarray, bool]:
    """Newton direction ``-(C + diag(b/y²))⁻¹ (Cy − b/y)``, and whether CG found it.

    With ``try_cg`` preconditioned conjugate gradients are tried first (see
    :func:`_cg_newton_step`); otherwise, or when CG is slow to converge, Cholesky.
    ``C + diag(b/y²)`` is positive definite for PSD ``C``; when ``C`` is singular and
    ``b/y²`` tiny, rounding can break the factorisation, and a ridge ``≤ 1e-10·n``
    (a still-valid descent direction) is added.
    """
    n = c.shape[0]
    damping = b / y**2
    gradient = cy - b / y
    if try_cg:
        step = _cg_newton_step(c, damping, gradient)
        if step is not None:
            return step, True
    for ridge in (0.0, 1e-14, 1e-12, 1e-10):  # ridge only if rounding breaks Cholesky
        hessian = np.array(c.T, order="F")  # symmetric: a contiguous copy factored in place
        hessian.flat[:: n + 1] += damping + ridge * n
        try:
            factor = linalg.cho_factor(hessian, check_finite=False, overwrite_a=True)
        except linalg.LinAlgError:
            continue
        return -linalg.cho_solve(factor, gradient, check_finite=False), False
    raise RuntimeError("risk parity Newton system is not positive definite")


def _line_search(
    c: np.ndarray, b: np.ndarray, y: np.ndarray, cy: np.ndarray, dy: np.ndarray
) -> float:
    """Backtracking (Armijo) step keeping ``y > 0``; full step once ``λ² < 1e-10``."""
    slope = (cy - b / y) @ dy  # −λ², the Newton decrement squared
    value = 0.5 * (y @ cy) - b @ np.log(y)
    cdy = c @ dy
    t = 1.0
    while t > 1e-12:
        trial = y + t * dy
        if (trial > 0).all() and (
            -slope < 1e-10
            or 0.5 * (trial @ (cy + t * cdy)) - b @ np.log(trial) <= value + 1e-4 * t * slope
        ):
            return t
        t *= 0.5
    return 0.0


def _spinu_newton(c: np.ndarray, b: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    """Minimise ``½yᵀCy − bᵀ ln y``; stop at budget error ``tol`` (or the rounding floor)."""
    y, cy = _on_ray(c, b, np.sqrt(b))
    scale = y.sum()
    # Newton steps by CG cost about as much as ten sweeps, so hand over to them early;
    # once CG fails (ill-conditioned Hessian) the remaining steps use Cholesky
    try_cg = c.shape[0] >= _CG_MIN_SIZE
    y, cy, error = _warm_start(c, b, y, cy, stop=1e-2 if try_cg else 1e-7)
    for _ in range(max_iter):
        if error <= tol:
            return y
        if y.sum() > 1e6 * scale:  # yᵀCy stays Σb, so wᵀCw = Σb/(Σy)² is collapsing
            raise _no_solution()
        dy, try_cg = _newton_step(c, b, y, cy, try_cg)
        t = _line_search(c, b, y, cy, dy)
        trial = y + t * dy
        trial_cy = c @ trial
        trial_error = _budget_error(trial, trial_cy, b)
        if error < 1e-6 and not trial_error < 0.5 * error:
            break  # no longer converging quadratically: float64 rounding floor reached
        y, cy, error = trial, trial_cy, trial_error
    floor = _rounding_floor(c, y, cy)
    if error <= max(tol, floor):
        return y
    raise RuntimeError(
        f"risk parity did not converge: max |RC/target - 1| = {error:.3g} > tol = {tol:.3g} "
        f"(rounding floor {floor:.3g})"
    )


def risk_parity_weights(
    cov: Matrix, budgets: Vector | None = None, tol: float = 1e-12, max_iter: int = 50
) -> Vector:
    """Long-only, fully invested risk-budgeting weights (equal risk contribution by default).

    Parameters
    ----------
    cov
        Covariance ``Σ`` (``n × n``, symmetric PSD; any units — daily or annualised
        give the same weights).
    budgets
        Risk budgets ``b`` (``n``, all ``> 0``; normalised to sum to one); default
        equal ``1/n``. A Series is aligned on ``cov``'s tickers.
    tol
        Stop when ``max_i |RC_i / (b_i · wᵀΣw) − 1| ≤ tol``. If float64 cannot
        resolve that (massive cancellation in ``Σw``, e.g. near-perfect hedges),
        the iteration stops at the rounding floor ``n·eps·max_i (|Σ||w|)_i/|Σw|_i``
        once Newton stops converging quadratically.
    max_iter
        Maximum Newton iterations (typically 1–3 are used).

    Returns
    -------
    Weights ``w`` (``n``): ``w > 0``, ``Σw = 1``, ``w_i(Σw)_i = b_i · wᵀΣw``. A
    Series labelled by ticker when ``cov`` is a DataFrame. See the module docstring
    for the method.

    Raises
    ------
    ValueError
        For NaN/infinite, non-square, non-symmetric or non-PSD ``cov`` (smallest
        eigenvalue below ``-1e-10 λ_max`` of the correlation matrix), an asset with
        zero variance (it cannot carry any risk budget), non-positive budgets, or
        when no solution exists because a long-only portfolio has zero variance.
        A singular PSD ``cov`` (e.g. ``n > T``) is fine otherwise.
    RuntimeError
        If neither ``tol`` nor the rounding floor is reached within ``max_iter``.
    """
    sigma, labels = as_covariance(cov)
    n = sigma.shape[0]
    vol = np.sqrt(np.diag(sigma))
    flat = vol <= 0
    if flat.any():
        raise ValueError(
            f"assets with zero variance cannot be risk-budgeted: {describe(flat, labels)}"
        )
    if budgets is None:
        b = np.full(n, 1.0 / n)
    else:
        b = as_vector(budgets, "budgets", labels, size=n)
        if not (b > 0).all():
            raise ValueError(f"budgets must be positive: {describe(~(b > 0), labels)}")
        b = b / b.sum()
    corr = np.outer(vol, vol)  # one n × n buffer, divided in place (exactly symmetric)
    np.divide(sigma, corr, out=corr)
    require_psd_correlation(corr, "cov")  # raises ValueError when not PSD
    y = _spinu_newton(corr, b, tol, max_iter)
    w = y / vol
    return wrap_vector(w / w.sum(), labels)

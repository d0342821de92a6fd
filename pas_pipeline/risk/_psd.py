"""Private positive-semi-definiteness test shared by the optimisers."""

from __future__ import annotations

import numpy as np
from scipy import linalg

#: An eigenvalue below ``-PSD_RTOL * largest eigenvalue`` makes a matrix non-PSD.
PSD_RTOL = 1e-10

#: Ridge, relative to the largest eigenvalue, added to a singular PSD matrix.
SINGULAR_RIDGE = 1e-10


def psd_factor(matrix: np.ndarray, name: str = "cov") -> tuple[tuple[np.ndarray, bool], float]:
    """Cholesky factor of ``matrix + ridge·I`` for a symmetric PSD ``matrix``.

    The fast path is one Cholesky factorisation, which proves positive
    definiteness; then ``ridge = 0``. Only when it fails are the eigenvalues
    computed: an eigenvalue below ``-1e-10·λ_max`` raises :class:`ValueError`
    (not PSD); otherwise the matrix is PSD but numerically singular and
    ``ridge = max(0, -λ_min) + 1e-10·λ_max`` (condition number ≲ 1e10).

    Returns ``((c, lower), ridge)``, the factor as produced by
    :func:`scipy.linalg.cho_factor`.
    """
    try:  # matrix.T is the same (symmetric) matrix in the Fortran order LAPACK wants
        return linalg.cho_factor(matrix.T, check_finite=False), 0.0
    except linalg.LinAlgError:
        pass
    eig = np.linalg.eigvalsh(matrix)
    if eig[-1] <= 0:
        raise ValueError(f"{name} has no positive eigenvalue (it is zero or negative definite)")
    if eig[0] < -PSD_RTOL * eig[-1]:
        raise ValueError(
            f"{name} is not positive semi-definite (smallest eigenvalue {eig[0]:.3g}, "
            f"largest {eig[-1]:.3g})"
        )
    ridge = max(0.0, -eig[0]) + SINGULAR_RIDGE * eig[-1]
    shifted = np.array(matrix.T, order="F")
    shifted.flat[:: matrix.shape[0] + 1] += ridge
    return linalg.cho_factor(shifted, check_finite=False, overwrite_a=True), ridge


def require_psd_correlation(corr: np.ndarray, name: str = "cov") -> None:
    """Raise :class:`ValueError` unless the correlation matrix ``corr`` (unit diagonal,
    symmetric) is positive semi-definite by the rule of :func:`psd_factor`.

    Fast path for the well-conditioned matrices risk models usually produce: a float32
    Cholesky of ``corr - δI`` with ``δ = max(1e-4, 8·n·ε₃₂)`` (``ε₃₂ ≈ 1.2e-7``). It
    succeeds only when ``λ_min(corr) ≳ δ`` minus float32 rounding (typically ``≈ √n·ε₃₂``,
    far below ``δ``), i.e. for comfortably positive definite matrices, which
    :func:`psd_factor` accepts too; it costs half a float64 factorisation. Anything else
    (singular, nearly singular or indefinite) gets :func:`psd_factor`'s float64 verdict.
    """
    n = corr.shape[0]
    shift = max(1e-4, 8 * n * float(np.finfo(np.float32).eps))
    shifted = corr.astype(np.float32)
    shifted.flat[:: n + 1] -= shift
    try:  # shifted.T: the same symmetric matrix, Fortran-ordered, factored in place
        linalg.cho_factor(shifted.T, overwrite_a=True, check_finite=False)
        return
    except linalg.LinAlgError:
        pass
    psd_factor(corr, name)

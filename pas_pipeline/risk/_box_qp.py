r"""Exact active-set solver for a convex QP with box constraints and a budget constraint.

.. math:: \min_w\; f(w) = \tfrac12 w^\top Q w - \mu^\top w
          \quad\text{s.t.}\quad 1^\top w = 1,\; l \le w \le u

for symmetric positive-definite ``Q`` (a singular PSD ``Q`` comes ridge-regularised
by the caller; its linear systems are then solved in bordered KKT form). With
``z = Qw − μ + ν1`` the KKT
conditions are: ``z_i = 0`` for free ``l_i < w_i < u_i``, ``z_i ≥ 0`` at a lower
bound, ``z_i ≤ 0`` at an upper bound. Once the variables at each bound are
known, ``w`` follows from one linear solve on the free variables, so the answer
is exact up to rounding (no interior-point tolerance).

1. *Budget-only* solution ``w = Q⁻¹(μ − ν1)`` (one solve with the caller's
   Cholesky factor); optimal if it is inside the box.
2. *Primal–dual active set* (Hintermüller, Ito & Kunisch 2003): guess the bound
   sets from the current ``w`` and ``z``, solve the reduced KKT system on the free
   set, repeat until the sets stop changing (typically 5–20 iterations, moving
   many variables at once, most of them on small free sets); then the KKT
   conditions are verified explicitly.
3. Fallback if the sets cycle or the check fails: the classical *primal*
   active-set method (Nocedal & Wright, Algorithm 16.3) from the Euclidean
   projection of the best iterate onto the feasible set; one constraint changes
   per iteration and it terminates finitely.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

#: Relative tolerance on bound violations and on multiplier signs.
KKT_RTOL = 1e-12

_LOWER, _FREE, _UPPER = -1, 0, 1


class _Box:
    """Problem data plus rounding-aware tolerances."""

    def __init__(
        self, q: np.ndarray, mu: np.ndarray, lower: np.ndarray, upper: np.ndarray, bordered: bool
    ):
        self.q, self.mu, self.lower, self.upper = q, mu, lower, upper
        self.bordered = bordered
        self.pinned = lower == upper  # variables with no freedom, always at their bound
        bounds = np.concatenate([lower[np.isfinite(lower)], upper[np.isfinite(upper)], [1.0]])
        self.tol_w = KKT_RTOL * float(np.abs(bounds).max())
        self._q_scale = float(np.abs(np.diag(q)).max())
        self._mu_scale = float(np.abs(mu).max())

    def tol_z(self, w: np.ndarray) -> float:
        """Multiplier tolerance: relative to the size of the terms of ``Qw − μ``."""
        return KKT_RTOL * (self._q_scale * float(np.abs(w).sum()) + self._mu_scale) * 10

    def times(self, w: np.ndarray) -> np.ndarray:
        """``Qw``, touching only the rows of the non-zero weights (sparse books are cheap)."""
        nz = np.flatnonzero(w)
        return self.times_at(nz, w[nz])

    def times_at(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``Qv`` for ``v`` zero outside ``idx`` (``v[idx] = values``)."""
        if 3 * idx.shape[0] < self.mu.shape[0]:
            return values @ self.q[idx]  # Q symmetric: contiguous rows, not strided columns
        v = np.zeros_like(self.mu)
        v[idx] = values
        return self.q @ v

    def fill(self, state: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``w`` with the bound variables set to their bound."""
        return np.where(state == _LOWER, self.lower, np.where(state == _UPPER, self.upper, w))

    def kkt_solve(
        self, free: np.ndarray, rhs: np.ndarray, total: float
    ) -> tuple[np.ndarray, float]:
        """Solve ``Q_FF x + ν1 = rhs``, ``1ᵀx = total`` for ``(x, ν)``.

        Positive-definite ``Q``: Cholesky of ``Q_FF`` (``x = a − νe`` with ``a = Q_FF⁻¹rhs``,
        ``e = Q_FF⁻¹1``). A ridge-regularised singular ``Q`` (``bordered``): the bordered
        KKT matrix by symmetric-indefinite LDLᵀ, which stays well conditioned when
        ``Q_FF`` alone is not (e.g. a zero-variance, cash-like asset).
        """
        sub = self.q[np.ix_(free, free)]
        if self.bordered:
            k = sub.shape[0]
            kkt = np.zeros((k + 1, k + 1))
            kkt[:k, :k] = sub
            kkt[:k, k] = kkt[k, :k] = 1.0
            solved = linalg.solve(kkt, np.r_[rhs, total], assume_a="sym", check_finite=False)
            return solved[:k], float(solved[k])
        factor = linalg.cho_factor(sub.T, check_finite=False, overwrite_a=True)  # F-order view
        solved = linalg.cho_solve(factor, np.column_stack([rhs, np.ones(rhs.shape[0])]))
        a, e = solved[:, 0], solved[:, 1]
        nu = (a.sum() - total) / e.sum()
        return a - nu * e, float(nu)

    def reduced_solve(self, state: np.ndarray) -> tuple[np.ndarray, float]:
        """Solve ``Q_FF w_F + ν1 = μ_F − Q_FB w_B``, ``1ᵀw_F = 1 − 1ᵀw_B`` for ``(w, ν)``."""
        free = np.flatnonzero(state == _FREE)
        w = self.fill(state, np.zeros_like(self.mu))
        rhs = self.mu[free] - self.times(w)[free]
        w[free], nu = self.kkt_solve(free, rhs, 1.0 - w.sum())
        return w, nu

    def multipliers(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State of each variable at ``w`` and ``z = Qw − μ + ν1`` (ν from the free set)."""
        state = np.full(w.shape[0], _FREE)
        state[w <= self.lower + self.tol_w] = _LOWER
        state[(w >= self.upper - self.tol_w) & ~self.pinned] = _UPPER
        g = self.times(w) - self.mu
        free = state == _FREE
        if free.any():
            return state, g - float(np.mean(g[free]))
        # a vertex: any ν with z ≥ 0 on lower and z ≤ 0 on upper bounds works; take the middle
        lo = float(np.max(-g[(state == _LOWER) & ~self.pinned], initial=-np.inf))
        hi = float(np.min(-g[state == _UPPER], initial=np.inf))
        finite = [v for v in (lo, hi) if np.isfinite(v)]
        return state, g + (float(np.mean(finite)) if finite else 0.0)

    def is_optimal(self, w: np.ndarray) -> bool:
        """Explicit KKT check: feasibility, stationarity and multiplier signs."""
        tol_w, tol_z = self.tol_w, self.tol_z(w)
        if abs(w.sum() - 1.0) > 10 * tol_w:
            return False
        if (w < self.lower - tol_w).any() or (w > self.upper + tol_w).any():
            return False
        state, z = self.multipliers(w)
        return bool(
            (np.abs(z[state == _FREE]) <= tol_z).all()
            and (z[(state == _LOWER) & ~self.pinned] >= -tol_z).all()
            and (z[state == _UPPER] <= tol_z).all()
        )


def _fix_budget(w: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Spread the rounding residual ``1 − Σw`` evenly over weights with room to move."""
    residual = 1.0 - w.sum()
    room = (upper - w) if residual > 0 else (w - lower)
    movable = room > 0
    if residual != 0 and movable.any():
        w = w.copy()
        w[movable] += np.sign(residual) * np.minimum(abs(residual) / movable.sum(), room[movable])
    return w


def project(v: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``v`` onto ``{l ≤ w ≤ u, Σw = 1}`` (bisection on the shift)."""

    def total(shift: float) -> float:
        return float(np.clip(v - shift, lower, upper).sum())

    spread = float(np.abs(v).max()) + 1.0
    lo, hi = -spread, spread
    while total(lo) < 1.0:
        lo -= 2.0 * (hi - lo)
    while total(hi) > 1.0:
        hi += 2.0 * (hi - lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if total(mid) > 1.0 else (lo, mid)
    return _fix_budget(np.clip(v - hi, lower, upper), lower, upper)


def _keep_one_free(state: np.ndarray, score: np.ndarray, pinned: np.ndarray) -> None:
    """If every variable is at a bound, free the one with the smallest ``score``.

    The budget row needs a free variable; without one the reduced system is empty.
    """
    if not (state == _FREE).any():
        state[int(np.argmin(np.where(pinned, np.inf, score)))] = _FREE


def _pdas(box: _Box, w: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, bool]:
    """Primal–dual active-set iterations from ``w``: ``(last iterate, converged)``.

    Stops unconverged when a set repeats (PDAS can cycle when ``Q`` is not an M-matrix).
    ``Q w_B`` for the bound variables is updated only where the sets changed.
    """
    state = np.where(w < box.lower, _LOWER, np.where(w > box.upper, _UPPER, _FREE))
    state[box.pinned] = _LOWER
    _keep_one_free(state, np.maximum(box.lower - w, w - box.upper), box.pinned)
    bound_w = box.fill(state, np.zeros_like(w))
    q_bound = box.times(bound_w)
    seen: set[bytes] = set()
    for _ in range(max_iter):
        seen.add(state.tobytes())
        free = np.flatnonzero(state == _FREE)
        w_free, nu = box.kkt_solve(free, box.mu[free] - q_bound[free], 1.0 - bound_w.sum())
        w = bound_w.copy()
        w[free] = w_free
        z = q_bound + box.times_at(free, w_free) - box.mu + nu
        tol_w, tol_z = box.tol_w, box.tol_z(w)
        was_free = state == _FREE
        new = np.full(state.shape[0], _FREE)
        new[was_free & (w < box.lower - tol_w)] = _LOWER
        new[was_free & (w > box.upper + tol_w)] = _UPPER
        new[(state == _LOWER) & (z >= -tol_z)] = _LOWER
        new[(state == _UPPER) & (z <= tol_z)] = _UPPER
        new[box.pinned] = _LOWER
        _keep_one_free(new, np.where(was_free, np.inf, np.abs(z)), box.pinned)
        if np.array_equal(new, state):
            return w, True
        if new.tobytes() in seen:
            return w, False
        new_bound_w = box.fill(new, np.zeros_like(w))
        changed = np.flatnonzero(new_bound_w != bound_w)
        q_bound = q_bound + box.times_at(changed, new_bound_w[changed] - bound_w[changed])
        state, bound_w = new, new_bound_w
    return w, False


def _primal_active_set(box: _Box, w: np.ndarray) -> np.ndarray:
    """Nocedal–Wright primal active-set method from a feasible ``w``."""
    lower, upper = box.lower, box.upper
    state, _ = box.multipliers(w)
    if not (state == _FREE).any():  # keep one variable free: the budget row stays independent
        state[int(np.argmax(np.where(box.pinned, -np.inf, upper - lower)))] = _FREE
    w = box.fill(state, w)
    w[state == _FREE] += (1.0 - w.sum()) / np.count_nonzero(state == _FREE)
    g = box.times(w) - box.mu
    for _ in range(50 * w.shape[0] + 100):
        free = np.flatnonzero(state == _FREE)
        p, nu = box.kkt_solve(free, -g[free], 0.0)
        if np.abs(p).max() <= box.tol_w:
            z = g + nu
            violation = np.where(state == _LOWER, -z, z)
            violation[(state == _FREE) | box.pinned] = -np.inf
            j = int(np.argmax(violation))
            if violation[j] <= box.tol_z(w):  # optimal set: re-solve it exactly (no drift)
                return _fix_budget(np.clip(box.reduced_solve(state)[0], lower, upper), lower, upper)
            state[j] = _FREE
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            to_bound = np.where(
                p < 0,
                (lower[free] - w[free]) / p,
                np.where(p > 0, (upper[free] - w[free]) / p, np.inf),
            )
        k = int(np.argmin(to_bound))
        alpha = min(1.0, max(float(to_bound[k]), 0.0))
        w[free] += alpha * p
        g += alpha * box.times_at(free, p)
        if alpha < 1.0:
            j = free[k]
            state[j] = _LOWER if p[k] < 0 else _UPPER
            w[j] = lower[j] if p[k] < 0 else upper[j]
    raise RuntimeError("min-max active-set solver did not terminate")


def solve_box_qp(
    q: np.ndarray,
    mu: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    factor: tuple[np.ndarray, bool] | None,
    use_pdas: bool = True,
) -> np.ndarray:
    """Minimiser of ``½wᵀQw − μᵀw`` s.t. ``Σw = 1``, ``l ≤ w ≤ u``.

    ``factor`` is the Cholesky factor of a positive-definite ``Q``
    (``scipy.linalg.cho_factor``), or ``None`` for a ridge-regularised singular
    ``Q``, which switches every linear solve to the bordered KKT system.
    ``use_pdas=False`` forces the primal fallback (for tests).
    """
    box = _Box(q, mu, lower, upper, bordered=factor is None)
    if factor is None:
        w, _ = box.kkt_solve(np.arange(mu.shape[0]), mu, 1.0)
    else:
        solved = linalg.cho_solve(factor, np.column_stack([mu, np.ones(mu.shape[0])]))
        a, e = solved[:, 0], solved[:, 1]
        w = a - (a.sum() - 1.0) / e.sum() * e
    inside = (w >= lower - box.tol_w).all() and (w <= upper + box.tol_w).all()
    if inside and not box.pinned.any():
        return _fix_budget(np.clip(w, lower, upper), lower, upper)
    if use_pdas:
        w, converged = _pdas(box, w)
        if converged:
            candidate = _fix_budget(np.clip(w, lower, upper), lower, upper)
            if box.is_optimal(candidate):
                return candidate
    return _primal_active_set(box, project(w, lower, upper))

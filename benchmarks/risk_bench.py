"""Benchmarks of :mod:`pas_pipeline.risk` against peer libraries on the same data.

Each row is ``{model, n, ours_s, peer, peer_s, ratio, accuracy}``:

* ``ours_s`` / ``peer_s`` – median wall time of repeated calls (``time.perf_counter``);
* ``ratio`` – ``peer_s / ours_s`` (> 1: ours is faster; for the ``Xc.T @ Xc``
  baseline row it is below 1 and ``1 / ratio`` is ours in units of one Gram product);
* ``accuracy`` – how far apart the answers are (see ``note``), or ours alone when
  there is no peer: max relative covariance difference (Ledoit–Wolf), max
  ``|w_ours − w_peer|`` or ours' max ``|RC/target − 1|`` (risk parity), relative
  objective gain ``(J_ours − J_peer)/|J_peer|`` (min–max; ≥ 0 means ours is at
  least as good).

Peers are imported lazily; a missing one gives a row with ``peer_s=None`` and
``note="not installed"``. A peer is skipped when its time, extrapolated from the
previous size with ``O(n²)`` scaling, would exceed ``peer_budget_s`` (30 s); each
peer's first call is an untimed warm-up.

Run: ``python -c "from benchmarks.risk_bench import *; print_table(run_risk_benchmarks())"``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pas_pipeline.risk import (
    ledoit_wolf_covariance,
    min_max_weights,
    risk_contributions,
    risk_parity_weights,
)
from pas_pipeline.risk._synthetic import factor_model_returns

GAMMA, DELTA, UPPER = 1.0, 0.5, 0.1  # min–max settings: γ, δ and 0 ≤ w ≤ 0.1
TIME_BUDGET_S = 3.0  # stop repeating a measurement after this much time


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time over up to ``repeats`` calls (fewer once 3 s are spent), and a result.

    A first call under 0.5 s is an untimed warm-up (imports, caches, first-touch page
    faults); a slower first call is kept as a measurement.
    """
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times: list[float] = [first] if first >= 0.5 else []
    while len(times) < repeats and sum(times) < TIME_BUDGET_S:
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _row(model: str, n: int, ours_s: float, peer: str, **extra: Any) -> dict[str, Any]:
    peer_s = extra.pop("peer_s", None)
    ratio = peer_s / ours_s if peer_s is not None and ours_s > 0 else None
    return {
        "model": model,
        "n": n,
        "ours_s": ours_s,
        "peer": peer,
        "peer_s": peer_s,
        "ratio": ratio,
        "accuracy": extra.pop("accuracy", None),
        "note": extra.pop("note", ""),
    }


class _Peers:
    """Runs peers, remembering their timings to skip ones predicted to be too slow."""

    def __init__(self, repeats: int, budget_s: float) -> None:
        self.repeats, self.budget_s = repeats, budget_s
        self.last: dict[str, tuple[int, float]] = {}

    def run(self, name: str, n: int, fn: Callable[[], Any]) -> tuple[float | None, Any, str]:
        """``(seconds, result, note)`` of a peer, or ``(None, None, reason)``.

        A peer's very first call (at the smallest size) is an untimed warm-up: it pays
        for imports and solver set-up (riskfolio-lib's first ``rp_optimization`` takes
        seconds at n=50, later ones tens of milliseconds), which would otherwise both
        distort its time and make the size predictor skip the larger sizes.
        """
        if name in self.last:
            prev_n, prev_s = self.last[name]
            # interior-point peers grow about as n**1.5-2 at these sizes; n**2 errs on the
            # slow side without skipping runs that finish well inside the budget
            predicted = prev_s * (n / prev_n) ** 2
            if predicted > self.budget_s:
                return None, None, f"skipped: predicted {predicted:.0f} s > {self.budget_s:.0f} s"
        try:
            if name not in self.last:
                fn()
            seconds, result = _median_time(fn, self.repeats)
        except ImportError:
            return None, None, "not installed"
        except Exception as exc:  # a peer failing must not stop the benchmark
            return None, None, f"failed: {type(exc).__name__}: {exc}"[:120]
        self.last[name] = (n, seconds)
        return seconds, result, ""


def _ledoit_wolf_rows(returns: pd.DataFrame, repeats: int, peers: _Peers) -> list[dict]:
    from pypfopt.risk_models import CovarianceShrinkage
    from sklearn.covariance import LedoitWolf

    n = returns.shape[1]
    x = returns.to_numpy()
    ours_s, ours = _median_time(lambda: ledoit_wolf_covariance(returns), repeats)
    ours = ours.to_numpy()
    xc = x - x.mean(axis=0)
    rows = []
    gram_s, _ = _median_time(lambda: xc.T @ xc, repeats)
    rows.append(
        _row(
            "ledoit_wolf",
            n,
            ours_s,
            "one Xc.T@Xc product",
            peer_s=gram_s,
            note=f"ours = {ours_s / gram_s:.2f} x one Gram product",
        )
    )
    scale = np.abs(ours).max()
    for name, fn in [
        ("sklearn LedoitWolf", lambda: 252 * LedoitWolf().fit(returns).covariance_),
        (
            "pypfopt CovarianceShrinkage.ledoit_wolf",
            lambda: CovarianceShrinkage(returns, returns_data=True).ledoit_wolf().to_numpy(),
        ),
    ]:
        peer_s, ref, note = peers.run(name, n, fn)
        accuracy = None if ref is None else float(np.abs(ref - ours).max() / scale)
        rows.append(
            _row(
                "ledoit_wolf",
                n,
                ours_s,
                name,
                peer_s=peer_s,
                accuracy=accuracy,
                note=note or "max |diff| / max |cov|",
            )
        )
    return rows


def _riskfolio(returns: pd.DataFrame, cov: pd.DataFrame) -> np.ndarray:
    import riskfolio as rf

    port = rf.Portfolio(returns=returns)
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.cov = cov / 252  # the same (daily) covariance as ours
    weights = port.rp_optimization(model="Classic", rm="MV", rf=0, b=None, hist=True)
    return weights.to_numpy().ravel()


def _skfolio(returns: pd.DataFrame) -> np.ndarray:
    """skfolio's risk parity on its own Ledoit–Wolf prior (same matrix up to the 252 scale)."""
    from skfolio.measures import RiskMeasure
    from skfolio.moments import LedoitWolf
    from skfolio.optimization import RiskBudgeting
    from skfolio.prior import EmpiricalPrior

    model = RiskBudgeting(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=EmpiricalPrior(covariance_estimator=LedoitWolf()),
    )
    return np.asarray(model.fit(returns).weights_)


def _risk_parity_rows(returns: pd.DataFrame, cov: pd.DataFrame, repeats: int, peers: _Peers):
    n = returns.shape[1]
    ours_s, ours = _median_time(lambda: risk_parity_weights(cov), repeats)
    rc = risk_contributions(ours, cov).to_numpy()
    own_error = float(np.abs(rc / rc.mean() - 1).max())
    rows = []
    for name, fn in [
        ("riskfolio-lib rp_optimization", lambda: _riskfolio(returns, cov)),
        ("skfolio RiskBudgeting (incl. its LW fit)", lambda: _skfolio(returns)),
    ]:
        peer_s, ref, note = peers.run(name, n, fn)
        if ref is None:
            rows.append(
                _row(
                    "risk_parity",
                    n,
                    ours_s,
                    name,
                    accuracy=own_error,
                    note=f"{note}; accuracy = ours max |RC/target - 1|",
                )
            )
        else:
            rows.append(
                _row(
                    "risk_parity",
                    n,
                    ours_s,
                    name,
                    peer_s=peer_s,
                    accuracy=float(np.abs(ref - ours.to_numpy()).max()),
                    note=f"max |w_ours - w_peer|; ours max |RC/target-1| {own_error:.1e}",
                )
            )
    return rows


def _min_max_rows(returns: pd.DataFrame, cov: pd.DataFrame, repeats: int, peers: _Peers):
    from pypfopt import EfficientFrontier

    n = returns.shape[1]
    mu = returns.mean() * 252
    ours_s, ours = _median_time(
        lambda: min_max_weights(mu, cov, GAMMA, delta=DELTA, upper=UPPER), repeats
    )

    def pypfopt() -> np.ndarray:
        frontier = EfficientFrontier(mu, cov, weight_bounds=(0, UPPER))
        weights = frontier.max_quadratic_utility(risk_aversion=2 * GAMMA * (1 + DELTA))
        return np.array(list(weights.values()))

    def utility(w: np.ndarray) -> float:
        return float(mu.to_numpy() @ w - GAMMA * (1 + DELTA) * w @ cov.to_numpy() @ w)

    peer_s, ref, note = peers.run("pypfopt max_quadratic_utility", n, pypfopt)
    accuracy = None
    if ref is not None:
        accuracy = (utility(ours.to_numpy()) - utility(ref)) / abs(utility(ref))
    return [
        _row(
            "min_max (0<=w<=0.1)",
            n,
            ours_s,
            "pypfopt max_quadratic_utility",
            peer_s=peer_s,
            accuracy=accuracy,
            note=note or "(J_ours - J_peer) / |J_peer|",
        )
    ]


def run_risk_benchmarks(
    sizes: Sequence[int] = (50, 500, 1500),
    T: int = 756,
    repeats: int = 7,
    peer_budget_s: float = 30.0,
    blas_threads: int | None = None,
) -> list[dict[str, Any]]:
    """Benchmark Ledoit–Wolf, risk parity and min–max against peers for each size.

    Data: seeded factor-model daily returns (``T`` days × ``n`` assets); the risk
    parity and min–max inputs are our Ledoit–Wolf covariance and annualised mean
    returns. ``blas_threads`` limits BLAS threads for ours and peers alike (via
    threadpoolctl; ``None`` keeps the library default), which gives steadier numbers
    on a shared machine. Returns one dict per (model, n, peer); see the module
    docstring.
    """
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=blas_threads, user_api="blas"):
            return run_risk_benchmarks(sizes, T, repeats, peer_budget_s)
    peers = _Peers(repeats, peer_budget_s)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        tickers = [f"A{i:04d}" for i in range(n)]
        returns = pd.DataFrame(factor_model_returns(T, n, seed=n), columns=tickers)
        cov = ledoit_wolf_covariance(returns)
        rows += _ledoit_wolf_rows(returns, repeats, peers)
        rows += _risk_parity_rows(returns, cov, repeats, peers)
        rows += _min_max_rows(returns, cov, repeats, peers)
    return rows


def _fmt(value: Any, spec: str) -> str:
    width = int(spec.split(".")[0])
    return "-".rjust(width) if value is None else format(value, spec)


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """Print benchmark rows as an aligned text table."""
    header = f"{'model':<20} {'n':>5} {'ours_s':>9} {'peer':<40} {'peer_s':>9} {'ratio':>8} "
    print(header + f"{'accuracy':>9}  note")
    for r in rows:
        print(
            f"{r['model']:<20} {r['n']:>5} {_fmt(r['ours_s'], '9.4f')} {r['peer']:<40} "
            f"{_fmt(r['peer_s'], '9.4f')} {_fmt(r['ratio'], '8.1f')} "
            f"{_fmt(r['accuracy'], '9.1e')}  {r.get('note', '')}"
        )

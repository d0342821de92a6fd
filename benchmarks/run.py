"""``make bench``: performance against targets and peer libraries, printed as tables.

1. Risk models against scikit-learn, PyPortfolioOpt and (when installed) riskfolio-lib and
   skfolio, on the same synthetic data (``benchmarks.risk_bench``).
2. A full rebalance from the CLI (``pas demo``) on the ~1,500-name sample universe, cold
   (empty ``PAS_HOME``, so the history backfill is included) and warm: wall time and peak
   resident memory of the process. Targets: a warm rebalance <= 60 s; the cold run, which
   backfills, <= the backfill target; every run <= 1.5 GB.
3. One year (252 sessions) of every source backfilled into an empty home, one run per job
   (``benchmarks.backfill``): <= 5 minutes and <= 1.5 GB.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.risk_bench import print_table, run_risk_benchmarks

WALL_TARGET_SECONDS = 60.0
BACKFILL_TARGET_SECONDS = 300.0
MEMORY_TARGET_MB = 1536.0
DEMO_DATE = "2026-11-20"


def _timed(command: list[str], home: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process with ``PAS_HOME=home``."""
    env = {**os.environ, "PAS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak_kb, before) / 1024.0


def _row(label: str, wall: float, peak: float, wall_target: float) -> dict[str, object]:
    return {
        "run": label,
        "wall_s": wall,
        "peak_mb": peak,
        "target_s": wall_target,
        "ok": wall <= wall_target and peak <= MEMORY_TARGET_MB,
    }


def pipeline_rows() -> list[dict[str, object]]:
    """Cold and warm CLI rebalances in one home, then a year's backfill in another."""
    pas = [str(Path(sys.executable).parent / "pas"), "demo", "--date", DEMO_DATE]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        wall, peak = _timed(pas, home)
        rows.append(
            _row(
                "cold CLI demo (backfill + rebalance + orders)", wall, peak, BACKFILL_TARGET_SECONDS
            )
        )
        wall, peak = _timed(pas, home)
        rows.append(_row("warm CLI demo (rebalance + orders)", wall, peak, WALL_TARGET_SECONDS))
    with tempfile.TemporaryDirectory() as tmp:
        backfill = [sys.executable, "-m", "benchmarks.backfill", tmp, DEMO_DATE]
        wall, peak = _timed(backfill, Path(tmp))
        rows.append(
            _row("one year of every source (252 sessions)", wall, peak, BACKFILL_TARGET_SECONDS)
        )
    return rows


def main() -> int:
    print(
        "Risk models, one BLAS thread for ours and peers alike (steadier than two threads on a\n"
        "shared 2-core machine); median of repeated calls; ratio = peer time / our time.\n"
        "Targets: Ledoit-Wolf n=1500 <= 1.5 x one Gram product; risk parity >= 200 x the\n"
        "peers; min-max >= 10 x pypfopt at n=500 and >= 20 x at n=1500. A peer predicted to\n"
        "take longer than 60 s is skipped (its predicted time is in the note).\n"
    )
    print_table(run_risk_benchmarks(peer_budget_s=60.0, blas_threads=1))
    print(
        "\nPipeline runs, ~1,500 names, sample mode, each its own process "
        f"(peak memory target <= {MEMORY_TARGET_MB:.0f} MB)\n"
    )
    print(f"{'run':<48} {'wall s':>8} {'target s':>9} {'peak MB':>9}  verdict")
    for row in pipeline_rows():
        verdict = "met" if row["ok"] else "MISSED"
        print(
            f"{row['run']:<48} {row['wall_s']:8.1f} {row['target_s']:9.0f} "
            f"{row['peak_mb']:9.0f}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

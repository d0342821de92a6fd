"""The Dagster shell: partitions, resources, assets, checks, jobs, schedules, sensors.

The pipeline knowingly uses APIs Dagster marks beta or preview (single-run backfill policy,
non-existent upstream partitions in a mapping); their warnings are silenced here once.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
# The rebalance job mixes single-run assets (prices, returns) with per-day ones (sleeves,
# covariance, target weights); Dagster then backfills it one day per run, which is intended.
warnings.filterwarnings("ignore", message=r"Asset job rebalance materializes assets with varying")

"""Validation as blocking asset checks that run *before* a partition is stored.

An asset declares ``check_specs`` built by :func:`blocking_check_spec` and returns its
frame through :func:`validated`: a valid frame yields a passed check and the output; an
invalid one yields a failed check whose description names the field and the row, then fails
the step, so nothing is written (the partition stored earlier stays intact) and no
downstream asset runs.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dagster as dg
import pandas as pd

from pas_pipeline.sources.errors import PayloadError

Validator = Callable[[pd.DataFrame], None]


def blocking_check_spec(asset_name: str, check_name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(check_name, asset=asset_name, blocking=True, description=description)


def validated(
    frame: pd.DataFrame,
    checks: Mapping[str, Validator],
    metadata: Mapping[str, Any] | None = None,
    stored: pd.DataFrame | None = None,
) -> Iterator[dg.AssetCheckResult | dg.Output]:
    """Run each named validator on ``frame``; yield check results, then the output (``stored``
    when given, e.g. the frame with its partition column added, else ``frame``) or fail."""
    failures: list[str] = []
    for name, validate in checks.items():
        try:
            validate(frame)
        except (PayloadError, ValueError) as error:
            failures.append(f"{name}: {error}")
            yield dg.AssetCheckResult(
                check_name=name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=str(error),
            )
        else:
            yield dg.AssetCheckResult(check_name=name, passed=True)
    if failures:
        raise dg.Failure(
            description="; ".join(failures), metadata={"rows": len(frame)}, allow_retries=False
        )
    yield dg.Output(frame if stored is None else stored, metadata=dict(metadata or {}))

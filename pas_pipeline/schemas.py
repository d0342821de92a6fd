"""Pandera schemas of the tidy frames, and :func:`validate_frame` turning failures into errors.

A failed validation raises :class:`PayloadError` naming the source, the failing column and the
first failing row (the frame's index label), so a blocking asset check says exactly what is
wrong and where.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pas_pipeline.sources.errors import PayloadError

_FINITE = pa.Check(np.isfinite, name="finite")
_PRICE = pa.Column("float64", [pa.Check.gt(0), _FINITE], nullable=False)

PRICES_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]", nullable=False),
        "ticker": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "open": _PRICE,
        "high": _PRICE,
        "low": _PRICE,
        "close": _PRICE,
        "adj_close": _PRICE,
        "volume": pa.Column("int64", pa.Check.ge(0), nullable=False),
    },
    checks=[pa.Check(lambda frame: frame["low"] <= frame["high"], name="low_le_high")],
    unique=["date", "ticker"],
    strict=True,
    name="prices",
)
"""Daily bars (``pas_pipeline.sources.yahoo``): finite positive prices, low <= high,
volume >= 0, one row per (date, ticker), exactly the tidy columns."""

_FRAME_CHECK_COLUMNS = {"low_le_high": "low"}
"""Column to blame when a frame-wide check fails (pandera lists every column instead)."""


def _first_failure(cases: pd.DataFrame) -> pd.Series:
    """The failure case with the smallest row index (cases without a row come last).

    A frame-wide check is reported once per column; only its blamed column's case is kept.
    """
    blamed = cases["check"].map(_FRAME_CHECK_COLUMNS)
    cases = cases[blamed.isna() | (cases["column"] == blamed)]
    ordered = cases.assign(_row=pd.to_numeric(cases["index"], errors="coerce"))
    return ordered.sort_values("_row", kind="stable", na_position="last").iloc[0]


def _blamed_column(case: pd.Series, schema: pa.DataFrameSchema) -> str | None:
    check = str(case["check"])
    if check in ("column_in_schema", "column_in_dataframe"):
        return str(case["failure_case"])  # the extra or missing column itself
    if check == "multiple_fields_uniqueness":
        return ", ".join(schema.unique or [])
    if check in _FRAME_CHECK_COLUMNS:
        return _FRAME_CHECK_COLUMNS[check]
    column = case["column"]
    return None if pd.isna(column) or column == schema.name else str(column)


def _row(case: pd.Series) -> int | None:
    index = case["index"]
    if index is None or pd.isna(index):
        return None
    return int(index) if float(index).is_integer() else None


def validate_frame(schema: pa.DataFrameSchema, frame: pd.DataFrame, source: str) -> None:
    """Validate ``frame`` lazily against ``schema``; raise :class:`PayloadError` on failure.

    The error names the failing column, the first failing row (index label; the frame is
    expected to carry a default integer index) and the number of failure cases.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = _first_failure(cases)
        raise PayloadError(
            source,
            f"{schema.name or 'frame'} failed {first['check']} (value {first['failure_case']}); "
            f"{len(cases)} failure case(s) in total",
            field=_blamed_column(first, schema),
            row=_row(first),
        ) from exc

_WEIGHT = pa.Column("float64", [pa.Check.ge(0), pa.Check.le(1), _FINITE], nullable=False)

SLEEVE_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]", nullable=False),
        "strategy": pa.Column(str, nullable=False),
        "rebalance_date": pa.Column("datetime64[ns]", nullable=False),
        "ticker": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "score": pa.Column("float64", nullable=True),
        "weight": _WEIGHT,
    },
    checks=[
        pa.Check(lambda frame: bool(np.isclose(frame["weight"].sum(), 1.0, atol=1e-9)),
                 name="weights_and_cash_sum_to_one"),
        pa.Check(lambda frame: bool((frame["rebalance_date"] <= frame["date"]).all()),
                 name="rebalance_not_after_date"),
    ],
    unique=["date", "strategy", "ticker"],
    strict=True,
    name="sleeve",
)
"""A stored strategy sleeve (``pas_pipeline.strategies.run.sleeve_frame``): weights in
[0, 1] that, with the ``$CASH`` row, sum to 1; decided on or before the partition date."""
